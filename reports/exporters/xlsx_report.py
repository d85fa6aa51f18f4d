"""XLSX export (openpyxl): the workbook an auditor opens.

Sheets: Devices (the CSV's columns, purchase record included), Evidence (one row per matched
rule), Scope and limitations, Phase-out (the FAR 4.2104 laydown). Every text cell goes through
the CSV's :func:`guard_cell`, so a device string can never become a formula; openpyxl would
otherwise store any string starting with ``=`` as one. Headers are bold and frozen, every sheet
has an auto-filter, and column widths follow the content (capped).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from typing import IO, Final

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from reports.exporters.csv_report import CSV_COLUMNS, csv_row, guard_cell
from reports.exporters.view import judged_policies
from reports.filing import PhaseOutRow, phase_out_rows
from reports.inventory import Inventory

__all__ = ["SHEETS", "write_xlsx"]

SHEETS: Final = ("Devices", "Evidence", "Scope and limitations", "Phase-out")
_MAX_WIDTH: Final = 60
_EVIDENCE_COLUMNS: Final = (
    "address",
    "device_key",
    "rule_id",
    "field",
    "matched",
    "certainty",
    "lead",
    "source",
    "description",
)
_PHASE_OUT_COLUMNS: Final = tuple(PhaseOutRow.model_fields)


def _cell(value: object) -> object:
    if isinstance(value, bool | int | float):
        return value
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, date):
        return value.isoformat()
    if value is None:
        return ""
    return ILLEGAL_CHARACTERS_RE.sub("", guard_cell(str(value)))


def _fill(sheet: Worksheet, header: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    sheet.append(list(header))
    widths = [len(h) for h in header]
    for row in rows:
        values = [_cell(v) for v in row]
        sheet.append(values)
        for i, v in enumerate(values):
            widths[i] = max(widths[i], min(len(str(v)), _MAX_WIDTH))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(vertical="top")
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(header))}{max(sheet.max_row, 1)}"
    for i, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(i)].width = min(width + 2, _MAX_WIDTH)


def _scope_rows(inventory: Inventory) -> list[tuple[str, object]]:
    scan = inventory.scan
    rows: list[tuple[str, object]] = [
        ("scope", ", ".join(scan.scope)),
        ("excluded", ", ".join(scan.exclude) or "none"),
        ("site", scan.site or ""),
        ("started", scan.started_at),
        ("finished", scan.finished_at),
        ("operator", scan.operator or ""),
        ("probes", ", ".join(scan.probes)),
        *(
            (f"probe {probe}", ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
            for probe, counts in sorted(scan.status_counts.items())
        ),
        ("tool version", scan.tool_version),
        ("fingerprint database", scan.fingerprint_db_version),
        ("judged against", ", ".join(judged_policies(inventory))),
        ("schema version", inventory.schema_version),
        ("digest", inventory.digest or ""),
    ]
    rows.extend(("limitation", line) for line in scan.limitations)
    return rows


def write_xlsx(inventory: Inventory, out: IO[bytes]) -> None:
    """Write the four-sheet workbook."""
    book = Workbook()
    # A new workbook's default sheet is replaced, so every sheet is made the same way.
    book.remove(book.worksheets[0])
    _fill(book.create_sheet(SHEETS[0]), CSV_COLUMNS, (csv_row(r) for r in inventory.devices))
    _fill(
        book.create_sheet(SHEETS[1]),
        _EVIDENCE_COLUMNS,
        (
            (
                ", ".join(r.addresses),
                r.device_key,
                e.rule_id,
                e.field,
                e.matched,
                e.certainty,
                e.lead,
                e.source,
                e.description,
            )
            for r in inventory.devices
            for e in r.evidence
        ),
    )
    _fill(book.create_sheet(SHEETS[2]), ("item", "value"), _scope_rows(inventory))
    today = inventory.generated_at.astimezone(UTC).date()
    _fill(
        book.create_sheet(SHEETS[3]),
        _PHASE_OUT_COLUMNS,
        (
            [getattr(row, name) for name in _PHASE_OUT_COLUMNS]
            for row in phase_out_rows(inventory, today)
        ),
    )
    stamp = inventory.generated_at.astimezone(UTC).replace(tzinfo=None)
    book.properties.creator = f"ndaa-scan {inventory.scan.tool_version}"
    book.properties.created = stamp
    book.properties.modified = stamp
    book.save(out)
