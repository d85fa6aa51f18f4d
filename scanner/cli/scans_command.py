"""``ndaa-scan scans submit|list|status``: ask a site for a sweep, and follow the jobs.

``submit`` records a job in the central store and puts its message on the site's queue (the
broker); ``list`` and ``status`` read the store only, so they work without a broker.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from reports import HistoryError, HistoryStore
from reports.scan_jobs import JobRow, JobStore
from scanner.cli.common import EXIT_OK, EXIT_UNABLE, EXIT_USAGE, CliError, app, stdout_console
from scanner.cli.worker_command import ConfigOption, load_fleet
from scanner.fleet.config import ConfigError, FleetConfig

scans_app = typer.Typer(
    help="Sweeps asked of site workers: submit one, list them, follow one.",
    no_args_is_help=True,
)
app.add_typer(scans_app, name="scans")


@contextmanager
def _jobs(config: FleetConfig) -> Iterator[JobStore]:
    from scanner.cli.fleet.site_sweep import open_central_store

    try:
        store: HistoryStore = open_central_store(config)
    except (HistoryError, ConfigError) as exc:
        raise CliError(str(exc), EXIT_USAGE) from exc
    try:
        yield JobStore(store)
    except HistoryError as exc:
        raise CliError(str(exc), EXIT_USAGE) from exc
    finally:
        store.close()


def _row(job: JobRow) -> tuple[str, ...]:
    return (
        job.id,
        escape(job.site),
        job.state.value,
        job.submitted_at.strftime("%Y-%m-%d %H:%M:%S"),
        str(job.attempts),
        str(job.results),
        str(job.scan_id) if job.scan_id is not None else "—",
        escape(job.error or ""),
    )


@scans_app.command("submit")
def scans_submit(
    site: Annotated[str, typer.Option("--site", help="The site to sweep.")],
    config_path: ConfigOption = None,
    by: Annotated[str | None, typer.Option(help="Who asked (recorded with the job).")] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print the job as JSON.")] = False,
) -> int:
    """Queue a sweep of SITE for its worker; print the job id."""
    from kombu.exceptions import OperationalError

    from scanner.cli.fleet.celery_app import SWEEP_TASK, make_app

    config, resolved = load_fleet(config_path, needs_broker=True)
    try:
        chosen = config.site(site)
    except ConfigError as exc:
        raise CliError(f"{resolved}: {exc}", EXIT_USAGE) from exc
    with _jobs(config) as jobs:
        job = jobs.submit(chosen.name, by=by)
        try:
            make_app(config, resolved).send_task(
                SWEEP_TASK, args=[job.id, chosen.name], queue=chosen.queue, retry=False
            )
        except OperationalError as exc:
            jobs.fail(job.id, "the broker refused the message")
            raise CliError(f"cannot reach the broker: {exc}", EXIT_UNABLE) from exc
    if json_output:
        sys.stdout.write(job.model_dump_json() + "\n")
    else:
        stdout_console().print(job.id, highlight=False)
    return EXIT_OK


@scans_app.command("list")
def scans_list(
    config_path: ConfigOption = None,
    site: Annotated[str | None, typer.Option(help="Only this site's jobs.")] = None,
    limit: Annotated[int, typer.Option(help="Show at most this many.", min=1)] = 20,
    json_output: Annotated[bool, typer.Option("--json", help="Print as JSON Lines.")] = False,
) -> int:
    """List scan jobs, newest first."""
    config, _ = load_fleet(config_path)
    with _jobs(config) as jobs:
        rows = jobs.jobs(site, limit)
    if json_output:
        for row in rows:
            sys.stdout.write(row.model_dump_json() + "\n")
        return EXIT_OK
    table = Table(title="ndaa-scan scans")
    for column in ("Job", "Site", "State", "Submitted (UTC)", "Tries", "Results", "Scan", "Error"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*_row(row))
    stdout_console().print(table if rows else "no scan jobs yet")
    return EXIT_OK


@scans_app.command("status")
def scans_status(
    job_id: Annotated[str, typer.Argument(metavar="JOB", help="A job id from submit or list.")],
    config_path: ConfigOption = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> int:
    """Show one job: state, attempts, results stored so far, and the scan it recorded."""
    config, _ = load_fleet(config_path)
    with _jobs(config) as jobs:
        job = jobs.job(job_id.strip())
    if json_output:
        sys.stdout.write(job.model_dump_json() + "\n")
        return EXIT_OK
    console = stdout_console()
    for label, value in zip(
        ("job", "site", "state", "submitted", "attempts", "results", "scan", "error"),
        _row(job),
        strict=True,
    ):
        console.print(f"{label:>10}: {value}", highlight=False)
    return EXIT_OK
