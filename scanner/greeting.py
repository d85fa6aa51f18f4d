"""Read what a server says first, record it, close: the shared body of the banner probes.

SSH, FTP and telnet servers all speak before the client does. Each banner probe differs only in
how it knows the greeting is complete and how it parses it; connecting, the deadline, the size
cap and the status a failure earns are the same, so they live here once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import IPv4Address

from scanner.context import ExchangeError, ProbeContext
from scanner.errors import ProbeParseError
from scanner.probes.base import ObservationSet
from scanner.results import ProbeResult, ProbeStatus

__all__ = ["Greeting", "read_greeting"]


@dataclass(frozen=True, slots=True)
class Greeting:
    """How one protocol's greeting is read: ``protocol.field`` it is recorded as, and its parts."""

    probe: str
    protocol: str
    #: What the timeout message calls it ("SSH identification", "FTP greeting").
    what: str
    max_bytes: int
    complete: Callable[[bytes], bool]
    #: Raises :class:`ProbeParseError` when the bytes are not this protocol's greeting.
    parse: Callable[[bytes], str]


async def read_greeting(
    greeting: Greeting,
    host: IPv4Address,
    port: int,
    ctx: ProbeContext,
    *,
    started: float | None = None,
    respond: Callable[[bytes], bytes] | None = None,
) -> ProbeResult:
    """Connect, read up to the end of the greeting without sending a byte, record it.

    Silence until the deadline is a timeout (raised, so the caller can retry or try another
    port); bytes that are not a greeting are a protocol error; a greeting cut by the size cap is
    kept and marked oversized.
    """
    began = time.monotonic() if started is None else started
    obs = ObservationSet(greeting.probe, host, port=port)
    target = f"{host}:{port}"
    reply = await ctx.tcp_exchange(
        host, port, b"", max_bytes=greeting.max_bytes, complete=greeting.complete, respond=respond
    )
    try:
        text = greeting.parse(reply.data)
    except ProbeParseError as exc:
        if reply.timed_out and not reply.truncated:
            raise ExchangeError(
                ProbeStatus.TIMEOUT,
                f"no {greeting.what} on port {port} before the deadline "
                f"({len(reply.data)} bytes: {exc})",
            ) from None
        return obs.result(
            target,
            began,
            status=ProbeStatus.PROTOCOL_ERROR,
            reply_bytes=len(reply.data),
            error=str(exc),
        )
    obs.add(greeting.protocol, "banner", text)
    status = ProbeStatus.OVERSIZED if reply.truncated else ProbeStatus.SUCCESS
    return obs.result(target, began, status=status, reply_bytes=len(reply.data))
