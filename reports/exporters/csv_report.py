"""CSV export: one row per device, fixed columns, safe to open in a spreadsheet.

Device strings are untrusted: a banner starting with ``=`` or ``@`` would run as a formula in
Excel or LibreOffice, so such cells get a leading apostrophe (OWASP CSV-injection guidance).
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import IO, Final

from reports.inventory import Inventory, InventoryRecord
from reports.purchase import PURCHASE_FIELDS, Purchase

__all__ = ["CSV_COLUMNS", "csv_row", "guard_cell", "purchase_cells", "write_csv"]

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
    "priority",
    "disposition",
    "remediation_status",
    "waiver_ref",
    "target_date",
    "site",
    "network",
    "switch_port",
    "first_seen",
    "last_seen",
    "flags",
    "evidence",
    "conflicts",
    # 1.2: the purchase record, one column per field, last so 1.1 column positions hold.
    *(f"purchase_{name}" for name in PURCHASE_FIELDS),
    # 1.2 (issue 9): a camera listed by a recorder, and identity read with a login.
    "device_key",
    "behind",
    "channel",
    "identity_with_credentials",
)
# Spreadsheet cells are capped well below Excel's 32,767-character limit.
MAX_CELL_CHARS: Final = 1024
_FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r")
_ONE_LINE: Final = str.maketrans({"\r": " ", "\n": " ", "\t": " "})


def guard_cell(value: str) -> str:
    """Neutralise formula injection, keep the cell on one line, and cap its length."""
    text = value[:MAX_CELL_CHARS]
    if text.startswith(_FORMULA_START):
        text = "'" + text
    # One device, one line: a raw banner's CR/LF inside a quoted cell is legal CSV, but it breaks
    # line-based tools (grep, wc -l) and some spreadsheet imports.
    return text.translate(_ONE_LINE)[:MAX_CELL_CHARS]


def _when(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value else ""


def csv_row(record: InventoryRecord) -> list[str]:
    """One device as the CSV's cells, before the guard (the XLSX export reuses it)."""
    return [
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
        record.priority.value,
        record.remediation.disposition.value,
        record.remediation.status.value,
        record.remediation.waiver_ref or "",
        record.remediation.target_date.isoformat() if record.remediation.target_date else "",
        record.location.site or "",
        record.location.network or "",
        record.location.switch_port or "",
        _when(record.first_seen),
        _when(record.last_seen),
        "; ".join(record.flags),
        "; ".join(f"{e.rule_id} [{e.field}={e.matched}]" for e in record.evidence),
        "; ".join(record.conflicts),
        *purchase_cells(record.purchase),
        record.device_key,
        record.behind or "",
        "" if record.channel is None else str(record.channel),
        "yes" if record.identity_with_credentials else "no",
    ]


def purchase_cells(purchase: Purchase | None) -> list[str]:
    """The purchase record as text cells in :data:`PURCHASE_FIELDS` order (blank when none)."""
    if purchase is None:
        return [""] * len(PURCHASE_FIELDS)
    cells = []
    for name in PURCHASE_FIELDS:
        value = getattr(purchase, name)
        if isinstance(value, tuple):
            cells.append("; ".join(value))
        elif value is None:
            cells.append("")
        else:
            cells.append(str(getattr(value, "value", value)))
    return cells


def write_csv(inventory: Inventory, out: IO[bytes]) -> None:
    """Write the device table as UTF-8 CSV with a header row, streamed row by row."""
    text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=False)
    try:
        writer = csv.writer(text, lineterminator="\r\n")
        writer.writerow(CSV_COLUMNS)
        for record in inventory.devices:
            writer.writerow([guard_cell(v) for v in csv_row(record)])
        text.flush()
    finally:
        # Hand ``out`` back to the caller open: closing the wrapper would close it.
        text.detach()
