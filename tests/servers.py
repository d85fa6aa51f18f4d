"""Real servers the suite needs, started once per run: PostgreSQL and Redis, Unix sockets only.

Both listen on a socket in a temporary directory and on no TCP port (PostgreSQL with
``listen_addresses=''``, Redis with ``port 0``), so nothing the tests start can be reached from,
or reach, the network. Each test that wants a database gets a fresh one on the shared cluster.
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

PG_ROOT = Path("/usr/lib/postgresql")
_databases = itertools.count(1)


def _as_postgres(*argv: str) -> None:
    subprocess.run(
        ["runuser", "-u", "postgres", "--", *argv], check=True, timeout=60, capture_output=True
    )


def _missing(reason: str) -> None:
    # Under CI a missing server is a broken machine, not a reason to skip (issue 13 item 8).
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[tuple[Path, Path]]:
    """A throwaway PostgreSQL cluster: (bin directory, socket directory)."""
    initdbs = sorted(PG_ROOT.glob("*/bin/initdb"))
    if os.geteuid() != 0 or not initdbs or shutil.which("runuser") is None:
        _missing("needs root, runuser and Debian's postgresql package")
    bindir = initdbs[-1].parent
    # Not under pytest's tmp dir: its parents are 0700 root, which the postgres user cannot enter.
    base = Path(tempfile.mkdtemp(prefix="ndaa-pg-"))
    base.chmod(0o755)
    shutil.chown(base, "postgres", "postgres")
    data, sock = base / "data", base / "sock"
    try:
        _as_postgres(str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres")
        sock.mkdir()
        shutil.chown(sock, "postgres", "postgres")
        _as_postgres(
            str(bindir / "pg_ctl"),
            *("-D", str(data), "-l", str(base / "server.log")),
            *("-o", f"-k {sock} -c listen_addresses=''"),
            *("-w", "-t", "30", "start"),
        )
        yield bindir, sock
    finally:
        subprocess.run(
            [
                "runuser",
                "-u",
                "postgres",
                "--",
                str(bindir / "pg_ctl"),
                "-D",
                str(data),
                "-m",
                "immediate",
                "-w",
                "stop",
            ],
            check=False,
            timeout=60,
            capture_output=True,
        )
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server: tuple[Path, Path]) -> str:
    """A fresh, empty database on the shared cluster."""
    bindir, sock = postgres_server
    name = f"ndaa{os.getpid()}_{next(_databases)}"
    _as_postgres(str(bindir / "createdb"), "-h", str(sock), "-U", "postgres", name)
    return f"postgresql+psycopg://postgres@/{name}?host={sock}"


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """Debian's redis-server on a Unix socket, no persistence: a broker for Celery tests."""
    binary = shutil.which("redis-server")
    if binary is None:
        _missing("needs Debian's redis-server (scripts/bootstrap.sh installs it)")
    base = Path(tempfile.mkdtemp(prefix="ndaa-redis-"))
    sock = base / "redis.sock"
    server = subprocess.Popen(
        [
            str(binary),
            "--port",
            "0",
            "--unixsocket",
            str(sock),
            "--unixsocketperm",
            "700",
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
    try:
        deadline = time.monotonic() + 20
        while not sock.exists():
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail("redis-server did not start")
            time.sleep(0.05)
        yield f"redis+socket://{sock}"
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)
        shutil.rmtree(base, ignore_errors=True)
