"""``ndaa-scan assets import``: join the asset register to what the network shows.

The register (CSV or XLSX, one row per item, a header row) is stored in the history database,
replacing the previous import, and every later sweep carries the matched purchase records.
The command prints the two lists an auditor asks for: devices on the network without a record,
and records never seen on the network (unaccounted equipment).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from reports import (
    COLUMN_ALIASES,
    AssetImportError,
    ExportFormat,
    HistoryError,
    Inventory,
    Reconciliation,
    Register,
    attach_purchases,
    open_store,
    read_register,
    reconcile,
)
from scanner.cli.common import EXIT_OK, EXIT_USAGE, CliError, app, stdout_console, write_atomic
from scanner.cli.report_command import DbOption, load_source

assets_app = typer.Typer(
    help="Join an asset register or purchase records to the scanned devices.",
    no_args_is_help=True,
)
app.add_typer(assets_app, name="assets")


def _aliases_help() -> str:
    fields: dict[str, list[str]] = {}
    for alias, field in COLUMN_ALIASES.items():
        fields.setdefault(field, []).append(alias)
    return "; ".join(f"{field}: {', '.join(names[:4])}" for field, names in fields.items())


def _column_map(pairs: list[str]) -> dict[str, str]:
    mapping = {}
    for pair in pairs:
        header, sep, field = pair.rpartition("=")
        if not sep or not header.strip() or not field.strip():
            raise CliError(f"--map wants 'Header=field', got {pair!r}", EXIT_USAGE)
        mapping[header.strip()] = field.strip()
    return mapping


def _store_register(register: Register, db: str | None) -> None:
    try:
        store = open_store(db)
        if store is None:
            raise CliError("history is switched off (NDAA_SCAN_DB=off); pass --db", EXIT_USAGE)
        try:
            store.replace_assets(register)
        finally:
            store.close()
    except HistoryError as exc:
        raise CliError(str(exc), EXIT_USAGE) from exc


def _show(result: Reconciliation, register: Register) -> None:
    console = stdout_console()
    how: dict[str, int] = {}
    for _, method in result.matched.values():
        how[method] = how.get(method, 0) + 1
    console.print(
        f"{escape(result.source)}: {result.records} records, {result.devices} devices; "
        f"matched {len(result.matched)}"
        + (" (" + ", ".join(f"{n} by {m}" for m, n in sorted(how.items())) + ")" if how else ""),
        highlight=False,
    )
    if register.ignored_columns:
        console.print(
            "ignored columns: " + escape(", ".join(register.ignored_columns)), highlight=False
        )
    gaps = Table(title=f"On the network without a record ({len(result.unrecorded)})")
    for column in ("address", "mac", "maker", "model", "serial", "covered"):
        gaps.add_column(column)
    for d in result.unrecorded:
        gaps.add_row(
            *(
                escape(v or "—")
                for v in (", ".join(d.addresses), d.mac, d.maker, d.model, d.serial, d.covered)
            )
        )
    console.print(gaps)
    unseen = Table(title=f"Records never seen on the network ({len(result.unseen)})")
    for column in ("row", "asset tag", "serial", "mac", "model", "site", "contract"):
        unseen.add_column(column)
    for r in result.unseen:
        unseen.add_row(
            str(r.row),
            *(escape(v or "—") for v in (r.purchase.asset_tag, r.serial, r.mac, r.model, r.site)),
            escape(r.purchase.contract_number or "—"),
        )
    console.print(unseen)


@assets_app.command(
    "import",
    epilog="Known column names (case, spaces and punctuation ignored): " + _aliases_help(),
)
def import_command(
    register_file: Annotated[
        Path, typer.Argument(metavar="FILE", help="The register: a .csv or .xlsx file.")
    ],
    inventory_ref: Annotated[
        str,
        typer.Option(
            "--inventory",
            "-i",
            help="The scan to reconcile against: a file or a stored scan id.",
        ),
    ] = "latest",
    column: Annotated[
        list[str] | None,
        typer.Option("--map", help="Map a header to a field: 'Serial No=serial'. Repeatable."),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Also write the inventory with the matched purchase records (JSON).",
        ),
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the reconciliation as JSON.")
    ] = False,
    db: DbOption = None,
) -> int:
    """Store the register and list devices without a record and records never seen."""
    try:
        register = read_register(register_file, _column_map(column or []))
    except AssetImportError as exc:
        raise CliError(str(exc), EXIT_USAGE) from exc
    _store_register(register, db)
    inventory: Inventory = load_source(inventory_ref, db)
    result = reconcile(inventory, register.records, register.source)
    if output is not None:
        write_atomic(output, attach_purchases(inventory, register.records), ExportFormat.JSON)
    if json_output:
        sys.stdout.write(result.model_dump_json(indent=2) + "\n")
    else:
        _show(result, register)
    return EXIT_OK
