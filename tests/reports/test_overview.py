"""The cross-site report: counts by site, covered per site, burn-down, in JSON, HTML and PDF."""

import json
from datetime import timedelta

from pypdf import PdfReader

from reports import Disposition, RemediationStatus, open_store
from reports.overview import OverviewFormat, build_overview, write_overview
from scanner.cli import main
from scanner.cli.outputs import record_history

from .test_history_identity import AXIS_ROUTED, HIK_ROUTED, T0, scan


def three_scans():
    record_history(scan(HIK_ROUTED, site="Library"))
    record_history(scan([*HIK_ROUTED, ("10.0.0.6", *AXIS_ROUTED[0][1:])], site="Pool"))
    open_store().set_remediation(
        "10.0.0.5",
        site="Library",
        disposition=Disposition.REPLACE,
        status=RemediationStatus.DONE,
        now=T0 + timedelta(days=1),
    )
    record_history(scan(AXIS_ROUTED, days=30, site="Library"))


def test_counts_covered_and_burn_down(tmp_path):
    three_scans()
    store = open_store()
    overview = build_overview(store)
    store.close()
    by_site = {s.site: s for s in overview.sites}
    assert (by_site["Library"].covered, by_site["Library"].devices) == (0, 1)
    assert (by_site["Pool"].covered, by_site["Pool"].covered_open) == (1, 1)
    assert [d.maker for d in by_site["Pool"].covered_devices] == ["hikvision"]
    library = [(p.scan, p.covered_open) for p in overview.burn_down if p.site == "Library"]
    assert library == [(1, 1), (3, 0)]
    assert (overview.devices, overview.covered, overview.covered_open) == (3, 1, 1)
    html = tmp_path / "o.html"
    with html.open("wb") as out:
        write_overview(overview, OverviewFormat.HTML, out)
    text = html.read_text()
    assert "<polyline" in text
    assert "Library: 0 open" in text
    assert "Pool: 1 open" in text
    assert "http://" not in text.replace("http://www.w3.org/2000/svg", "")


def test_overview_on_the_command_line(tmp_path, capsys):
    three_scans()
    assert main(["overview", "-f", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [s["site"] for s in data["sites"]] == ["Library", "Pool"]
    pdf = tmp_path / "o.pdf"
    assert main(["overview", "-f", "pdf", "-o", str(pdf)]) == 0
    assert "burn-down" in PdfReader(pdf).pages[0].extract_text()
