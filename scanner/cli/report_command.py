"""``ndaa-scan report`` and ``diff``: render stored inventories and compare them."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from reports import (
    ExportFormat,
    diff_inventories,
    export,
    render_table,
)
from scanner.cli.common import (
    EXIT_FOUND,
    EXIT_OK,
    FailOn,
    ReportFormat,
    app,
    exit_code_for,
    load_inventory,
    stdout_console,
    write_atomic,
)


@app.command("report")
def report_command(
    inventory_path: Annotated[
        Path, typer.Argument(metavar="INVENTORY.json", help="An inventory written by sweep.")
    ],
    fmt: Annotated[
        ReportFormat, typer.Option("--format", "-f", help="Output format.")
    ] = ReportFormat.TABLE,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
    ] = None,
    fail_on: Annotated[FailOn, typer.Option(help="Exit 1 when these are found.")] = FailOn.NEVER,
) -> int:
    """Render a stored inventory again, in another format."""
    inventory = load_inventory(inventory_path)
    if fmt is ReportFormat.TABLE:
        if output is None:
            render_table(inventory, stdout_console())
        else:
            with output.open("w", encoding="utf-8") as handle:
                render_table(inventory, Console(file=handle, width=160))
    elif output is not None:
        write_atomic(output, inventory, ExportFormat(fmt.value))
    else:
        export(inventory, ExportFormat(fmt.value), sys.stdout.buffer)
    return exit_code_for(inventory, fail_on)


@app.command("diff")
def diff_command(
    before: Annotated[Path, typer.Argument(metavar="A.json", help="The older inventory.")],
    after: Annotated[Path, typer.Argument(metavar="B.json", help="The newer inventory.")],
    json_output: Annotated[bool, typer.Option("--json", help="Print the diff as JSON.")] = False,
) -> int:
    """Show devices that are new, gone or changed between two inventories (exit 1 if any)."""
    result = diff_inventories(load_inventory(before), load_inventory(after))
    if json_output:
        sys.stdout.write(result.model_dump_json(indent=2) + "\n")
    else:
        console = stdout_console()
        for mark, records in (
            ("[green]+ new[/]    ", result.added),
            ("[red]- gone[/]   ", result.removed),
        ):
            for record in records:
                where = ", ".join(record.addresses)
                console.print(f"{mark} {where}  {record.maker or '?'}  {record.covered.value}")
        for change in result.changed:
            console.print(
                f"[yellow]~ changed[/] {change.device_key}  {change.field}: "
                f"{change.before} -> {change.after}",
                highlight=False,
            )
        if result.empty:
            console.print("no changes")
    return EXIT_OK if result.empty else EXIT_FOUND


# ------------------------------------------------------------------------------ lab
