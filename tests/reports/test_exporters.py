import csv
import io
import json
import re
from pathlib import Path

import pytest
from pypdf import PdfReader

from reports import ExportFormat, Inventory, diff_inventories, export
from reports.exporters.csv_report import CSV_COLUMNS, guard_cell

from .conftest import CITY_SAMPLE, make_inventory

GOLDEN = Path(__file__).parent / "golden"


def render(inventory, fmt) -> bytes:
    buffer = io.BytesIO()
    export(inventory, fmt, buffer)
    return buffer.getvalue()


def pdf_text(data: bytes) -> str:
    """Page count and extracted text: what the PDF golden file holds (bytes vary by build)."""
    reader = PdfReader(io.BytesIO(data))
    pages = [page.extract_text() for page in reader.pages]
    body = "\n".join(f"--- page {n} ---\n{text}" for n, text in enumerate(pages, 1))
    return f"pages: {len(pages)}\n{body}\n"


def xlsx_text(data: bytes) -> str:
    """Every sheet's cells as tab-separated text (the zip's timestamps vary by build)."""
    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(data))
    lines = []
    for sheet in book.worksheets:
        lines.append(
            f"--- sheet {sheet.title} (freeze {sheet.freeze_panes}, "
            f"filter {sheet.auto_filter.ref}) ---"
        )
        lines.extend(
            "\t".join("" if v is None else str(v) for v in row)
            for row in sheet.iter_rows(values_only=True)
        )
    return "\n".join(lines) + "\n"


GOLDEN_NAMES = {ExportFormat.PDF: "sample.pdf.txt", ExportFormat.XLSX: "sample.xlsx.txt"}


def comparable(inventory, fmt) -> tuple[Path, bytes]:
    data = render(inventory, fmt)
    if fmt is ExportFormat.PDF:
        return GOLDEN / "sample.pdf.txt", pdf_text(data).encode()
    if fmt is ExportFormat.XLSX:
        return GOLDEN / "sample.xlsx.txt", xlsx_text(data).encode()
    return GOLDEN / f"sample{fmt.suffix}", data


@pytest.mark.parametrize("fmt", list(ExportFormat))
def test_golden(sample_inventory, fmt, update_golden):
    path, data = comparable(sample_inventory, fmt)
    if update_golden:
        path.write_bytes(data)
    assert data == path.read_bytes(), (
        f"{path} differs; rerun with --update-golden and review the diff"
    )


def test_every_format_has_a_golden_file():
    names = {p.name for p in GOLDEN.iterdir()}
    for fmt in ExportFormat:
        expected = GOLDEN_NAMES.get(fmt, f"sample{fmt.suffix}")
        assert expected in names


def test_json_round_trips(sample_inventory):
    again = Inventory.model_validate_json(render(sample_inventory, ExportFormat.JSON))
    assert again == sample_inventory


def test_summary_counts(sample_inventory):
    s = sample_inventory.summary
    assert (s.devices, s.covered, s.not_covered, s.undetermined) == (3, 1, 1, 1)
    assert s.by_maker == {"axis": 1, "dahua": 1, "hikvision": 1}
    assert s.by_maker_status["hikvision"] == {"covered": 1}
    assert s.by_priority == {"high": 1, "medium": 1, "none": 1}


def test_priorities_follow_verdicts(sample_inventory):
    prio = {d.addresses[0]: d.priority.value for d in sample_inventory.devices}
    # covered+likely first; a Dahua MAC-prefix lead is a hand-check; Axis needs nothing.
    assert prio == {"198.18.0.10": "high", "198.18.0.11": "none", "198.18.0.12": "medium"}


def test_location_network_comes_from_scope(sample_inventory):
    assert {d.location.network for d in sample_inventory.devices} == {"198.18.0.0/24"}


def test_csv_has_fixed_columns(sample_inventory):
    rows = list(csv.reader(io.StringIO(render(sample_inventory, ExportFormat.CSV).decode())))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert all(len(r) == len(CSV_COLUMNS) for r in rows)
    assert [r[0] for r in rows[1:]] == ["198.18.0.10", "198.18.0.11", "198.18.0.12"]


@pytest.mark.parametrize("value", ["=1+1", "+1", "-1", "@SUM(A1)", "\t=x", "\r=x"])
def test_formula_cells_are_guarded(value):
    assert guard_cell(value).startswith("'")


def test_html_has_summary_chart_table_and_limitations(sample_inventory):
    html = render(sample_inventory, ExportFormat.HTML).decode()
    assert "<svg" in html
    assert html.count("<rect") >= 3 + 3  # one segment per maker, plus the legend
    assert "198.18.0.10" in html
    assert "test limitation" in html
    assert sample_inventory.digest in html
    # Self-contained: nothing fetched from anywhere. Evidence sources are links (anchors) a
    # reader may follow; they load nothing when the page opens.
    links = re.findall(r'<a class="ref" href="(https://[^"]+)" rel="noreferrer">', html)
    assert links, "evidence should name openable sources"
    bare = re.sub(r'<a class="ref" href="https://[^"]+" rel="noreferrer">[^<]*</a>', "", html)
    assert "http://" not in bare.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in bare
    assert not re.search(r"\b(src|srcset)=|url\(", html)
    assert "<script" not in html


def test_pdf_pages_and_text(sample_inventory):
    reader = PdfReader(io.BytesIO(render(sample_inventory, ExportFormat.PDF)))
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert len(reader.pages) == 2
    assert "NDAA §889 remediation inventory" in text
    assert "198.18.0.10" in text
    assert "test limitation" in text


def test_junit_marks_covered_as_failures(sample_inventory):
    import defusedxml.ElementTree as DET

    root = DET.fromstring(render(sample_inventory, ExportFormat.JUNIT))
    suite = root.find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("3", "1", "1")
    failed = [tc.get("name") for tc in suite.iter("testcase") if tc.find("failure") is not None]
    assert failed == ["198.18.0.10 hikvision"]


def test_diff_finds_new_gone_and_changed(sample_inventory):
    later = make_inventory(
        [
            *CITY_SAMPLE[:2],
            ("198.18.0.12", "mac.mac", "3c:ef:8c:00:00:07"),
            # An identifying clue: a "Login to <serial>" realm alone is a shape since issue 13.
            ("198.18.0.12", "rtsp.server_header", "Dahua Rtsp Server"),
            ("198.18.0.20", "mac.mac", "00:40:8c:00:00:20"),
        ]
    )
    result = diff_inventories(sample_inventory, later)
    assert [r.device_key for r in result.added] == ["198.18.0.20"]
    assert [r.device_key for r in result.removed] == ["198.18.0.11"]
    changed = {(c.device_key, c.field): (c.before, c.after) for c in result.changed}
    assert changed[("mac:3c:ef:8c:00:00:07", "covered")] == ("undetermined", "covered")
    assert diff_inventories(sample_inventory, sample_inventory).empty


def test_json_is_sorted_by_address_numerically():
    inv = make_inventory(
        [
            ("198.18.0.100", "mac.mac", "44:19:b6:00:00:01"),
            ("198.18.0.9", "mac.mac", "44:19:b6:00:00:02"),
        ]
    )
    data = json.loads(render(inv, ExportFormat.JSON))
    assert [d["addresses"][0] for d in data["devices"]] == ["198.18.0.9", "198.18.0.100"]
