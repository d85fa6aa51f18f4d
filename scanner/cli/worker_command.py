"""``ndaa-scan worker`` and ``schedule``: a site's Celery worker, and Celery beat from the config.

A worker consumes one site's queue (``ndaa-scan.site.<name>``) and sweeps from where it stands,
streaming results to the central store. It runs Celery's solo pool: one sweep at a time, in the
worker process itself, so ``kill`` of the worker is the end of its sweep and the broker hands the
unacknowledged message to the next worker of the site (see :mod:`scanner.cli.fleet.celery_app`).
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Annotated, Final

import platformdirs
import typer
from rich.table import Table

from scanner.cli.common import EXIT_OK, EXIT_UNABLE, EXIT_USAGE, CliError, app, stdout_console
from scanner.errors import LabError
from scanner.fleet.config import ConfigError, FleetConfig, load_config
from scanner.netns import enter_netns

__all__ = ["CONFIG_ENV", "ConfigOption", "load_fleet"]

#: Where the configuration is when ``--config`` is not given.
CONFIG_ENV: Final = "NDAA_SCAN_CONFIG"
DEFAULT_CONFIG: Final = Path("ndaa-scan.toml")

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help=f"The ndaa-scan.toml with the sites (default ${CONFIG_ENV}, else ./ndaa-scan.toml).",
        show_default=False,
    ),
]


def load_fleet(path: Path | None, *, needs_broker: bool = False) -> tuple[FleetConfig, Path]:
    """Load the configuration or fail with its one-line error (exit 2)."""
    chosen = path or Path(os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG)
    try:
        config = load_config(chosen)
    except ConfigError as exc:
        raise CliError(str(exc), EXIT_USAGE) from exc
    if needs_broker and not config.broker:
        raise CliError(f'{chosen}: no broker URL (broker = "redis://…")', EXIT_USAGE)
    return config, chosen.resolve()


@app.command("worker")
def worker_command(
    site: Annotated[str, typer.Option("--site", help="The site whose queue to consume.")],
    config_path: ConfigOption = None,
    name: Annotated[
        str | None,
        typer.Option(help="Worker name (default <site>@<host>-<pid>).", show_default=False),
    ] = None,
    loglevel: Annotated[str, typer.Option(help="Celery log level.")] = "INFO",
) -> int:
    """Run a site worker: consume the site's queue and sweep from here (Celery, Redis broker)."""
    from scanner.cli.fleet.celery_app import make_app

    config, resolved = load_fleet(config_path, needs_broker=True)
    try:
        chosen = config.site(site)
    except ConfigError as exc:
        raise CliError(f"{resolved}: {exc}", EXIT_USAGE) from exc
    if chosen.netns:
        try:
            enter_netns(chosen.netns)  # before Celery starts a thread: the whole process moves
        except LabError as exc:
            raise CliError(str(exc), EXIT_UNABLE) from exc
    hostname = name or f"{chosen.name}@{socket.gethostname()}-{os.getpid()}"
    celery = make_app(config, resolved)
    celery.worker_main(
        [
            "worker",
            f"--queues={chosen.queue}",
            "--pool=solo",
            f"--hostname={hostname}",
            f"--loglevel={loglevel}",
            "--without-gossip",
            "--without-mingle",
        ]
    )
    return EXIT_OK


@app.command("schedule")
def schedule_command(
    config_path: ConfigOption = None,
    state_dir: Annotated[
        Path | None,
        typer.Option(
            help="Where beat keeps its last-run times (default: the user state directory).",
            show_default=False,
        ),
    ] = None,
    loglevel: Annotated[str, typer.Option(help="Celery log level.")] = "INFO",
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the schedule and exit without running beat.")
    ] = False,
) -> int:
    """Run Celery beat: send each site's sweep to its queue on the config's cron schedule."""
    from scanner.cli.fleet.celery_app import beat_schedule, make_app

    config, resolved = load_fleet(config_path, needs_broker=not dry_run)
    entries = beat_schedule(config)
    table = Table(title=f"ndaa-scan schedule ({resolved})")
    for column in ("Site", "Cron (UTC)", "Queue"):
        table.add_column(column)
    for site in sorted(config.sites.values(), key=lambda s: s.name):
        if site.schedule:
            table.add_row(site.name, site.schedule, site.queue)
    stdout_console().print(table if entries else "no site has a schedule")
    if dry_run:
        return EXIT_OK
    if not entries:
        raise CliError(f'{resolved}: no site has a schedule = "…" to run', EXIT_USAGE)
    state = state_dir or Path(platformdirs.user_state_dir("ndaa-scan", appauthor=False))
    state.mkdir(parents=True, exist_ok=True)
    make_app(config, resolved).start(
        [
            "beat",
            f"--schedule={state / 'celerybeat-schedule'}",
            f"--loglevel={loglevel}",
            f"--pidfile={state / 'celerybeat.pid'}",
        ]
    )
    return EXIT_OK
