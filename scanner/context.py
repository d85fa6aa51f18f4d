"""The one place probes send from: scope-checked, deadline-bound, byte-capped, rate-limited.

Probes never open sockets themselves. They ask the :class:`ProbeContext` for an exchange, and a
failure comes back as :class:`ExchangeError` carrying a :class:`ProbeStatus`, which
:func:`scanner.probes.base.run_host_probe` turns into a result value.
"""

from __future__ import annotations

import asyncio
import errno
import time
from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import IPv4Address

from scanner.limits import DEFAULT_LIMITS, Limits
from scanner.results import ProbeStatus
from scanner.scope import Scope

__all__ = ["ExchangeError", "ProbeContext", "RateLimiter", "TcpReply"]


class ExchangeError(Exception):
    """An exchange ended without a usable reply; ``status`` says how."""

    def __init__(self, status: ProbeStatus, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class TcpReply:
    """Bytes a TCP peer sent back, and how the read ended."""

    data: bytes
    truncated: bool  # hit the byte cap
    timed_out: bool  # stopped by the idle or total deadline rather than by the peer closing


class RateLimiter:
    """Token bucket shared by every send of a sweep (``--rate`` packets per second)."""

    def __init__(self, rate_pps: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._interval = 1.0 / rate_pps
        self._clock = clock
        self._next = clock()
        self._lock = asyncio.Lock()

    async def acquire(self, count: int = 1) -> None:
        """Wait until ``count`` packets may be sent."""
        async with self._lock:
            now = self._clock()
            start = max(self._next, now)
            self._next = start + self._interval * count
            delay = start - now
        if delay > 0:
            await asyncio.sleep(delay)


class ProbeContext:
    """Everything a probe may use to talk to the network during one sweep."""

    def __init__(
        self,
        scope: Scope,
        limits: Limits = DEFAULT_LIMITS,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.scope = scope
        self.limits = limits
        self._clock = clock
        self._deadline = clock() + limits.sweep_budget_s
        self._connections = asyncio.Semaphore(limits.concurrency)
        self.rate = RateLimiter(limits.rate_pps, clock=clock)
        self.packets_sent = 0

    def remaining_s(self) -> float:
        """Seconds left in the sweep's global budget (never negative)."""
        return max(0.0, self._deadline - self._clock())

    def check(self, host: IPv4Address | str) -> IPv4Address:
        """Scope-check ``host`` (raises ``ScopeViolation``) and the global budget."""
        addr = self.scope.check(host)
        if self.remaining_s() <= 0:
            raise ExchangeError(ProbeStatus.TIMEOUT, "sweep budget exhausted")
        return addr

    def _bounded(self, seconds: float) -> float:
        budget = self.remaining_s()
        if budget <= 0:
            raise ExchangeError(ProbeStatus.TIMEOUT, "sweep budget exhausted")
        return min(seconds, budget)

    async def tcp_exchange(
        self,
        host: IPv4Address,
        port: int,
        payload: bytes,
        *,
        max_bytes: int | None = None,
    ) -> TcpReply:
        """Connect, send ``payload`` (may be empty), read until close, cap or deadline."""
        addr = self.check(host)
        cap = min(max_bytes or self.limits.max_reply_bytes, self.limits.max_reply_bytes)
        async with self._connections:
            await self.rate.acquire()
            self.packets_sent += 1
            try:
                async with asyncio.timeout(self._bounded(self.limits.connect_timeout_s)):
                    reader, writer = await asyncio.open_connection(str(addr), port, limit=cap)
            except TimeoutError as exc:
                raise ExchangeError(
                    ProbeStatus.TIMEOUT, f"connect to port {port} timed out"
                ) from exc
            except ConnectionRefusedError as exc:
                raise ExchangeError(ProbeStatus.REFUSED, f"port {port} refused") from exc
            except OSError as exc:
                status = (
                    ProbeStatus.NO_REPLY
                    if exc.errno in {errno.EHOSTUNREACH, errno.ENETUNREACH}
                    else ProbeStatus.ERROR
                )
                raise ExchangeError(status, f"connect to port {port}: {exc.strerror}") from exc
            try:
                return await self._converse(reader, writer, payload, cap)
            finally:
                writer.close()
                try:
                    async with asyncio.timeout(1.0):
                        await writer.wait_closed()
                except (TimeoutError, OSError):
                    pass  # a peer that resets on close has already given us what we need

    async def _converse(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        payload: bytes,
        cap: int,
    ) -> TcpReply:
        chunks: list[bytes] = []
        size = 0
        timed_out = False
        try:
            async with asyncio.timeout(self._bounded(self.limits.exchange_timeout_s)):
                if payload:
                    writer.write(payload)
                    await writer.drain()
                while size < cap:
                    async with asyncio.timeout(self.limits.read_timeout_s):
                        chunk = await reader.read(min(65536, cap - size))
                    if not chunk:
                        break
                    chunks.append(chunk)
                    size += len(chunk)
        except TimeoutError:
            timed_out = True
        except ConnectionResetError:
            if not chunks:
                raise ExchangeError(
                    ProbeStatus.CLOSED, "connection reset before any reply"
                ) from None
        except OSError as exc:
            if not chunks:
                raise ExchangeError(ProbeStatus.ERROR, f"read failed: {exc.strerror}") from exc
        data = b"".join(chunks)
        if not data:
            if timed_out:
                raise ExchangeError(ProbeStatus.TIMEOUT, "no reply before the deadline")
            raise ExchangeError(ProbeStatus.CLOSED, "closed without a reply")
        return TcpReply(data=data[:cap], truncated=size >= cap, timed_out=timed_out)
