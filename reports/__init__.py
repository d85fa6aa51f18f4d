"""Stage 3, reports: the remediation inventory, its exports, history and diffs between scans."""

from __future__ import annotations

import logging

from reports.assets import (
    COLUMN_ALIASES,
    AssetImportError,
    Reconciliation,
    Register,
    attach_purchases,
    read_register,
    reconcile,
)
from reports.diff import FieldChange, InventoryDiff, diff_inventories
from reports.digest import inventory_digest, seal, verify_document
from reports.exporters import ExportFormat, FilingFormat, export, export_filing
from reports.exporters.pdf_report import write_pdf
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
from reports.policy import rejudge
from reports.purchase import Purchase
from reports.signing import SignError, load_signer, sign_pdf, verify_pdf
from reports.terminal import render_table

__all__ = [
    "COLUMN_ALIASES",
    "SCHEMA_VERSION",
    "AssetImportError",
    "Disposition",
    "ExportFormat",
    "FieldChange",
    "FilingFormat",
    "HistoryError",
    "HistoryStore",
    "Inventory",
    "InventoryDiff",
    "InventoryLoadError",
    "InventoryRecord",
    "LivenessFacts",
    "Location",
    "Priority",
    "Purchase",
    "Reconciliation",
    "Register",
    "Remediation",
    "RemediationStatus",
    "ScanInfo",
    "SignError",
    "attach_purchases",
    "build_inventory",
    "diff_inventories",
    "export",
    "export_filing",
    "inventory_digest",
    "liveness_facts",
    "load_document",
    "load_inventory_file",
    "load_signer",
    "open_store",
    "read_register",
    "reconcile",
    "rejudge",
    "render_table",
    "scan_limitations",
    "seal",
    "sign_pdf",
    "verify_document",
    "verify_pdf",
    "write_pdf",
]

logging.getLogger(__name__).addHandler(logging.NullHandler())
