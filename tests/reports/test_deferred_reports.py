"""The PDF and XLSX of a large inventory, rendered in the background from inventory.json."""

import io
from pathlib import Path

import pytest

from reports import ExportFormat, Inventory, export
from scanner.cli.deferred import (
    BACKGROUND_ABOVE_DEVICES,
    PENDING_NAME,
    HeavyReports,
    defer_heavy,
    render_deferred,
    wait_for_deferred,
)
from scanner.cli.outputs import publish

from .test_exporters import xlsx_text


@pytest.fixture(autouse=True)
def _no_history(monkeypatch):
    monkeypatch.setenv("NDAA_SCAN_DB", "off")


def test_threshold():
    assert not defer_heavy(BACKGROUND_ABOVE_DEVICES, HeavyReports.AUTO)
    assert defer_heavy(BACKGROUND_ABOVE_DEVICES + 1, HeavyReports.AUTO)
    assert defer_heavy(1, HeavyReports.BACKGROUND)
    assert not defer_heavy(10**6, HeavyReports.INLINE)


def test_small_inventory_writes_every_file_before_returning(tmp_path, cityhall_inventory):
    _, written, notice = publish(cityhall_inventory, tmp_path, heavy=HeavyReports.AUTO)
    assert notice is None
    assert {p.name for p in written} == {f"inventory{f.suffix}" for f in ExportFormat}
    assert not (tmp_path / PENDING_NAME).exists()


def test_background_renders_the_same_files_and_removes_the_note(tmp_path, cityhall_inventory):
    inventory, written, notice = publish(
        cityhall_inventory, tmp_path, heavy=HeavyReports.BACKGROUND
    )
    assert notice is not None
    assert PENDING_NAME in notice
    assert "inventory of record" in notice
    assert {p.name for p in written} == {
        "inventory.json",
        "inventory.csv",
        "inventory.html",
        "inventory.junit.xml",
    }
    assert wait_for_deferred(tmp_path, timeout_s=180), (tmp_path / PENDING_NAME).read_text()
    assert not (tmp_path / ".inventory.render.log").exists()
    inline = io.BytesIO()
    export(inventory, ExportFormat.XLSX, inline)
    assert xlsx_text((tmp_path / "inventory.xlsx").read_bytes()) == xlsx_text(inline.getvalue())
    assert (tmp_path / "inventory.pdf").read_bytes().startswith(b"%PDF-")
    assert oct((tmp_path / "inventory.pdf").stat().st_mode & 0o777) == "0o644"


def test_a_failed_render_says_so_and_how_to_render_by_hand(tmp_path):
    (tmp_path / "inventory.json").write_text("{not json", encoding="utf-8")
    (tmp_path / PENDING_NAME).write_text("rendering\n", encoding="utf-8")
    assert render_deferred(tmp_path) == 1
    note = (tmp_path / PENDING_NAME).read_text()
    assert "background rendering failed" in note
    assert f"ndaa-scan report {tmp_path / 'inventory.json'} -f pdf -o" in note
    assert not (tmp_path / "inventory.pdf").exists()


def test_a_stale_note_is_removed_by_the_next_inline_publish(tmp_path, sample_inventory):
    (tmp_path / PENDING_NAME).write_text("from an earlier run\n", encoding="utf-8")
    publish(sample_inventory, tmp_path, heavy=HeavyReports.INLINE)
    assert not (tmp_path / PENDING_NAME).exists()
    assert Inventory.model_validate_json((tmp_path / "inventory.json").read_bytes())
    assert (tmp_path / "inventory.pdf").stat().st_size > 0


def test_loading_a_missing_inventory_fails_into_the_note(tmp_path: Path):
    (tmp_path / PENDING_NAME).write_text("rendering\n", encoding="utf-8")
    assert render_deferred(tmp_path) == 1
    assert "failed" in (tmp_path / PENDING_NAME).read_text()


def test_the_notice_says_why_the_files_are_late(tmp_path, sample_inventory):
    _, _, notice = publish(sample_inventory, tmp_path, heavy=HeavyReports.BACKGROUND)
    assert notice is not None
    assert "--heavy-reports background" in notice
    assert "is above" not in notice  # a handful of devices: the flag, not the size, sent them
    assert "pid " in notice
    assert "ndaa-scan report" in (tmp_path / PENDING_NAME).read_text() or wait_for_deferred(
        tmp_path, timeout_s=0
    )
    assert wait_for_deferred(tmp_path, timeout_s=180)
