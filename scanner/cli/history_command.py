"""``ndaa-scan history`` and ``remediation``: stored scans, and dispositions that outlive them.

Every sweep is recorded by :func:`scanner.cli.outputs.publish_inventory`; these commands read
the record and let an operator note what will be done about each device (the FAR 4.2104
phase-out plan). A disposition is kept per device of a site, so the next sweep carries it; a device
marked replaced or decommissioned that answers again is flagged reappeared, and a different device
at its address is flagged replacement seen.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from reports import (
    Disposition,
    HistoryError,
    HistoryStore,
    RemediationStatus,
    open_store,
)
from reports.overview import OverviewFormat, build_overview, write_overview
from scanner.cli.common import EXIT_OK, EXIT_USAGE, CliError, app, stdout_console
from scanner.cli.report_command import DbOption, SiteOption

remediation_app = typer.Typer(
    help="Record what will be done about a device (kept across re-scans).", no_args_is_help=True
)
app.add_typer(remediation_app, name="remediation")


@contextmanager
def _store(db: str | None) -> Iterator[HistoryStore]:
    try:
        store = open_store(db)
        if store is None:
            raise CliError("history is switched off (NDAA_SCAN_DB=off); pass --db", EXIT_USAGE)
        try:
            yield store
        finally:
            store.close()
    except HistoryError as exc:
        raise CliError(str(exc), EXIT_USAGE) from exc


@app.command("history")
def history_command(
    db: DbOption = None,
    site: Annotated[
        str | None, typer.Option(help="Only this site's scans.", show_default=False)
    ] = None,
    limit: Annotated[int, typer.Option(help="Show at most this many scans.", min=1)] = 20,
    json_output: Annotated[bool, typer.Option("--json", help="Print as JSON Lines.")] = False,
) -> int:
    """List stored scans, newest first (use their ids with report and diff)."""
    with _store(db) as store:
        rows = store.scans(limit, site)
    if json_output:
        for row in rows:
            sys.stdout.write(row.model_dump_json() + "\n")
        return EXIT_OK
    table = Table(title="ndaa-scan history")
    for column in ("Id", "Finished (UTC)", "Site", "Scope", "Devices", "Covered", "Undet.", "By"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(
            str(row.id),
            row.finished_at.strftime("%Y-%m-%d %H:%M"),
            escape(row.site or "—"),
            escape(", ".join(row.scope)),
            str(row.devices),
            str(row.covered),
            str(row.undetermined),
            escape(row.operator or "—"),
        )
    console = stdout_console()
    if rows:
        console.print(table)
    else:
        console.print("no scans recorded yet")
    return EXIT_OK


@remediation_app.command("set")
def remediation_set(
    device: Annotated[str, typer.Argument(help="The device: MAC, serial, address or device key.")],
    disposition: Annotated[
        Disposition | None, typer.Option(help="Planned action.", show_default=False)
    ] = None,
    status: Annotated[
        RemediationStatus | None,
        typer.Option(help="Progress; 'done' with replace/decommission flags a reappearance."),
    ] = None,
    waiver: Annotated[
        str | None, typer.Option(help="Waiver or exception reference (for accepted_exception).")
    ] = None,
    target_date: Annotated[
        str | None, typer.Option(help="Planned completion date, YYYY-MM-DD.", show_default=False)
    ] = None,
    note: Annotated[str | None, typer.Option(help="Mitigation taken, replacement model…")] = None,
    place: Annotated[str | None, typer.Option(help="Building, room or pole.")] = None,
    switch_port: Annotated[
        str | None, typer.Option(help="Switch and port, e.g. sw3/Gi1/0/7.")
    ] = None,
    by: Annotated[str | None, typer.Option(help="Who recorded this.")] = None,
    db: DbOption = None,
    site: SiteOption = None,
) -> int:
    """Record a device's disposition, status, waiver and location; shown in every later report."""
    when = None
    if target_date is not None:
        try:
            when = date.fromisoformat(target_date)
        except ValueError as exc:
            raise CliError(f"--target-date {target_date!r} is not YYYY-MM-DD", EXIT_USAGE) from exc
    if disposition is Disposition.EXCEPTION and not waiver:
        raise CliError("--disposition accepted_exception needs --waiver REFERENCE", EXIT_USAGE)
    with _store(db) as store:
        entry = store.set_remediation(
            device,
            site=site,
            updated_by=by,
            disposition=disposition,
            status=status,
            waiver_ref=waiver,
            target_date=when,
            note=note,
            place=place,
            switch_port=switch_port,
        )
    r = entry.remediation
    where = f"{entry.site}/" if entry.site else ""
    stdout_console().print(
        f"{escape(where + entry.device)}: {r.disposition.value} ({r.status.value})"
        + (f", waiver {escape(r.waiver_ref)}" if r.waiver_ref else ""),
        highlight=False,
    )
    return EXIT_OK


@remediation_app.command("list")
def remediation_list(
    db: DbOption = None,
    site: Annotated[
        str | None, typer.Option(help="Only this site's devices.", show_default=False)
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print as JSON Lines.")] = False,
) -> int:
    """List every recorded disposition."""
    with _store(db) as store:
        entries = store.remediation_entries(site)
    if json_output:
        for entry in entries:
            sys.stdout.write(entry.model_dump_json() + "\n")
        return EXIT_OK
    table = Table(title="ndaa-scan remediation")
    for column in (
        *("Site", "Device", "Disposition", "Status"),
        *("Waiver", "Target", "Place", "Port", "Note"),
    ):
        table.add_column(column, overflow="fold")
    for entry in entries:
        r = entry.remediation
        table.add_row(
            escape(entry.site or "—"),
            escape(entry.device),
            r.disposition.value,
            r.status.value,
            escape(r.waiver_ref or "—"),
            r.target_date.isoformat() if r.target_date else "—",
            escape(entry.place or "—"),
            escape(entry.switch_port or "—"),
            escape(r.note or "—"),
        )
    stdout_console().print(table)
    return EXIT_OK


@app.command("overview")
def overview_command(
    fmt: Annotated[
        OverviewFormat, typer.Option("--format", "-f", help="Output format.")
    ] = OverviewFormat.HTML,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
    ] = None,
    db: DbOption = None,
) -> int:
    """One report across sites: counts, covered devices per site, remediation burn-down."""
    with _store(db) as store:
        overview = build_overview(store)
    if output is not None:
        with output.open("wb") as handle:
            write_overview(overview, fmt, handle)
    elif fmt is OverviewFormat.PDF and sys.stdout.isatty():
        raise CliError("a PDF is binary: write it with -o FILE.pdf or pipe it", EXIT_USAGE)
    else:
        write_overview(overview, fmt, sys.stdout.buffer)
    return EXIT_OK
