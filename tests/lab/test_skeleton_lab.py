"""The walking skeleton end to end, against the real lab: namespaces, responders, sweep."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from scanner import lab
from scanner.lab.profile import load_profile
from scanner.lab.responder import render_http
from scanner.lab.topology import build, lab_namespaces

pytestmark = pytest.mark.lab

ROOT = Path(__file__).parents[2]
PROFILE = ROOT / "examples" / "lab" / "skeleton.toml"


def ndaa(*args, timeout=120):
    return subprocess.run(
        [sys.executable, "-m", "scanner", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=ROOT,
    )


def in_scan_ns(lab_name, code):
    return subprocess.run(
        ["ip", "netns", "exec", f"ndl-{lab_name}-scan", sys.executable, "-c", code],
        capture_output=True,
        timeout=30,
        check=True,
    ).stdout


@pytest.fixture(scope="module")
def skeleton_lab():
    name = f"t{os.getpid() % 100000}"
    lab.down(name)
    lab.up(PROFILE, name)
    yield name
    lab.down(name)
    assert lab_namespaces(name) == []


def strip_date(data: bytes) -> bytes:
    return b"\r\n".join(line for line in data.split(b"\r\n") if not line.startswith(b"Date: "))


def test_responders_send_the_profile_bytes(skeleton_lab):
    profile = load_profile(PROFILE)
    for host in profile.hosts:
        request = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
        wire = in_scan_ns(
            skeleton_lab,
            (
                "import socket,sys\n"
                f"s=socket.create_connection(('{host.address}',80),timeout=5)\n"
                f"s.sendall({request!r})\n"
                "d=b''\n"
                "while (c:=s.recv(65536)): d+=c\n"
                "sys.stdout.buffer.write(d)\n"
            ),
        )
        expected = render_http(host.http[0], request)

        assert strip_date(wire) == strip_date(expected)


def test_sweep_finds_both_devices_and_marks_hikvision_covered(skeleton_lab, tmp_path):
    proc = ndaa(
        "sweep",
        "--netns",
        f"ndl-{skeleton_lab}-scan",
        "198.18.0.0/24",
        "--out",
        str(tmp_path),
        "--json",
    )
    assert proc.returncode == 1, proc.stderr  # covered devices found -> exit 1 (CI policy)
    inventory = json.loads(proc.stdout)
    by_address = {d["addresses"][0]: d for d in inventory["devices"]}
    truth = {str(h.address): h.truth for h in load_profile(PROFILE).hosts}
    assert set(by_address) == set(truth)
    for address, expected in truth.items():
        device = by_address[address]
        assert device["maker"] == expected.maker
        assert (device["covered"] == "covered") is expected.covered
        assert device["mac"] == next(
            h.mac for h in load_profile(PROFILE).hosts if str(h.address) == address
        )
    hik = by_address["198.18.0.10"]
    assert {e["rule_id"] for e in hik["evidence"]} >= {
        "hikvision.http.server-app-webs",
        "oui.4419b6",
    }
    assert (tmp_path / "inventory.csv").read_text().count("\n") == 3
    results = [json.loads(line) for line in (tmp_path / "results.jsonl").read_text().splitlines()]
    # The sweep now runs every discovery probe (issue 4); ARP and the HTTP banner are among them.
    assert {r["probe"] for r in results} >= {"arp", "http_banner"}


def test_lab_down_cleans_up_after_a_crash(tmp_path):
    name = f"c{os.getpid() % 100000}"
    lab.down(name)
    build(load_profile(PROFILE), name)  # namespaces exist, as if `lab up` died right here
    ready = tmp_path / "ready"
    orphan = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "scanner.lab.responder",
            "--lab",
            name,
            "--profile",
            str(PROFILE),
            "--ready",
            str(ready),
        ],
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 15
        while not ready.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ready.exists(), "the orphan responder never became ready"
        assert lab_namespaces(name)
        lab.down(name)
        assert lab_namespaces(name) == []
        assert orphan.wait(timeout=10) in {-signal.SIGTERM, -signal.SIGKILL, 0}
    finally:
        if orphan.poll() is None:
            orphan.kill()


def test_two_labs_do_not_collide(skeleton_lab, tmp_path):
    other = f"u{os.getpid() % 100000}"
    lab.down(other)
    lab.up(PROFILE, other)
    try:
        for name in (skeleton_lab, other):
            proc = ndaa(
                "sweep",
                "--netns",
                f"ndl-{name}-scan",
                "198.18.0.0/24",
                "--out",
                str(tmp_path / name),
                "--quiet",
                "--fail-on",
                "never",
            )
            assert proc.returncode == 0, proc.stderr
            inventory = json.loads((tmp_path / name / "inventory.json").read_text())
            assert inventory["summary"]["devices"] == 2
    finally:
        lab.down(other)
    assert lab_namespaces(other) == []
    assert lab_namespaces(skeleton_lab)


def test_lab_status_lists_the_lab(skeleton_lab):
    proc = ndaa("lab", "status", skeleton_lab, "--json")
    [state] = json.loads(proc.stdout)
    assert state["namespaces"] == 4
    assert state["responder_pids"]
