"""Lab lifecycle: broken profiles, leftovers after kill -9, the optional root link, scale mode."""

from __future__ import annotations

import ipaddress
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from scanner import lab
from scanner.errors import LabError
from scanner.lab.profile import load_profile
from scanner.lab.topology import lab_links, lab_namespaces
from tests.lab.helpers import ROOT, in_scan_ns, lab_name, tcp, udp, unb64

pytestmark = pytest.mark.lab

SKELETON = ROOT / "examples" / "lab" / "skeleton.toml"
SCALE = ROOT / "examples" / "lab" / "scale.toml"
SADP_PROBE = (
    b'<?xml version="1.0" encoding="utf-8"?><Probe><Uuid>A</Uuid><Types>inquiry</Types></Probe>'
)


def ip_lines(*args: str) -> list[str]:
    return subprocess.run(
        ["ip", *args], capture_output=True, text=True, timeout=30, check=True
    ).stdout.splitlines()


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("schema_version = 1\nname = [", "not valid TOML"),
        (
            'schema_version = 1\nname = "x"\nnetwork = "198.18.0.0/24"\n'
            'scanner_address = "198.18.0.1"\ncolour = "red"\n',
            "colour: Extra inputs are not permitted",
        ),
        (
            'schema_version = 1\nname = "x"\nnetwork = "10.0.0.0/24"\n'
            'scanner_address = "10.0.0.1"\n'
            '[[hosts]]\nname = "a"\naddress = "10.0.0.2"\nmac = "02:00:00:00:00:02"\n'
            'truth = { maker = "axis", covered = false }\n',
            "must be inside 198.18.0.0/15",
        ),
        (
            'schema_version = 1\nname = "x"\nnetwork = "198.18.0.0/24"\n'
            'scanner_address = "198.18.0.1"\n[[hosts]]\nname = "a"\naddress = "198.18.0.2"\n'
            'mac = "02:00:00:00:00:02"\ntemplate = "nope"\n'
            'truth = { maker = "axis", covered = false }\n',
            "no template named 'nope'",
        ),
        (
            'schema_version = 1\nname = "x"\nnetwork = "198.18.0.0/24"\n'
            'scanner_address = "198.18.0.1"\n[[hosts]]\nname = "a"\naddress = "198.18.0.2"\n'
            'mac = "02:00:00:00:00:02"\ntruth = { maker = "axis", covered = false }\n'
            'dhip = { raw_reply_b64 = "not base64!" }\n',
            "not base64",
        ),
    ],
)
def test_a_broken_profile_gives_one_clear_error(tmp_path: Path, text: str, needle: str):
    path = tmp_path / "broken.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(LabError, match=needle.replace("(", r"\(").replace(")", r"\)")):
        load_profile(path)
    proc = subprocess.run(
        [sys.executable, "-m", "scanner", "lab", "up", "--profile", str(path), "--name", "zz1"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
    )
    assert proc.returncode == 3
    assert needle.split(":")[0] in proc.stderr
    assert "Traceback" not in proc.stderr
    assert lab_namespaces("zz1") == []


def test_every_shipped_profile_loads():
    for path in sorted((ROOT / "examples" / "lab").glob("*.toml")):
        if path.name.endswith("-credentials.toml"):
            continue  # a lab's credentials file (issue 9), checked in tests/scanner
        load_profile(path)


def test_lab_down_after_kill_9_of_lab_up():
    name = lab_name("k")
    lab.down(name)
    before_links = [line for line in ip_lines("-o", "link") if f"ndl-{name}-" in line]
    up = subprocess.Popen(
        [sys.executable, "-m", "scanner", "lab", "up", "--profile", str(SKELETON), "--name", name],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and len(lab_namespaces(name)) < 4:
            time.sleep(0.01)
        up.send_signal(signal.SIGKILL)
        up.wait(timeout=10)
    finally:
        if up.poll() is None:
            up.kill()
    assert lab_namespaces(name)  # killed half-way (or just after): something was left
    lab.down(name)
    assert lab_namespaces(name) == []
    assert lab.status(name).responder_pids == ()  # type: ignore[union-attr]
    assert [line for line in ip_lines("-o", "link") if f"ndl-{name}-" in line] == before_links


def test_root_link_is_opt_in_reaches_the_scanner_and_leaves_routes_alone():
    name = lab_name("r")
    lab.down(name)
    routes_before = ip_lines("-4", "route", "show", "table", "main")
    state = lab.up(SKELETON, name, root_link=True)
    try:
        assert state.root_link_address is not None
        link = f"ndl-{name}-r"
        assert lab_links(name) == [link]
        assert ip_lines("-4", "route", "show", "default") == [
            r for r in routes_before if r.startswith("default")
        ]
        added = [
            r for r in ip_lines("-4", "route", "show", "table", "main") if r not in routes_before
        ]
        assert len(added) == 1
        assert added[0].startswith("198.18.255.")
        assert "/30 dev " + link in added[0]
        # The scanner namespace answers from the root (RST: nothing listens on port 9 there).
        with socket.socket() as sock:
            sock.settimeout(3)
            with pytest.raises(ConnectionRefusedError):
                sock.connect((state.root_link_address, 9))
    finally:
        lab.down(name)
    assert lab_links(name) == []
    assert lab_namespaces(name) == []
    assert ip_lines("-4", "route", "show", "table", "main") == routes_before


def test_scale_farm_answers_per_address():
    name = lab_name("f")
    lab.down(name)
    lab.up(SCALE, name)
    try:
        # offset % 3: 1 -> dahua, 2 -> axis, 0 -> hikvision (scale.toml mix order and weights)
        results = in_scan_ns(
            name,
            [
                tcp("198.19.0.1", 80, b"GET / HTTP/1.0\r\n\r\n"),
                tcp("198.19.0.2", 80, b"GET / HTTP/1.0\r\n\r\n"),
                tcp("198.19.200.7", 80, b"GET / HTTP/1.0\r\n\r\n"),
                tcp("198.19.0.2", 37777),
                tcp("198.19.0.1", 37777, idle=0.5),
                udp("198.19.200.7", 37020, SADP_PROBE, wait=0.4),
                udp("198.19.0.1", 37020, SADP_PROBE, wait=0.3),
                udp("239.255.255.250", 37020, SADP_PROBE, wait=1.5),
            ],
        )
        dahua, axis, hik = (unb64(r["data"]) for r in results[:3])
        assert b"<title>WEB SERVICE</title>" in dahua
        assert b'realm="AXIS_ACCC8E000002"' in axis
        assert hik.startswith(b"HTTP/1.0 200 OK\r\nDate: ")
        assert b"Server: App-webs/\r\n" in hik
        # A port the addressed device does not have: the farm resets the connection.
        assert "Reset" in (results[3]["error"] or "") or "Refused" in (results[3]["error"] or "")
        assert results[4]["error"] is None
        [[src, sadp]] = results[5]["replies"]
        offset = 200 * 256 + 7
        assert src == "198.19.200.7"
        assert f"<DeviceSN>DS-2CD2143G2-I20230115AAWR{offset:09d}</DeviceSN>".encode() in unb64(
            sadp
        )
        assert b"<MAC>44-19-b6-00-c8-07</MAC>" in unb64(sadp)
        assert results[6]["replies"] == []
        sources = {src for src, _ in results[7]["replies"]}
        assert len(sources) == 2000  # the client stops at 2,000; the farm caps at 4,096
        base = int(ipaddress.IPv4Address("198.19.0.0"))
        assert all((int(ipaddress.IPv4Address(s)) - base) % 3 == 0 for s in sources)
    finally:
        lab.down(name)
    assert lab_namespaces(name) == []
