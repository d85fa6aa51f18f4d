"""The heavy formats of a large inventory (PDF, XLSX), rendered after the sweep has returned.

Measured on the 2,046-device scale farm: the PDF (WeasyPrint layout, capped at 200 rows) takes
~12 s and the XLSX (openpyxl) ~9 s, more than the rest of identification and the other files
together. Above :data:`BACKGROUND_ABOVE_DEVICES` devices (or with ``--heavy-reports
background``) the sweep writes JSON (the inventory of record), CSV, HTML and JUnit itself, then
starts one detached process that renders PDF and XLSX from that very ``inventory.json``, so the
files carry the same content and digest as if the sweep had written them.

Nothing is lost silently: the sweep says so on the console, and ``inventory.pending`` in the
output directory says what is being rendered, by which process, and the command that renders
the files by hand. The renderer removes it when both files are in place, or writes its error
into it.
"""

from __future__ import annotations

import os
import sys
import time
from enum import StrEnum
from pathlib import Path
from typing import Final

from reports import ExportFormat
from scanner.cli.common import load_inventory, write_atomic

__all__ = [
    "BACKGROUND_ABOVE_DEVICES",
    "DEFERRED_FORMATS",
    "PENDING_NAME",
    "HeavyReports",
    "defer_heavy",
    "render_deferred",
    "start_background",
    "wait_for_deferred",
]

#: Formats whose layout costs seconds per thousand devices.
DEFERRED_FORMATS: Final = (ExportFormat.PDF, ExportFormat.XLSX)
#: Up to this many devices the sweep renders every format itself (the city-hall lab, make demo).
BACKGROUND_ABOVE_DEVICES: Final = 500
#: The note left in the output directory while the heavy formats are being rendered.
PENDING_NAME: Final = "inventory.pending"


class HeavyReports(StrEnum):
    """Where the PDF and XLSX of a sweep are rendered."""

    AUTO = "auto"
    INLINE = "inline"
    BACKGROUND = "background"


def defer_heavy(devices: int, mode: HeavyReports) -> bool:
    """True when the PDF and XLSX go to the background renderer."""
    if mode is HeavyReports.AUTO:
        return devices > BACKGROUND_ABOVE_DEVICES
    return mode is HeavyReports.BACKGROUND


def hand_commands(out: Path, formats: tuple[ExportFormat, ...] = DEFERRED_FORMATS) -> list[str]:
    """The commands that render the deferred files by hand."""
    inventory = out / "inventory.json"
    return [
        f"ndaa-scan report {inventory} -f {fmt.value} -o {out / ('inventory' + fmt.suffix)}"
        for fmt in formats
    ]


def _pending_text(out: Path, state: str) -> str:
    names = ", ".join("inventory" + fmt.suffix for fmt in DEFERRED_FORMATS)
    return (
        f"{names}: {state}\n"
        "This file is removed when they are written. If it stays (the process was stopped), "
        "render them by hand:\n" + "".join(f"  {cmd}\n" for cmd in hand_commands(out))
    )


def start_background(out: Path, devices: int) -> str:
    """Start the detached renderer; return the line the console shows."""
    pending = out / PENDING_NAME
    why = (
        f"{devices:,} devices is above {BACKGROUND_ABOVE_DEVICES}"
        if devices > BACKGROUND_ABOVE_DEVICES
        else "--heavy-reports background"
    )
    state = (
        f"rendering in the background ({why}; --heavy-reports inline renders them before the "
        "sweep returns)."
    )
    # Written before the start: the renderer removes it, so it can never outlive the files.
    pending.write_text(_pending_text(out, state), encoding="utf-8")
    log = os.open(out / ".inventory.render.log", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        # posix_spawn, not Popen: nobody waits for this process (it outlives the sweep), and a
        # Popen object left running warns when collected. setsid: the sweep's Ctrl-C and
        # terminal are not its own.
        pid = os.posix_spawn(
            sys.executable,
            [sys.executable, "-m", "scanner.cli.deferred", str(out)],
            os.environ,
            file_actions=[
                (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                (os.POSIX_SPAWN_DUP2, log, 1),
                (os.POSIX_SPAWN_DUP2, log, 2),
            ],
            setsid=True,
        )
    except OSError:
        pending.unlink(missing_ok=True)
        raise
    finally:
        os.close(log)
    return (
        f"inventory.json (the inventory of record), CSV, HTML and JUnit written; PDF and XLSX "
        f"{state[:-1]}, pid {pid}. See {pending}"
    )


def render_deferred(out: Path) -> int:
    """Render the deferred formats from ``out/inventory.json``; remove the note when done."""
    pending = out / PENDING_NAME
    try:
        inventory = load_inventory(out / "inventory.json")
        for fmt in DEFERRED_FORMATS:
            write_atomic(out / f"inventory{fmt.suffix}", inventory, fmt)
    except Exception as exc:  # noqa: BLE001 - whatever failed, the note must say so
        pending.write_text(
            _pending_text(out, f"background rendering failed ({exc.__class__.__name__}: {exc})"),
            encoding="utf-8",
        )
        return 1
    pending.unlink(missing_ok=True)
    (out / ".inventory.render.log").unlink(missing_ok=True)
    return 0


def wait_for_deferred(out: Path, timeout_s: float) -> bool:
    """Wait (bounded) until the background renderer is done; True when the note is gone."""
    deadline = time.monotonic() + timeout_s
    while (out / PENDING_NAME).exists():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.stderr.write("usage: python -m scanner.cli.deferred OUT_DIR\n")
        raise SystemExit(2)
    # Lower priority: the user's next command (or the next sweep) comes first.
    os.nice(5)
    raise SystemExit(render_deferred(Path(sys.argv[1])))
