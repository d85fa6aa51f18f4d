"""The one place probes send from: scope-checked, deadline-bound, byte-capped, rate-limited.

Probes never open sockets themselves. They ask the :class:`ProbeContext` for an exchange, and a
failure comes back as :class:`ExchangeError` carrying a :class:`ProbeStatus`, which
:func:`scanner.probes.base.run_host_probe` turns into a result value.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import logging
import os
import shutil
import socket
import ssl
import struct
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from typing import Final

from pydantic import BaseModel, ConfigDict, SecretStr

from scanner.adaptive import AdaptiveWindow, Outcome
from scanner.credentials import CredentialStore
from scanner.errors import NetworkSafetyError, ScopeViolation
from scanner.limits import DEFAULT_LIMITS, Limits
from scanner.results import ProbeStatus
from scanner.routes import route_to
from scanner.scope import Scope

__all__ = [
    "DISCOVERY_GROUPS",
    "CollectResult",
    "Datagram",
    "ExchangeError",
    "ProbeContext",
    "ProbeSettings",
    "RateLimiter",
    "Segment",
    "TcpReply",
    "ensure_connected",
    "knock_concurrency",
    "local_addresses",
    "message_complete",
    "unicast_only",
]

log = logging.getLogger(__name__)

#: The only multicast groups a sweep ever sends to: WS-Discovery/SADP and Dahua DHIP
#: (nmap nselib/wsdd.lua, UniversalScanner Hikvision.cs and Dahua2.cs). Sent with TTL 1, so they
#: never leave the segment.
DISCOVERY_GROUPS: Final = frozenset(
    {IPv4Address("239.255.255.250"), IPv4Address("239.255.255.251")}
)
# One multicast probe can wake a thousand hosts at once (lab-feasibility §10: 65k replies into a
# default receive buffer lost 59); 4 MiB holds a thousand 4 KiB replies.
_RCVBUF_BYTES: Final = 4 * 1024 * 1024
# SO_RCVBUFFORCE (Linux, needs CAP_NET_ADMIN) lifts the rmem_max ceiling when we have it.
_SO_RCVBUFFORCE: Final = 33
# The largest UDP payload; a datagram is read whole and then capped.
_MAX_DATAGRAM: Final = 65535
#: Datagrams of one round sent back to back on one reservation of the rate bucket: the
#: average rate holds, and a burst stays far below what a switch port buffers.
_SEND_CHUNK: Final = 32


def _certificate_reader_context() -> ssl.SSLContext:
    """The one TLS context whose peer is not verified, and why that is safe here.

    Cameras and NVRs serve self-signed certificates; the subject and issuer of that certificate
    are the evidence we want (rapid7/recog xml/x509_subjects.xml, ``CN=www.hikvision.com``). The
    scanner only *reads* what the device presents: it sends no credentials and trusts nothing
    over this channel, so skipping verification exposes nothing. Old firmware only speaks
    TLS 1.0 with weak ciphers, hence the lowered floor.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # read-only: see the docstring
    context.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
    # An OpenSSL build without the level syntax keeps its defaults.
    with contextlib.suppress(ssl.SSLError):
        context.set_ciphers("ALL:@SECLEVEL=0")
    return context


CERTIFICATE_READER: Final = _certificate_reader_context()


class ProbeSettings(BaseModel):
    """What the user told the probes beyond limits: SNMP community, ONVIF credentials.

    Secrets are :class:`SecretStr`: their repr is ``**********``, so a log line, an exception or
    a result that includes the settings never carries the value.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: v1/v2c communities tried in order (``--snmp-community``, repeatable); per-host ones and
    #: v3 users come from ``credentials``.
    snmp_communities: tuple[SecretStr, ...] = (SecretStr("public"),)
    onvif_username: str | None = None
    onvif_password: SecretStr | None = None
    #: ``--credentials FILE``: logins scoped per host, CIDR or site (issue 9).
    credentials: CredentialStore | None = None


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
    peer_certificate: bytes | None = None  # DER, when the exchange ran over TLS


@dataclass(frozen=True, slots=True)
class Datagram:
    """One UDP reply from an in-scope source, capped at the probe's byte limit."""

    source: IPv4Address
    port: int
    data: bytes
    truncated: bool
    #: Seconds since the last datagram sent to ``source`` in this round (None: not sent one).
    rtt: float | None = None


