"""``ndaa-scan listen`` hears announcements and sends nothing, on a veth pair of our own.

Two throwaway namespaces joined by a veth pair in 198.18.250.0/24, IPv6 off (so the kernel's
own router solicitations and MLD reports cannot blur the count). A peer broadcasts SSDP NOTIFY
messages (broadcast: no ARP, and no ICMP unreachable comes back); the listener's interface must
transmit nothing while ``listen`` runs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.lab

ROOT = Path(__file__).parents[3]
NOTIFY = (
    b"NOTIFY * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nNT: upnp:rootdevice\r\nNTS: ssdp:alive"
    b"\r\nSERVER: Linux/4.9, UPnP/1.0, Portable SDK for UPnP devices/1.6.22\r\n"
    b"LOCATION: http://198.18.250.2:49152/rootDesc.xml\r\n\r\n"
)
SENDER = (
    "import socket, sys, time\n"
    "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
    "s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)\n"
    "for _ in range(100):\n"
    "    s.sendto(bytes.fromhex(sys.argv[1]), ('198.18.250.255', 1900))\n"
    "    time.sleep(0.2)\n"
)


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=10)


@pytest.fixture
def veth_pair():
    tag = os.getpid() % 100000
    ns_a, ns_b = f"ndp{tag}a", f"ndp{tag}b"
    try:
        _ip("netns", "add", ns_a)
        _ip("netns", "add", ns_b)
        _ip(
            "link",
            "add",
            f"lp{tag}a",
            "netns",
            ns_a,
            "type",
            "veth",
            "peer",
            "name",
            f"lp{tag}b",
            "netns",
            ns_b,
        )
        for ns, dev, address in (
            (ns_a, f"lp{tag}a", "198.18.250.1/24"),
            (ns_b, f"lp{tag}b", "198.18.250.2/24"),
        ):
            subprocess.run(
                ["ip", "netns", "exec", ns, "sysctl", "-qw", f"net.ipv6.conf.{dev}.disable_ipv6=1"],
                check=True,
                timeout=10,
            )
            _ip("-n", ns, "addr", "add", address, "brd", "+", "dev", dev)
            _ip("-n", ns, "link", "set", dev, "up")
        yield ns_a, f"lp{tag}a", ns_b
    finally:
        for ns in (ns_a, ns_b):
            subprocess.run(["ip", "netns", "del", ns], check=False, capture_output=True)


def _tx_packets(ns: str, dev: str) -> int:
    out = subprocess.run(
        ["ip", "netns", "exec", ns, "cat", f"/sys/class/net/{dev}/statistics/tx_packets"],
        check=True,
        capture_output=True,
        text=True,
        timeout=10,
    )
    return int(out.stdout)


def test_listen_hears_announcements_and_sends_nothing(veth_pair, tmp_path):
    ns_a, dev, ns_b = veth_pair
    before = _tx_packets(ns_a, dev)
    listener = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "scanner",
            "listen",
            "--interface",
            dev,
            "--duration",
            "3",
            "--netns",
            ns_a,
            "--out",
            str(tmp_path),
            "--json",
            "--fail-on",
            "never",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    # The sender keeps announcing (bounded: 100 datagrams, 20 s) until the listener is done, so
    # a listener slow to start under load still hears some.
    sender = subprocess.Popen(
        ["ip", "netns", "exec", ns_b, sys.executable, "-c", SENDER, NOTIFY.hex()]
    )
    try:
        stdout, stderr = listener.communicate(timeout=60)
    finally:
        sender.kill()
        sender.wait(timeout=10)
        if listener.poll() is None:
            listener.kill()
    assert listener.returncode == 0, stderr
    assert _tx_packets(ns_a, dev) == before, "listen made its interface transmit"
    inventory = json.loads(stdout)
    devices = {d["addresses"][0]: d for d in inventory["devices"]}
    assert "198.18.250.2" in devices
    assert (tmp_path / "capture.pcap").stat().st_size > 24
    assert any("no packet was sent" in line for line in inventory["scan"]["limitations"])


def test_listen_on_a_missing_interface_is_one_line_and_exit_3(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "scanner",
            "listen",
            "--interface",
            "nosuch0",
            "--duration",
            "1",
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        cwd=ROOT,
    )
    assert proc.returncode == 3
    assert proc.stderr.strip().startswith("ndaa-scan: error: no interface 'nosuch0'")
    assert len(proc.stderr.strip().splitlines()) == 1
