"""Many sites: N sites swept by N Celery workers at once vs one machine sweeping them in turn,
and how fast the central store ingests streamed results.

Builds N skeleton labs (examples/lab/skeleton.toml under N names: the same 198.18.0.0/24 in N
separate namespaces, as N sites on one private range would be), starts redis-server on a Unix
socket, and writes an ndaa-scan.toml with one site per lab. Then:

1. one machine, in turn: ``ndaa-scan sweep --config FILE --site S`` for every site (no broker);
2. N workers: one ``ndaa-scan worker --site S`` per site, every site submitted at once, timed
   until every job is done;
3. ingestion: synthetic probe results streamed into the store in the workers' batch size, rows/s
   (and the same batches again, which the store must ignore).

Every packet stays inside the labs' namespaces; the broker and store use Unix sockets and files.

    sudo .venv/bin/python benchmarks/multi_site.py [--sites 3] [--rate 200] [--store URL]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from ipaddress import IPv4Address
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from reports import HistoryStore, open_store  # noqa: E402
from reports.scan_jobs import JobState, JobStore  # noqa: E402
from scanner import lab  # noqa: E402
from scanner.cli.fleet.site_sweep import BATCH  # noqa: E402
from scanner.results import Observation, ProbeResult, ProbeStatus  # noqa: E402

PROFILE = ROOT / "examples" / "lab" / "skeleton.toml"
MAX_SITES = 8
MAX_WAIT_S = 600.0


def ndaa(*args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scanner", *args],
        capture_output=True,
        text=True,
        timeout=MAX_WAIT_S,
        check=True,
        cwd=ROOT,
        **kwargs,  # type: ignore[arg-type]
    )


def _store(url: str) -> HistoryStore:
    store = open_store(url)
    if store is None:
        raise SystemExit("the store is switched off")
    return store


def write_config(path: Path, store: str, broker: str, labs: list[str], rate: float) -> list[str]:
    sites = [f"site{i}" for i in range(len(labs))]
    body = f'store = "{store}"\nbroker = "{broker}"\n'
    for site, name in zip(sites, labs, strict=True):
        body += (
            f'\n[sites.{site}]\nscopes = [{{ cidr = "198.18.0.0/24" }}]\n'
            f'netns = "ndl-{name}-scan"\nrate = {rate}\nbudget = 300\n'
        )
    path.write_text(body)
    return sites


def one_machine(config: Path, sites: list[str], out: Path) -> float:
    start = time.monotonic()
    for site in sites:
        ndaa(
            "sweep",
            "--config",
            str(config),
            "--site",
            site,
            "-q",
            "--fail-on",
            "never",
            "--out",
            str(out / site),
        )
    return time.monotonic() - start


def n_workers(config: Path, sites: list[str], store: str, logs: Path) -> float:
    workers = []
    for site in sites:
        log = logs / f"{site}.log"
        with log.open("wb") as handle:
            workers.append(
                subprocess.Popen(
                    [sys.executable, "-m", "scanner", "worker", "--site", site, "-c", str(config)],
                    stdout=handle,
                    stderr=subprocess.STDOUT,
                    cwd=ROOT,
                )
            )
        deadline = time.monotonic() + 60
        while b" ready." not in log.read_bytes():
            if time.monotonic() > deadline:
                raise SystemExit(f"worker {site} did not start: {log.read_text()[-500:]}")
            time.sleep(0.1)
    try:
        start = time.monotonic()
        ids = [
            ndaa("scans", "submit", "--site", s, "-c", str(config)).stdout.strip() for s in sites
        ]
        history = _store(store)
        jobs = JobStore(history)
        while not all(jobs.job(i).state in {JobState.DONE, JobState.FAILED} for i in ids):
            if time.monotonic() - start > MAX_WAIT_S:
                raise SystemExit("workers did not finish in time")
            time.sleep(0.1)
        elapsed = time.monotonic() - start
        failed = [i for i in ids if jobs.job(i).state is JobState.FAILED]
        history.close()
        if failed:
            raise SystemExit(f"jobs failed: {failed}")
        return elapsed
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            worker.wait(timeout=30)


def ingestion(store: str, rows: int) -> tuple[float, float]:
    history = _store(store)
    jobs = JobStore(history)
    job = jobs.start(jobs.submit("ingest").id, "benchmark")
    now = datetime.now(UTC)
    results = [
        ProbeResult(
            probe="http_banner",
            target=f"198.18.{n // 250}.{n % 250 + 1}:80",
            status=ProbeStatus.SUCCESS,
            started_at=now,
            elapsed_s=0.01,
            observations=(
                Observation(
                    host=IPv4Address(f"198.18.{n // 250}.{n % 250 + 1}"),
                    protocol="http",
                    field="server_header",
                    value="App-webs/",
                    observed_at=now,
                ),
            ),
        )
        for n in range(rows)
    ]
    timings = []
    for _ in range(2):  # the second pass resends every batch: the store must add nothing
        start = time.monotonic()
        added = sum(
            jobs.add_results(job, results[i : i + BATCH], attempt=1) for i in range(0, rows, BATCH)
        )
        timings.append((time.monotonic() - start, added))
    history.close()
    (first_s, first_added), (again_s, again_added) = timings
    if (first_added, again_added) != (rows, 0):
        raise SystemExit(f"ingestion added {first_added} then {again_added} rows, not {rows} and 0")
    return rows / first_s, rows / again_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=3)
    parser.add_argument("--rate", type=float, default=200.0, help="packets/s per site")
    parser.add_argument("--rows", type=int, default=20_000, help="rows for the ingestion test")
    parser.add_argument("--store", help="store URL (default: a SQLite file in a temp dir)")
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("run as root: the labs are network namespaces")
    if not 1 <= args.sites <= MAX_SITES:
        raise SystemExit(f"--sites between 1 and {MAX_SITES}")
    redis = shutil.which("redis-server")
    if redis is None:
        raise SystemExit("needs redis-server (scripts/bootstrap.sh installs it)")
    base = Path(tempfile.mkdtemp(prefix="ndaa-multisite-"))
    store = args.store or f"sqlite:///{base / 'store.sqlite3'}"
    sock = base / "redis.sock"
    broker = subprocess.Popen(
        [
            redis,
            "--port",
            "0",
            "--unixsocket",
            str(sock),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(base),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    labs = [f"ms{i}p{os.getpid() % 10000}" for i in range(args.sites)]
    try:
        while not sock.exists():
            time.sleep(0.05)
        for name in labs:
            lab.up(PROFILE, name)
        config = base / "ndaa-scan.toml"
        sites = write_config(config, store, f"redis+socket://{sock}", labs, args.rate)
        serial = one_machine(config, sites, base / "out")
        parallel = n_workers(config, sites, store, base)
        fresh, repeated = ingestion(store, args.rows)
        print(f"sites: {args.sites} (skeleton lab each, 198.18.0.0/24, rate {args.rate:g} pps)")
        print(f"one machine, sites in turn:   {serial:6.1f} s")
        print(
            f"{args.sites} workers, all at once:    {parallel:6.1f} s  ({serial / parallel:.2f}x)"
        )
        print(
            f"store ingestion ({store.split(':')[0]}, batches of {BATCH}): "
            f"{fresh:,.0f} rows/s new, {repeated:,.0f} rows/s resent (0 added)"
        )
    finally:
        for name in labs:
            lab.down(name)
        broker.terminate()
        broker.wait(timeout=10)
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
