"""SNMP knock: every host asked at once by pysnmp's own codec, replies paired by source and id."""

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyasn1.codec.ber import decoder, encoder
from pydantic import SecretStr
from pysnmp.proto import api

import scanner.probes.snmp as snmp_probe
from scanner.context import ProbeSettings
from scanner.probes.snmp import SYS_DESCR, SnmpProbe
from scanner.results import ProbeStatus
from scanner.snmp_knock import knock, knock_message, knock_messages, reply_request_id
from scanner.snmp_session import SnmpAuth

from .loopback import fresh_address, loopback_ctx, udp_server

CAPTURES = Path(__file__).parents[2] / "data" / "captures" / "snmp"
PORT = 16171


def _response_to(request: bytes, community: str) -> list[bytes]:
    """What an agent holding ``community`` answers: a GetResponse echoing the request-id."""
    version = int(api.decodeMessageVersion(request))
    module = api.PROTOCOL_MODULES[version]
    message, _ = decoder.decode(request, asn1Spec=module.Message())
    if str(module.apiMessage.get_community(message)) != community:
        return []  # an agent drops a wrong community without a word
    reply = module.apiMessage.get_response(message)
    return [bytes(encoder.encode(reply))]


def test_knock_message_is_a_get_pysnmp_reads_back():
    data = knock_message(SnmpAuth("2c", SecretStr("s3cret")), 4242, [SYS_DESCR])
    module = api.PROTOCOL_MODULES[api.SNMP_VERSION_2C]
    message, rest = decoder.decode(data, asn1Spec=module.Message())
    pdu = module.apiMessage.get_pdu(message)
    assert rest == b""
    assert pdu.isSameTypeWith(module.GetRequestPDU())
    assert int(module.apiPDU.get_request_id(pdu)) == 4242
    assert [str(oid) for oid, _ in module.apiPDU.get_varbinds(pdu)] == ["1.3.6.1.2.1.1.1.0"]
    v1 = knock_message(SnmpAuth("1", SecretStr("s3cret")), 7, [SYS_DESCR])
    assert int(api.decodeMessageVersion(v1)) == api.SNMP_VERSION_1
    with pytest.raises(ValueError, match="community"):
        knock_message(SnmpAuth("3"), 1, [SYS_DESCR])


def test_a_captured_agent_reply_gives_its_request_id():
    data = (CAPTURES / "netsnmp-sw-system.bin").read_bytes()
    module = api.PROTOCOL_MODULES[api.SNMP_VERSION_2C]
    message, _ = decoder.decode(data, asn1Spec=module.Message())
    expected = int(module.apiPDU.get_request_id(module.apiMessage.get_pdu(message)))
    assert reply_request_id(data) == expected
    # A request is not a reply, whatever its id.
    assert reply_request_id(knock_message(SnmpAuth("2c", SecretStr("x")), 9, [SYS_DESCR])) is None


@given(
    community=st.binary(min_size=1, max_size=40),
    request_id=st.integers(min_value=2**23, max_value=2**31 - 1),
    version=st.sampled_from(["1", "2c"]),
)
@settings(max_examples=300, deadline=None)
def test_patched_knock_is_byte_for_byte_what_pysnmp_encodes(community, request_id, version):
    # Communities holding the marker bytes themselves included: the template must not patch
    # the community instead of the id.
    auth = SnmpAuth(version, SecretStr(community.decode("latin-1")))
    assert knock_messages(auth, [SYS_DESCR])(request_id) == knock_message(
        auth, request_id, [SYS_DESCR]
    )


def test_a_community_holding_the_marker_still_encodes_right():
    tricky = SecretStr((b"\x02\x04" + (0x5A17C3E1).to_bytes(4, "big")).decode("latin-1"))
    auth = SnmpAuth("2c", tricky)
    patched = knock_messages(auth, [SYS_DESCR])(2**24 + 5)
    assert patched == knock_message(auth, 2**24 + 5, [SYS_DESCR])
    with pytest.raises(ValueError, match="four-byte"):
        knock_messages(SnmpAuth("2c", SecretStr("x")), [SYS_DESCR])(7)


