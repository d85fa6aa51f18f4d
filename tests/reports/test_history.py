"""History: every sweep stored, first seen kept, remediation surviving re-scans, reappearances."""

from datetime import timedelta

import pytest

from reports import Disposition, HistoryError, RemediationStatus, diff_inventories, open_store
from reports.history import default_path, resolve_url
from scanner.cli.outputs import publish_inventory, record_history

from .conftest import CITY_SAMPLE, T0, make_inventory

HIK = "44:19:b6:4e:1a:20"


def later(inventory, days):
    """The same devices, seen ``days`` later."""
    shift = timedelta(days=days)
    scan = inventory.scan.model_copy(
        update={
            "started_at": inventory.scan.started_at + shift,
            "finished_at": inventory.scan.finished_at + shift,
        }
    )
    return make_inventory(CITY_SAMPLE).model_copy(
        update={
            "scan": scan,
            "generated_at": scan.finished_at,
            "devices": tuple(
                d.model_copy(update={"first_seen": scan.finished_at, "last_seen": scan.finished_at})
                for d in inventory.devices
            ),
        }
    )


def test_url_resolution(monkeypatch, tmp_path):
    monkeypatch.delenv("NDAA_SCAN_DB", raising=False)
    assert resolve_url(None) == "sqlite:///" + str(default_path())
    assert resolve_url(str(tmp_path / "h.db")) == f"sqlite:///{tmp_path}/h.db"
    assert resolve_url("postgresql+psycopg://u@db/x") == "postgresql+psycopg://u@db/x"
    monkeypatch.setenv("NDAA_SCAN_DB", "off")
    assert resolve_url(None) is None
    assert open_store() is None


def test_tests_never_touch_the_user_data_dir(history_db):
    assert resolve_url(None) == f"sqlite:///{history_db}"


def test_every_publish_is_recorded(sample_inventory, tmp_path, history_db):
    publish_inventory(sample_inventory, tmp_path / "a")
    publish_inventory(sample_inventory, tmp_path / "b")
    store = open_store()
    assert [row.id for row in store.scans()] == [2, 1]
    assert store.inventory("latest").summary == store.inventory("1").summary
    assert store.scan_id("previous") == 1
    assert store.scan_id("#2") == 2


def test_first_seen_is_kept_across_scans(sample_inventory):
    record_history(sample_inventory)
    _, second = record_history(later(sample_inventory, 30))
    for device in second.devices:
        assert device.first_seen == sample_inventory.scan.finished_at
        assert device.last_seen == sample_inventory.scan.finished_at + timedelta(days=30)
    assert second.digest != sample_inventory.digest


def test_remediation_survives_rescans_and_flags_reappearance(sample_inventory):
    record_history(sample_inventory)
    store = open_store()
    done_at = T0 + timedelta(days=1)
    store.set_remediation(
        "198.18.0.10",  # by address: resolved to the device's MAC
        disposition=Disposition.REPLACE,
        status=RemediationStatus.DONE,
        place="City Hall lobby",
        switch_port="sw1/Gi1/0/7",
        now=done_at,
        updated_by="it-ops",
    )
    store.set_remediation(
        "3c:ef:8c:00:00:07",
        disposition=Disposition.EXCEPTION,
        waiver_ref="DHS-W-2026-014",
        now=done_at,
    )
    _, second = record_history(later(sample_inventory, 30))
    by_mac = {d.mac: d for d in second.devices}
    hik = by_mac[HIK]
    assert hik.remediation.disposition is Disposition.REPLACE
    assert hik.location.site == "City Hall lobby"
    assert hik.location.switch_port == "sw1/Gi1/0/7"
    assert hik.flags == ("reappeared_after_remediation",)
    assert hik.priority.value == "high"
    dahua = by_mac["3c:ef:8c:00:00:07"]
    assert dahua.remediation.waiver_ref == "DHS-W-2026-014"
    assert not dahua.flags
    assert second.summary.flagged == 1
    assert second.summary.by_disposition["replace"] == 1


def test_no_reappearance_flag_for_devices_seen_before_the_remediation(sample_inventory):
    record_history(sample_inventory)
    open_store().set_remediation(
        HIK,
        disposition=Disposition.REPLACE,
        status=RemediationStatus.DONE,
        now=T0 + timedelta(days=60),
    )
    _, again = record_history(later(sample_inventory, 30))  # a scan from before the swap
    assert not {d.mac: d for d in again.devices}[HIK].flags


def test_remediation_merges_fields(sample_inventory):
    record_history(sample_inventory)
    store = open_store()
    store.set_remediation(HIK, disposition=Disposition.ISOLATE, note="VLAN 99")
    entry = store.set_remediation(HIK, status=RemediationStatus.IN_PROGRESS)
    assert entry.remediation.disposition is Disposition.ISOLATE
    assert entry.remediation.note == "VLAN 99"
    assert [e.device for e in store.remediation_entries()] == [f"mac:{HIK}"]


def test_unknown_device_and_scan_are_clear_errors(sample_inventory):
    record_history(sample_inventory)
    store = open_store()
    with pytest.raises(HistoryError, match="no device"):
        store.set_remediation("198.18.0.99", disposition=Disposition.REPLACE)
    with pytest.raises(HistoryError, match="no scan"):
        store.inventory("42")
    with pytest.raises(HistoryError, match="not a scan id"):
        store.scan_id("yesterday")


def test_bad_database_urls_are_history_errors(monkeypatch):
    for url in ("bogus://x", "postgresql://u:secret@127.0.0.1:1/x"):
        with pytest.raises(HistoryError) as info:
            open_store(url)
        assert "secret" not in str(info.value)


def test_a_broken_store_never_loses_the_sweep(sample_inventory, tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("NDAA_SCAN_DB", "bogus://x")
    written = publish_inventory(sample_inventory, tmp_path / "out")
    assert all(p.exists() for p in written)
    assert "not recorded in history" in caplog.text


def test_diff_of_stored_scans(sample_inventory):
    record_history(sample_inventory)
    record_history(make_inventory(CITY_SAMPLE[:4]))
    store = open_store()
    result = diff_inventories(store.inventory("1"), store.inventory("2"))
    assert [r.mac for r in result.removed] == ["3c:ef:8c:00:00:07"]


def test_many_devices_are_chunked(monkeypatch):
    rows = [
        (f"198.18.{n // 250}.{n % 250 + 1}", "mac.mac", f"44:19:b6:00:{n // 256:02x}:{n % 256:02x}")
        for n in range(1200)
    ]
    inventory = make_inventory(rows)
    record_history(inventory)
    scan_id, again = record_history(inventory)
    assert scan_id == 2
    assert again.summary.devices == 1200
