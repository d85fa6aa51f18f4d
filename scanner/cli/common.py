"""Shared pieces of the command line: the Typer apps, exit codes, errors and file helpers."""

from __future__ import annotations

import logging
import os
import sys
import tempfile
from enum import StrEnum
from pathlib import Path
from typing import Any, Final

import typer
from pydantic import ValidationError
from rich.console import Console
from typer.core import TyperGroup

from fingerprints import (
    CoverageStatus,
    FingerprintDB,
    RuleLoadError,
    load_database,
)
from reports import (
    ExportFormat,
    Inventory,
    export,
)

EXIT_OK: Final = 0
EXIT_FOUND: Final = 1
EXIT_USAGE: Final = 2
EXIT_UNABLE: Final = 3
EXIT_INTERRUPTED: Final = 130


log = logging.getLogger("scanner.cli")
stderr = Console(stderr=True)

#: The order ``ndaa-scan --help`` lists commands in: the workflow, not import order.
COMMAND_ORDER: Final = (
    "sweep",
    "listen",
    "identify",
    "import",
    "report",
    "bundle",
    "diff",
    "history",
    "remediation",
    "assets",
    "overview",
    "scans",
    "worker",
    "schedule",
    "lab",
    "fingerprints",
)


class _WorkflowOrderGroup(TyperGroup):
    """Lists subcommands in :data:`COMMAND_ORDER`; any command not named there comes last."""

    def list_commands(self, ctx: Any) -> list[str]:
        names = super().list_commands(ctx)
        rank = {name: index for index, name in enumerate(COMMAND_ORDER)}
        return sorted(names, key=lambda name: (rank.get(name, len(rank)), name))


app = typer.Typer(
    name="ndaa-scan",
    cls=_WorkflowOrderGroup,
    help=(
        "Find NDAA §889 covered equipment (Hikvision, Dahua, Huawei, ZTE, Hytera and OEM "
        "rebrands) on networks you are authorised to scan, with evidence, and export a "
        "remediation inventory."
    ),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
lab_app = typer.Typer(help="Run the simulated device lab (needs root).", no_args_is_help=True)
fingerprints_app = typer.Typer(
    help="Inspect and verify the fingerprint rules.", no_args_is_help=True
)
app.add_typer(lab_app, name="lab")
app.add_typer(fingerprints_app, name="fingerprints")


class FailOn(StrEnum):
    """Which findings make ``sweep``/``report`` exit 1 (for CI)."""

    COVERED = "covered"  # devices whose verdict is covered
    LIKELY = "likely"  # covered, plus undetermined devices with a covered-maker lead
    NEVER = "never"


class ReportFormat(StrEnum):
    """Formats ``report`` renders."""

    JSON = "json"
    CSV = "csv"
    TABLE = "table"


class CliError(Exception):
    """A failure to report as one line with an exit code."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


# ------------------------------------------------------------------------------ helpers


def stdout_console() -> Console:
    """A console on stdout; piped output gets a readable width instead of rich's 80."""
    return Console() if sys.stdout.isatty() else Console(width=140)


def write_atomic(path: Path, inventory: Inventory, fmt: ExportFormat) -> None:
    """Write a report next to its final name, then rename: a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        # Reports are meant to be shared: the usual 0644, not mkstemp's private 0600.
        os.fchmod(fd, 0o644)
        with os.fdopen(fd, "wb") as handle:
            export(inventory, fmt, handle)
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def exit_code_for(inventory: Inventory, fail_on: FailOn) -> int:
    """Apply the ``--fail-on`` policy: 1 when findings match it, else 0."""
    if fail_on is FailOn.NEVER:
        return EXIT_OK
    if inventory.summary.covered:
        return EXIT_FOUND
    if fail_on is FailOn.LIKELY and any(
        d.covered is CoverageStatus.UNDETERMINED and d.coverage.entity for d in inventory.devices
    ):
        return EXIT_FOUND
    return EXIT_OK


def load_inventory(path: Path) -> Inventory:
    """Read an inventory JSON file, or fail with one clear line."""
    try:
        return Inventory.model_validate_json(path.read_bytes())
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror}", EXIT_USAGE) from exc
    except ValidationError as exc:
        raise CliError(
            f"{path} is not an ndaa-scan inventory: {exc.errors()[0]['msg']}", EXIT_USAGE
        ) from exc


def load_db() -> FingerprintDB:
    """Load the shipped fingerprint rules, or fail with one clear line."""
    try:
        return load_database()
    except RuleLoadError as exc:
        raise CliError(f"fingerprint rules are broken: {exc}", EXIT_USAGE) from exc
