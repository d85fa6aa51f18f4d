"""Export formats: an enum that maps each format to its writer (mypy flags an unwired one)."""

from __future__ import annotations

from enum import StrEnum
from typing import IO, assert_never

from reports.exporters.csv_report import write_csv
from reports.exporters.html_report import write_html
from reports.exporters.json_report import write_json
from reports.exporters.junit_report import write_junit
from reports.exporters.pdf_report import write_pdf
from reports.inventory import Inventory

__all__ = ["ExportFormat", "export"]


class ExportFormat(StrEnum):
    """File formats ``ndaa-scan`` writes; ``sweep`` writes every one of them under ``--out``."""

    JSON = "json"
    CSV = "csv"
    HTML = "html"
    PDF = "pdf"
    JUNIT = "junit"

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
        case _:
            assert_never(fmt)
