"""ProbeContext against hostile loopback peers: every exchange ends, bounded, as a value."""

import asyncio
import socket
import struct
import threading
from collections.abc import Iterator
from contextlib import asynccontextmanager, contextmanager
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
    with _refusing_port() as port, pytest.raises(ExchangeError) as info:
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
    """A writer as the loop hands it back with no peer name: SO_ERROR and segments as given."""

    def __init__(self, code: int, segments_in: int = 0) -> None:
        self.code = code
        self.segments_in = segments_in
        self.aborted = False
        self.transport = self

    def abort(self) -> None:
        self.aborted = True

    def getsockopt(self, level: int, option: int, buflen: int = 0) -> int | bytes:
        if (level, option) == (socket.IPPROTO_TCP, socket.TCP_INFO):
            info = bytearray(buflen)
            info[0] = 7  # TCP_CLOSE
            struct.pack_into("I", info, 140, self.segments_in)
            return bytes(info)
        assert (level, option) == (socket.SOL_SOCKET, socket.SO_ERROR)
        return self.code

    def get_extra_info(self, name: str):
        return {"peername": None, "socket": self}.get(name)


@pytest.mark.parametrize(
    ("code", "segments_in", "kind", "errno_"),
    [
        (113, 0, OSError, 113),  # the ICMP host-unreachable still pending
        (111, 0, ConnectionRefusedError, 111),
        (0, 0, OSError, 107),  # error already consumed, nothing ever came back: ENOTCONN
        (0, 2, ConnectionResetError, 104),  # SYN-ACK then RST: a listener that turned us away
    ],
)
def test_a_socket_without_a_peer_raises_its_own_error(code, segments_in, kind, errno_):
    from scanner.context import ensure_connected

    writer = _NeverConnected(code, segments_in)
    with pytest.raises(kind) as raised:
        ensure_connected(writer)  # type: ignore[arg-type]
    assert type(raised.value) is kind
    assert raised.value.errno == errno_
    assert writer.aborted


def _resetting_listener() -> tuple[socket.socket, threading.Thread]:
    """A loopback listener that accepts and resets at once (SO_LINGER 0), until closed."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return listener, thread


@pytest.mark.loopback
def test_an_accept_then_reset_is_a_host_that_is_there_on_uvloop():
    # uvloop hands back some of these connections with no peer name and SO_ERROR 0; the
    # segments the kernel counted say the handshake happened: the host is there.
    import uvloop

    listener, thread = _resetting_listener()
    port = listener.getsockname()[1]

    async def knock() -> list[ProbeStatus]:
        context = ctx()
        statuses = []
        for _ in range(30):
            try:
                await context.tcp_connect(LOOPBACK, port)
            except ExchangeError as exc:
                statuses.append(exc.status)
            else:
                statuses.append(ProbeStatus.SUCCESS)
        return statuses

    try:
        statuses = uvloop.run(knock())
    finally:
        listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept(); close alone does not
        listener.close()
        thread.join(timeout=5)
    assert ProbeStatus.NO_REPLY not in statuses
    assert ProbeStatus.CLOSED in statuses


@pytest.mark.loopback
def test_a_connected_socket_counts_the_segments_it_received():
    from scanner.context import _segments_received

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    client = socket.create_connection(listener.getsockname(), timeout=5)
    try:
        segments = _segments_received(client)
        assert segments is not None
        assert segments >= 1  # the SYN-ACK at least
    finally:
        client.close()
        listener.close()


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


def test_knocks_get_their_own_bounded_window():
    from scanner.context import MAX_KNOCKS, knock_concurrency

    assert knock_concurrency(Limits(concurrency=64)) == 512
    assert knock_concurrency(Limits(concurrency=200)) == MAX_KNOCKS
    assert knock_concurrency(Limits(concurrency=1000)) == 1000  # never below --concurrency


@pytest.mark.loopback
async def test_a_knock_does_not_wait_for_the_probes_window():
    # Probes hold every connection slot (a slow device each); liveness must still knock.
    context = ctx()
    for _ in range(int(context.window.limit)):
        await context.window.acquire()
    async with asyncio.timeout(5):
        with _refusing_port() as port, pytest.raises(ExchangeError) as raised:
            await context.tcp_connect(LOOPBACK, port)
    assert raised.value.status is ProbeStatus.REFUSED


@contextmanager
def _refusing_port() -> Iterator[int]:
    # Held bound for the test (no other process can take it) and never listening: RST.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        yield probe.getsockname()[1]
