"""Export formats: an enum that maps each format to its writer (mypy flags an unwired one)."""

from __future__ import annotations

from enum import StrEnum
from typing import IO, assert_never

from reports.exporters.csv_report import write_csv
from reports.exporters.json_report import write_json
from reports.inventory import Inventory

__all__ = ["ExportFormat", "export"]


class ExportFormat(StrEnum):
    """File formats ``ndaa-scan`` writes."""

    JSON = "json"
    CSV = "csv"

    @property
    def suffix(self) -> str:
        """File-name suffix for this format."""
        return "." + self.value


def export(inventory: Inventory, fmt: ExportFormat, out: IO[bytes]) -> None:
    """Write ``inventory`` to ``out`` in format ``fmt``."""
    match fmt:
        case ExportFormat.JSON:
            write_json(inventory, out)
        case ExportFormat.CSV:
            write_csv(inventory, out)
        case _:
            assert_never(fmt)
