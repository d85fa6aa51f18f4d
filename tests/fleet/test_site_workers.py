"""Two sites with the same address range, two real Celery workers, Redis and PostgreSQL.

Each site is a lab of its own (examples/lab/skeleton.toml twice, under two names): the same
198.18.0.0/24 with the same two cameras, in separate namespaces, so only the site tells them
apart. The workers run as `ndaa-scan worker` subprocesses inside their lab's scanner namespace;
the broker (redis-server) and the store (PostgreSQL) are started once per run (tests/servers.py)
and reached over Unix sockets. One worker is killed with SIGKILL mid-sweep: its message is
redelivered after the visibility timeout and the next worker resumes from what reached the store.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from celery.beat import Scheduler

from reports import open_store
from reports.history_tables import probe_results
from reports.scan_jobs import JobRow, JobState, JobStore
from scanner import lab
from scanner.cli.fleet.celery_app import make_app
from scanner.fleet.config import load_config

pytestmark = [pytest.mark.lab, pytest.mark.slow]

ROOT = Path(__file__).parents[2]
PROFILE = ROOT / "examples" / "lab" / "skeleton.toml"
#: The sweep must outlast the moment the test kills its worker: a low rate stretches it to ~20 s.
RATE = 40
VISIBILITY_S = 8


@pytest.fixture(scope="module")
def labs():
    names = [f"fa{os.getpid() % 100000}", f"fb{os.getpid() % 100000}"]
    for name in names:
        lab.down(name)
        lab.up(PROFILE, name)
    yield names
    for name in names:
        lab.down(name)


@pytest.fixture(scope="module")
def store_url(postgres_server):
    from tests.servers import _as_postgres

    bindir, sock = postgres_server
    name = f"fleet{os.getpid()}"
    _as_postgres(str(bindir / "createdb"), "-h", str(sock), "-U", "postgres", name)
    return f"postgresql+psycopg://postgres@/{name}?host={sock}"


@pytest.fixture(scope="module")
def config(labs, store_url, redis_url, tmp_path_factory):
    path = tmp_path_factory.mktemp("fleet") / "ndaa-scan.toml"
    sites = "".join(
        f"""
