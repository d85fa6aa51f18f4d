"""``ndaa-scan listen``: passive discovery for networks where active scans are not allowed.

Captures on one interface for a bounded time (sending nothing), keeps the capture as
``capture.pcap`` beside the inventory so the evidence can be re-read, then judges it exactly
like ``ndaa-scan import capture.pcap``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from scanner.cli.common import EXIT_UNABLE, EXIT_USAGE, CliError, FailOn, app
from scanner.cli.import_command import judge_capture
from scanner.errors import LabError
from scanner.netns import enter_netns
from scanner.passive.listen import MAX_LISTEN_S, ListenError, listen

__all__ = ["listen_command"]


@app.command("listen")
def listen_command(
    interface: Annotated[
        str, typer.Option("--interface", "-i", help="Interface to capture on.", show_default=False)
    ],
    duration: Annotated[
        float,
        typer.Option(
            "--duration", "-d", help=f"Seconds to listen (at most {MAX_LISTEN_S:.0f}).", min=0.1
        ),
    ] = 60.0,
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Directory for capture.pcap and the inventory.")
    ] = Path("out"),
    netns: Annotated[
        str | None,
        typer.Option(help="Capture inside this network namespace (e.g. ndl-<lab>-scan)."),
    ] = None,
    operator: Annotated[
        str | None, typer.Option(help="Who ran the capture (recorded in the inventory).")
    ] = None,
    fail_on: Annotated[FailOn, typer.Option(help="Exit 1 when these are found.")] = FailOn.COVERED,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the inventory as JSON on stdout.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No table.")] = False,
) -> int:
    """Listen without sending, then identify what devices announced (passive mode)."""
    if duration > MAX_LISTEN_S:
        raise CliError(f"--duration: at most {MAX_LISTEN_S:.0f} seconds", EXIT_USAGE)
    if netns:
        try:
            enter_netns(netns)
        except LabError as exc:
            raise CliError(str(exc), EXIT_UNABLE) from exc
    out.mkdir(parents=True, exist_ok=True)
    capture = out / "capture.pcap"
    console = Console(stderr=True, quiet=quiet or json_output)
    try:
        with console.status(f"listening on {interface} for {duration:g} s (sending nothing)"):
            frames = listen(interface, duration, capture)
    except ListenError as exc:
        raise CliError(str(exc), EXIT_UNABLE) from exc
    console.print(f"captured {frames} frames into {capture}")
    return judge_capture(
        capture, out, operator=operator, fail_on=fail_on, json_output=json_output, quiet=quiet
    )
