"""``ndaa-scan report`` and ``diff``: render stored inventories, verify them, compare them.

An inventory is named either by its file (``out/inventory.json``) or by its id in the history
database (``7``, ``#7``, ``latest``, ``previous``); ``--db`` picks the database.

``report`` also renders the filing documents (``-f far-report``, ``far-report-pdf``,
``phase-out``), judges an inventory against other regimes (``--policy texas-2026``), signs the
PDF (``--sign-cert/--sign-key``) and verifies a signed PDF (``report FILE.pdf --verify``).
"""

from __future__ import annotations

import io
import json
import os
import re
import sys
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Final

import typer
from rich.console import Console
from rich.markup import escape

from fingerprints.coverage import PolicyError, resolve_policies
from reports import (
    ExportFormat,
    FilingFormat,
    HistoryError,
    Inventory,
    InventoryLoadError,
    SignError,
    diff_inventories,
    export,
    export_filing,
    inventory_digest,
    load_document,
    load_inventory_file,
    load_signer,
    open_store,
    rejudge,
    render_table,
    seal,
    sign_pdf,
    verify_document,
    verify_pdf,
    write_pdf,
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
    XLSX = "xlsx"
    FAR_REPORT = "far-report"
    FAR_REPORT_PDF = "far-report-pdf"
    PHASE_OUT = "phase-out"
    TABLE = "table"


_BINARY: Final = frozenset({RenderFormat.PDF, RenderFormat.XLSX, RenderFormat.FAR_REPORT_PDF})


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


def _verify_pdf(path: Path, trust: list[Path]) -> int:
    try:
        data = path.read_bytes()
        roots = [t.read_bytes() for t in trust]
    except OSError as exc:
        raise CliError(f"cannot read {exc.filename}: {exc.strerror}", EXIT_USAGE) from exc
    try:
        check = verify_pdf(data, roots)
    except SignError as exc:
        raise CliError(f"{path}: {exc}", EXIT_USAGE) from exc
    if check.ok:
        sys.stdout.write(
            f"OK {path}: signature intact and valid (signer {check.signer}); "
            f"embedded inventory {check.digest}\n"
        )
        return EXIT_OK
    sys.stdout.write(f"FAILED {path}: {'; '.join(check.problems)}\n")
    return EXIT_FOUND


def _is_pdf(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return handle.read(5) == b"%PDF-"
    except OSError:
        return False


def _verify(ref: str, db: str | None, site: str | None, trust: list[Path] | None = None) -> int:
    path = Path(ref)
    if _is_pdf(path):
        return _verify_pdf(path, trust or [])
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
    policy: Annotated[
        list[str] | None,
        typer.Option(
            "--policy",
            help="Judge against these regimes (comma list or repeated): ndaa-889, "
            "fcc-covered-list, asda-drones, texas-2026. Default: ndaa-889,fcc-covered-list.",
        ),
    ] = None,
    sign_cert: Annotated[
        Path | None, typer.Option(help="Sign the PDF with this PEM certificate (PAdES).")
    ] = None,
    sign_key: Annotated[Path | None, typer.Option(help="The PEM private key to sign with.")] = None,
    sign_key_password_env: Annotated[
        str | None,
        typer.Option(metavar="VAR", help="Read the key's password from this environment variable."),
    ] = None,
    trust: Annotated[
        list[Path] | None,
        typer.Option(help="With --verify on a PDF: a trusted PEM certificate. Repeatable."),
    ] = None,
) -> int:
    """Render a stored inventory again, in another format, or verify its digest or signature."""
    if verify:
        return _verify(inventory_ref, db, site, trust)
    try:
        policy_ids = resolve_policies(policy)
    except PolicyError as exc:
        raise CliError(str(exc), EXIT_USAGE) from exc
    loaded = load_source(inventory_ref, db, site)
    inventory = rejudge(loaded, policy_ids)
    signing = sign_cert is not None or sign_key is not None
    if signing and fmt is not RenderFormat.PDF:
        raise CliError("--sign-cert/--sign-key sign the PDF: use them with -f pdf", EXIT_USAGE)
    if fmt in _BINARY and output is None and sys.stdout.isatty():
        raise CliError(f"{fmt.value} is binary: write it with -o FILE or pipe it", EXIT_USAGE)
    if fmt is RenderFormat.TABLE:
        if output is None:
            render_table(inventory, stdout_console())
        else:
            with output.open("w", encoding="utf-8") as handle:
                render_table(inventory, Console(file=handle, width=160))
        return exit_code_for(inventory, fail_on)
    if signing:
        payload = _signing_payload(inventory_ref, inventory, rejudged=inventory is not loaded)
        data = _signed_pdf(inventory, payload, sign_cert, sign_key, sign_key_password_env)
    else:
        data = _render(inventory, fmt, db)
    if output is None:
        sys.stdout.buffer.write(data)
    else:
        _write_bytes(output, data)
    return exit_code_for(inventory, fail_on)


def _render(inventory: Inventory, fmt: RenderFormat, db: str | None) -> bytes:
    buffer = io.BytesIO()
    if fmt.value in {f.value for f in FilingFormat}:
        filing = FilingFormat(fmt.value)
        history = _burndown_history(inventory, db) if filing is FilingFormat.PHASE_OUT else ()
        export_filing(inventory, filing, buffer, history=history)
    else:
        export(inventory, ExportFormat(fmt.value), buffer)
    return buffer.getvalue()


def _burndown_history(inventory: Inventory, db: str | None) -> list[tuple[datetime, int]]:
    """(finished, covered) of the stored scans of the inventory's site; none without history."""
    try:
        store = open_store(db)
    except HistoryError:
        return []
    if store is None:
        return []
    try:
        return [
            (row.finished_at, row.covered)
            for row in store.scans(limit=200)
            if row.site == inventory.scan.site
        ]
    except HistoryError:
        return []
    finally:
        store.close()


def _signing_payload(ref: str, inventory: Inventory, *, rejudged: bool) -> tuple[bytes, str]:
    """The inventory JSON to embed in a signed PDF, and its digest.

    A file is embedded as filed, after its digest verifies: signing must never launder an
    edited inventory under a fresh seal. A re-judged (``--policy``) or stored inventory is
    embedded as this version serialises it, sealed.
    """
    path = Path(ref)
    if path.exists() and not rejudged:
        try:
            document = load_document(path)
        except InventoryLoadError as exc:
            raise CliError(str(exc), EXIT_USAGE) from exc
        check = verify_document(document)
        if not check.ok:
            raise CliError(
                f"refusing to sign {ref}: its digest does not verify (report {ref} --verify)",
                EXIT_USAGE,
            )
        return path.read_bytes(), check.actual
    sealed = inventory if inventory.digest == inventory_digest(inventory) else seal(inventory)
    return sealed.model_dump_json(indent=2).encode("utf-8") + b"\n", sealed.digest or ""


def _signed_pdf(
    inventory: Inventory,
    payload: tuple[bytes, str],
    cert: Path | None,
    key: Path | None,
    password_env: str | None,
) -> bytes:
    if cert is None or key is None:
        raise CliError("signing needs both --sign-cert and --sign-key", EXIT_USAGE)
    password = None
    if password_env is not None:
        value = os.environ.get(password_env)
        if value is None:
            raise CliError(f"environment variable {password_env} is not set", EXIT_USAGE)
        password = value.encode("utf-8")
    try:
        signer = load_signer(cert, key, password, datetime.now(UTC))
        buffer = io.BytesIO()
        write_pdf(inventory, buffer, signer=signer)
        body, digest = payload
        return sign_pdf(buffer.getvalue(), body, digest, signer)
    except SignError as exc:
        raise CliError(str(exc), EXIT_USAGE) from exc


def _write_bytes(path: Path, data: bytes) -> None:
    """Write next to the final name, then rename: a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.partial")
    try:
        tmp.write_bytes(data)
        tmp.chmod(0o644)
        tmp.replace(path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise CliError(f"cannot write {path}: {exc.strerror}", EXIT_USAGE) from exc


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
