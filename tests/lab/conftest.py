"""One city-hall sweep for the whole run, swept as a real user would sweep that site.

Several modules judge the same sweep (the probes' findings, the verdicts against the truth), so
it is made once per session: ``lab up``, then ``ndaa-scan sweep`` inside the lab's scanner
namespace over the main segment and the routed subnet with the site's credentials file, while
tcpdump records every frame the scanner sends (the scope and passive-import tests read it).
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from scanner import lab
from scanner.lab.profile import load_profile
from scanner.lab.topology import lab_namespaces
from tests.lab.helpers import ROOT, lab_name

CITY_HALL = ROOT / "examples" / "lab" / "city-hall.toml"
CITY_HALL_CREDENTIALS = ROOT / "examples" / "lab" / "city-hall-credentials.toml"
#: Bound on the one sweep; it takes about 20 s on two cores.
SWEEP_TIMEOUT_S = 240


def _tcpdump(scan_ns: str, capture: Path) -> subprocess.Popen[bytes] | None:
    if shutil.which("tcpdump") is None:
        return None
    dump = subprocess.Popen(
        # whole frames (-s 0): the passive test re-identifies devices from this capture
        [
            *("ip", "netns", "exec", scan_ns, "tcpdump", "-i", "scan0", "-n", "-U", "-s", "0"),
            *("-w", str(capture)),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1.0)  # tcpdump needs a moment before it captures
    return dump


@pytest.fixture(scope="session")
def cityhall_sweep(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The city-hall lab swept once: results, inventory, capture, timing, scanner namespace."""
    profile = load_profile(CITY_HALL)
    name = lab_name("cs")
    out = tmp_path_factory.mktemp("cityhall-sweep")
    scan_ns = f"ndl-{name}-scan"
    capture = out / "sweep.pcap"
    lab.down(name)
    started = time.monotonic()
    lab.up(CITY_HALL, name)
    up_s = time.monotonic() - started
    dump = None
    try:
        dump = _tcpdump(scan_ns, capture)
        started = time.monotonic()
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "scanner",
                "sweep",
                "--netns",
                scan_ns,
                *map(str, profile.networks()),
                "--credentials",
                str(CITY_HALL_CREDENTIALS),
                "--out",
                str(out),
                "--quiet",
                "--fail-on",
                "never",
            ],
            capture_output=True,
            text=True,
            timeout=SWEEP_TIMEOUT_S,
            check=False,
            cwd=ROOT,
        )
        elapsed = time.monotonic() - started
        if dump is not None:
            time.sleep(0.5)
            dump.send_signal(signal.SIGINT)
            dump.wait(timeout=10)
        assert proc.returncode == 0, proc.stderr
        sys.stderr.write(f"\ncity-hall lab up {up_s:.1f} s, sweep {elapsed:.1f} s\n")
        results = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
        yield {
            "results": results,
            "inventory": json.loads((out / "inventory.json").read_text()),
            "out": out,
            "elapsed": elapsed,
            "capture": capture if dump is not None else None,
            "scan_ns": scan_ns,
            "profile": profile,
        }
    finally:
        if dump is not None and dump.poll() is None:
            dump.kill()
            dump.wait(timeout=10)
        lab.down(name)
        assert lab_namespaces(name) == []
