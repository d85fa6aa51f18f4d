"""Filing documents for the recorded city-hall sweep: FAR 52.204-25(d) report, phase-out plan,
XLSX workbook, and judging the same inventory against other regimes.

The city-hall history is built here from the recorded inventory (tests/reports/data): the asset
register imported, dispositions recorded with a fixed clock, and a second scan a week later in
which the replaced lobby camera is gone, so the burn-down has two real points.
"""

import csv
import io
import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import openpyxl
import pytest
from pypdf import PdfReader

from reports import Disposition, HistoryStore, RemediationStatus, export
from reports.assets import read_register
from reports.exporters import ExportFormat, FilingFormat, export_filing
from reports.exporters.far_report import render_far_html
from reports.exporters.phase_out_report import render_phase_out
from reports.exporters.xlsx_report import SHEETS
from reports.filing import FAR_COLUMNS, add_business_days
from reports.inventory import with_devices
from reports.policy import rejudge
from reports.purchase import Purchase

from .conftest import CITYHALL_INVENTORY, CITYHALL_REGISTER, HOSTILE, make_inventory

GOLDEN = Path(__file__).parent / "golden"
ROOT = Path(__file__).parents[2]
T_SET = datetime(2026, 12, 1, 23, 0, tzinfo=UTC)

PLAN = {
    "198.18.0.10": {
        "disposition": Disposition.REPLACE,
        "status": RemediationStatus.DONE,
        "target_date": date(2026, 12, 4),
        "note": "replaced by an NDAA-compliant dome",
    },
    "198.18.0.11": {
        "disposition": Disposition.REPLACE,
        "status": RemediationStatus.IN_PROGRESS,
        "target_date": date(2026, 12, 15),
    },
    "198.18.0.30": {
        "disposition": Disposition.ISOLATE,
        "status": RemediationStatus.OPEN,
        "target_date": date(2026, 11, 30),
        "switch_port": "sw2/Gi1/0/30",
    },
    "198.18.0.50": {
        "disposition": Disposition.DECOMMISSION,
        "status": RemediationStatus.OPEN,
        "target_date": date(2027, 1, 15),
    },
    "198.18.0.60": {
        "disposition": Disposition.EXCEPTION,
        "status": RemediationStatus.OPEN,
        "waiver_ref": "FAR 4.2104 waiver W-2026-07",
    },
}


@pytest.fixture
def cityhall_history(tmp_path, cityhall_inventory):
    """(latest enriched inventory, [(scan time, covered)]) after two recorded scans."""
    store = HistoryStore("sqlite:///" + str(tmp_path / "cityhall.sqlite3"))
    try:
        store.replace_assets(read_register(CITYHALL_REGISTER), now=T_SET)
        store.record(cityhall_inventory)
        for device, fields in PLAN.items():
            store.set_remediation(device, updated_by="golden", now=T_SET, **fields)
        later = cityhall_inventory.scan.finished_at + timedelta(days=7)
        scan = cityhall_inventory.scan.model_copy(
            update={"started_at": later - timedelta(minutes=2), "finished_at": later}
        )
        second = with_devices(
            cityhall_inventory.model_copy(update={"scan": scan, "generated_at": later}),
            (
                d.model_copy(update={"last_seen": later})
                for d in cityhall_inventory.devices
                if d.device_key != "198.18.0.10"
            ),
        )
        _, enriched = store.record(second)
        history = [(row.finished_at, row.covered) for row in store.scans()]
    finally:
        store.close()
    return enriched, history


def _golden(path: Path, data: bytes, update: bool) -> None:
    if update:
        path.write_bytes(data)
    assert data == path.read_bytes(), f"{path} differs; rerun with --update-golden and review"


def test_far_report_golden(cityhall_history, update_golden):
    inventory, _ = cityhall_history
    buffer = io.BytesIO()
    export_filing(inventory, FilingFormat.FAR_REPORT, buffer)
    _golden(GOLDEN / "cityhall.far-report.csv", buffer.getvalue(), update_golden)
    _golden(GOLDEN / "cityhall.far-report.html", render_far_html(inventory).encode(), update_golden)

    rows = list(csv.DictReader(io.StringIO(buffer.getvalue().decode())))
    assert tuple(rows[0]) == FAR_COLUMNS
    assert len(rows) == inventory.summary.covered == 33  # the replaced lobby camera is gone
    by_key = {r["device_key"]: r for r in rows}
    lorex = by_key["198.18.0.50"]
    assert lorex["award_number"] == "EMW-2020-SS-00123"
    assert lorex["oem_or_distributor"] == "distributor"
    assert lorex["mitigation"].startswith("decommission (open); target 2027-01-15")
    council = by_key["198.18.0.11"]
    assert council["supplier_uei"] == "AB12CD34EF56"
    assert council["supplier_cage"] == "1A2B3"
    assert council["contract_number"] == "GS-07F-0001X"
    assert council["order_numbers"] == "47QSWA21F0002"
    assert "ndaa-889 hikvision" in council["regimes"]
    assert "fcc-covered-list 2021-03-12-hikvision-dahua-hytera" in council["regimes"]
    # Without a register record the fields are blank, never guessed.
    assert by_key["198.18.0.12"]["contract_number"] == ""
    assert by_key["198.18.0.12"]["item_description"].startswith("IP camera produced by")


def test_far_pdf_form_cites_both_numberings(cityhall_history):
    inventory, _ = cityhall_history
    buffer = io.BytesIO()
    export_filing(inventory, FilingFormat.FAR_REPORT_PDF, buffer)
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(buffer.getvalue())).pages)
    assert "52.204-25(d)(2)" in text
    assert "52.240-91" in text
    assert "AB12CD34EF56" in text
    assert "(d)(2)(ii)" in text


