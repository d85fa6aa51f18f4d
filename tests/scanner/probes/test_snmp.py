import contextlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.layers.snmp import SNMP

from scanner.context import ProbeSettings
from scanner.errors import ProbeParseError
from scanner.probes.snmp import PROBE, SYS_DESCR, SYS_OBJECT_ID, build_request, parse_reply

from .loopback import fresh_address, loopback_ctx, udp_server

CAPTURES = Path(__file__).parents[2] / "data" / "captures" / "snmp"


def test_request_is_v2c_get_of_both_oids():
    packet = SNMP(build_request("s3cret", 77))
    assert packet.version.val == 1
    assert packet.community.val == b"s3cret"
    assert packet.PDU.id.val == 77
    assert [v.oid.val for v in packet.PDU.varbindlist] == [SYS_DESCR, SYS_OBJECT_ID]


def test_hikvision_and_dahua_nvr():
    hik = parse_reply((CAPTURES / "facts-hikvision-nvr.bin").read_bytes())
    assert dict(hik.values) == {
        SYS_DESCR: "Hikvision company products",
        SYS_OBJECT_ID: "1.3.6.1.4.1.50001",
    }
    dahua = parse_reply((CAPTURES / "facts-dahua-nvr.bin").read_bytes())
    assert dict(dahua.values)[SYS_DESCR] == "DH-NVR4108HS-8P-4KS2"


@pytest.mark.parametrize(
    "data",
    [b"", b"0", b"0\x03\x02\x01", build_request("public", 1), b"\x30\x82\xff\xff" + b"\x00" * 10],
)
def test_not_a_response(data):
    with pytest.raises(ProbeParseError):
        parse_reply(data)


@given(st.binary(max_size=1024))
@settings(max_examples=300, deadline=None)
def test_fuzz_parse_reply(data):
    with contextlib.suppress(ProbeParseError):
        parse_reply(data)


@given(st.binary(max_size=64))
@settings(max_examples=200, deadline=None)
def test_fuzz_parse_reply_mutated(noise):
    data = bytearray((CAPTURES / "facts-hikvision-nvr.bin").read_bytes())
    for i, b in enumerate(noise):
        data[(i * 7) % len(data)] ^= b
    with contextlib.suppress(ProbeParseError):
        parse_reply(bytes(data))


@pytest.mark.loopback
async def test_community_is_configurable_and_request_ids_pair():
    host = fresh_address()
    stored = (CAPTURES / "facts-hikvision-nvr.bin").read_bytes()

    def answer(data):
        request = SNMP(data)
        if request.community.val != b"campus-ro":
            return []
        wrong = parse_reply(stored)  # id 1234 does not match ours
        reply = SNMP(stored)
        reply.PDU.id = request.PDU.id.val
        assert wrong.request_id == 1234
        return [stored, bytes(reply)]

    from pydantic import SecretStr

    ctx = loopback_ctx(settings=ProbeSettings(snmp_community=SecretStr("campus-ro")))
    async with udp_server(host, 161, answer):
        [result] = await PROBE.discover([host], ctx)
    assert result.status == "success"
    assert {(o.field, o.value) for o in result.observations} == {
        ("sysdescr", "Hikvision company products"),
        ("sysobjectid", "1.3.6.1.4.1.50001"),
    }
    assert "campus-ro" not in repr(ctx.settings)
