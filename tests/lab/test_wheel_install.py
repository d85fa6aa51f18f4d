"""The CI user's path: the built wheel, installed into a fresh venv outside the checkout, runs the
shipped lab by name, sweeps it and fails on covered devices — nothing from the repository.

The venv is made once for the module (about a minute: the dependencies come through pip's own
configured indexes, as a CI job's would); every command runs with the checkout out of reach
(cwd in a temporary directory, PYTHONPATH cleared, ``-I`` where Python is called directly).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from defusedxml import ElementTree as ET

from tests.lab.helpers import ROOT, lab_name

pytestmark = [pytest.mark.lab, pytest.mark.timeout(900)]


def _run(argv: list[str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env["NDAA_SCAN_DB"] = "off"
    return subprocess.run(
        argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ``ndaa-scan`` script of a fresh venv holding only the built wheel and its deps."""
    work = tmp_path_factory.mktemp("wheel")
    built = _run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(work), str(ROOT)],
        work,
    )
    assert built.returncode == 0, built.stderr[-2000:]
    [wheel] = work.glob("ndaa_scan-*.whl")
    venv = work / "venv"
    made = _run([sys.executable, "-m", "venv", str(venv)], work)
    assert made.returncode == 0, made.stderr
    pip = _run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", str(wheel)], work, 600)
    assert pip.returncode == 0, pip.stderr[-2000:]
    return venv / "bin" / "ndaa-scan"


def test_the_installed_package_does_not_come_from_the_checkout(installed: Path, tmp_path: Path):
    python = installed.parent / "python"
    where = _run([str(python), "-I", "-c", "import scanner; print(scanner.__file__)"], tmp_path)
    assert where.returncode == 0, where.stderr
    assert str(ROOT) not in where.stdout
    assert "site-packages" in where.stdout


def test_shipped_lab_files_and_rules_come_with_the_wheel(installed: Path, tmp_path: Path):
    listed = _run([str(installed), "lab", "profiles", "--json"], tmp_path)
    assert listed.returncode == 0, listed.stderr
    files = json.loads(listed.stdout)
    assert {"city-hall", "city-hall-credentials", "skeleton", "hostile", "scale"} <= set(files)
    assert all(str(ROOT) not in path and Path(path).is_file() for path in files.values())
    verify = _run([str(installed), "fingerprints", "verify"], tmp_path)
    assert verify.returncode == 0, verify.stdout[-2000:] + verify.stderr[-2000:]
    assert "0 failures" in verify.stdout + verify.stderr
    unknown = _run([str(installed), "lab", "up", "--profile", "town-hall"], tmp_path)
    assert unknown.returncode == 2
    assert "shipped: " in unknown.stderr
    assert "city-hall" in unknown.stderr
    assert len(unknown.stderr.strip().splitlines()) == 1


def test_ci_flow_sweeps_the_shipped_city_hall_and_fails_on_covered(installed: Path, tmp_path: Path):
    name = lab_name("whl")
    up = _run([str(installed), "lab", "up", "--profile", "city-hall", "--name", name], tmp_path)
    try:
        assert up.returncode == 0, up.stderr
        creds = _run([str(installed), "lab", "path", "city-hall-credentials"], tmp_path)
        assert creds.returncode == 0, creds.stderr
        out = tmp_path / "out"
        sweep = _run(
            [
                str(installed), "sweep", "--netns", f"ndl-{name}-scan", "--out", str(out),
                "--fail-on", "covered", "--quiet", "--credentials", creds.stdout.strip(),
                "198.18.0.0/24",
            ],
            tmp_path,
        )  # fmt: skip
    finally:
        _run([str(installed), "lab", "down", name], tmp_path)
    assert sweep.returncode == 1, sweep.stderr[-3000:]
    assert "Traceback" not in sweep.stderr
    for suffix in ("json", "csv", "html", "pdf", "junit.xml"):
        assert (out / f"inventory.{suffix}").stat().st_size > 0, suffix
    suite = ET.parse(out / "inventory.junit.xml").getroot()
    failures = sum(int(s.get("failures", "0")) for s in suite.iter("testsuite"))
    assert failures > 0, "covered devices must fail the JUnit suite a CI job uploads"
    inventory = json.loads((out / "inventory.json").read_text())
    assert any(device["covered"] for device in inventory["devices"])
