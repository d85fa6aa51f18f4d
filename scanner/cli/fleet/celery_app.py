"""The Celery application of a configuration: one queue per site, late acks, beat from cron.

Delivery guarantees come from Celery and the Redis transport, not from this code:

* ``task_acks_late`` — a sweep's message is acknowledged when the sweep has finished, so a worker
  that dies (``kill -9``, power loss) leaves it unacknowledged;
* the transport's ``visibility_timeout`` — an unacknowledged message is handed out again after
  that long (the configuration's ``visibility_timeout``, else twice the longest site budget);
* ``task_reject_on_worker_lost`` and a prefetch of one — a worker holds one sweep at a time and
  a lost one goes back to the queue rather than being marked failed.

The job runner (:mod:`scanner.cli.fleet.site_sweep`) makes the redelivered sweep resume.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Final

from celery import Celery
from celery.schedules import crontab

from scanner.fleet.config import FleetConfig, cron_fields, load_config

__all__ = ["SWEEP_TASK", "beat_schedule", "make_app"]

log = logging.getLogger(__name__)

#: The one task: sweep a site (job id, or None for a scheduled sweep that makes its own job).
SWEEP_TASK: Final = "ndaa_scan.sweep_site"


def beat_schedule(config: FleetConfig) -> dict[str, dict[str, Any]]:
    """Celery beat entries: one per site with a cron schedule, sent to that site's queue."""
    entries = {}
    for name, site in sorted(config.sites.items()):
        if site.schedule is None:
            continue
        minute, hour, day_of_month, month, day_of_week = cron_fields(site.schedule)
        entries[f"sweep {name}"] = {
            "task": SWEEP_TASK,
            "schedule": crontab(
                minute=minute,
                hour=hour,
                day_of_month=day_of_month,
                month_of_year=month,
                day_of_week=day_of_week,
            ),
            "args": (None, name),
            "options": {"queue": site.queue},
        }
    return entries


def make_app(config: FleetConfig, config_path: Path) -> Celery:
    """The Celery app for ``config``; its task re-reads ``config_path`` on every sweep."""
    app = Celery("ndaa_scan", broker=config.broker, set_as_current=False)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_transport_options={"visibility_timeout": config.redelivery_after},
        broker_connection_retry_on_startup=True,
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        enable_utc=True,
        timezone="UTC",
        beat_schedule=beat_schedule(config),
        worker_hijack_root_logger=False,
    )

    @app.task(name=SWEEP_TASK, bind=True)  # type: ignore[untyped-decorator]
    def sweep_site(task: Any, job_id: str | None, site: str) -> str:
        # Imported here: the job runner loads the probes and rules, which the scheduler and
        # `scans submit` (same app) never need.
        from scanner.cli.fleet.site_sweep import run_job

        current = load_config(config_path)  # edits to the file apply from the next sweep on
        job = run_job(current, current.site(site), job_id, str(task.request.hostname or "worker"))
        log.info("job %s of site %s: %s", job.id, site, job.state.value)
        return job.state.value

    return app
