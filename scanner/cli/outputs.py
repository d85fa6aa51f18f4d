"""What a finished sweep leaves behind: the inventory files under ``--out``.

One function, so every command that produces an inventory writes the same set of files.
"""

from __future__ import annotations

from pathlib import Path

from reports import ExportFormat, Inventory
from scanner.cli.common import write_atomic

__all__ = ["publish_inventory"]


def publish_inventory(inventory: Inventory, out: Path) -> list[Path]:
    """Write every inventory format under ``out``; return the paths written."""
    written = []
    for fmt in ExportFormat:
        path = out / f"inventory{fmt.suffix}"
        write_atomic(path, inventory, fmt)
        written.append(path)
    return written
