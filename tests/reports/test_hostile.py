"""Hostile device strings (<script>, =cmd|..., a 1 MB model name) come out harmless everywhere."""

import csv
import io
import json
import re

import defusedxml.ElementTree as DET
import pytest
from pypdf import PdfReader

from fingerprints import ConfidenceLevel, Coverage, CoverageStatus, DeviceIdentity, Evidence
from reports import ExportFormat, ScanInfo, build_inventory, export
from reports.inventory import MAX_TEXT

from .conftest import T0

SCRIPT = "<script>alert(1)</script>"
FORMULA = "=cmd|' /C calc'!A0"
HUGE = "M" * 1_000_000


def hostile_identities():
    """Identities whose every free-text field is hostile, as a compromised device could make."""
    evidence = Evidence(
        rule_id="test.rule",
        field="http.title",
        matched=SCRIPT,
        captures={"model": FORMULA},
        certainty=0.5,
        source="rtsp://admin:hunter2@198.18.0.70/ <img src=x onerror=alert(2)>",
    )
    values = [SCRIPT, FORMULA, HUGE, "@SUM(1)\x00\x1b[31m", "+1<!--", "]]>&amp;", "a\r\n=cmd|x"]
    return [
        DeviceIdentity(
            device_key=f"198.18.0.{70 + n}",
            addresses=(f"198.18.0.{70 + n}",),
            maker=value,
            maker_name=value,
            brand=value,
            model=value,
            firmware=value,
            serial=value,
            device_class=value,
            coverage=Coverage(status=CoverageStatus.COVERED, entity=value, basis=(value,)),
            confidence=0.9,
            level=ConfidenceLevel.CONFIRMED,
            evidence=(evidence,),
            conflicts=(value,),
        )
        for n, value in enumerate(values)
    ]


@pytest.fixture
def worst_inventory():
    info = ScanInfo(
        scope=("198.18.0.0/24",),
        started_at=T0,
        finished_at=T0,
        probes=("arp",),
        tool_version="0.1.0",
        fingerprint_db_version="x",
        operator=SCRIPT,
        site=FORMULA,
    )
    return build_inventory(hostile_identities(), info)


def render(inventory, fmt) -> bytes:
    buffer = io.BytesIO()
    export(inventory, fmt, buffer)
    return buffer.getvalue()


@pytest.fixture(params=["hostile_inventory", "worst_inventory"])
def inventory(request):
    return request.getfixturevalue(request.param)


def test_strings_are_capped_in_the_model(worst_inventory):
    for record in worst_inventory.devices:
        for value in (record.maker, record.model, record.brand, *record.conflicts):
            assert value is None or len(value) <= MAX_TEXT


def test_json_is_harmless(inventory):
    data = render(inventory, ExportFormat.JSON)
    assert len(data) < 200_000  # the 1 MB model name did not come through
    parsed = json.loads(data)
    assert "hunter2" not in data.decode()
    assert all("\x00" not in json.dumps(d) for d in parsed["devices"])


def test_csv_is_harmless(inventory):
    data = render(inventory, ExportFormat.CSV).decode()
    assert "hunter2" not in data
    assert data.count("\n") == inventory.summary.devices + 1  # one line per device
    for row in csv.reader(io.StringIO(data)):
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
            assert len(cell) <= 1024


def test_html_is_harmless(inventory):
    html = render(inventory, ExportFormat.HTML).decode()
    assert "<script" not in html.lower()
    assert "<img" not in html.lower()
    assert "onerror=" not in html.replace("onerror=alert", "")  # only as escaped text
    assert "&lt;script&gt;" in html or inventory.summary.devices == 3
    assert "hunter2" not in html
    # In-page legal-basis anchors, and the openable sources of the evidence (from rule data).
    assert all(
        href.startswith(("#basis-", "https://")) for href in re.findall(r'href="([^"]*)"', html)
    )
    assert len(html) < 400_000
    assert not re.search(
        r"<(?!/?(html|head|meta|title|style|body|header|section|h[12]|p|div|span|"
        r"figure|figcaption|svg|rect|text|table|colgroup|col|thead|tbody|tr|th|td|"
        r"ul|ol|li|a|code|br|!DOCTYPE)\b)",
        html,
    )


def test_junit_is_well_formed_and_harmless(inventory):
    data = render(inventory, ExportFormat.JUNIT)
    root = DET.fromstring(data)  # parses: every hostile string was escaped
    assert root.tag == "testsuites"
    assert b"<script" not in data
    assert b"hunter2" not in data
    assert len(data) < 400_000


def test_pdf_is_harmless(inventory):
    reader = PdfReader(io.BytesIO(render(inventory, ExportFormat.PDF)))
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert "hunter2" not in text
    assert len(reader.pages) <= 10
    # No link annotations or JavaScript actions smuggled in from device strings.
    for page in reader.pages:
        for annot in page.get("/Annots") or []:
            assert "/JS" not in str(annot.get_object())
    assert "/JavaScript" not in str(reader.trailer["/Root"])
