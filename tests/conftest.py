"""Shared fixtures: markers, the lab-capability check, and the golden-file switch."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

# Servers started once per run (PostgreSQL, Redis), for whichever tests ask for them.
from tests.servers import postgres_server, postgres_url, redis_url  # noqa: F401


def pytest_configure(config: pytest.Config) -> None:
    # Every sweep records history; tests (and the CLI subprocesses they start, which inherit the
    # environment) must never write to the real user data directory.
    if "NDAA_SCAN_DB" not in os.environ:
        history = Path(tempfile.mkdtemp(prefix="ndaa-scan-test-history-"))
        os.environ["NDAA_SCAN_DB"] = str(history / "history.sqlite3")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite golden files under tests/**/golden instead of comparing with them",
    )


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


def lab_capable() -> tuple[bool, str]:
    """Root and iproute2 are what the lab needs."""
    if os.geteuid() != 0:
        return False, "the lab needs root (network namespaces)"
    if shutil.which("ip") is None:
        return False, "the lab needs iproute2 (`ip`)"
    return True, ""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    ok, why = lab_capable()
    if ok:
        return
    for item in items:
        if "lab" in item.keywords:
            item.add_marker(pytest.mark.skip(reason=why))
