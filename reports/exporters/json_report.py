"""JSON export: the inventory model as-is, keys in model order, devices sorted by address."""

from __future__ import annotations

from typing import IO

from reports.inventory import Inventory

__all__ = ["write_json"]


def write_json(inventory: Inventory, out: IO[bytes]) -> None:
    """Write the inventory as indented UTF-8 JSON."""
    out.write(inventory.model_dump_json(indent=2).encode("utf-8"))
    out.write(b"\n")
