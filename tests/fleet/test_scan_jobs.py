"""Scan jobs and streamed results in the store: a batch sent twice adds nothing, one scan per job.

Run on the embedded SQLite and on the PostgreSQL cluster the suite starts once per run.
"""

from datetime import UTC, datetime

import pytest

from fingerprints import identify, load_database
from reports import HistoryError, ScanInfo, build_inventory, open_store
from reports.scan_jobs import JobState, JobStore
from scanner.results import Observation, ProbeResult, ProbeStatus

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def result(probe, target, value="App-webs/"):
    host = target.split(":")[0]
    return ProbeResult(
        probe=probe,
        target=target,
        status=ProbeStatus.SUCCESS,
        started_at=T0,
        elapsed_s=0.1,
        observations=(
            Observation(
                host=host, protocol="http", field="server_header", value=value, observed_at=T0
            ),
        ),
    )


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    url = request.getfixturevalue("postgres_url") if request.param == "postgresql" else None
    opened = open_store(url or str(tmp_path / "store.sqlite3"))
    yield opened
    opened.close()


def test_batches_are_idempotent_by_site_job_probe_and_target(store):
    jobs = JobStore(store)
    job = jobs.submit("alpha", by="test")
    assert job.state is JobState.QUEUED
    job = jobs.start(job.id, "alpha@here")
    batch = [result("http_banner", "198.18.0.10:80"), result("arp", "198.18.0.10")]
    assert jobs.add_results(job, batch, attempt=1) == 2
    # The same batch again (a redelivered attempt resending it): nothing new.
    assert jobs.add_results(job, batch, attempt=2) == 0
    # Two results of one probe on one target are both kept.
    assert (
        jobs.add_results(job, [result("snmp", "198.18.0.10"), result("snmp", "198.18.0.10")], 2)
        == 2
    )
    # The same keys under another site or job are other rows.
    other = jobs.start(jobs.submit("beta").id, "beta@here")
    assert jobs.add_results(other, batch, attempt=1) == 2
    assert len(jobs.results(job.id)) == 4
    assert jobs.job(job.id).results == 4
    assert [j.site for j in jobs.jobs("alpha")] == ["alpha"]


def test_recording_a_job_twice_stores_one_scan(store):
    jobs = JobStore(store)
    job = jobs.start(jobs.submit("alpha").id, "w1")
    observations = [o for r in [result("http_banner", "198.18.0.10:80")] for o in r.observations]
    scan = ScanInfo(
        scope=("198.18.0.0/24",),
        started_at=T0,
        finished_at=T0,
        probes=("http_banner",),
        tool_version="0.1.0",
        fingerprint_db_version="sha256:test",
        site="alpha",
        limitations=("test",),
    )
    inventory = build_inventory(identify(observations, load_database()), scan)
    first, stored = store.record(inventory, job=job.id)
    again, stored_again = store.record(inventory, job=job.id)
    assert first == again
    assert stored_again.digest == stored.digest
    assert [row.id for row in store.scans(site="alpha")] == [first]
    done = jobs.job(job.id)
    assert (done.state, done.scan_id) == (JobState.DONE, first)
    with pytest.raises(HistoryError, match="already done"):
        jobs.start(job.id, "w2")
    with pytest.raises(HistoryError, match="no scan job"):
        jobs.job("nope")