@dataclass(frozen=True, slots=True)
class CollectResult:
    """What a UDP send-and-collect round heard, and what it discarded."""

    datagrams: tuple[Datagram, ...]
    sent: int
    multicast_sent: bool
    dropped_out_of_scope: int  # replies from sources outside the scope: never recorded
    dropped_over_limit: int  # replies beyond ``max_replies``


@dataclass(frozen=True, slots=True)
class Segment:
    """The scanner's own layer-2 segment, when the scope covers all of it."""

    local: IPv4Address
    network: IPv4Network

    @property
    def broadcast(self) -> IPv4Address:
        """The segment's directed broadcast address."""
        return self.network.broadcast_address


@dataclass
class _Collector(asyncio.DatagramProtocol):
    scope: Scope
    cap: int
    max_replies: int
    expect_sources: int | None
    items: list[Datagram] = field(default_factory=list)
    sources: set[IPv4Address] = field(default_factory=set)
    out_of_scope: int = 0
    over_limit: int = 0
    done: asyncio.Event = field(default_factory=asyncio.Event)
    #: When the last in-scope reply arrived, and the longest gap between two replies.
    last_reply: float | None = None
    widest_gap: float = 0.0
    clock: Callable[[], float] = time.monotonic
    #: Told of every in-scope reply as it arrives (a probe that acts on each answer at once).
    on_reply: Callable[[Datagram], None] | None = None
    #: When each unicast destination was last sent a datagram, for the replies' round trips.
    sent_at: dict[IPv4Address, float] = field(default_factory=dict)

    def datagram_received(self, data: bytes, addr: tuple[str | object, int]) -> None:
        try:
            source = IPv4Address(str(addr[0]))
        except ValueError:
            return
        if not self.scope.contains(source):
            self.out_of_scope += 1  # a reply from outside the scope is not ours to record
            return
        if len(self.items) >= self.max_replies:
            self.over_limit += 1
            self.done.set()
            return
        now = self.clock()
        asked = self.sent_at.get(source)
        rtt = None if asked is None else now - asked
        datagram = Datagram(source, addr[1], data[: self.cap], len(data) > self.cap, rtt)
        self.items.append(datagram)
        self.sources.add(source)
        if self.on_reply is not None:
            try:
                self.on_reply(datagram)
            except Exception:  # a probe's hook must not stop the round that feeds the others
                log.warning("reply hook failed for %s", source, exc_info=True)
        if self.last_reply is not None:
            self.widest_gap = max(self.widest_gap, now - self.last_reply)
        self.last_reply = now
        if self.expect_sources is not None and len(self.sources) >= self.expect_sources:
            self.done.set()

    def error_received(self, exc: Exception) -> None:
        # ICMP errors on an unconnected socket say nothing about which probe failed; the
        # missing reply is reported as no_reply by the caller.
        log.debug("UDP error: %s", exc)


def message_complete(data: bytes) -> bool:
    """Return whether ``data`` holds a whole HTTP/RTSP message (head plus Content-Length body).

    Without a Content-Length the message ends when the peer closes, so this says no.
    """
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return False
    for line in data[:end].split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            try:
                return len(data) - end - 4 >= int(value.strip())
            except ValueError:
                return False
    status = data[: data.find(b"\r\n")]
    # RTSP replies without a body carry no Content-Length; HTTP bodies without one run to close.
    return status.startswith(b"RTSP/")


#: ``struct tcp_info`` (linux/tcp.h): ``tcpi_segs_in`` sits at byte 140 (Linux 4.2 and later).
_TCP_INFO_LEN: Final = 144
_TCPI_SEGS_IN_OFFSET: Final = 140


def _segments_received(sock: object) -> int | None:
    """TCP segments the peer sent on this socket (``tcpi_segs_in``), or None if unreadable."""
    getsockopt = getattr(sock, "getsockopt", None)
    tcp_info = getattr(socket, "TCP_INFO", None)
    if getsockopt is None or tcp_info is None:
        return None
    try:
        info = getsockopt(socket.IPPROTO_TCP, tcp_info, _TCP_INFO_LEN)
    except (OSError, TypeError):
        return None
    if not isinstance(info, bytes) or len(info) < _TCP_INFO_LEN:
        return None
    segments: int = struct.unpack_from("I", info, _TCPI_SEGS_IN_OFFSET)[0]
    return segments


