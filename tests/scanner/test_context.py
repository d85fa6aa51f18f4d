"""ProbeContext against hostile loopback peers: every exchange ends, bounded, as a value."""

import asyncio
import socket
import struct
from contextlib import asynccontextmanager
from ipaddress import IPv4Address

import pytest

from scanner.context import ExchangeError, ProbeContext, RateLimiter
from scanner.errors import ScopeViolation
from scanner.limits import Limits
from scanner.results import ProbeStatus
from scanner.scope import Scope

LOOPBACK = IPv4Address("127.0.0.1")
FAST = Limits(connect_timeout_s=1, read_timeout_s=0.3, exchange_timeout_s=1.0, max_reply_bytes=4096)


@asynccontextmanager
async def serve(handler):
    """A loopback server whose connections are all closed when the block ends."""
    tasks = []

    async def wrapped(reader, writer):
        tasks.append(asyncio.current_task())
        try:
            await handler(reader, writer)
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.transport.abort()

    server = await asyncio.start_server(wrapped, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await server.wait_closed()


def ctx(limits=FAST):
    return ProbeContext(Scope.from_specs(["127.0.0.0/8"]), limits)


@pytest.mark.loopback
async def test_reply_until_close():
    async def handler(reader, writer):
        await reader.read(100)
        writer.write(b"HTTP/1.0 200 OK\r\n\r\nhi")
        writer.close()
        await writer.wait_closed()

    async with serve(handler) as port:
        reply = await ctx().tcp_exchange(LOOPBACK, port, b"GET / HTTP/1.0\r\n\r\n")
    assert reply.data == b"HTTP/1.0 200 OK\r\n\r\nhi"
    assert not reply.truncated
    assert not reply.timed_out


@pytest.mark.loopback
async def test_huge_reply_is_capped():
    async def handler(reader, writer):
        try:
            for _ in range(1000):  # 64 MiB if nobody stops us
                writer.write(b"x" * 65536)
                await writer.drain()
        except ConnectionError:
            pass
        writer.close()

    async with serve(handler) as port:
        reply = await ctx().tcp_exchange(LOOPBACK, port, b"")
    assert len(reply.data) == 4096
    assert reply.truncated


@pytest.mark.loopback
async def test_slowloris_is_cut_by_the_exchange_deadline():
    async def handler(reader, writer):
        try:
            for _ in range(100):
                writer.write(b"x")
                await writer.drain()
                await asyncio.sleep(0.2)
        except ConnectionError:
            pass
        writer.close()

    loop = asyncio.get_running_loop()
    start = loop.time()
    async with serve(handler) as port:
        reply = await ctx().tcp_exchange(LOOPBACK, port, b"")
    assert reply.timed_out
    assert 0 < len(reply.data) < 10
    assert loop.time() - start < 2.5


@pytest.mark.loopback
async def test_silent_peer_times_out():
    async def handler(reader, writer):
        await asyncio.sleep(1.5)
        writer.close()

    async with serve(handler) as port:
        with pytest.raises(ExchangeError) as info:
            await ctx().tcp_exchange(LOOPBACK, port, b"hello")
    assert info.value.status is ProbeStatus.TIMEOUT


@pytest.mark.loopback
async def test_close_without_reply():
    async def handler(reader, writer):
        writer.close()
        await writer.wait_closed()

    async with serve(handler) as port:
        with pytest.raises(ExchangeError) as info:
            await ctx().tcp_exchange(LOOPBACK, port, b"hello")
    assert info.value.status is ProbeStatus.CLOSED


@pytest.mark.loopback
async def test_reset_mid_reply_keeps_what_arrived():
    async def handler(reader, writer):
        sock = writer.get_extra_info("socket")
        writer.write(b"HTTP/1.0 200 OK\r\nServer: x\r\n")
        await writer.drain()
        await asyncio.sleep(0.05)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()

    async with serve(handler) as port:
        reply = await ctx().tcp_exchange(LOOPBACK, port, b"GET /\r\n\r\n")
    assert reply.data.startswith(b"HTTP/1.0 200 OK")


@pytest.mark.loopback
async def test_refused_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # bound, never listening: connection refused
        with pytest.raises(ExchangeError) as info:
            await ctx().tcp_exchange(LOOPBACK, port, b"")
    assert info.value.status is ProbeStatus.REFUSED


async def test_out_of_scope_is_refused_before_connecting():
    context = ProbeContext(Scope.from_specs(["198.18.0.0/24"]), FAST)
    with pytest.raises(ScopeViolation):
        await context.tcp_exchange(LOOPBACK, 80, b"")
    assert context.packets_sent == 0


async def test_rate_limiter_spaces_sends(monkeypatch):
    limiter = RateLimiter(10, clock=lambda: 0.0)
    sleeps = []

    async def fake_sleep(seconds):
        sleeps.append(seconds)

    monkeypatch.setattr("scanner.context.asyncio.sleep", fake_sleep)
    for _ in range(3):
        await limiter.acquire()
    assert sleeps == pytest.approx([0.1, 0.2])


@pytest.mark.loopback
async def test_an_exchange_that_times_out_before_any_byte_is_tried_once_more():
    calls = []

    async def handler(reader, writer):
        calls.append(1)
        await reader.read(100)
        if len(calls) == 1:
            await asyncio.sleep(5)  # the first connection meets a server too busy to answer
        writer.write(b"HTTP/1.0 200 OK\r\n\r\nsecond")
        writer.close()

    context = ctx()
    async with serve(handler) as port:
        reply = await context.tcp_exchange(LOOPBACK, port, b"GET / HTTP/1.0\r\n\r\n")
    assert reply.data.endswith(b"second")
    assert len(calls) == 2
    assert context.retries == 1
    assert context.window.stats.decreases == 1


@pytest.mark.loopback
async def test_a_refused_port_is_not_retried_and_does_not_shrink_the_window():
    context = ctx()
    with pytest.raises(ExchangeError) as caught:
        await context.tcp_exchange(LOOPBACK, 1, b"x")
    assert caught.value.status is ProbeStatus.REFUSED
    assert context.retries == 0
    assert context.window.stats.decreases == 0


class _NeverConnected:
    """A writer as asyncio hands it back after an ICMP host-unreachable: no peer, SO_ERROR set."""

    def __init__(self, code: int) -> None:
        self.code = code
        self.aborted = False
        self.transport = self

    def abort(self) -> None:
        self.aborted = True

    def getsockopt(self, level: int, option: int) -> int:
        assert (level, option) == (socket.SOL_SOCKET, socket.SO_ERROR)
        return self.code

    def get_extra_info(self, name: str):
        return {"peername": None, "socket": self}.get(name)


@pytest.mark.parametrize(
    ("code", "kind"),
    [(113, OSError), (111, ConnectionRefusedError), (0, ConnectionResetError)],
)
def test_a_socket_without_a_peer_raises_its_own_error(code, kind):
    from scanner.context import ensure_connected

    writer = _NeverConnected(code)
    with pytest.raises(kind) as raised:
        ensure_connected(writer)  # type: ignore[arg-type]
    assert raised.value.errno == (code or 104)  # no error kept: connected, then reset at once
    assert writer.aborted


async def test_a_connect_that_never_connected_is_not_a_live_host(monkeypatch):
    async def fake_open_connection(*_args, **_kwargs):
        return None, _NeverConnected(113)

    monkeypatch.setattr(asyncio, "open_connection", fake_open_connection)
    with pytest.raises(ExchangeError) as raised:
        await ctx().tcp_connect(LOOPBACK, 80)
    assert raised.value.status is ProbeStatus.NO_REPLY
    with pytest.raises(ExchangeError) as raised:
        await ctx().tcp_exchange(LOOPBACK, 80, b"GET / HTTP/1.0\r\n\r\n")
    assert raised.value.status is ProbeStatus.NO_REPLY
