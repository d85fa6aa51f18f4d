"""The UDP and multicast parts of ProbeContext: scope, caps, pairing, segment rule."""

from ipaddress import IPv4Address, IPv4Network

import pytest

from scanner.context import ExchangeError, ProbeContext, Segment, message_complete
from scanner.errors import ScopeViolation
from scanner.scope import Scope

from .probes.loopback import FAST, fresh_address, loopback_ctx, udp_server


@pytest.mark.loopback
async def test_udp_exchange_returns_the_reply_capped():
    host = fresh_address()
    async with udp_server(host, 40001, lambda data: [b"x" * 5000]):
        reply = await loopback_ctx().udp_exchange(host, 40001, b"hi", max_bytes=1000)
    assert reply.source == host
    assert len(reply.data) == 1000
    assert reply.truncated


@pytest.mark.loopback
async def test_udp_exchange_without_a_reply_is_no_reply():
    with pytest.raises(ExchangeError) as info:
        await loopback_ctx().udp_exchange(fresh_address(), 40002, b"hi", wait_s=0.2)
    assert info.value.status == "no_reply"


async def test_out_of_scope_unicast_is_refused_before_any_socket():
    ctx = ProbeContext(Scope.from_specs(["127.77.0.0/24"]), FAST)
    with pytest.raises(ScopeViolation):
        await ctx.udp_collect(40003, b"x", unicast=[IPv4Address("127.78.0.1")])
    assert ctx.packets_sent == 0


@pytest.mark.loopback
async def test_replies_from_outside_the_scope_are_dropped():
    inside = fresh_address()
    # The scope is the one host; a second host answering to us is not recorded.
    ctx = ProbeContext(Scope.from_specs([f"{inside}/32"]), FAST)
    async with udp_server(inside, 40004, lambda data: [b"ok"]):
        result = await ctx.udp_collect(40004, b"x", unicast=[inside], wait_s=0.2)
    assert [d.source for d in result.datagrams] == [inside]


@pytest.mark.loopback
async def test_reply_count_is_bounded():
    host = fresh_address()
    async with udp_server(host, 40005, lambda data: [b"a"] * 50):
        result = await loopback_ctx().udp_collect(
            40005, b"x", unicast=[host], wait_s=0.3, max_replies=5
        )
    assert len(result.datagrams) == 5
    assert result.dropped_over_limit >= 1


async def test_multicast_needs_a_segment_the_scope_covers(monkeypatch):
    ctx = ProbeContext(Scope.from_specs(["127.77.0.0/24"]), FAST)
    monkeypatch.setattr("scanner.context._find_segment", lambda scope: None)
    result = await ctx.udp_collect(3702, b"x", group=IPv4Address("239.255.255.250"), wait_s=0.1)
    assert result.sent == 0
    assert not result.multicast_sent
    with pytest.raises(ScopeViolation):
        await ctx.udp_collect(3702, b"x", group=IPv4Address("239.1.2.3"), wait_s=0.1)


def test_segment_rule():
    scope = Scope.from_specs(["198.18.0.0/24"], ["198.18.0.9"])
    assert not scope.covers_segment(IPv4Network("198.18.0.0/24"))  # an excluded host is on it
    assert Scope.from_specs(["198.18.0.0/23"]).covers_segment(IPv4Network("198.18.1.0/24"))
    assert not Scope.from_specs(["198.18.0.0/25"]).covers_segment(IPv4Network("198.18.0.0/24"))
    segment = Segment(IPv4Address("198.18.0.1"), IPv4Network("198.18.0.0/24"))
    assert segment.broadcast == IPv4Address("198.18.0.255")


def test_message_complete():
    assert message_complete(b"RTSP/1.0 200 OK\r\nCSeq: 1\r\n\r\n")
    assert not message_complete(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nabc")
    assert message_complete(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc")
    assert not message_complete(b"HTTP/1.1 200 OK\r\n\r\nabc")  # runs to close
    assert not message_complete(b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n")


@pytest.mark.loopback
async def test_a_window_nobody_answers_ends_at_the_quiet_floor_not_at_wait_s():
    import time

    from scanner.limits import Limits

    ctx = loopback_ctx(Limits(discovery_quiet_s=0.2))
    started = time.monotonic()
    result = await ctx.udp_collect(40011, b"x", unicast=[fresh_address()], wait_s=3.0)
    assert result.datagrams == ()
    assert time.monotonic() - started < 1.5


@pytest.mark.loopback
async def test_replies_still_arriving_keep_the_window_open():
    """Replies 0.25 s apart with a 0.2 s floor: the widest gap, not the floor, sets the wait."""
    import asyncio
    import time

    from scanner.limits import Limits

    hosts = [fresh_address() for _ in range(4)]
    ctx = loopback_ctx(Limits(discovery_quiet_s=0.2, rate_pps=4.0))  # one send per 0.25 s
    servers = [udp_server(h, 40012, lambda data: [b"here"]) for h in hosts]
    for server in servers:
        await server.__aenter__()
    try:
        started = time.monotonic()
        result = await ctx.udp_collect(40012, b"x", unicast=hosts, wait_s=3.0)
        elapsed = time.monotonic() - started
    finally:
        for server in servers:
            await server.__aexit__(None, None, None)
        await asyncio.sleep(0)
    assert sorted(d.source for d in result.datagrams) == sorted(hosts)
    assert elapsed < 3.0 + 1.0  # ended by quiet, at the latest wait_s after the last send
