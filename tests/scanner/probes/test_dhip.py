import contextlib
import json
import struct
from ipaddress import IPv4Address
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scanner.errors import ProbeParseError
from scanner.probes.dhip import (
    PROBE,
    SEARCH_BODY,
    DhipHeader,
    build_probe,
    observations_from,
    parse_reply,
)

from .loopback import fresh_address, loopback_ctx, udp_server

CAPTURE = Path(__file__).parents[2] / "data" / "captures" / "dhip" / "facts-ipc-hdw5421s.bin"


def test_probe_header_layout():
    data = build_probe()
    # fingerprints.md §7.1: 20 00 00 00 'DHIP' 0*8 len(LE u64) len(LE u64), then the JSON.
    assert data[:4] == b"\x20\x00\x00\x00"
    assert data[4:8] == b"DHIP"
    assert data[8:16] == b"\x00" * 8
    assert struct.unpack("<QQ", data[16:32]) == (len(SEARCH_BODY), len(SEARCH_BODY))
    assert json.loads(data[32:]) == {"method": "DHDiscover.search", "params": {"mac": "", "uni": 1}}
    header = DhipHeader(data[:32])
    assert header.magic == b"DHIP"
    assert header.body_len == len(SEARCH_BODY)


def test_capture_fields():
    reply = parse_reply(CAPTURE.read_bytes())
    assert reply.model == "IPC-HDW5421S"
    assert reply.serial == "1F006E4PAX00075"
    assert reply.vendor == "Dahua"
    assert reply.manufacturer == "Private"
    assert reply.device_class == "IPC"
    assert reply.mac == "4c:11:bf:c2:0b:9d"
    seen = {
        (o.protocol, o.field): o.value
        for o in observations_from(reply, IPv4Address("198.18.0.41")).items
    }
    assert seen[("dhip", "vendor")] == "Dahua"
    assert seen[("dhip", "device_type")] == "IPC"
    assert seen[("dhip", "firmware")] == "2.400.0.8"


def frame(body: bytes, declared: int | None = None, second: int | None = None) -> bytes:
    n = len(body) if declared is None else declared
    return struct.pack("<I4sQQQ", 32, b"DHIP", 0, n, n if second is None else second) + body


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"DHIP",
        SEARCH_BODY,  # unframed
        frame(b"{}", second=3),  # lengths differ
        frame(b"{}", declared=100),  # body shorter than declared
        struct.pack("<I4sQQQ", 32, b"PIHD", 0, 2, 2) + b"{}",  # byte-swapped magic
        frame(b"not json"),
        frame(b"[1,2]"),
        frame(b'{"params": {"deviceInfo": 5}}'),
        frame(b"[" * 5000),
    ],
)
def test_bad_replies_are_parse_errors(data):
    with pytest.raises(ProbeParseError):
        parse_reply(data)


@given(st.binary(max_size=2048))
@settings(max_examples=300, deadline=None)
def test_fuzz_parse_reply(data):
    with contextlib.suppress(ProbeParseError):
        parse_reply(data)


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=20),
        lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=10), c, max_size=4),
        max_leaves=20,
    )
)
@settings(max_examples=200, deadline=None)
def test_fuzz_parse_reply_json_bodies(value):
    body = json.dumps(
        {"mac": value, "params": {"deviceInfo": {"DeviceType": value, "Vendor": value}}}
    ).encode()
    with contextlib.suppress(ProbeParseError):
        parse_reply(frame(body))


@pytest.mark.loopback
async def test_unicast_discovery_on_loopback():
    host = fresh_address()

    async with udp_server(
        host, 37810, lambda data: [CAPTURE.read_bytes()] if data == build_probe() else []
    ):
        [result] = await PROBE.discover([host], loopback_ctx())
    assert result.status == "success"
    assert {o.field for o in result.observations} >= {"model", "serial", "vendor", "mac"}


def test_announced_web_ports_become_leads():
    from scanner.probes.dhip import observations_from

    body = (
        b'{"mac":"4c:11:bf:c2:0b:9d","method":"client.notifyDevInfo","params":{"deviceInfo":'
        b'{"DeviceType":"IPC-HDW5421S","SerialNo":"3J01B2DPAZ00042","HttpPort":8081,'
        b'"HttpsPort":7443}}}\n'
    )
    reply = parse_reply(build_probe(body))
    obs = observations_from(reply, IPv4Address("198.18.0.30"))
    leads = {o.key: o.value for o in obs.items if o.key.endswith("_port")}
    assert leads == {"dhip.http_port": "8081", "dhip.https_port": "7443"}
