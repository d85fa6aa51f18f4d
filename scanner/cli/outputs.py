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


def publish(inventory: Inventory, out: Path, db: str | None = None) -> tuple[Inventory, list[Path]]:
    """Record the scan in history, then write every inventory format under ``out``.

    The files carry what history adds (first seen, recorded dispositions, reappearance flags)
    and the digest of that final content. Returns that final inventory and the paths written,
    so a caller printing the inventory prints what the files hold.
    """
    scan_id, inventory = record_history(inventory, db)
    if scan_id is not None:
        log.info("recorded as scan %d in the history database", scan_id)
    written = []
    for fmt in ExportFormat:
        path = out / f"inventory{fmt.suffix}"
        write_atomic(path, inventory, fmt)
        written.append(path)
    return inventory, written


def finish(
    inventory: Inventory,
    out: Path,
    *,
    json_output: bool,
    quiet: bool,
    fail_on: FailOn,
    db: str | None = None,
) -> int:
    """Publish the inventory, show it (JSON on stdout, or the table), return the exit code.

    What is shown is what the files hold: history (first seen, dispositions, the digest) is
    applied before anything is printed.
    """
    inventory, written = publish(inventory, out, db)
    if json_output:
        export(inventory, ExportFormat.JSON, sys.stdout.buffer)
    elif not quiet:
        render_table(inventory, stdout_console())
        stderr.print("wrote " + ", ".join(str(p) for p in [*written, out / "results.jsonl"]))
    return exit_code_for(inventory, fail_on)


def publish_inventory(inventory: Inventory, out: Path) -> list[Path]:
    """:func:`publish`, returning only the paths written (the sweep's original hook)."""
    return publish(inventory, out)[1]
