"""Export formats: enums that map each format to its writer (mypy flags an unwired one).

:class:`ExportFormat` are the inventory's own formats (``sweep`` writes every one of them);
:class:`FilingFormat` are documents derived from it for a filing (the FAR report, the phase-out
plan), rendered on request by ``report`` only: a FAR form of 2,000 covered cameras is minutes of
PDF layout that no sweep should pay for.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import IO, assert_never

from reports.exporters.csv_report import write_csv
from reports.exporters.far_report import write_far_csv, write_far_pdf
from reports.exporters.html_report import write_html
from reports.exporters.json_report import write_json
from reports.exporters.junit_report import write_junit
from reports.exporters.pdf_report import write_pdf
from reports.exporters.phase_out_report import write_phase_out
from reports.inventory import Inventory

__all__ = ["ExportFormat", "FilingFormat", "export", "export_filing"]


class ExportFormat(StrEnum):
    """File formats ``ndaa-scan`` writes; ``sweep`` writes every one of them under ``--out``."""

    JSON = "json"
    CSV = "csv"
    HTML = "html"
    PDF = "pdf"
    JUNIT = "junit"
    XLSX = "xlsx"

    @property
    def suffix(self) -> str:
        """File-name suffix for this format."""
        match self:
            case ExportFormat.JUNIT:
                return ".junit.xml"  # CI tools look for *.xml
            case _:
                return "." + self.value

    @property
    def media_type(self) -> str:
        """The MIME type, for anyone serving the files."""
        match self:
            case ExportFormat.JSON:
                return "application/json"
            case ExportFormat.CSV:
                return "text/csv"
            case ExportFormat.HTML:
                return "text/html"
            case ExportFormat.PDF:
                return "application/pdf"
            case ExportFormat.JUNIT:
                return "application/xml"
            case ExportFormat.XLSX:
                return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            case _:
                assert_never(self)


def export(inventory: Inventory, fmt: ExportFormat, out: IO[bytes]) -> None:
    """Write ``inventory`` to ``out`` in format ``fmt``."""
    match fmt:
        case ExportFormat.JSON:
            write_json(inventory, out)
        case ExportFormat.CSV:
            write_csv(inventory, out)
        case ExportFormat.HTML:
            write_html(inventory, out)
        case ExportFormat.PDF:
            write_pdf(inventory, out)
        case ExportFormat.JUNIT:
            write_junit(inventory, out)
        case ExportFormat.XLSX:
            # openpyxl costs ~0.3 s to import; most commands never write a workbook.
            from reports.exporters.xlsx_report import write_xlsx

            write_xlsx(inventory, out)
        case _:
            assert_never(fmt)


class FilingFormat(StrEnum):
    """Filing documents ``report`` renders from an inventory."""

    FAR_REPORT = "far-report"
    FAR_REPORT_PDF = "far-report-pdf"
    PHASE_OUT = "phase-out"

    @property
    def suffix(self) -> str:
        """File-name suffix for this document."""
        match self:
            case FilingFormat.FAR_REPORT:
                return ".far-report.csv"
            case FilingFormat.FAR_REPORT_PDF:
                return ".far-report.pdf"
            case FilingFormat.PHASE_OUT:
                return ".phase-out.html"
            case _:
                assert_never(self)


def export_filing(
    inventory: Inventory,
    fmt: FilingFormat,
    out: IO[bytes],
    *,
    history: Sequence[tuple[datetime, int]] = (),
) -> None:
    """Write a filing document; ``history`` is (scan time, covered count) for the burn-down."""
    match fmt:
        case FilingFormat.FAR_REPORT:
            write_far_csv(inventory, out)
        case FilingFormat.FAR_REPORT_PDF:
            write_far_pdf(inventory, out)
        case FilingFormat.PHASE_OUT:
            write_phase_out(inventory, out, history)
        case _:
            assert_never(fmt)
