"""``ndaa-scan report`` and ``diff``: render stored inventories, verify them, compare them.

An inventory is named either by its file (``out/inventory.json``) or by its id in the history
database (``7``, ``#7``, ``latest``, ``previous``); ``--db`` picks the database.
"""

from __future__ import annotations

import json
import re
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Final

import typer
from rich.console import Console
from rich.markup import escape

from reports import (
    ExportFormat,
    HistoryError,
    Inventory,
    InventoryLoadError,
    diff_inventories,
    export,
    load_document,
    load_inventory_file,
    open_store,
    render_table,
    verify_document,
)
from scanner.cli.common import (
    EXIT_FOUND,
    EXIT_OK,
    EXIT_USAGE,
    CliError,
    FailOn,
    app,
    exit_code_for,
    stdout_console,
    write_atomic,
)

_SCAN_REF: Final = re.compile(r"^(#?\d+|latest|previous)$", re.IGNORECASE)

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="History database: a file path or SQLAlchemy URL (default $NDAA_SCAN_DB, "
        "else the user data directory).",
        show_default=False,
    ),
]

SiteOption = Annotated[
    str | None,
    typer.Option(
        "--site",
        help="The site whose history to use: latest, previous and device keys are per site "
        "(needed once the store holds several).",
        show_default=False,
    ),
]


class RenderFormat(StrEnum):
    """Formats ``report`` renders: every export format, plus the terminal table."""

    JSON = "json"
    CSV = "csv"
    HTML = "html"
    PDF = "pdf"
    JUNIT = "junit"
    TABLE = "table"


def load_source(ref: str, db: str | None, site: str | None = None) -> Inventory:
    """An inventory from a file, or from the history database when ``ref`` is a scan id."""
    path = Path(ref)
    if not path.exists() and _SCAN_REF.match(ref):
        try:
            store = open_store(db)
            if store is None:
                raise CliError(
                    f"{ref!r} names a stored scan, but history is switched off", EXIT_USAGE
                )
            try:
                return store.inventory(ref, site)
            finally:
                store.close()
        except HistoryError as exc:
            raise CliError(str(exc), EXIT_USAGE) from exc
    try:
        return load_inventory_file(path)
    except InventoryLoadError as exc:
        raise CliError(str(exc), EXIT_USAGE) from exc


def _verify(ref: str, db: str | None, site: str | None) -> int:
    path = Path(ref)
    try:
        if path.exists() or not _SCAN_REF.match(ref):
            load_inventory_file(path)  # not an inventory at all is bad input (2), not a mismatch
            document = load_document(path)
        else:
            document = json.loads(load_source(ref, db, site).model_dump_json())
    except InventoryLoadError as exc:
        raise CliError(str(exc), EXIT_USAGE) from exc
    check = verify_document(document)
    if check.ok:
        sys.stdout.write(f"OK {ref}: {check.actual}\n")
        return EXIT_OK
    if check.stated is None:
        sys.stdout.write(f"FAILED {ref}: no digest stated; content hashes to {check.actual}\n")
    else:
        sys.stdout.write(
            f"FAILED {ref}: states {check.stated[:80]} but content hashes to {check.actual}\n"
        )
    return EXIT_FOUND


@app.command("report")
def report_command(
    inventory_ref: Annotated[
        str,
        typer.Argument(
            metavar="INVENTORY",
            help="An inventory file written by sweep, or a stored scan id (7, latest, previous).",
        ),
    ],
    fmt: Annotated[
        RenderFormat, typer.Option("--format", "-f", help="Output format.")
    ] = RenderFormat.TABLE,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
    ] = None,
    fail_on: Annotated[FailOn, typer.Option(help="Exit 1 when these are found.")] = FailOn.NEVER,
    verify: Annotated[
        bool,
        typer.Option(
            "--verify",
            help="Check the inventory's SHA-256 digest against its content (exit 1 "
            "on mismatch) instead of rendering it.",
        ),
    ] = False,
    db: DbOption = None,
    site: SiteOption = None,
) -> int:
    """Render a stored inventory again, in another format, or verify its digest."""
    if verify:
        return _verify(inventory_ref, db, site)
    inventory = load_source(inventory_ref, db, site)
    if fmt is RenderFormat.TABLE:
        if output is None:
            render_table(inventory, stdout_console())
        else:
            with output.open("w", encoding="utf-8") as handle:
                render_table(inventory, Console(file=handle, width=160))
    elif output is not None:
        write_atomic(output, inventory, ExportFormat(fmt.value))
    elif fmt is RenderFormat.PDF and sys.stdout.isatty():
        raise CliError("a PDF is binary: write it with -o FILE.pdf or pipe it", EXIT_USAGE)
    else:
        export(inventory, ExportFormat(fmt.value), sys.stdout.buffer)
    return exit_code_for(inventory, fail_on)


@app.command("diff")
def diff_command(
    before: Annotated[
        str, typer.Argument(metavar="A", help="The older inventory: a file or a stored scan id.")
    ],
    after: Annotated[
        str, typer.Argument(metavar="B", help="The newer inventory: a file or a stored scan id.")
    ],
    json_output: Annotated[bool, typer.Option("--json", help="Print the diff as JSON.")] = False,
    db: DbOption = None,
    site: SiteOption = None,
) -> int:
    """Show devices that are new, gone or changed between two inventories (exit 1 if any)."""
    result = diff_inventories(load_source(before, db, site), load_source(after, db, site))
    if json_output:
        sys.stdout.write(result.model_dump_json(indent=2) + "\n")
    else:
        console = stdout_console()
        for mark, records in (
            ("[green]+ new[/]    ", result.added),
            ("[red]- gone[/]   ", result.removed),
        ):
            for record in records:
                where = escape(", ".join(record.addresses))
                what = escape(" ".join(filter(None, (record.maker or "?", record.model))))
                console.print(
                    f"{mark} {where}  {what}  {record.covered.value}"
                    + (
                        "  [magenta]" + escape(", ".join(record.flags)) + "[/]"
                        if record.flags
                        else ""
                    ),
                    highlight=False,
                )
        for change in result.changed:
            console.print(
                f"[yellow]~ changed[/] {escape(change.device_key)}  {change.field}: "
                f"{escape(str(change.before))} -> {escape(str(change.after))}",
                highlight=False,
            )
        if result.empty:
            console.print("no changes")
    return EXIT_OK if result.empty else EXIT_FOUND