def ensure_connected(writer: asyncio.StreamWriter) -> None:
    """Raise the connect's real error when the loop handed back a socket that never connected.

    Seen in the lab (about one sweep in five of a routed /24): a router's ICMP host-unreachable
    for a SYN to an absent address can leave the connect callback reading SO_ERROR as 0 while
    the socket is already closed (TCP state CLOSE, no peer name). Trusted, that is a phantom
    live host with an "open" port. A socket without a peer name is also what a listener that
    accepts and resets at once leaves behind (uvloop reads the peer name lazily, after the
    reset). The kernel's count of segments received tells the two apart: a completed
    handshake received at least the SYN-ACK, an ICMP error is not a TCP segment.
    """
    if writer.get_extra_info("peername") is not None:
        return
    sock = writer.get_extra_info("socket")
    code = 0
    segments: int | None = None
    if sock is not None:
        with contextlib.suppress(OSError):
            code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        segments = _segments_received(sock)
    writer.transport.abort()
    if code == 0 and segments:
        raise ConnectionResetError(errno.ECONNRESET, "reset right after the handshake")
    # Nothing came back from the peer (or the kernel would not say): never connected.
    code = code or errno.ENOTCONN
    raise OSError(code, os.strerror(code))


#: Knocks open at once per ``--concurrency`` slot, and at most: a knock holds one socket, and
#: 768 leaves room for the probes' sockets inside the usual open-file limit of 1,024.
KNOCKS_PER_SLOT: Final = 8
MAX_KNOCKS: Final = 768


def knock_concurrency(limits: Limits) -> int:
    """How many liveness knocks may wait at once (a sparse routed /24 is mostly waiting)."""
    return max(limits.concurrency, min(limits.concurrency * KNOCKS_PER_SLOT, MAX_KNOCKS))


_UNICAST_ONLY: ContextVar[bool] = ContextVar("unicast_only", default=False)