@given(st.binary(max_size=512))
@settings(max_examples=300, deadline=None)
def test_fuzz_reply_request_id(data):
    assert reply_request_id(data) is None or isinstance(reply_request_id(data), int)


@pytest.mark.loopback
async def test_knock_hears_the_agents_that_take_the_community_and_only_them():
    right, wrong_id, silent = fresh_address(), fresh_address(), fresh_address()

    def stale(request: bytes) -> list[bytes]:
        # Answers, but with another request-id: a late or forged reply pairs with nothing.
        reply = _response_to(request, "hall")[0]
        module = api.PROTOCOL_MODULES[api.SNMP_VERSION_2C]
        message, _ = decoder.decode(reply, asn1Spec=module.Message())
        module.apiPDU.set_request_id(module.apiMessage.get_pdu(message), 1)
        return [bytes(encoder.encode(message))]

    ctx = loopback_ctx()
    async with (
        udp_server(right, PORT, lambda data: _response_to(data, "hall")),
        udp_server(wrong_id, PORT, stale),
    ):
        hall = SnmpAuth("2c", SecretStr("hall"))
        heard = await knock(
            ctx, hall, [right, wrong_id, silent], [SYS_DESCR], port=PORT, timeout_s=0.3
        )
        # The retry round the probe runs: the hosts still silent after the first.
        again = await knock(
            ctx,
            hall,
            [h for h in (right, wrong_id, silent) if h not in heard],
            [SYS_DESCR],
            port=PORT,
            timeout_s=0.3,
        )
        wrong = await knock(
            ctx, SnmpAuth("2c", SecretStr("public")), [right], [SYS_DESCR], port=PORT, timeout_s=0.3
        )
    assert heard == {right}
    assert again == set()
    assert wrong == set()
    # Two rounds to the two hosts still silent after the first, one to the one that answered.
    assert ctx.packets_sent == 3 + 2 + 1


@pytest.mark.loopback
async def test_a_resend_inside_the_window_reaches_an_agent_that_lost_the_first():
    lossy, steady, silent = fresh_address(), fresh_address(), fresh_address()
    seen: list[bytes] = []

    def drops_the_first(request: bytes) -> list[bytes]:
        seen.append(request)
        return [] if len(seen) == 1 else _response_to(request, "hall")

    told: list[tuple[object, object]] = []
    ctx = loopback_ctx()
    async with (
        udp_server(lossy, PORT, drops_the_first),
        udp_server(steady, PORT, lambda data: _response_to(data, "hall")),
    ):
        heard = await knock(
            ctx,
            SnmpAuth("2c", SecretStr("hall")),
            [lossy, steady, silent],
            [SYS_DESCR],
            port=PORT,
            timeout_s=0.4,
            resends=1,
            on_answer=lambda host, rtt: told.append((host, rtt)),
        )
    assert heard == {lossy, steady}
    # Each agent told once, the moment it answered, with a round trip well inside the wait.
    assert sorted(h for h, _ in told) == sorted([lossy, steady])
    assert all(isinstance(rtt, float) and 0 <= rtt < 0.4 for _, rtt in told)
    # The same request (same id) asked twice of the lossy host; the steady one asked once.
    assert len(seen) == 2
    assert seen[0] == seen[1]
    assert ctx.packets_sent == 3 + 2


@pytest.mark.loopback
async def test_silent_hosts_never_open_a_pysnmp_session(monkeypatch):
    hosts = [fresh_address() for _ in range(40)]
    sessions: list[object] = []
    real = snmp_probe.SnmpSession

    def counting(*args, **kwargs):
        sessions.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(snmp_probe, "SnmpSession", counting)
    probe = SnmpProbe()
    probe.timeout_s, probe.retries, probe.port = 0.3, 1, PORT
    ctx = loopback_ctx(settings=ProbeSettings(snmp_communities=(SecretStr("a"), SecretStr("b"))))
    out = await probe.discover(hosts, ctx)
    assert {r.status for r in out} == {ProbeStatus.NO_REPLY}
    assert len(out) == len(hosts)
    # Both communities and v1 asked of all 40 hosts together; none answered, so no session.
    assert sessions == []
    assert ctx.packets_sent == 40 * 3 * 2
