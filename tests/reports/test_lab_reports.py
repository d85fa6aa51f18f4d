"""Real sweeps of the lab, twice: the inventory validates against the published schema, its
digest verifies, every format is written, history links the two scans, and diff shows the change
(the same path ``make demo`` takes)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from reports.schema import load_schema
from scanner import lab
from scanner.lab.topology import lab_namespaces

pytestmark = [pytest.mark.lab, pytest.mark.slow, pytest.mark.timeout(400)]

ROOT = Path(__file__).parents[2]
PROFILES = ROOT / "examples" / "lab"


def ndaa(*args, env, timeout=240):
    return subprocess.run(
        [sys.executable, "-m", "scanner", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=ROOT,
        env=env,
    )


@pytest.fixture
def lab_name():
    name = f"r{os.getpid() % 100000}"
    lab.down(name)
    yield name
    lab.down(name)
    assert lab_namespaces(name) == []


def test_two_sweeps_schema_digest_history_and_diff(lab_name, tmp_path, history_db):
    env = {**os.environ, "NDAA_SCAN_DB": str(history_db)}
    first, second = tmp_path / "first", tmp_path / "second"
    sweep = ["sweep", "--netns", f"ndl-{lab_name}-scan", "--fail-on", "never", "--quiet"]

    lab.up(PROFILES / "skeleton.toml", lab_name)
    proc = ndaa(*sweep, "--out", str(first), "198.18.0.0/24", env=env)
    assert proc.returncode == 0, proc.stderr
    lab.down(lab_name)

    document = json.loads((first / "inventory.json").read_text())
    jsonschema.Draft202012Validator(load_schema()).validate(document)
    for suffix in ("json", "csv", "html", "pdf", "junit.xml"):
        assert (first / f"inventory.{suffix}").stat().st_size > 0
    assert ndaa("report", str(first / "inventory.json"), "--verify", env=env).returncode == 0

    proc = ndaa(
        "remediation", "set", "198.18.0.10", "--disposition", "replace", "--status", "done", env=env
    )
    assert proc.returncode == 0, proc.stderr

    lab.up(PROFILES / "skeleton-changed.toml", lab_name)
    proc = ndaa(*sweep, "--out", str(second), "198.18.0.0/24", env=env)
    assert proc.returncode == 0, proc.stderr

    proc = ndaa(
        "diff", str(first / "inventory.json"), str(second / "inventory.json"), "--json", env=env
    )
    assert proc.returncode == 1, proc.stderr
    diff = json.loads(proc.stdout)
    assert [d["addresses"] for d in diff["added"]] == [["198.18.0.12"]]
    assert [d["addresses"] for d in diff["removed"]] == [["198.18.0.11"]]
    assert any(c["field"] == "flags" for c in diff["changed"])

    again = ndaa("diff", "previous", "latest", "--json", env=env)
    assert json.loads(again.stdout) == diff
    lobby = json.loads((second / "inventory.json").read_text())["devices"][0]
    assert lobby["flags"] == ["reappeared_after_remediation"]
    assert lobby["first_seen"] == document["devices"][0]["first_seen"]