@contextlib.contextmanager
def unicast_only() -> Iterator[None]:
    """Discovery inside this block (and the tasks it starts) sends no multicast or broadcast.

    A sweep's later discovery rounds ask the hosts liveness found after the first round had
    already reached the whole segment: asking the segment again would only repeat its answers.
    """
    token = _UNICAST_ONLY.set(True)
    try:
        yield
    finally:
        _UNICAST_ONLY.reset(token)


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
        settings: ProbeSettings | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.scope = scope
        self.limits = limits
        self.settings = settings or ProbeSettings()
        self._clock = clock
        self._deadline = clock() + limits.sweep_budget_s
        #: Open connections at once: ``--concurrency`` is the ceiling, load moves it below.
        self.window = AdaptiveWindow(limits.concurrency)
        #: Liveness knocks open at once. A knock carries no payload and loads no device (most
        #: go to addresses nobody holds, and wait out a router's ARP failure), so it does not
        #: take a slot from the probes' window; the packet rate still paces every SYN.
        self.knocks = asyncio.Semaphore(knock_concurrency(limits))
        #: Exchanges that timed out before any byte and were tried again.
        self.retries = 0
        self.rate = RateLimiter(limits.rate_pps, clock=clock)
        self.packets_sent = 0
        #: Targets a completed ARP sweep asked: silence there means absent, not filtered.
        self.arp_covered: set[IPv4Address] = set()
        #: MACs the liveness sweep saw for addresses on the scanner's own segment (filled by
        #: the sweeper), so a switch's forwarding table can name the host behind each MAC.
        self.link_macs: dict[IPv4Address, str] = {}
        #: The scanner's own addresses (filled by the sweeper): a router's ARP table or a
        #: switch's forwarding table names the scanner too, and it is not a device on the site.
        self.own_addresses: frozenset[IPv4Address] = frozenset()
        #: Hears of each host a liveness probe finds, the moment it is found (set by the
        #: sweeper, which starts work on that host while the rest of liveness goes on).
        self.on_live: Callable[[IPv4Address], None] | None = None
        self._segment: Segment | bool | None = False  # False: not looked up yet
        self._segment_lock = asyncio.Lock()

    def found_live(self, host: IPv4Address) -> None:
        """A liveness probe found ``host`` (may be said more than once)."""
        if self.on_live is not None:
            self.on_live(host)

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
        tls: bool = False,
        complete: Callable[[bytes], bool] | None = None,
        respond: Callable[[bytes], bytes] | None = None,
    ) -> TcpReply:
        """Connect, send ``payload`` (may be empty), read until close, cap or deadline.

        With ``tls`` the exchange runs inside TLS (:data:`CERTIFICATE_READER`) and the reply
        carries the peer certificate. ``complete`` says when the bytes so far are a whole
        message, so keep-alive peers (RTSP, HTTP/1.1) do not cost an idle timeout. An exchange
        that times out before any byte arrives is tried once more with doubled deadlines:
        under load a dropped SYN or a busy embedded server looks exactly like that, and one
        retry turns most such losses back into evidence. ``respond`` is given each chunk read
        and returns bytes to send back at once (telnet option refusals); the same caps and
        deadlines bound the whole conversation.
        """
        addr = self.check(host)
        cap = min(max_bytes or self.limits.max_reply_bytes, self.limits.max_reply_bytes)
        try:
            return await self._exchange_once(addr, port, payload, cap, tls, complete, 1.0, respond)
        except ExchangeError as exc:
            if exc.status is not ProbeStatus.TIMEOUT or self.remaining_s() <= 0:
                raise
            self.retries += 1
            return await self._exchange_once(addr, port, payload, cap, tls, complete, 2.0, respond)

    async def _exchange_once(
        self,
        addr: IPv4Address,
        port: int,
        payload: bytes,
        cap: int,
        tls: bool,
        complete: Callable[[bytes], bool] | None,
        stretch: float,
        respond: Callable[[bytes], bytes] | None = None,
    ) -> TcpReply:
        await self.window.acquire()
        outcome = Outcome.OK
        rtt: float | None = None
        try:
            await self.rate.acquire()
            self.packets_sent += 1
            started = self._clock()
            try:
                async with asyncio.timeout(
                    self._bounded(self.limits.connect_timeout_s * 2 * stretch)
                ):
                    reader, writer = await asyncio.open_connection(
                        str(addr),
                        port,
                        limit=cap,
                        ssl=CERTIFICATE_READER if tls else None,
                        server_hostname="" if tls else None,
                        ssl_handshake_timeout=(
                            self.limits.connect_timeout_s * stretch if tls else None
                        ),
                    )
                    ensure_connected(writer)
            except ssl.SSLError as exc:
                raise ExchangeError(
                    ProbeStatus.PROTOCOL_ERROR, f"TLS handshake on port {port} failed: {exc.reason}"
                ) from exc
            except TimeoutError as exc:
                outcome = Outcome.CONGESTED
                raise ExchangeError(
                    ProbeStatus.TIMEOUT, f"connect to port {port} timed out"
                ) from exc
            except ConnectionRefusedError as exc:
                raise ExchangeError(ProbeStatus.REFUSED, f"port {port} refused") from exc
            except ConnectionResetError as exc:
                # Accepted, then reset before any byte: the port's listener turned us away.
                raise ExchangeError(
                    ProbeStatus.CLOSED, f"port {port} reset the connection"
                ) from exc
            except OSError as exc:
                status = (
                    ProbeStatus.NO_REPLY
                    if exc.errno in {errno.EHOSTUNREACH, errno.ENETUNREACH, errno.ENOTCONN}
                    else ProbeStatus.ERROR
                )
                outcome = Outcome.NEUTRAL
                raise ExchangeError(status, f"connect to port {port}: {exc.strerror}") from exc
            rtt = self._clock() - started
            certificate: bytes | None = None
            if tls:
                ssl_object = writer.get_extra_info("ssl_object")
                if isinstance(ssl_object, ssl.SSLObject):
                    certificate = ssl_object.getpeercert(binary_form=True)
            try:
                reply = await self._converse(
                    reader,
                    writer,
                    payload,
                    cap,
                    allow_empty=tls,
                    complete=complete,
                    stretch=stretch,
                    respond=respond,
                )
            except ExchangeError as exc:
                if exc.status is ProbeStatus.TIMEOUT:
                    outcome = Outcome.CONGESTED
                raise
            finally:
                writer.close()
                try:
                    async with asyncio.timeout(1.0):
                        await writer.wait_closed()
                except (TimeoutError, OSError):
                    pass  # a peer that resets on close has already given us what we need
            if certificate is None:
                return reply
            return TcpReply(reply.data, reply.truncated, reply.timed_out, certificate)
        finally:
            await self.window.release(outcome, rtt)

    async def tcp_connect(self, host: IPv4Address, port: int) -> None:
        """Open and close a connection (liveness); raise :class:`ExchangeError` if it fails."""
        addr = self.check(host)
        # A knock on an address nobody holds times out by design: it says nothing about load.
        async with self.knocks:
            await self.rate.acquire()
            self.packets_sent += 1
            try:
                async with asyncio.timeout(self._bounded(self.limits.connect_timeout_s)):
                    _reader, writer = await asyncio.open_connection(str(addr), port)
                    ensure_connected(writer)
            except TimeoutError as exc:
                raise ExchangeError(ProbeStatus.TIMEOUT, f"connect to {port} timed out") from exc
            except ConnectionRefusedError as exc:
                raise ExchangeError(ProbeStatus.REFUSED, f"port {port} refused") from exc
            except ConnectionResetError as exc:
                raise ExchangeError(ProbeStatus.CLOSED, f"port {port} reset") from exc
            except OSError as exc:
                raise ExchangeError(
                    ProbeStatus.NO_REPLY, f"connect to {port}: {exc.strerror}"
                ) from exc
            writer.transport.abort()  # a reset, not a FIN: nothing to say, nothing to wait for

    async def _converse(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        payload: bytes,
        cap: int,
        *,
        allow_empty: bool = False,
        complete: Callable[[bytes], bool] | None = None,
        stretch: float = 1.0,
        respond: Callable[[bytes], bytes] | None = None,
    ) -> TcpReply:
        chunks: list[bytes] = []
        size = 0
        timed_out = False
        try:
            async with asyncio.timeout(self._bounded(self.limits.exchange_timeout_s * stretch)):
                if payload:
                    writer.write(payload)
                    await writer.drain()
                while size < cap:
                    async with asyncio.timeout(self.limits.read_timeout_s * stretch):
                        chunk = await reader.read(min(65536, cap - size))
                    if not chunk:
                        break
                    chunks.append(chunk)
                    size += len(chunk)
                    if respond is not None and (answer := respond(chunk)):
                        writer.write(answer)
                        await writer.drain()
                    if complete is not None and complete(b"".join(chunks)):
                        break
        except TimeoutError:
            timed_out = True
        except ssl.SSLError as exc:
            if not chunks and not allow_empty:
                raise ExchangeError(ProbeStatus.PROTOCOL_ERROR, f"TLS: {exc.reason}") from exc
        except ConnectionResetError:
            if not chunks and not allow_empty:
                raise ExchangeError(
                    ProbeStatus.CLOSED, "connection reset before any reply"
                ) from None
        except OSError as exc:
            if not chunks:
                raise ExchangeError(ProbeStatus.ERROR, f"read failed: {exc.strerror}") from exc
        data = b"".join(chunks)
        if not data and not allow_empty:
            if timed_out:
                raise ExchangeError(ProbeStatus.TIMEOUT, "no reply before the deadline")
            raise ExchangeError(ProbeStatus.CLOSED, "closed without a reply")
        return TcpReply(data=data[:cap], truncated=size >= cap, timed_out=timed_out)

    # ------------------------------------------------------------------ UDP

    async def segment(self) -> Segment | None:
        """Return the scanner's segment if multicast/broadcast onto it stays inside the scope.

        Inside :func:`unicast_only` there is none: that round's hosts are asked one by one.

        The segment is the connected network of the interface that routes to the scope. It
        qualifies only when the scope covers every address of it with nothing excluded, because
        a multicast or broadcast probe reaches every host on the wire.
        """
        if _UNICAST_ONLY.get():
            return None
        async with self._segment_lock:
            if self._segment is False:
                self._segment = await asyncio.to_thread(_find_segment, self.scope)
            return self._segment if isinstance(self._segment, Segment) else None

    def _check_destination(self, addr: IPv4Address, segment: Segment | None) -> None:
        if addr in DISCOVERY_GROUPS or (segment is not None and addr == segment.broadcast):
            if segment is None:
                raise ScopeViolation(
                    f"{addr}: multicast/broadcast needs a segment the scope covers in full"
                )
            return
        self.scope.check(addr)

    async def udp_collect(
        self,
        port: int,
        payload: bytes | Callable[[IPv4Address], bytes],
        *,
        unicast: Sequence[IPv4Address] = (),
        group: IPv4Address | None = None,
        broadcast: bool = False,
        wait_s: float = 2.0,
        max_replies: int = 4096,
        max_bytes: int | None = None,
        expect_sources: int | None = None,
        min_quiet_s: float = 0.0,
        resends: int = 0,
        resend_after_s: float = 0.5,
        on_reply: Callable[[Datagram], None] | None = None,
    ) -> CollectResult:
        """Send one datagram to each destination from one socket and collect the replies.

        Destinations: every ``unicast`` address (each scope-checked), plus ``group`` (one of
        :data:`DISCOVERY_GROUPS`) and/or the segment broadcast when the scope covers the whole
        segment. Collection stops once replies stop (:meth:`_quiet_window`), and at the latest
        ``wait_s`` after the last send, after ``max_replies``, or once ``expect_sources``
        distinct hosts answered. Replies from out-of-scope sources are dropped unread.
        ``min_quiet_s`` raises the quiet floor for a protocol whose devices may wait longer
        before answering (SSDP's MX).

        ``resends`` asks the unicast destinations still silent again, each time
        ``resend_after_s`` after the previous send, inside the same window: a lost datagram is
        asked again without a second full wait, and whoever answered either copy counts.
        ``on_reply`` hears each reply the moment it arrives.
        """
        cap = min(max_bytes or self.limits.max_reply_bytes, self.limits.max_reply_bytes)
        for addr in unicast:
            self.scope.check(addr)  # before any socket or packet exists
        segment = await self.segment() if (group is not None or broadcast) else None
        destinations: list[IPv4Address] = []
        if group is not None:
            if group not in DISCOVERY_GROUPS:
                raise ScopeViolation(f"{group} is not a discovery group this scanner uses")
            if segment is not None:
                destinations.append(group)
        if broadcast and segment is not None:
            destinations.append(segment.broadcast)
        multicast_sent = bool(destinations)
        destinations.extend(unicast)
        if not destinations:
            return CollectResult((), 0, False, 0, 0)
        self._bounded(wait_s)
        loop = asyncio.get_running_loop()
        sock = _udp_socket(segment.local if segment is not None else None, multicast_sent)
        collector = _Collector(
            self.scope, cap, max_replies, expect_sources, clock=self._clock, on_reply=on_reply
        )
        transport, _ = await loop.create_datagram_endpoint(lambda: collector, sock=sock)
        sent = 0
        try:
            sent += await self._send_each(
                transport, collector, destinations, payload, port, segment
            )
            for _ in range(resends):
                silent = [a for a in unicast if a not in collector.sources]
                if not silent or not await self._until(collector, resend_after_s):
                    break
                silent = [a for a in silent if a not in collector.sources]
                sent += await self._send_each(transport, collector, silent, payload, port, segment)
            await self._quiet_window(collector, self._clock(), wait_s, min_quiet_s)
        finally:
            transport.close()
        return CollectResult(
            tuple(collector.items),
            sent,
            multicast_sent,
            collector.out_of_scope,
            collector.over_limit,
        )

    async def _send_each(
        self,
        transport: asyncio.DatagramTransport,
        collector: _Collector,
        destinations: Sequence[IPv4Address],
        payload: bytes | Callable[[IPv4Address], bytes],
        port: int,
        segment: Segment | None,
    ) -> int:
        """Send one datagram to each destination, rate-limited; return how many left."""
        sent = 0
        for start in range(0, len(destinations), _SEND_CHUNK):
            chunk = destinations[start : start + _SEND_CHUNK]
            for addr in chunk:
                self._check_destination(addr, segment)
            if collector.done.is_set() or self.remaining_s() <= 0:
                break
            # A chunk's slots are reserved at once: one datagram at a time would queue behind
            # every connection the host probes reserved meanwhile, and a discovery round (whose
            # replies the follow-ups wait for) would trail the whole sweep.
            await self.rate.acquire(len(chunk))
            for addr in chunk:
                data = payload(addr) if callable(payload) else payload
                try:
                    transport.sendto(data, (str(addr), port))
                except OSError as exc:
                    log.debug("sendto %s:%d failed: %s", addr, port, exc)
                    continue
                sent += 1
                self.packets_sent += 1
                collector.sent_at[addr] = self._clock()
        return sent

    async def _until(self, collector: _Collector, seconds: float) -> bool:
        """Wait ``seconds`` (within the budget) unless the round is done; True if not done."""
        try:
            async with asyncio.timeout(self._bounded(seconds)):
                await collector.done.wait()
        except TimeoutError:
            return True
        return False

    async def _quiet_window(
        self, collector: _Collector, last_send: float, wait_s: float, min_quiet_s: float = 0.0
    ) -> None:
        """Wait until replies stop: ``quiet`` without one, never past ``wait_s`` after the send.

        ``quiet`` is the longer of the configured floor and four times the widest gap seen
        between replies, so a burst that is still arriving is not cut off, while a window
        nobody answers ends after the floor instead of the full ``wait_s``. The floor must
        cover a device's answer delay: WS-Discovery lets a target wait up to APP_MAX_DELAY
        (500 ms) before it answers a multicast Probe (WS-Discovery 2005/04 §2.4 and
        Appendix I; OASIS WS-Discovery 1.1 §3.1.3).
        """
        hard_end = last_send + self._bounded(wait_s)
        floor = min(max(self.limits.discovery_quiet_s, min_quiet_s), wait_s)
        while not collector.done.is_set():
            now = self._clock()
            last_event = max(last_send, collector.last_reply or last_send)
            quiet = max(floor, 4.0 * collector.widest_gap)
            end = min(hard_end, last_event + quiet)
            if now >= end:
                return
            try:
                async with asyncio.timeout(min(end - now, 0.1)):
                    await collector.done.wait()
            except TimeoutError:
                continue  # look again: a reply may have moved the end of the window

    async def udp_exchange(
        self,
        host: IPv4Address,
        port: int,
        payload: bytes,
        *,
        wait_s: float | None = None,
        max_bytes: int | None = None,
    ) -> Datagram:
        """Send one datagram to ``host`` and return its first reply (or raise ``no_reply``)."""
        result = await self.udp_collect(
            port,
            payload,
            unicast=[host],
            wait_s=wait_s if wait_s is not None else self.limits.read_timeout_s,
            max_replies=4,
            max_bytes=max_bytes,
            expect_sources=1,
        )
        for datagram in result.datagrams:
            if datagram.source == host:
                return datagram
        raise ExchangeError(ProbeStatus.NO_REPLY, f"no UDP reply from port {port}")


