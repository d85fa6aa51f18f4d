import contextlib
from ipaddress import IPv4Address
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scanner.errors import ProbeParseError
from scanner.probes.sadp import PROBE, build_probe, observations_from, parse_reply
from scanner.safe_xml import child_text, parse_xml

from .loopback import fresh_address, loopback_ctx, udp_server

CAPTURE = Path(__file__).parents[2] / "data" / "captures" / "sadp" / "facts-ds-2cd2385g1-i.xml"
HOST = IPv4Address("198.18.0.40")


def test_probe_is_an_inquiry_with_our_uuid():
    root = parse_xml(build_probe("ABC-123"))
    assert root.tag == "Probe"
    assert child_text(root, "Uuid") == "ABC-123"
    assert child_text(root, "Types") == "inquiry"


def test_capture_fields():
    reply = parse_reply(CAPTURE.read_bytes())
    assert reply.kind == "ProbeMatch"
    assert reply.model == "DS-2CD2385G1-I"
    assert reply.serial == "DS-2CD2385G1-I20200414AAWRE33842150"
    assert reply.mac == "58:50:ed:1f:e3:85"
    assert reply.firmware == "V5.6.2build 190701"
    assert reply.oem_code == "1"
    seen = {(o.protocol, o.field): o.value for o in observations_from(reply, HOST).items}
    assert seen[("sadp", "model")] == "DS-2CD2385G1-I"
    assert seen[("sadp", "mac")] == "58:50:ed:1f:e3:85"
    assert seen[("sadp", "oem_code")] == "1"
    assert "<DeviceSN>" in seen[("sadp", "raw")]
    assert all(o.mac == "58:50:ed:1f:e3:85" for o in observations_from(reply, HOST).items)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"<Probe><Types>inquiry</Types></Probe>",
        b"<ProbeMatch><MAC>1</MAC>",
        b'<!DOCTYPE x [<!ENTITY a "aaaa">]><ProbeMatch>&a;</ProbeMatch>',
        b"<ProbeMatch>" + b"x" * 20000 + b"</ProbeMatch>",
    ],
)
def test_bad_replies_are_parse_errors(data):
    with pytest.raises(ProbeParseError):
        parse_reply(data)


def test_garbled_mac_loses_only_the_mac():
    reply = parse_reply(
        b"<ProbeMatch><MAC>zz</MAC><DeviceDescription>X</DeviceDescription></ProbeMatch>"
    )
    assert reply.mac is None
    assert reply.model == "X"


@given(st.binary(max_size=2048))
@settings(max_examples=300, deadline=None)
def test_fuzz_parse_reply(data):
    with contextlib.suppress(ProbeParseError):
        parse_reply(data)


@given(st.text(max_size=200))
@settings(max_examples=200, deadline=None)
def test_fuzz_parse_reply_xmlish(text):
    data = f"<ProbeMatch><Uuid>{text}</Uuid><MAC>{text}</MAC></ProbeMatch>".encode()
    with contextlib.suppress(ProbeParseError):
        parse_reply(data)


@pytest.mark.loopback
async def test_unicast_probe_pairs_by_uuid():
    host = fresh_address()
    template = CAPTURE.read_bytes()

    def answer(data):
        uuid = child_text(parse_xml(data), "Uuid")
        good = template.replace(b"E8ECFE09-90E4-44C0-842B-703F46B58C81", uuid.encode())
        return [template, good]  # a stale reply with another Uuid first, then ours

    async with udp_server(host, 37020, answer) as server:
        results = await PROBE.discover([host], loopback_ctx())
    assert len(server.received) == 1
    [result] = results
    assert result.status == "success"
    assert result.target == f"{host}:37020"
    assert {o.field for o in result.observations} >= {"model", "serial", "mac", "oem_code"}


@pytest.mark.loopback
async def test_no_answer_is_one_no_reply_result():
    results = await PROBE.discover([fresh_address()], loopback_ctx())
    assert [(r.target, r.status) for r in results] == [("*", "no_reply")]


def test_the_announced_http_port_becomes_a_lead():
    reply = parse_reply(CAPTURE.read_bytes())
    assert reply.http_port == "80"
    obs = observations_from(reply, IPv4Address("198.18.0.10"))
    assert [o.value for o in obs.items if o.key == "sadp.http_port"] == ["80"]
