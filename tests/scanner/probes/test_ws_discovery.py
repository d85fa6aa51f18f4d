import contextlib
from ipaddress import IPv4Address
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scanner.errors import ProbeParseError
from scanner.probes.ws_discovery import PROBE, build_probe, observations_from, parse_reply
from scanner.safe_xml import child_text, parse_xml

from .loopback import fresh_address, loopback_ctx, udp_server

CAPTURES = Path(__file__).parents[2] / "data" / "captures" / "ws_discovery"
HIK = (CAPTURES / "facts-hikvision-probematch.xml").read_bytes()
DAHUA = (CAPTURES / "facts-dahua-probematch.xml").read_bytes()


def test_probe_is_typed_and_carries_its_message_id():
    root = parse_xml(
        build_probe(
            "urn:uuid:1", "dn", "http://www.onvif.org/ver10/network/wsdl", "NetworkVideoTransmitter"
        )
    )
    assert child_text(root, "MessageID") == "urn:uuid:1"
    assert child_text(root, "Types") == "dn:NetworkVideoTransmitter"
    assert child_text(root, "Action").endswith("/discovery/Probe")


def test_hikvision_capture():
    match = parse_reply(HIK)
    assert match.relates_to == "urn:uuid:0a6dc791-2be6-4991-9af1-454778a1917a"
    assert match.types == ("dn:NetworkVideoTransmitter", "tds:Device")
    obs = observations_from(match, IPv4Address("198.18.0.40")).items
    scopes = [o.value for o in obs if o.field == "scopes"]
    assert "onvif://www.onvif.org/name/HIKVISION DS-2CD2385G1-I" in scopes  # percent-decoded
    assert "onvif://www.onvif.org/hardware/DS-2CD2385G1-I" in scopes
    uuid = [o.value for o in obs if o.field == "endpoint_uuid"]
    assert uuid == ["aa85c000-6324-11b3-819e-5850ed1fe385"]
    xaddrs = [o.value for o in obs if o.field == "xaddrs"]
    assert xaddrs[0] == "http://198.18.0.40/onvif/device_service"


def test_other_prefixes_parse_the_same():
    match = parse_reply(DAHUA)
    assert "onvif://www.onvif.org/hardware/DH-IPC-HDW1230T2" in match.scopes
    assert match.endpoint == "uuid:5f5a69c2-e0ae-504f-829b-00c28d3b1b86"


def test_fault_is_a_signal_not_an_error():
    fault = (
        b'<?xml version="1.0"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope">'
        b"<s:Body><s:Fault><s:Reason><s:Text>the xml format error</s:Text></s:Reason></s:Fault>"
        b"</s:Body></s:Envelope>"
    )
    assert parse_reply(fault).fault == "the xml format error"


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"<a/>",
        b"<Envelope><Body/></Envelope>",
        HIK[:200],
        b"\xff" * 100,
        b'<!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><Envelope>&x;</Envelope>',
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


@given(st.text(max_size=300))
@settings(max_examples=200, deadline=None)
def test_fuzz_parse_reply_fields(text):
    data = HIK.replace(b"dn:NetworkVideoTransmitter tds:Device", text.encode("utf-8", "replace"))
    with contextlib.suppress(ProbeParseError):
        parse_reply(data)


@pytest.mark.loopback
async def test_unicast_pairs_by_relates_to_and_filters_non_video():
    host = fresh_address()

    def answer(data):
        message_id = child_text(parse_xml(data), "MessageID")
        ours = HIK.replace(b"urn:uuid:0a6dc791-2be6-4991-9af1-454778a1917a", message_id.encode())
        printer = ours.replace(
            b"dn:NetworkVideoTransmitter tds:Device", b"wsdp:Device pri:PrintDeviceType"
        )
        return [HIK, printer, ours]  # someone else's, a printer, then ours

    async with udp_server(host, 3702, answer) as server:
        [result] = await PROBE.discover([host], loopback_ctx())
    assert len(server.received) == 2  # both typed probes
    assert result.status == "success"
    assert any(o.field == "scopes" and "DS-2CD2385G1-I" in o.value for o in result.observations)