def _udp_socket(local: IPv4Address | None, multicast: bool) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        try:
            sock.setsockopt(socket.SOL_SOCKET, _SO_RCVBUFFORCE, _RCVBUF_BYTES)
        except OSError:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, _RCVBUF_BYTES)
        if multicast:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
            # TTL 1: discovery probes never cross a router, whatever the network does.
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 0)
            if local is not None:
                # Leave by the interface that faces the scope, not by whatever the default is.
                sock.setsockopt(
                    socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(str(local))
                )
        sock.bind(("0.0.0.0", 0))  # noqa: S104 - replies to multicast come from every host
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


def local_addresses() -> set[IPv4Address]:
    """Return this namespace's own IPv4 addresses (the scanner does not sweep itself)."""
    return {iface.ip for iface in _interface_networks(None)}


def _interface_networks(dev: str | None) -> list[IPv4Interface]:
    ip_cmd = shutil.which("ip") or "/usr/sbin/ip"
    try:
        proc = subprocess.run(
            [ip_cmd, "-j", "-4", "addr", "show", *(["dev", dev] if dev else [])],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
        entries = json.loads(proc.stdout or "[]")
    except (OSError, subprocess.TimeoutExpired, json.JSONDecodeError):
        return []
    out = []
    for entry in entries:
        for info in entry.get("addr_info", []):
            try:
                out.append(IPv4Interface(f"{info['local']}/{info['prefixlen']}"))
            except (KeyError, ValueError):
                continue
    return out


def _find_segment(scope: Scope) -> Segment | None:
    """Find the connected network facing the scope; ``None`` unless the scope covers it."""
    for net in scope.networks:
        try:
            route = route_to(net.network_address)
        except NetworkSafetyError as exc:
            log.debug("no segment for %s: %s", net, exc)
            continue
        if route.get("gateway") or "dev" not in route:
            continue  # routed: multicast would not reach it anyway
        for iface in _interface_networks(route["dev"]):
            if iface.network.prefixlen >= 31:
                continue
            if net.network_address in iface.network and scope.covers_segment(iface.network):
                return Segment(iface.ip, iface.network)
    return None