def test_phase_out_golden(cityhall_history, update_golden):
    inventory, history = cityhall_history
    assert [covered for _, covered in sorted(history)] == [34, 33]
    html = render_phase_out(inventory, history)
    _golden(GOLDEN / "cityhall.phase-out.html", html.encode(), update_golden)
    assert "2026-11-30 (overdue)" in html  # isolate target passed, not done
    assert "FAR 4.2104 waiver W-2026-07" in html
    # Plan: 33 covered now; the council camera goes on 12-15, the Lorex on 2027-01-15.
    assert "2026-12-15: 32" in html
    assert "2027-01-15: 31" in html


def test_business_days_skip_weekends():
    friday = date(2026, 12, 4)
    assert add_business_days(friday, 1) == date(2026, 12, 7)
    assert add_business_days(friday, 10) == date(2026, 12, 18)


def test_xlsx_reads_back_with_every_device(cityhall_history):
    inventory, _ = cityhall_history
    buffer = io.BytesIO()
    export(inventory, ExportFormat.XLSX, buffer)
    book = openpyxl.load_workbook(io.BytesIO(buffer.getvalue()))
    assert tuple(book.sheetnames) == SHEETS
    devices = book["Devices"]
    rows = list(devices.iter_rows(values_only=True))
    assert len(rows) == 1 + len(inventory.devices)
    assert {r[0] for r in rows[1:]} == {", ".join(d.addresses) for d in inventory.devices}
    header = rows[0]
    uei = header.index("purchase_supplier_uei")
    assert "AB12CD34EF56" in {r[uei] for r in rows[1:]}
    for sheet in book.worksheets:
        assert sheet.freeze_panes == "A2"
        assert sheet.auto_filter.ref.startswith("A1:")
        assert sheet["A1"].font.bold
    assert devices.column_dimensions["A"].width > 10
    evidence = list(book["Evidence"].iter_rows(values_only=True))
    assert len(evidence) - 1 == sum(len(d.evidence) for d in inventory.devices)
    phase = list(book["Phase-out"].iter_rows(values_only=True))
    assert len(phase) - 1 == sum(1 for d in inventory.devices if d.covered.value != "not_covered")
    scope = dict(book["Scope and limitations"].iter_rows(values_only=True))
    assert scope["digest"] == inventory.digest


def test_xlsx_neutralises_formulas():
    hostile = make_inventory(HOSTILE)
    formula = Purchase(
        item_description='=HYPERLINK("http://198.51.100.1/x","open")',
        supplier_name="+SUM(A1:A9)",
        contract_number="@cmd",
    )
    inventory = with_devices(
        hostile, (d.model_copy(update={"purchase": formula}) for d in hostile.devices)
    )
    buffer = io.BytesIO()
    export(inventory, ExportFormat.XLSX, buffer)
    book = openpyxl.load_workbook(io.BytesIO(buffer.getvalue()))
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    assert not cell.value.startswith(("=", "+", "-", "@"))
                    assert len(cell.value) <= 1024
    values = {c.value for row in book["Devices"].iter_rows() for c in row}
    assert '\'=HYPERLINK("http://198.51.100.1/x","open")' in values
    assert "'+SUM(A1:A9)" in values


# ---------------------------------------------------------------- policies through the CLI

ROUTER = [("198.18.0.40", "telnet.banner", "TD-W8961ND 1.0 DSL Modem Router\r\nLogin: ")]


def test_rejudge_consumer_router_per_policy():
    inventory = make_inventory(ROUTER)
    (router,) = inventory.devices
    assert router.covered.value == "undetermined"  # default: categorical FCC entry, check date
    texas = rejudge(inventory, ["texas-2026"])
    assert texas.devices[0].covered.value == "covered"
    assert texas.devices[0].coverage.findings[0].regime == "texas-2026"
    assert texas.summary.covered == 1
    assert rejudge(inventory, ["ndaa-889"]).devices[0].covered.value == "not_covered"
    assert rejudge(inventory, ["ndaa-889", "fcc-covered-list"]) is inventory


def test_cli_policy_and_filing_formats(tmp_path):
    path = tmp_path / "router.json"
    path.write_text(make_inventory(ROUTER).model_dump_json())
    env = {**os.environ, "NDAA_SCAN_DB": "off"}

    def run(*args):
        return subprocess.run(
            [sys.executable, "-m", "scanner", *args],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            cwd=ROOT,
            env=env,
        )

    proc = run("report", str(path), "-f", "json", "--policy", "texas-2026", "--fail-on", "covered")
    assert proc.returncode == 1, proc.stderr
    assert '"regime": "texas-2026"' in proc.stdout
    proc = run("report", str(path), "-f", "far-report", "--policy", "ndaa-889")
    assert proc.returncode == 0
    assert proc.stdout.count("\n") == 1  # header only: nothing covered under §889
    proc = run("report", str(path), "-f", "far-report", "--policy", "nope")
    assert proc.returncode == 2
    assert "unknown policy nope" in proc.stderr
    out = tmp_path / "plan.html"
    assert run("report", str(CITYHALL_INVENTORY), "-f", "phase-out", "-o", str(out)).returncode == 0
    assert "Phase-out plan" in out.read_text()
    out = tmp_path / "inv.xlsx"
    assert run("report", str(CITYHALL_INVENTORY), "-f", "xlsx", "-o", str(out)).returncode == 0
    assert openpyxl.load_workbook(out).sheetnames == list(SHEETS)
