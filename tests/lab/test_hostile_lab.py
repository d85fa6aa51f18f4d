"""The hostile profile: each misbehaving device sends exactly its bytes and the lab survives."""

from __future__ import annotations

import struct
import time
from pathlib import Path

import pytest

from scanner import lab
from scanner.lab.profile import load_profile
from scanner.lab.topology import lab_namespaces
from tests.lab.helpers import ROOT, in_scan_ns, lab_name, tcp, udp, unb64

pytestmark = pytest.mark.lab

PROFILE = ROOT / "examples" / "lab" / "hostile.toml"
SADP_PROBE = (
    b'<?xml version="1.0" encoding="utf-8"?><Probe><Uuid>A</Uuid><Types>inquiry</Types></Probe>'
)
DHIP_BODY = b'{"method":"DHDiscover.search","params":{"mac":"","uni":1}}\n'
DHIP_PROBE = b"\x20\x00\x00\x00DHIP" + b"\0" * 8 + struct.pack("<QQ", 58, 58) + DHIP_BODY
GET = b"GET / HTTP/1.0\r\n\r\n"


@pytest.fixture(scope="module")
def hostile():
    name = lab_name("hx")
    lab.down(name)
    lab.up(PROFILE, name)
    yield name
    lab.down(name)
    assert lab_namespaces(name) == []


def host(name: str):
    return next(h for h in load_profile(PROFILE).hosts if h.name == name)


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def test_xml_bombs_are_sent_verbatim(hostile):
    bomb = host("xml-bomb")
    soap = b"POST /onvif/device_service HTTP/1.1\r\nContent-Length: 2\r\n\r\n<a"
    http, onvif_reply, sadp = in_scan_ns(
        hostile,
        [
            tcp("198.18.0.10", 80, GET),
            tcp("198.18.0.10", 80, soap),
            udp("198.18.0.10", 37020, SADP_PROBE),
        ],
    )
    assert unb64(http["data"]).endswith(b"\r\n\r\n" + bomb.http[0].routes[0].body.encode())
    assert b"<!ENTITY lol9" in unb64(http["data"])
    assert bomb.onvif is not None
    assert bomb.sadp is not None
    assert unb64(onvif_reply["data"]) == unb64(bomb.onvif.raw_reply_b64 or "")
    assert [unb64(d) for _, d in sadp["replies"]] == [unb64(bomb.sadp.raw_reply_b64 or "")]


def test_gigabyte_body_is_streamed_not_buffered(hostile):
    pid = lab.status(hostile).responder_pids[0]  # type: ignore[union-attr]
    before = rss_kib(pid)
    [result] = in_scan_ns(hostile, [tcp("198.18.0.11", 80, GET, max_bytes=8 << 20, idle=2)])
    data = unb64(result["data"])
    head, _, body = data.partition(b"\r\n\r\n")
    assert b"\r\nCONTENT-LENGTH: 1073741824\r\n" in head
    assert len(body) >= 4 << 20
    assert body.startswith(b"<title>WEB SERVICE</title><title>WEB SERVICE</title>")
    # The client hung up after 8 MiB; the responder did not build 1 GiB in memory.
    assert rss_kib(pid) - before < 64 * 1024


def test_slowloris_drips(hostile):
    started = time.monotonic()
    [http] = in_scan_ns(hostile, [tcp("198.18.0.12", 80, GET, idle=2.5, deadline=2.5)])
    data = unb64(http["data"])
    assert 1 <= len(data) <= 4
    assert b"HTTP/1.0 200 OK".startswith(data)
    assert time.monotonic() - started < 10


def test_reset_mid_reply(hostile):
    http, telnet = in_scan_ns(
        hostile, [tcp("198.18.0.13", 80, GET), tcp("198.18.0.13", 23, idle=1.0)]
    )
    full_len = len(host("reset").http[0].routes[0].body)
    data = unb64(http["data"])
    assert data.startswith(b"HTTP/1.1 401 Unauthorized\r\n")
    assert len(data) < full_len + 100
    assert "Reset" in (http["error"] or "") or not data.endswith(b"Invalid Authority!\r\n")
    assert unb64(telnet["data"]) in {b"login: ", b""}


def test_tls_garbage(hostile):
    tls, raw, reset = in_scan_ns(
        hostile,
        [
            tcp("198.18.0.14", 443, tls=True),
            tcp("198.18.0.14", 443, b"\x16\x03\x01\x00\x05hello", idle=1.0),
            tcp("198.18.0.14", 8443, tls=True),
        ],
    )
    assert tls["error"]
    assert "SSL" in tls["error"] or "Error" in tls["error"]
    assert unb64(raw["data"]) == bytes(range(256)) * 4
    assert reset["error"]


def test_malformed_discovery_replies(hostile):
    sadp, dhip_liar, dhip_deep, dhip_utf8 = in_scan_ns(
        hostile,
        [
            udp("198.18.0.15", 37020, SADP_PROBE),
            udp("198.18.0.15", 37810, DHIP_PROBE),
            udp("198.18.0.16", 37810, DHIP_PROBE),
            udp("198.18.0.17", 37810, DHIP_PROBE),
        ],
    )
    bad = host("bad-discovery")
    assert bad.sadp is not None
    assert bad.dhip is not None
    assert [unb64(d) for _, d in sadp["replies"]] == [unb64(bad.sadp.raw_reply_b64 or "")]
    liar = unb64(dhip_liar["replies"][0][1])
    assert struct.unpack_from("<Q", liar, 16)[0] == 2**63 - 1
    assert len(liar) == 37
    assert unb64(dhip_deep["replies"][0][1])[32:].startswith(b"[" * 5000)
    assert b"\xff\xfe\xc3\x28\xed\xa0\x80" in unb64(dhip_utf8["replies"][0][1])


def test_invalid_utf8_http_and_the_lab_survives_it_all(hostile):
    [http, after] = in_scan_ns(hostile, [tcp("198.18.0.17", 80, GET), tcp("198.18.0.10", 80, GET)])
    data = unb64(http["data"])
    assert b"\r\nServer: caf\xe9\xff\r\n" in data
    assert data.endswith(
        b"<title>\xff\xfe\xc3\x28 \xed\xa0\x80 \xf8\x88\x80\x80\x80</title></head>"
        b"<body>\xc0\xaf</body></html>\n"
    )
    assert unb64(after["data"]).startswith(b"HTTP/1.1 200 OK\r\n")
    assert lab.status(hostile).responder_pids  # type: ignore[union-attr]
