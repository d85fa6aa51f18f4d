"""Shared fixtures: markers, the lab-capability check, and the golden-file switch."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Generator
from pathlib import Path

import pluggy
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


#: Where a test that opts in (``loopback`` or ``lab``) may connect: never off the machine.
LOOPBACK_HOSTS = ["127.0.0.0/8", "::1"]
#: Lab tests may also reach the lab's own namespaces, which live in 198.18.0.0/15 only.
LAB_HOSTS = [*LOOPBACK_HOSTS, "198.18.0.0/15"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Sockets are off for every test (pytest-socket, `--disable-socket` in pyproject): a unit
    # test that reaches for the network fails. Tests that start their own loopback servers say
    # so with `@pytest.mark.loopback` and may connect to loopback only; lab tests may also reach
    # the lab's namespaces (198.18.0.0/15), never another address.
    for item in items:
        if "lab" in item.keywords:
            item.add_marker(pytest.mark.allow_hosts(LAB_HOSTS))
        elif "loopback" in item.keywords:
            item.add_marker(pytest.mark.allow_hosts(LOOPBACK_HOSTS))
    ok, why = lab_capable()
    if ok:
        return
    for item in items:
        if "lab" in item.keywords:
            item.add_marker(pytest.mark.skip(reason=why))


def _under_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pluggy.Result[pytest.TestReport], None]:
    """Under ``CI=true`` a skip is a failure (issue 13 item 8).

    Every skip in this suite stands for a lab or a tool the test needs (root and namespaces,
    tcpdump, openssl, chromium, PostgreSQL): on the CI machine, which scripts/bootstrap.sh
    provisions, a missing one is a broken machine, and a green run must not hide it.
    """
    outcome = yield
    report = outcome.get_result()
    if _under_ci() and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true, which fails the run: {reason}"
