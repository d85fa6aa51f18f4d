"""The ``ndaa-scan`` command line, and the composition root of the three stages.

This package is the only place that imports ``scanner``, ``fingerprints`` and ``reports``
together: one module per subcommand group, shared pieces in :mod:`scanner.cli.common`.

Exit codes (one table, tested):

====  ==========================================================================
0     finished; nothing matched the ``--fail-on`` policy
1     finished; covered devices found (per ``--fail-on``), or verification failures
2     usage, configuration or input error (bad arguments, bad scope, unreadable file)
3     the sweep could not run (network safety refusal, lab or permission failure)
130   interrupted
====  ==========================================================================
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from typing import Final

import typer

from scanner.cli import (  # noqa: F401 - importing registers the subcommands
    assets_command,
    bundle_command,
    fingerprints_command,
    history_command,
    identify_command,
    import_command,
    lab_command,
    listen_command,
    report_command,
    scans_command,
    sweep_command,
    worker_command,
)
from scanner.cli.common import EXIT_INTERRUPTED, EXIT_OK, EXIT_UNABLE, EXIT_USAGE, CliError, app
from scanner.errors import ScanError

__all__ = ["app", "main"]


def _usage_error_types() -> tuple[type[Exception], ...]:
    # Typer 0.29+ ships its own copy of click; match its UsageError by ancestry, not by import.
    return tuple(
        cls
        for cls in typer.BadParameter.__mro__
        if cls.__name__ == "UsageError" and issubclass(cls, Exception)
    )


_USAGE_ERRORS: Final = _usage_error_types()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; every failure becomes one line on stderr and an exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.WARNING, format="ndaa-scan: %(levelname)s: %(message)s")
    try:
        result = app(args=args, prog_name="ndaa-scan", standalone_mode=False)
    except CliError as exc:
        sys.stderr.write(f"ndaa-scan: error: {' '.join(str(exc).split())}\n")
        return exc.code
    except _USAGE_ERRORS as exc:
        text = exc.format_message()  # type: ignore[attr-defined]
        if type(exc).__name__ == "NoArgsIsHelpError":
            sys.stderr.write(text + "\n")  # a bare group name: show its help
            return EXIT_USAGE
        sys.stderr.write(f"ndaa-scan: error: {' '.join(text.split())} (see --help)\n")
        return EXIT_USAGE
    except (typer.Abort, KeyboardInterrupt):
        sys.stderr.write("ndaa-scan: interrupted\n")
        return EXIT_INTERRUPTED
    except ScanError as exc:
        sys.stderr.write(f"ndaa-scan: error: {exc}\n")
        return EXIT_UNABLE
    return result if isinstance(result, int) else EXIT_OK
