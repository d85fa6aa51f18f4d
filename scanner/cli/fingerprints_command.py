"""``ndaa-scan fingerprints``: inspect and verify the rule data."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from fingerprints import (
    load_database,
    verify_files,
)
from fingerprints.database import default_rules_dir
from fingerprints.oui_refresh import (
    NMAP_MAC_PREFIXES,
    build_registry,
    default_output,
    render_registry,
)
from fingerprints.pen_refresh import (
    WIRESHARK_ENTERPRISES,
    build_pen_registry,
    default_pen_output,
    render_pen_registry,
)
from fingerprints.schema import json_schema
from scanner.cli.common import (
    EXIT_FOUND,
    EXIT_OK,
    EXIT_USAGE,
    CliError,
    fingerprints_app,
    load_db,
    stderr,
    stdout_console,
)


@fingerprints_app.command("verify")
def fingerprints_verify(
    files: Annotated[
        list[Path] | None, typer.Argument(help="Rule files (default: every shipped file).")
    ] = None,
) -> int:
    """Check every rule, example and counterexample; print path:line: FAIL lines."""
    paths = files or sorted(default_rules_dir().glob("*.toml"))
    problems = verify_files(paths)
    for problem in problems:
        sys.stdout.write(f"{problem}\n")
    rules = sum(
        len(load_database([p]).rules) for p in paths if not any(x.path == p for x in problems)
    )
    failures = [p for p in problems if p.level == "FAIL"]
    stderr.print(
        f"{len(paths)} files, {rules} rules in clean files, {len(failures)} failures, "
        f"{len(problems) - len(failures)} warnings"
    )
    return EXIT_FOUND if failures else EXIT_OK


@fingerprints_app.command("list")
def fingerprints_list() -> int:
    """List every rule: id, field, certainty and what it asserts."""
    console = stdout_console()
    for compiled in load_db().rules:
        rule = compiled.rule
        asserts = ", ".join(f"{k}={v}" for k, v in rule.asserts.items())
        console.print(
            f"{rule.id:45} {rule.field:24} {rule.certainty:.2f}  {asserts}", highlight=False
        )
    return EXIT_OK


@fingerprints_app.command("refresh-oui")
def fingerprints_refresh_oui(
    ieee_csv: Annotated[
        list[Path] | None,
        typer.Option(help="IEEE registry CSV export (oui.csv, mam.csv, oui36.csv); repeatable."),
    ] = None,
    nmap: Annotated[
        Path, typer.Option(help="nmap-mac-prefixes to merge when present.")
    ] = NMAP_MAC_PREFIXES,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Where to write (default: shipped file).")
    ] = None,
) -> int:
    """Regenerate the MAC-prefix registry (reference/oui_registry.tsv) from IEEE data."""
    entries, sources = build_registry(ieee_csv or [], nmap)
    target = output or default_output()
    when = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    try:
        target.write_text(render_registry(entries, sources, when), encoding="utf-8")
    except OSError as exc:
        raise CliError(f"cannot write {target}: {exc.strerror or exc}", EXIT_USAGE) from exc
    for line in sources:
        stderr.print(f"source: {line}", highlight=False)
    stderr.print(f"wrote {len(entries)} prefixes to {target}", highlight=False)
    return EXIT_OK


@fingerprints_app.command("refresh-pen")
def fingerprints_refresh_pen(
    wireshark: Annotated[
        Path, typer.Option(help="Debian libwireshark-data's copy of the IANA PEN registry.")
    ] = WIRESHARK_ENTERPRISES,
    iana: Annotated[
        Path | None, typer.Option(help="IANA enterprise-numbers text export, read first.")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Where to write (default: shipped file).")
    ] = None,
) -> int:
    """Regenerate the enterprise-number registry (reference/enterprise_numbers.tsv)."""
    try:
        table, sources = build_pen_registry(wireshark, iana)
    except FileNotFoundError as exc:
        raise CliError(str(exc), EXIT_USAGE) from exc
    target = output or default_pen_output()
    when = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    try:
        target.write_text(render_pen_registry(table, sources, when), encoding="utf-8")
    except OSError as exc:
        raise CliError(f"cannot write {target}: {exc.strerror or exc}", EXIT_USAGE) from exc
    for line in sources:
        stderr.print(f"source: {line}", highlight=False)
    stderr.print(f"wrote {len(table)} enterprise numbers to {target}", highlight=False)
    return EXIT_OK


@fingerprints_app.command("schema")
def fingerprints_schema() -> int:
    """Print the JSON Schema of a rule file (reference/rule-file.schema.json)."""
    sys.stdout.write(json.dumps(json_schema(), indent=2, sort_keys=True) + "\n")
    return EXIT_OK


# ------------------------------------------------------------------------------ entry point
