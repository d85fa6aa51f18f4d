"""One scan job of one site, as a worker runs it: sweep, stream results, identify, record.

Results go to the central store in small batches as they arrive (every ``BATCH`` results or
``FLUSH_S`` seconds), keyed by site, job, probe and target. A redelivered job reads back what
reached the store, skips those (probe, host) pairs and sweeps the rest; the scan is recorded and
the job closed in one transaction. So a worker killed at any point loses at most the batch in
flight, which the next attempt sweeps again, and nothing is stored twice.
"""

from __future__ import annotations

import logging
import time
from ipaddress import IPv4Address
from typing import Final

from fingerprints import identify
from reports import (
    HistoryError,
    HistoryStore,
    ScanInfo,
    build_inventory,
    liveness_facts,
    scan_limitations,
)
from reports.history import resolve_url
from reports.scan_jobs import JobRow, JobState, JobStore
from scanner import __version__, event_loop
from scanner.cli.common import CliError, load_db
from scanner.cli.sweep_command import _load_settings
from scanner.errors import NetworkSafetyError, ScopeError
from scanner.fleet.config import ConfigError, FleetConfig, SiteConfig
from scanner.limits import Limits
from scanner.results import ProbeResult, ProbeStatus, tally_statuses, utc_now
from scanner.routes import check_lab_routes
from scanner.sweeper import result_key, select_probes, sweep

__all__ = ["BATCH", "FLUSH_S", "open_central_store", "run_job"]

log = logging.getLogger(__name__)

#: Results per batch, and the longest a result waits before its batch is sent.
BATCH: Final = 64
FLUSH_S: Final = 0.5


def open_central_store(config: FleetConfig) -> HistoryStore:
    """The store the configuration names (its ``store``, else the embedded default)."""
    url = resolve_url(config.store)
    if url is None:
        raise ConfigError("the configuration's store is switched off; site workers need one")
    return HistoryStore(url)


class _Batches:
    """Collects results and sends them to the store in batches."""

    def __init__(self, jobs: JobStore, job: JobRow, attempt: int) -> None:
        self._jobs, self._job, self._attempt = jobs, job, attempt
        self._pending: list[ProbeResult] = []
        self._sent_at = time.monotonic()
        self.stored = 0

    def add(self, result: ProbeResult) -> None:
        self._pending.append(result)
        if len(self._pending) >= BATCH or time.monotonic() - self._sent_at >= FLUSH_S:
            self.flush()

    def flush(self) -> None:
        if self._pending:
            self.stored += self._jobs.add_results(self._job, self._pending, self._attempt)
            self._pending = []
        self._sent_at = time.monotonic()


def _limits(site: SiteConfig) -> Limits:
    return Limits(
        rate_pps=site.rate,
        concurrency=site.concurrency,
        sweep_budget_s=site.budget,
        max_hosts=site.max_hosts,
    )


def _sweep_rest(site: SiteConfig, jobs: JobStore, job: JobRow) -> int:
    """Sweep what the store does not hold yet; return how many new results were stored."""
    stored = jobs.results(job.id)
    done = {result_key(r) for r in stored}
    known_live = {
        IPv4Address(r.target.split(":")[0])
        for r in stored
        if r.status is ProbeStatus.SUCCESS and r.target != "*"
    }
    scope = site.scope()
    check_lab_routes(scope)
    batches = _Batches(jobs, job, job.attempts)
    settings = _load_settings(site.credentials, None)
    chosen = select_probes(list(site.probes) if site.probes else None)

    async def run() -> None:
        async for result in sweep(
            scope,
            probes=chosen,
            limits=_limits(site),
            settings=settings,
            done=done,
            known_live=known_live,
        ):
            batches.add(result)
        batches.flush()

    event_loop.run(run())
    log.info(
        "job %s: %d results stored (%d from earlier attempts)", job.id, batches.stored, len(stored)
    )
    return batches.stored


def _record(site: SiteConfig, history: HistoryStore, jobs: JobStore, job: JobRow) -> int:
    results = jobs.results(job.id)
    db = load_db()
    probe_names = tuple(
        p.info.name for p in select_probes(list(site.probes) if site.probes else None)
    )
    status_counts = tally_statuses(results)
    reach = liveness_facts(results)
    identities = identify([obs for r in results for obs in r.observations], db)
    scope = site.scope()
    settings = _load_settings(site.credentials, None)
    scan = ScanInfo(
        scope=tuple(str(n) for n in scope.networks),
        exclude=tuple(str(n) for n in scope.exclude),
        started_at=job.started_at or utc_now(),
        finished_at=utc_now(),
        probes=probe_names,
        status_counts=status_counts,
        tool_version=__version__,
        fingerprint_db_version=db.version,
        operator=site.operator or job.submitted_by,
        site=site.name,
        limitations=(
            *scan_limitations(
                probe_names,
                status_counts,
                liveness=reach,
                onvif_credentials=settings.onvif_password is not None,
            ),
            *(f"{s.cidr} is used for: {s.use}" for s in site.scopes if s.use),
        ),
    )
    scan_id, _ = history.record(build_inventory(identities, scan), job=job.id)
    return scan_id


def run_job(config: FleetConfig, site: SiteConfig, job_id: str | None, worker: str) -> JobRow:
    """Run (or resume) one job of ``site``; a job id of None is a scheduled sweep's new job."""
    history = open_central_store(config)
    try:
        jobs = JobStore(history)
        job = jobs.job(job_id) if job_id is not None else jobs.submit(site.name, by="schedule")
        if job.state in {JobState.DONE, JobState.FAILED}:
            log.info("job %s is already %s; nothing to do", job.id, job.state.value)
            return job
        job = jobs.start(job.id, worker)
        try:
            _sweep_rest(site, jobs, job)
            _record(site, history, jobs, job)
        except (ScopeError, NetworkSafetyError, CliError, ConfigError) as exc:
            # Not the worker's fault and not transient: redelivering would fail the same way.
            jobs.fail(job.id, f"refusing to scan: {exc}")
        return jobs.job(job.id)
    except HistoryError:
        log.exception("the central store failed")
        raise
    finally:
        history.close()
