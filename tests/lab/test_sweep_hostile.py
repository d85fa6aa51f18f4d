"""Issue 4 against the hostile lab: the sweep ends within its budget, with bounded memory,
and lists every misbehaving host with a probe status: no traceback, no hang.
"""

import json
import os
import resource
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import pytest

from scanner import lab
from scanner.lab.profile import load_profile
from scanner.lab.topology import lab_namespaces

pytestmark = pytest.mark.lab

ROOT = Path(__file__).parents[2]
PROFILE_PATH = ROOT / "examples" / "lab" / "hostile.toml"
PROFILE = load_profile(PROFILE_PATH)
BUDGET_S = 60
# The sweep holds byte-capped replies only; a 1 GiB body must not show up in its RSS. The bound
# sits well under that body and above the process's own footprint (the CLI with its exporters,
# PDF renderer and signing libraries loaded, measured at about 400 MB after schema 1.2).
MAX_RSS_MB = 560


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    name = f"h{os.getpid() % 100000}"
    out = tmp_path_factory.mktemp("hostile")
    lab.down(name)
    lab.up(PROFILE_PATH, name)
    try:
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        started = time.monotonic()
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "scanner",
                "sweep",
                "--netns",
                f"ndl-{name}-scan",
                str(PROFILE.network),
                "--out",
                str(out),
                "--quiet",
                "--fail-on",
                "never",
                "--budget",
                str(BUDGET_S),
            ],
            capture_output=True,
            text=True,
            timeout=BUDGET_S + 60,
            check=False,
            cwd=ROOT,
        )
        elapsed = time.monotonic() - started
        rss_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        results = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
        yield {
            "proc": proc,
            "elapsed": elapsed,
            "rss_mb": max(rss_kb, before) / 1024,
            "results": results,
        }
    finally:
        lab.down(name)
        assert lab_namespaces(name) == []


def test_finishes_within_budget_without_a_traceback(swept):
    proc = swept["proc"]
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    assert swept["elapsed"] < BUDGET_S + 30  # budget plus start-up and the report


def test_memory_stays_bounded(swept):
    assert swept["rss_mb"] < MAX_RSS_MB


def test_every_hostile_host_is_listed_with_a_status(swept):
    statuses = defaultdict(dict)
    for result in swept["results"]:
        statuses[result["target"].split(":")[0]][result["probe"]] = result["status"]
    for host in PROFILE.hosts:
        listed = statuses[str(host.address)]
        assert listed.get("arp") == "success", host.name
        # Every host probe ran against every host and ended in a recorded status.
        for probe in ("http_banner", "tls_certificate", "rtsp", "onvif_device"):
            assert probe in listed, (host.name, probe)


def test_misbehaviour_becomes_the_right_status(swept):
    # Web probes write one row per port: the telling one is the port that answered at all.
    by = {
        (r["probe"], r["target"].split(":")[0]): r
        for r in swept["results"]
        if r["status"] != "refused"
    }
    host = {h.name: str(h.address) for h in PROFILE.hosts}
    # Entity bombs are refused unparsed, wherever they arrive.
    assert by[("onvif_device", host["xml-bomb"])]["status"] == "protocol_error"
    assert "unsafe XML" in by[("onvif_device", host["xml-bomb"])]["error"]
    # The 1 GiB body is cut at the byte cap.
    giga = by[("http_banner", host["gigabyte"])]
    assert giga["status"] == "oversized"
    assert giga["reply_bytes"] <= 2 * 1024 * 1024
    # One byte a second never completes: the exchange deadline ends it.
    assert by[("http_banner", host["slowloris"])]["status"] == "timeout"
    assert by[("http_banner", host["slowloris"])]["elapsed_s"] < 30
    assert by[("tls_certificate", host["tls-garbage"])]["status"] in {
        "protocol_error",
        "closed",
        "timeout",
    }
    # Malformed discovery replies are protocol errors for that host, never a crash.
    bad = [
        r
        for r in swept["results"]
        if r["probe"] in {"sadp", "dhip"} and r["status"] == "protocol_error"
    ]
    assert {r["target"].split(":")[0] for r in bad} >= {host["bad-discovery"]}
