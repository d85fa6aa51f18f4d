"""Device identity across scans: site + serial, own MAC or address (issue 13 item 6).

Inventories are built from observations, no traffic: the 10.0.0.0/24 addresses below are data
(two sites on the same private range), never a destination.
"""

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from fingerprints import identify, load_database
from reports import (
    Disposition,
    HistoryError,
    RemediationStatus,
    ScanInfo,
    build_inventory,
    diff_inventories,
    open_store,
)
from reports.history_tables import metadata
from reports.identity import DeviceRef, device_keys, same_device
from reports.inventory import REAPPEARED, REPLACEMENT_SEEN
from reports.migrations import BASELINE, alembic_config
from scanner.cli import main
from scanner.cli.outputs import record_history

from .conftest import T0, observations

HIK_SERIAL = "DS-2CD2385G1-I20200414AAWRE33842150"
HIK_ROUTED = [
    ("10.0.0.5", "onvif.manufacturer", "HIKVISION"),
    ("10.0.0.5", "onvif.model", "DS-2CD2385G1-I"),
    ("10.0.0.5", "onvif.serial", HIK_SERIAL),
]
HIK_NO_SERIAL = HIK_ROUTED[:2]
AXIS_ROUTED = [
    ("10.0.0.5", "http.www_authenticate", 'Digest realm="AXIS_ACCC8E3A0A8F", nonce="n", qop="auth"')
]
HIK_MAC = "44:19:b6:4e:1a:20"
HIK_L2 = [("10.0.0.5", "mac.mac", HIK_MAC), ("10.0.0.5", "http.server_header", "App-webs/")]
AXIS_L2 = [("10.0.0.5", "mac.mac", "ac:cc:8e:3a:0a:8f"), *AXIS_ROUTED]
BYSTANDER = [("10.0.0.20", "mac.mac", "00:1b:21:00:00:20")]


def scan(rows, days=0, site="Library"):
    """An inventory of ``rows`` for ``site``, finished ``days`` after T0."""
    finished = T0 + timedelta(days=days, minutes=1)
    info = ScanInfo(
        scope=("10.0.0.0/24",),
        started_at=finished - timedelta(minutes=1),
        finished_at=finished,
        probes=("arp", "onvif_device", "http_banner"),
        tool_version="0.1.0",
        fingerprint_db_version="sha256:test",
        site=site,
        limitations=("test limitation",),
    )
    return build_inventory(identify(observations(rows), load_database()), info)


def at(inventory, address):
    (record,) = [d for d in inventory.devices if address in d.addresses]
    return record


def replaced(address="10.0.0.5", site="Library"):
    open_store().set_remediation(
        address,
        site=site,
        disposition=Disposition.REPLACE,
        status=RemediationStatus.DONE,
        now=T0 + timedelta(days=1),
    )


@pytest.mark.parametrize(
    ("before", "after"), [(HIK_ROUTED, AXIS_ROUTED), (HIK_L2, AXIS_L2)], ids=["routed", "l2"]
)
def test_a_different_device_at_a_replaced_address_is_a_replacement_not_a_reappearance(
    before, after
):
    record_history(scan(before + BYSTANDER))
    replaced()
    _, second = record_history(scan(after + BYSTANDER, days=30))
    axis = at(second, "10.0.0.5")
    assert axis.maker == "axis"
    assert axis.flags == (REPLACEMENT_SEEN,)
    assert REAPPEARED not in axis.flags
    assert axis.priority.value == "low"
    # The new camera is a new device: it does not inherit the old one's disposition or dates.
    assert axis.remediation.disposition is Disposition.UNDECIDED
    assert axis.first_seen == second.scan.finished_at
    assert not at(second, "10.0.0.20").flags


def test_the_same_serial_back_is_a_reappearance_wherever_it_answers():
    record_history(scan(HIK_ROUTED))
    replaced()
    record_history(scan(AXIS_ROUTED, days=30))
    moved = [(host.replace("10.0.0.5", "10.0.0.77"), key, value) for host, key, value in HIK_ROUTED]
    _, third = record_history(scan(AXIS_ROUTED + moved, days=60))
    hik = at(third, "10.0.0.77")
    assert hik.serial == HIK_SERIAL
    assert hik.flags == (REAPPEARED,)
    assert hik.priority.value == "high"
    assert hik.remediation.disposition is Disposition.REPLACE
    assert hik.first_seen == T0 + timedelta(minutes=1)
    assert at(third, "10.0.0.5").flags == (REPLACEMENT_SEEN,)


