import csv
import io
import json
from pathlib import Path

import pytest

from reports import ExportFormat, Inventory, diff_inventories, export
from reports.exporters.csv_report import CSV_COLUMNS, guard_cell

from .conftest import CITY_SAMPLE, make_inventory

GOLDEN = Path(__file__).parent / "golden"


def render(inventory, fmt) -> bytes:
    buffer = io.BytesIO()
    export(inventory, fmt, buffer)
    return buffer.getvalue()


@pytest.mark.parametrize("fmt", list(ExportFormat))
def test_golden(sample_inventory, fmt, update_golden):
    path = GOLDEN / f"sample{fmt.suffix}"
    data = render(sample_inventory, fmt)
    if update_golden:
        path.write_bytes(data)
    assert data == path.read_bytes(), (
        f"{path} differs; rerun with --update-golden and review the diff"
    )


def test_json_round_trips(sample_inventory):
    again = Inventory.model_validate_json(render(sample_inventory, ExportFormat.JSON))
    assert again == sample_inventory


def test_summary_counts(sample_inventory):
    s = sample_inventory.summary
    assert (s.devices, s.covered, s.not_covered, s.undetermined) == (3, 1, 1, 1)
    assert s.by_maker == {"axis": 1, "dahua": 1, "hikvision": 1}


def test_csv_has_fixed_columns(sample_inventory):
    rows = list(csv.reader(io.StringIO(render(sample_inventory, ExportFormat.CSV).decode())))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert [r[0] for r in rows[1:]] == ["198.18.0.10", "198.18.0.11", "198.18.0.12"]


@pytest.mark.parametrize("value", ["=1+1", "+1", "-1", "@SUM(A1)", "\t=x", "\r=x"])
def test_formula_cells_are_guarded(value):
    assert guard_cell(value).startswith("'")


def test_hostile_strings_are_harmless(hostile_inventory):
    data = render(hostile_inventory, ExportFormat.CSV).decode()
    for row in csv.reader(io.StringIO(data)):
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@"))
            assert len(cell) <= 1024
    parsed = json.loads(render(hostile_inventory, ExportFormat.JSON))
    assert parsed["summary"]["devices"] == 3
    assert max(len(e["matched"]) for d in parsed["devices"] for e in d["evidence"]) <= 300


def test_diff_finds_new_gone_and_changed(sample_inventory):
    later = make_inventory(
        [
            *CITY_SAMPLE[:2],
            ("198.18.0.12", "mac.mac", "3c:ef:8c:00:00:07"),
            (
                "198.18.0.12",
                "http.www_authenticate",
                'Digest realm="Login to 4H01D66PAJ2FA64", qop="auth", nonce="1"',
            ),
            ("198.18.0.20", "mac.mac", "00:40:8c:00:00:20"),
        ]
    )
    result = diff_inventories(sample_inventory, later)
    assert [r.device_key for r in result.added] == ["198.18.0.20"]
    assert [r.device_key for r in result.removed] == ["198.18.0.11"]
    changed = {(c.device_key, c.field): (c.before, c.after) for c in result.changed}
    assert changed[("3c:ef:8c:00:00:07", "covered")] == ("undetermined", "covered")
    assert diff_inventories(sample_inventory, sample_inventory).empty
