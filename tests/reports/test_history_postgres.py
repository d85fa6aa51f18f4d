"""The history store on PostgreSQL, the database many sites share (any SQLAlchemy URL works).

A throwaway cluster is started for this module: owned by the ``postgres`` user, listening on a
Unix socket only (``listen_addresses=''``), so the test opens no TCP port at all.
"""

import os
import shutil
import subprocess
import tempfile
from datetime import timedelta
from pathlib import Path

import pytest

from reports import Disposition, RemediationStatus, open_store
from scanner.cli.outputs import record_history

from .conftest import CITY_SAMPLE, T0, make_inventory
from .test_history import HIK, later

PG_ROOT = Path("/usr/lib/postgresql")


def _as_postgres(*argv: str) -> None:
    subprocess.run(
        ["runuser", "-u", "postgres", "--", *argv], check=True, timeout=60, capture_output=True
    )


@pytest.fixture(scope="module")
def postgres_url():
    initdbs = sorted(PG_ROOT.glob("*/bin/initdb"))
    if os.geteuid() != 0 or not initdbs or shutil.which("runuser") is None:
        pytest.skip("needs root, runuser and Debian's postgresql package")
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
            "-D",
            str(data),
            "-l",
            str(base / "server.log"),
            "-o",
            f"-k {sock} -c listen_addresses=''",
            "-w",
            "-t",
            "30",
            "start",
        )
        _as_postgres(str(bindir / "createdb"), "-h", str(sock), "-U", "postgres", "ndaa")
        yield f"postgresql+psycopg://postgres@/ndaa?host={sock}"
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


def test_history_and_remediation_on_postgresql(postgres_url, monkeypatch):
    monkeypatch.setenv("NDAA_SCAN_DB", postgres_url)
    first = make_inventory(CITY_SAMPLE)
    scan_id, _ = record_history(first)
    store = open_store()
    assert store is not None
    store.set_remediation(
        HIK,
        disposition=Disposition.REPLACE,
        status=RemediationStatus.DONE,
        now=T0 + timedelta(days=1),
        place="City Hall lobby",
    )
    second_id, second = record_history(later(first, 30))
    assert second_id == scan_id + 1
    hik = {d.mac: d for d in second.devices}[HIK]
    assert hik.flags == ("reappeared_after_remediation",)
    assert hik.first_seen == first.scan.finished_at
    assert hik.location.site == "City Hall lobby"
    assert [row.id for row in store.scans()][:2] == [second_id, scan_id]
    assert store.inventory("latest").digest == second.digest
    store.close()