def test_without_serial_or_mac_the_same_maker_and_model_at_the_address_is_the_device():
    record_history(scan(HIK_NO_SERIAL))
    replaced()
    _, second = record_history(scan(HIK_NO_SERIAL, days=30))
    assert at(second, "10.0.0.5").flags == (REAPPEARED,)


def test_the_same_mac_back_is_a_reappearance():
    record_history(scan(HIK_L2))
    replaced(HIK_MAC)
    _, second = record_history(scan(HIK_L2, days=30))
    assert at(second, "10.0.0.5").flags == (REAPPEARED,)


def test_two_sites_on_the_same_range_never_mix():
    record_history(scan(HIK_ROUTED, site="Library"))
    record_history(scan(AXIS_ROUTED, site="Pool"))
    store = open_store()
    with pytest.raises(HistoryError, match="several sites"):
        store.set_remediation("10.0.0.5", disposition=Disposition.REPLACE)
    replaced(site="Library")
    # The pool's camera at the same address is another device of another site: no flag.
    _, pool = record_history(scan(AXIS_ROUTED, days=30, site="Pool"))
    assert not at(pool, "10.0.0.5").flags
    _, library = record_history(scan(HIK_ROUTED, days=30, site="Library"))
    assert at(library, "10.0.0.5").flags == (REAPPEARED,)
    with pytest.raises(HistoryError, match="several sites"):
        store.scan_id("latest")
    assert store.inventory("latest", "Pool").scan.site == "Pool"
    assert store.scan_id("latest", "Library") == 4
    assert store.scan_id("previous", "Library") == 1
    assert store.scan_id("previous", "Pool") == 2
    with pytest.raises(HistoryError, match="of site 'Pool'"):
        store.scan_id("1", "Pool")
    assert [row.id for row in store.scans(site="Pool")] == [3, 2]
    assert [(e.site, e.device) for e in store.remediation_entries()] == [
        ("Library", f"serial:{HIK_SERIAL}")
    ]
    with store.engine.connect() as conn:
        devices = conn.execute(sa.text("SELECT site, device FROM devices ORDER BY site")).all()
    assert devices == [("Library", f"serial:{HIK_SERIAL}"), ("Pool", "ip:10.0.0.5")]
    store.close()


def test_site_options_on_the_command_line(capsys):
    record_history(scan(HIK_ROUTED, site="Library"))
    record_history(scan(AXIS_ROUTED, site="Pool"))
    record_history(scan(HIK_ROUTED + AXIS_ROUTED[:0] + BYSTANDER, days=1, site="Library"))
    assert main(["diff", "previous", "latest"]) == 2
    assert "pass --site" in capsys.readouterr().err
    assert main(["diff", "previous", "latest", "--site", "Library", "--json"]) == 1
    result = json.loads(capsys.readouterr().out)
    assert [r["addresses"] for r in result["added"]] == [["10.0.0.20"]]
    assert result["removed"] == []
    assert main(["history", "--site", "Pool", "--json"]) == 0
    assert [json.loads(line)["id"] for line in capsys.readouterr().out.splitlines()] == [2]
    args = ["remediation", "set", "10.0.0.5", "--site", "Pool", "--disposition", "no_action"]
    assert main([*args, "--place", "deep end"]) == 0
    assert capsys.readouterr().out.startswith("Pool/ip:10.0.0.5: no_action")
    assert main(["remediation", "list", "--site", "Library", "--json"]) == 0
    assert capsys.readouterr().out == ""
    assert main(["report", "latest", "--site", "Pool", "--verify"]) == 0


