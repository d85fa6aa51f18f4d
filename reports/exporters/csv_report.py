"""CSV export: one row per device, fixed columns, safe to open in a spreadsheet.

Device strings are untrusted: a banner starting with ``=`` or ``@`` would run as a formula in
Excel or LibreOffice, so such cells get a leading apostrophe (OWASP CSV-injection guidance).
"""

from __future__ import annotations

import csv
import io
from typing import IO, Final

from reports.inventory import Inventory, InventoryRecord

__all__ = ["CSV_COLUMNS", "guard_cell", "write_csv"]

CSV_COLUMNS: Final = (
    "address",
    "mac",
    "maker",
    "maker_name",
    "brand",
    "model",
    "firmware",
    "serial",
    "device_class",
    "covered",
    "confidence",
    "level",
    "legal_basis",
    "evidence",
    "conflicts",
)
# Spreadsheet cells are capped well below Excel's 32,767-character limit.
MAX_CELL_CHARS: Final = 1024
_FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r")


def guard_cell(value: str) -> str:
    """Neutralise formula injection and cap the length of one cell."""
    text = value[:MAX_CELL_CHARS]
    if text.startswith(_FORMULA_START):
        return "'" + text
    return text


def _row(record: InventoryRecord) -> list[str]:
    values = [
        ", ".join(record.addresses),
        record.mac or "",
        record.maker or "",
        record.maker_name or "",
        record.brand or "",
        record.model or "",
        record.firmware or "",
        record.serial or "",
        record.device_class or "",
        record.covered.value,
        f"{record.confidence:.2f}",
        record.level.value,
        "; ".join(record.coverage.basis) or (record.coverage.note or ""),
        "; ".join(f"{e.rule_id} [{e.field}={e.matched}]" for e in record.evidence),
        "; ".join(record.conflicts),
    ]
    return [guard_cell(v) for v in values]


def write_csv(inventory: Inventory, out: IO[bytes]) -> None:
    """Write the device table as UTF-8 CSV with a header row."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for record in inventory.devices:
        writer.writerow(_row(record))
    out.write(buffer.getvalue().encode("utf-8"))
