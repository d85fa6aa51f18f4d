"""Sweeps asked of sites, and the probe results their workers stream in, in the history store.

A job is one sweep of one site: submitted (by ``scans submit`` or the schedule), started by a
site worker (each delivery of the task is an attempt), finished with the id of the scan it
recorded, or failed. While it runs, the worker sends its results here in batches; each row is
keyed by site, job, probe and target, and a batch is inserted with "on conflict do nothing", so
a batch sent again after a redelivery adds nothing. A resumed attempt reads back which (probe,
host) pairs are stored and sweeps only the rest: nothing lost, nothing twice.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Final

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict
from sqlalchemy.dialects import postgresql, sqlite

from reports.history import HistoryError, HistoryStore
from reports.history_tables import probe_results, scan_jobs
from scanner.results import ProbeResult

__all__ = ["JobRow", "JobState", "JobStore"]

_MAX_ERROR: Final = 500
#: Rows per INSERT: six parameters each stays far below SQLite's bound-parameter cap.
_BATCH_ROWS: Final = 500


class JobState(StrEnum):
    """Where a job stands."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class JobRow(BaseModel):
    """One job, as ``scans list`` and ``scans status`` show it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    site: str
    state: JobState
    submitted_by: str | None
    submitted_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    attempts: int
    worker: str | None
    scan_id: int | None
    error: str | None
    results: int = 0


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _slot(result: ProbeResult, repeat: int) -> str:
    return result.target[:190] + (f"#{repeat}" if repeat > 1 else "")


class JobStore:
    """Jobs and streamed results, in the same database as the history (its engine, its errors)."""

    def __init__(self, history: HistoryStore) -> None:
        self._history = history
        self._engine = history.engine

    def _begin(self) -> AbstractContextManager[sa.Connection]:
        return self._history.transaction()

    def submit(self, site: str, *, by: str | None = None, now: datetime | None = None) -> JobRow:
        """Record a new job for ``site``; return it (state queued)."""
        job_id = uuid.uuid4().hex
        with self._begin() as conn:
            conn.execute(
                scan_jobs.insert().values(
                    id=job_id,
                    site=site,
                    state=JobState.QUEUED.value,
                    submitted_by=by,
                    submitted_at=_iso(now or datetime.now(UTC)),
                    attempts=0,
                )
            )
        return self.job(job_id)

    def start(self, job_id: str, worker: str, *, now: datetime | None = None) -> JobRow:
        """Count one more attempt by ``worker``; refuse a job that is already finished."""
        job = self.job(job_id)
        if job.state in {JobState.DONE, JobState.FAILED}:
            raise HistoryError(f"job {job_id} is already {job.state.value}")
        with self._begin() as conn:
            conn.execute(
                scan_jobs.update()
                .where(scan_jobs.c.id == job_id)
                .values(
                    state=JobState.RUNNING.value,
                    attempts=scan_jobs.c.attempts + 1,
                    worker=worker[:300],
                    started_at=sa.func.coalesce(
                        scan_jobs.c.started_at, _iso(now or datetime.now(UTC))
                    ),
                )
            )
        return self.job(job_id)

    def add_results(self, job: JobRow, results: Sequence[ProbeResult], attempt: int) -> int:
        """Store a batch once; return how many rows were new (a repeated batch adds none)."""
        if not results:
            return 0
        repeats: Counter[tuple[str, str]] = Counter()
        rows = []
        for result in results:
            repeats[(result.probe, result.target)] += 1
            rows.append(
                {
                    "site": job.site,
                    "job_id": job.id,
                    "probe": result.probe,
                    "slot": _slot(result, repeats[(result.probe, result.target)]),
                    "attempt": attempt,
                    "result": result.model_dump_json(),
                }
            )
        with self._begin() as conn:
            before = self._count(conn, job.id)
            for start in range(0, len(rows), _BATCH_ROWS):
                conn.execute(_insert_ignoring_duplicates(conn, rows[start : start + _BATCH_ROWS]))
            return self._count(conn, job.id) - before

    def _count(self, conn: sa.Connection, job_id: str) -> int:
        query = sa.select(sa.func.count()).where(probe_results.c.job_id == job_id)
        return int(conn.execute(query).scalar_one())

    def results(self, job_id: str) -> list[ProbeResult]:
        """Every stored result of a job, in key order."""
        query = (
            sa.select(probe_results.c.result)
            .where(probe_results.c.job_id == job_id)
            .order_by(probe_results.c.probe, probe_results.c.slot)
        )
        with self._begin() as conn:
            return [ProbeResult.model_validate_json(text) for text in conn.execute(query).scalars()]

    def finish(self, job_id: str, scan_id: int, *, now: datetime | None = None) -> None:
        """Mark the job done, pointing at the scan it recorded."""
        self._close(job_id, JobState.DONE, now, scan_id=scan_id, error=None)

    def fail(self, job_id: str, error: str, *, now: datetime | None = None) -> None:
        """Mark the job failed with a one-line reason."""
        self._close(job_id, JobState.FAILED, now, error=" ".join(error.split())[:_MAX_ERROR])

    def _close(self, job_id: str, state: JobState, now: datetime | None, **values: Any) -> None:
        with self._begin() as conn:
            conn.execute(
                scan_jobs.update()
                .where(scan_jobs.c.id == job_id)
                .values(state=state.value, finished_at=_iso(now or datetime.now(UTC)), **values)
            )

    def job(self, job_id: str) -> JobRow:
        """One job with its result count; a HistoryError when there is none."""
        rows = self._rows(scan_jobs.c.id == job_id)
        if not rows:
            raise HistoryError(f"no scan job {job_id!r} in the store")
        return rows[0]

    def jobs(self, site: str | None = None, limit: int = 50) -> list[JobRow]:
        """The newest jobs (of one site, if given)."""
        return self._rows(scan_jobs.c.site == site if site is not None else None, limit)

    def _rows(self, clause: sa.ColumnElement[bool] | None, limit: int = 50) -> list[JobRow]:
        counts = (
            sa.select(probe_results.c.job_id, sa.func.count().label("n"))
            .group_by(probe_results.c.job_id)
            .subquery()
        )
        query = (
            sa.select(scan_jobs, sa.func.coalesce(counts.c.n, 0).label("results"))
            .outerjoin(counts, counts.c.job_id == scan_jobs.c.id)
            .order_by(scan_jobs.c.submitted_at.desc(), scan_jobs.c.id)
            .limit(limit)
        )
        if clause is not None:
            query = query.where(clause)
        with self._begin() as conn:
            return [_job(row) for row in conn.execute(query).mappings()]


def _job(row: sa.RowMapping) -> JobRow:
    return JobRow(
        id=row["id"],
        site=row["site"],
        state=JobState(row["state"]),
        submitted_by=row["submitted_by"],
        submitted_at=datetime.fromisoformat(row["submitted_at"]),
        started_at=_when(row["started_at"]),
        finished_at=_when(row["finished_at"]),
        attempts=row["attempts"],
        worker=row["worker"],
        scan_id=row["scan_id"],
        error=row["error"],
        results=row["results"],
    )


def _insert_ignoring_duplicates(conn: sa.Connection, rows: Iterable[dict[str, Any]]) -> Any:
    values = list(rows)
    if conn.dialect.name == "postgresql":
        return postgresql.insert(probe_results).values(values).on_conflict_do_nothing()
    if conn.dialect.name == "sqlite":
        return sqlite.insert(probe_results).values(values).on_conflict_do_nothing()
    raise HistoryError(f"streamed results need SQLite or PostgreSQL, not {conn.dialect.name}")
