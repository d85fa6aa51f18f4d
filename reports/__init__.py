"""Stage 3, reports: the remediation inventory, its exports, history and diffs between scans."""

from __future__ import annotations

import logging

from reports.diff import FieldChange, InventoryDiff, diff_inventories
from reports.digest import inventory_digest, seal, verify_document
from reports.exporters import ExportFormat, export
from reports.history import HistoryError, HistoryStore, open_store
from reports.inventory import (
    SCHEMA_VERSION,
    Disposition,
    Inventory,
    InventoryRecord,
    Location,
    Priority,
    Remediation,
    RemediationStatus,
    ScanInfo,
    build_inventory,
)
from reports.limitations import LivenessFacts, liveness_facts, scan_limitations
from reports.loading import InventoryLoadError, load_document, load_inventory_file
from reports.terminal import render_table

__all__ = [
    "SCHEMA_VERSION",
    "Disposition",
    "ExportFormat",
    "FieldChange",
    "HistoryError",
    "HistoryStore",
    "Inventory",
    "InventoryDiff",
    "InventoryLoadError",
    "InventoryRecord",
    "LivenessFacts",
    "Location",
    "Priority",
    "Remediation",
    "RemediationStatus",
    "ScanInfo",
    "build_inventory",
    "diff_inventories",
    "export",
    "inventory_digest",
    "liveness_facts",
    "load_document",
    "load_inventory_file",
    "open_store",
    "render_table",
    "scan_limitations",
    "seal",
    "verify_document",
]

logging.getLogger(__name__).addHandler(logging.NullHandler())
