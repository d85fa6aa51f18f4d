"""Stage 3, reports: the remediation inventory, its exports and diffs between scans."""

from __future__ import annotations

import logging

from reports.diff import FieldChange, InventoryDiff, diff_inventories
from reports.exporters import ExportFormat, export
from reports.inventory import SCHEMA_VERSION, Inventory, InventoryRecord, ScanInfo, build_inventory
from reports.terminal import render_table

__all__ = [
    "SCHEMA_VERSION",
    "ExportFormat",
    "FieldChange",
    "Inventory",
    "InventoryDiff",
    "InventoryRecord",
    "ScanInfo",
    "build_inventory",
    "diff_inventories",
    "export",
    "render_table",
]

logging.getLogger(__name__).addHandler(logging.NullHandler())