def test_a_cloned_serial_on_two_macs_is_two_devices():
    rows = [
        ("198.18.0.5", "mac.mac", "44:19:b6:00:00:05"),
        ("198.18.0.5", "onvif.serial", HIK_SERIAL),
        ("198.18.0.6", "mac.mac", "44:19:b6:00:00:06"),
        ("198.18.0.6", "onvif.serial", HIK_SERIAL),
    ]
    inventory = scan(rows)
    records = [r for r in inventory.devices if r.serial == HIK_SERIAL]
    if len(records) == 2:  # fingerprints keeps them apart (issue 13 item 4)
        assert sorted(device_keys(records)) == ["mac:44:19:b6:00:00:05", "mac:44:19:b6:00:00:06"]
    _, stored = record_history(inventory)
    assert stored.summary.devices == inventory.summary.devices


def test_identity_rules():
    hik = DeviceRef(key="k", serial="S1", mac="aa:bb:cc:00:00:01", address="10.0.0.5")
    assert same_device(hik, hik.model_copy(update={"address": "10.0.0.9"}))
    assert same_device(hik, hik.model_copy(update={"mac": None}))
    assert not same_device(hik, hik.model_copy(update={"mac": "aa:bb:cc:00:00:02"}))
    assert not same_device(hik, hik.model_copy(update={"site": "elsewhere"}))
    bare = DeviceRef(key="k", address="10.0.0.5", maker="hikvision", model="DS-2CD2385G1-I")
    assert same_device(bare, bare)
    assert not same_device(bare, bare.model_copy(update={"model": None}))
    assert not same_device(bare, bare.model_copy(update={"maker": "axis"}))
    placeholder = scan([("198.18.0.5", "onvif.serial", "00000000")]).devices
    assert device_keys(placeholder) == ["ip:198.18.0.5"]


def test_diff_follows_a_device_whose_serial_appears_later():
    result = diff_inventories(scan(HIK_NO_SERIAL), scan(HIK_ROUTED, days=1))
    assert not result.added
    assert not result.removed
    assert [c.field for c in result.changed] == ["serial"]
    other_site = diff_inventories(scan(HIK_ROUTED), scan(HIK_ROUTED, site="Pool"))
    assert len(other_site.added) == len(other_site.removed) == 1


def test_a_store_from_before_migrations_is_carried_forward(history_db):
    engine = sa.create_engine(f"sqlite:///{history_db}")
    with engine.begin() as conn:
        from alembic import command

        command.upgrade(alembic_config(conn), BASELINE)
        conn.execute(sa.text("DROP TABLE alembic_version"))  # as main left it: no version table
        conn.execute(
            sa.text(
                "INSERT INTO scans (id, started_at, finished_at, site, scope, devices, covered, "
                "undetermined, inventory) VALUES (1, :t, :t, 'Library', '[]', 2, 1, 0, '{}')"
            ),
            {"t": T0.isoformat()},
        )
        conn.execute(
            sa.text(
                "INSERT INTO sightings VALUES (1, :mac, '10.0.0.5', :t, 'covered'), "
                "(1, '10.0.0.9', '10.0.0.9', :t, 'not_covered')"
            ),
            {"mac": HIK_MAC, "t": T0.isoformat()},
        )
        conn.execute(
            sa.text(
                "INSERT INTO remediation (device, disposition, status, site, updated_at) "
                "VALUES (:mac, 'replace', 'done', 'lobby', :t)"
            ),
            {"mac": HIK_MAC, "t": T0.isoformat()},
        )
    engine.dispose()
    store = open_store()
    (entry,) = store.remediation_entries()
    assert (entry.site, entry.device, entry.place) == ("Library", f"mac:{HIK_MAC}", "lobby")
    assert store.resolve_device("10.0.0.9") == ("Library", "ip:10.0.0.9")
    store.close()
    _, again = record_history(scan(HIK_L2, days=30))
    assert at(again, "10.0.0.5").flags == (REAPPEARED,)
    assert at(again, "10.0.0.5").first_seen == T0


def test_the_tables_the_code_queries_are_the_head_migration(history_db):
    open_store().close()
    engine = sa.create_engine(f"sqlite:///{history_db}")
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
    engine.dispose()


def test_the_written_down_head_is_alembics_head():
    from reports import migrations

    # Opening a store at HEAD skips Alembic; a new migration must move HEAD with it.
    assert migrations.head_revision() == migrations.HEAD
