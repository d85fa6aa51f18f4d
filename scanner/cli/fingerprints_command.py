"""``ndaa-scan fingerprints``: inspect and verify the rule data."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from fingerprints import (
    load_database,
    verify_files,
)
from fingerprints.database import default_rules_dir
from scanner.cli.common import (
    EXIT_FOUND,
    EXIT_OK,
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
    stderr.print(f"{len(paths)} files, {rules} rules in clean files, {len(problems)} problems")
    return EXIT_FOUND if problems else EXIT_OK


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


# ------------------------------------------------------------------------------ entry point
