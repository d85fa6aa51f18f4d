"""What a finished sweep leaves behind: the inventory files under ``--out``, and its history.

One function, so every command that produces an inventory writes the same set of files and
records the same history entry.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from reports import ExportFormat, HistoryError, Inventory, export, open_store, render_table
from scanner.cli.common import FailOn, exit_code_for, stderr, stdout_console, write_atomic
from scanner.cli.deferred import (
    DEFERRED_FORMATS,
    PENDING_NAME,
    HeavyReports,
    defer_heavy,
    start_background,
)

__all__ = ["finish", "publish", "publish_inventory", "record_history"]

log = logging.getLogger(__name__)


def record_history(inventory: Inventory, db: str | None = None) -> tuple[int | None, Inventory]:
    """Store the scan in the history database; return its id and the enriched inventory.

    Best effort on purpose: a sweep's findings must reach disk even when the history database
    is unreachable, so a store failure is one warning line and the unenriched inventory.
    """
    try:
        store = open_store(db)
        if store is None:  # NDAA_SCAN_DB=off
            return None, inventory
        try:
            return store.record(inventory)
        finally:
            store.close()
    except HistoryError as exc:
        log.warning("scan not recorded in history: %s", exc)
        return None, inventory


def publish(
    inventory: Inventory,
    out: Path,
    db: str | None = None,
    heavy: HeavyReports = HeavyReports.INLINE,
) -> tuple[Inventory, list[Path], str | None]:
    """Record the scan in history, then write every inventory format under ``out``.

    The files carry what history adds (first seen, recorded dispositions, reappearance flags)
    and the digest of that final content. Returns that final inventory, the paths written (so a
    caller printing the inventory prints what the files hold) and, when the PDF and XLSX of a
    large inventory went to the background renderer (:mod:`scanner.cli.deferred`), the line
    that says so. JSON, the inventory of record, is written first.
    """
    scan_id, inventory = record_history(inventory, db)
    if scan_id is not None:
        log.info("recorded as scan %d in the history database", scan_id)
    deferred = defer_heavy(len(inventory.devices), heavy)
    # A note left by an earlier run into this directory would describe files it is not making.
    (out / PENDING_NAME).unlink(missing_ok=True)
    written = []
    for fmt in ExportFormat:
        if deferred and fmt in DEFERRED_FORMATS:
            continue
        path = out / f"inventory{fmt.suffix}"
        write_atomic(path, inventory, fmt)
        written.append(path)
    notice = start_background(out, len(inventory.devices)) if deferred else None
    return inventory, written, notice


def finish(
    inventory: Inventory,
    out: Path,
    *,
    json_output: bool,
    quiet: bool,
    fail_on: FailOn,
    db: str | None = None,
    heavy: HeavyReports = HeavyReports.INLINE,
) -> int:
    """Publish the inventory, show it (JSON on stdout, or the table), return the exit code.

    What is shown is what the files hold: history (first seen, dispositions, the digest) is
    applied before anything is printed.
    """
    inventory, written, notice = publish(inventory, out, db, heavy)
    if notice is not None:
        # Said even with --quiet: two files the user expects are not there yet.
        stderr.print(notice, markup=False, highlight=False)
    if json_output:
        export(inventory, ExportFormat.JSON, sys.stdout.buffer)
    elif not quiet:
        render_table(inventory, stdout_console())
        stderr.print("wrote " + ", ".join(str(p) for p in [*written, out / "results.jsonl"]))
    return exit_code_for(inventory, fail_on)


def publish_inventory(inventory: Inventory, out: Path) -> list[Path]:
    """:func:`publish`, returning only the paths written (the sweep's original hook)."""
    return publish(inventory, out)[1]
