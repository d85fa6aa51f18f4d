"""FAR 52.204-25(d)(2) report (FAR Part 40: 52.240-91): CSV rows and a PDF form.

One row per covered device with the (d)(2)(i) fields (contract, orders, supplier name, UEI,
CAGE, brand, model number, item description, mitigation) and the 52.204-24 producer and
OEM-or-distributor fields, from the device's purchase record where the asset register gave one
(``ndaa-scan assets import``); blanks say "not known", never a guess. The PDF form adds the
(d)(2)(ii) ten-business-day section to fill in, and cites both clause numberings.
"""

from __future__ import annotations

import csv
import io
from typing import IO

from reports.exporters.csv_report import guard_cell
from reports.exporters.view import render_template
from reports.filing import BUSINESS_DAY_NOTE, CLAUSES, FAR_COLUMNS, REPORT_TO, far_rows
from reports.inventory import Inventory

__all__ = ["render_far_html", "write_far_csv", "write_far_pdf"]


def write_far_csv(inventory: Inventory, out: IO[bytes]) -> None:
    """Write the (d)(2)(i) fields, one covered device a row (formula-neutralised like the CSV)."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(FAR_COLUMNS)
    for row in far_rows(inventory):
        values = row.model_dump(mode="json")
        writer.writerow([guard_cell(str(values[name])) for name in FAR_COLUMNS])
    out.write(buffer.getvalue().encode("utf-8"))


def render_far_html(inventory: Inventory) -> str:
    """The FAR report form as HTML (what the PDF prints)."""
    return render_template(
        "far_report.html.j2",
        inventory,
        rows=far_rows(inventory),
        clauses=CLAUSES,
        report_to=REPORT_TO,
        business_day_note=BUSINESS_DAY_NOTE,
    )


def write_far_pdf(inventory: Inventory, out: IO[bytes]) -> None:
    """Render the FAR report form to PDF with WeasyPrint (no fetches allowed)."""
    from reports.exporters.pdf_report import html_to_pdf

    out.write(html_to_pdf(render_far_html(inventory)))