[sites.{site}]
scopes = [{{ cidr = "198.18.0.0/24", use = "video surveillance of public areas" }}]
netns = "ndl-{name}-scan"
rate = {RATE}
budget = 120
schedule = "0 3 * * *"
"""
        for site, name in zip(("alpha", "beta"), labs, strict=True)
    )
    path.write_text(
        f'store = "{store_url}"\nbroker = "{redis_url}"\nvisibility_timeout = {VISIBILITY_S}\n'
        + sites
    )
    return path


class Worker:
    """One `ndaa-scan worker` subprocess; its log is a file so a failure can show it."""

    def __init__(self, config: Path, site: str, log: Path) -> None:
        self.log = log
        with log.open("wb") as out:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "scanner",
                    "worker",
                    "--site",
                    site,
                    "--config",
                    str(config),
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
            )
        deadline = time.monotonic() + 60
        while b" ready." not in log.read_bytes():
            assert self.proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture(scope="module")
def workers(config, tmp_path_factory):
    logs = tmp_path_factory.mktemp("logs")
    started = {site: Worker(config, site, logs / f"{site}.log") for site in ("alpha", "beta")}
    yield started
    for worker in started.values():
        worker.stop()


def cli(config, *args):
    proc = subprocess.run(
        [sys.executable, "-m", "scanner", *args, "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def jobs_of(store_url):
    store = open_store(store_url)
    return store, JobStore(store)


def wait_for(store_url, job_id, state=JobState.DONE, timeout=120, until=None) -> JobRow:
    store, jobs = jobs_of(store_url)
    try:
        deadline = time.monotonic() + timeout
        while True:
            job = jobs.job(job_id)
            if (until(job) if until else job.state is state) or job.state is JobState.FAILED:
                return job
            assert time.monotonic() < deadline, job
            time.sleep(0.1)
    finally:
        store.close()


def result_keys(store_url, job_id):
    store = open_store(store_url)
    with store.engine.connect() as conn:
        rows = conn.execute(
            sa.select(probe_results.c.probe, probe_results.c.slot, probe_results.c.attempt).where(
                probe_results.c.job_id == job_id
            )
        ).all()
    store.close()
    return rows


def test_two_sites_on_the_same_range_stay_apart(config, workers, store_url):
    ids = {site: cli(config, "scans", "submit", "--site", site) for site in ("alpha", "beta")}
    done = {site: wait_for(store_url, job_id) for site, job_id in ids.items()}
    assert {site: job.state for site, job in done.items()} == {
        "alpha": JobState.DONE,
        "beta": JobState.DONE,
    }, done
    store = open_store(store_url)
    assert store.sites() == ["alpha", "beta"]
    for site in ("alpha", "beta"):
        latest = store.inventory("latest", site)
        assert latest.scan.site == site
        assert {d.addresses[0]: d.maker for d in latest.devices} == {
            "198.18.0.10": "hikvision",
            "198.18.0.11": "axis",
        }
    with store.engine.connect() as conn:
        keys = conn.execute(sa.text("SELECT site, device FROM devices ORDER BY site, device")).all()
    # The same two cameras (same MACs) at both sites: four devices, two per site.
    assert [site for site, _ in keys] == ["alpha", "alpha", "beta", "beta"]
    assert {d for _, d in keys if _ == "alpha"} == {d for _, d in keys if _ == "beta"}
    store.close()
    assert "alpha" in cli(config, "scans", "list", "--site", "alpha")


def test_a_worker_killed_mid_sweep_is_redelivered_and_resumed(config, workers, store_url, tmp_path):
    reference = wait_for(store_url, cli(config, "scans", "submit", "--site", "alpha"))
    job_id = cli(config, "scans", "submit", "--site", "alpha")
    running = wait_for(
        store_url,
        job_id,
        until=lambda job: job.state is JobState.RUNNING and job.results >= 1,
        timeout=60,
    )
    workers["alpha"].kill()
    stored_before = wait_for(store_url, job_id, until=lambda job: True)
    assert stored_before.state is JobState.RUNNING, "the sweep ended before the kill"
    assert running.attempts == 1
    workers["alpha"] = Worker(config, "alpha", tmp_path / "alpha-2.log")
    done = wait_for(store_url, job_id, timeout=VISIBILITY_S + 90)
    assert done.state is JobState.DONE, (done, workers["alpha"].log.read_text()[-2000:])
    assert done.attempts == 2
    rows = result_keys(store_url, job_id)
    keys = [(probe, slot) for probe, slot, _ in rows]
    # Nothing twice, nothing lost: the same (probe, target) set as an uninterrupted sweep.
    assert len(keys) == len(set(keys))
    assert set(keys) == {(p, s) for p, s, _ in result_keys(store_url, reference.id)}
    # Resumed, not redone: what the first attempt stored stayed, the second added the rest.
    assert {attempt for *_, attempt in rows} == {1, 2}
    assert sum(1 for *_, attempt in rows if attempt == 1) >= stored_before.results
    store = open_store(store_url)
    alpha_scans = [row for row in store.scans(site="alpha") if row.id == done.scan_id]
    assert len(alpha_scans) == 1
    assert alpha_scans[0].devices == 2
    store.close()


def test_a_scheduled_sweep_fires_from_the_config(config, workers, store_url):
    fleet = load_config(config)
    app = make_app(fleet, config)
    scheduler = Scheduler(app=app, lazy=False)
    entry = scheduler.schedule["sweep beta"]
    assert entry.options["queue"] == "ndaa-scan.site.beta"
    # Pretend beat last ran the entry two days ago: its next daily 03:00 is due now.
    entry.last_run_at = app.now() - timedelta(days=2)
    started = time.time()
    try:
        scheduler.tick()
    finally:
        scheduler.close()
        app.close()
    store, jobs = jobs_of(store_url)
    try:
        deadline = time.monotonic() + 90
        while True:
            scheduled = [
                j
                for j in jobs.jobs("beta")
                if j.submitted_by == "schedule" and j.submitted_at.timestamp() >= started - 1
            ]
            if scheduled and scheduled[0].state is JobState.DONE:
                break
            assert time.monotonic() < deadline, scheduled
            time.sleep(0.2)
    finally:
        store.close()
    assert scheduled[0].scan_id is not None
