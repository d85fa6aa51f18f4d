"""Loopback servers for probe tests: TCP and UDP, each on its own 127.x address.

Probes use fixed ports (80, 554, 161, 37020…), so every test gets its own loopback address in
127.77.0.0/16 rather than a random port; nothing leaves the machine (lo only).
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from ipaddress import IPv4Address

from scanner.context import ProbeContext
from scanner.limits import Limits
from scanner.scope import Scope

_NEXT = itertools.count(2)
FAST = Limits(
    connect_timeout_s=1, read_timeout_s=0.5, exchange_timeout_s=2.0, max_reply_bytes=65536
)


def fresh_address() -> IPv4Address:
    """A loopback address no other test in this process uses."""
    n = next(_NEXT)
    return IPv4Address(f"127.77.{n // 250}.{n % 250 + 2}")


def loopback_ctx(limits: Limits = FAST, **kwargs) -> ProbeContext:
    return ProbeContext(Scope.from_specs(["127.77.0.0/16"]), limits, **kwargs)


@asynccontextmanager
async def tcp_server(
    host: IPv4Address,
    port: int,
    handler: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]],
    ssl=None,
) -> AsyncIterator[None]:
    tasks: list[asyncio.Task] = []

    async def wrapped(reader, writer):
        tasks.append(asyncio.current_task())
        try:
            await handler(reader, writer)
        except (ConnectionError, asyncio.CancelledError, OSError):
            pass
        finally:
            writer.transport.abort()

    server = await asyncio.start_server(wrapped, str(host), port, ssl=ssl)
    try:
        yield
    finally:
        server.close()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await server.wait_closed()


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, answer: Callable[[bytes], list[bytes]]) -> None:
        self.answer = answer
        self.received: list[bytes] = []

    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        self.received.append(data)
        for reply in self.answer(data):
            self.transport.sendto(reply, addr)


@asynccontextmanager
async def udp_server(
    host: IPv4Address, port: int, answer: Callable[[bytes], list[bytes]]
) -> AsyncIterator[_Udp]:
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_datagram_endpoint(
        lambda: _Udp(answer), local_addr=(str(host), port)
    )
    try:
        yield protocol
    finally:
        transport.close()


def http_response(status: str, headers: list[tuple[str, str]], body: bytes = b"") -> bytes:
    head = f"HTTP/1.1 {status}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers)
    return head.encode() + f"Content-Length: {len(body)}\r\n\r\n".encode() + body
