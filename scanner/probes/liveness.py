"""ICMP echo and TCP connect liveness for targets ARP cannot see (routed subnets).

ARP only answers on the scanner's own segment. Every other target is asked with an ICMP echo
(raw socket, root), and every target that stays silent is then asked with TCP connects to the
ports cameras and recorders listen on: an accept *or* a refusal proves a host is there. The
fallback is decided per target, never for the sweep as a whole: one pingable router says
nothing about the ping-filtered cameras behind it. It is capped at :data:`MAX_TCP_TARGETS`
silent targets (in address order); the rest are recorded as ``skipped``, never dropped.

Besides one ``success`` row per live host, the probe writes one row per /24 that held silent
targets (``target`` is the /24), with ``counts`` saying exactly what was asked of how many:
the limitations statement is generated from those numbers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import struct
import time
from collections import defaultdict
from collections.abc import Sequence
from ipaddress import IPv4Address, IPv4Network
from typing import ClassVar, Final

from scanner.context import ExchangeError, ProbeContext
from scanner.errors import ProbeParseError, ScopeViolation
from scanner.probes.base import ObservationSet, ProbeInfo, failed_result
from scanner.results import ProbeResult, ProbeStatus

__all__ = ["PROBE", "LivenessProbe", "build_echo", "parse_echo_reply"]

log = logging.getLogger(__name__)

#: Web, RTSP, HTTPS, Hikvision SDK, Dahua SDK: what a camera or NVR almost always has open.
TCP_PORTS: Final = (80, 554, 443, 8000, 37777)
#: TCP fallback only for this many silent targets; beyond that the silent targets are recorded as
#: skipped (five connects to each of 65,000 silent addresses is not a sweep, it is a flood).
MAX_TCP_TARGETS: Final = 1024
#: Silent targets are summarised per network of this size (one row, not one per address).
SUMMARY_PREFIX: Final = 24
#: Echo replies arrive in milliseconds on a LAN; the TCP checks start once replies stop, and
#: at the latest 1.5 s after the last request (WAN links). Later replies still count.
ICMP_WAIT_S: Final = 1.5
#: A full raw-socket send buffer drains in microseconds; after this many 1 ms waits, skip.
ECHO_SEND_TRIES: Final = 50
_ICMP_ECHO_REQUEST: Final = 8
_ICMP_ECHO_REPLY: Final = 0


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\x00"
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def build_echo(ident: int, seq: int) -> bytes:
    """Return an ICMP echo request (RFC 792) with our identifier and sequence number."""
    payload = b"ndaa-scan"
    header = struct.pack("!BBHHH", _ICMP_ECHO_REQUEST, 0, 0, ident, seq)
    checksum = _checksum(header + payload)
    return struct.pack("!BBHHH", _ICMP_ECHO_REQUEST, 0, checksum, ident, seq) + payload


def parse_echo_reply(packet: bytes) -> tuple[IPv4Address, int, int]:
    """Return (source, identifier, sequence) of an IPv4 packet carrying an ICMP echo reply."""
    if len(packet) < 20 or packet[0] >> 4 != 4:
        raise ProbeParseError("not an IPv4 packet")
    header_len = (packet[0] & 0x0F) * 4
    if header_len < 20 or len(packet) < header_len + 8:
        raise ProbeParseError("truncated ICMP packet")
    icmp_type, _code, _sum, ident, seq = struct.unpack(
        "!BBHHH", packet[header_len : header_len + 8]
    )
    if icmp_type != _ICMP_ECHO_REPLY:
        raise ProbeParseError("not an echo reply")
    return IPv4Address(packet[12:16]), ident, seq


async def _send_echo(sock: socket.socket, packet: bytes, addr: IPv4Address) -> bool:
    """Send one echo request; a full send buffer is waited out briefly (bounded), not fatal."""
    for _ in range(ECHO_SEND_TRIES):
        try:
            sock.sendto(packet, (str(addr), 0))
        except (BlockingIOError, InterruptedError):
            await asyncio.sleep(0.001)
            continue
        except OSError as exc:
            log.debug("echo to %s failed: %s", addr, exc)
            return False
        return True
    log.debug("echo to %s dropped: send buffer stayed full", addr)
    return False


class _EchoSweep:
    """Echo requests from one raw socket, and every reply that comes back while it is open.

    The socket stays open while the TCP checks run, so an echo reply that comes late (a slow
    WAN link) still counts: the quiet window only decides when those checks may start.
    """

    def __init__(self, targets: Sequence[IPv4Address], ctx: ProbeContext) -> None:
        self._targets = targets
        self._ctx = ctx
        self._wanted = set(targets)
        self._ident = (os.getpid() ^ id(ctx)) & 0xFFFF
        self._sent_at: dict[int, float] = {}
        self.alive: set[IPv4Address] = set()
        self._slowest_s = 0.0
        self._last_event = time.monotonic()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
        self._sock.setblocking(False)
        self._everyone = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        # Readiness callbacks, not sock_recv/sock_sendto: uvloop has neither for raw sockets.
        self._loop.add_reader(self._sock.fileno(), self._drain)

    def _drain(self) -> None:
        for _ in range(256):  # bounded per wake-up: the loop's other work goes on
            try:
                packet = self._sock.recv(2048)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                log.debug("echo socket read failed: %s", exc)
                return
            try:
                source, ident, seq = parse_echo_reply(packet)
            except ProbeParseError:
                continue
            if ident != self._ident or source not in self._wanted or source in self.alive:
                continue
            if not self._ctx.scope.contains(source):
                continue
            now = time.monotonic()
            self.alive.add(source)
            self._last_event = now
            self._slowest_s = max(self._slowest_s, now - self._sent_at.get(seq, now))
            self._ctx.found_live(source)
            if len(self.alive) >= len(self._wanted):
                self._everyone.set()

    async def send_all(self) -> None:
        """One echo request per target, at the sweep's packet rate."""
        for seq, addr in enumerate(self._targets):
            self._ctx.check(addr)
            if self._everyone.is_set():
                break
            await self._ctx.rate.acquire()
            packet = build_echo(self._ident, seq & 0xFFFF)
            self._sent_at[seq & 0xFFFF] = time.monotonic()
            if await _send_echo(self._sock, packet, addr):
                self._ctx.packets_sent += 1
            self._last_event = time.monotonic()

    async def quiet(self) -> None:
        """Return once replies stop: ``quiet_s`` after the last reply or send, stretched to
        four times the slowest reply, and at the latest :data:`ICMP_WAIT_S` after the last
        send (or when every target answered)."""
        floor = self._ctx.limits.arp_quiet_s
        hard_end = time.monotonic() + min(ICMP_WAIT_S, max(self._ctx.remaining_s(), 0.01))
        while not self._everyone.is_set():
            now = time.monotonic()
            until = min(hard_end, self._last_event + max(floor, 4 * self._slowest_s))
            if now >= until:
                return
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(until - now):
                    await self._everyone.wait()

    def close(self) -> None:
        self._loop.remove_reader(self._sock.fileno())
        self._sock.close()


def _start_echoes(targets: Sequence[IPv4Address], ctx: ProbeContext) -> _EchoSweep | None:
    """The echo sweep, or ``None`` (TCP connects only) when ICMP cannot be sent from here."""
    try:
        return _EchoSweep(targets, ctx)
    except PermissionError:
        log.info("liveness: ICMP needs root (raw socket); TCP connects only")
    except OSError as exc:
        log.info("liveness: ICMP failed (%s); TCP connects only", exc.strerror)
    return None


async def _tcp_alive(host: IPv4Address, ctx: ProbeContext) -> tuple[IPv4Address, int | None] | None:
    """Return (host, open port, or None if it only refused) when any port answers."""

    async def attempt(port: int) -> ProbeStatus:
        try:
            await ctx.tcp_connect(host, port)
        except ExchangeError as exc:
            if exc.status in {ProbeStatus.REFUSED, ProbeStatus.CLOSED}:
                ctx.found_live(host)  # the first answer, not the slowest port, starts its work
            return exc.status
        ctx.found_live(host)
        return ProbeStatus.SUCCESS

    # All ports at once: a silent host then costs one connect timeout, not five.
    outcomes = await asyncio.gather(*(attempt(port) for port in TCP_PORTS))
    for port, status in zip(TCP_PORTS, outcomes, strict=True):
        if status is ProbeStatus.SUCCESS:
            return host, port
    if ProbeStatus.REFUSED in outcomes or ProbeStatus.CLOSED in outcomes:
        return host, None  # a RST from the host proves it is there
    return None


def _network_of(addr: IPv4Address) -> IPv4Network:
    return IPv4Network(f"{addr}/{SUMMARY_PREFIX}", strict=False)


def summarise_silent(
    targets: Sequence[IPv4Address],
    icmp_alive: set[IPv4Address],
    tcp_checked: set[IPv4Address],
    tcp_found: set[IPv4Address],
    *,
    icmp_tried: bool,
    started: float,
) -> list[ProbeResult]:
    """One row per /24 holding silent targets, with what was asked of how many of them."""
    per_net: defaultdict[IPv4Network, list[IPv4Address]] = defaultdict(list)
    for addr in targets:
        per_net[_network_of(addr)].append(addr)
    rows = []
    ports = "/".join(str(p) for p in TCP_PORTS)
    for net in sorted(per_net):
        addrs = per_net[net]
        live = [a for a in addrs if a in icmp_alive or a in tcp_found]
        silent = len(addrs) - len(live)
        if not silent:
            continue
        checked = sum(1 for a in addrs if a in tcp_checked)
        skipped = sum(1 for a in addrs if a not in tcp_checked and a not in icmp_alive)
        counts = {
            "targets": len(addrs),
            "icmp_asked": len(addrs) if icmp_tried else 0,
            "icmp_answered": sum(1 for a in addrs if a in icmp_alive),
            "tcp_checked": checked,
            "tcp_answered": sum(1 for a in addrs if a in tcp_found),
            "tcp_skipped": skipped,
            "silent": silent,
        }
        if skipped:
            status = ProbeStatus.SKIPPED
            message = (
                f"{skipped} silent targets not TCP-checked: the fallback is capped at "
                f"{MAX_TCP_TARGETS} targets per sweep"
            )
        else:
            status = ProbeStatus.NO_REPLY
            asked = "ICMP echo and " if icmp_tried else ""
            message = f"{silent} targets answered neither {asked}TCP connects to {ports}"
        row = failed_result("liveness", str(net), status, message, started)
        rows.append(row.model_copy(update={"counts": counts}))
    return rows


class LivenessProbe:
    """ICMP echo sweep, then a bounded TCP connect check of every silent target."""

    info: ClassVar[ProbeInfo] = ProbeInfo(
        name="liveness",
        summary="ICMP echo + TCP connect (80/554/443/8000/37777): live hosts ARP cannot see",
        kind="network",
        transport="tcp",
        ports=TCP_PORTS,
        rarity=1,
        fields=("tcp.open_port",),
    )

    async def discover(
        self, targets: Sequence[IPv4Address], ctx: ProbeContext
    ) -> list[ProbeResult]:
        """One result per live target, plus one summary row per /24 with silent targets."""
        started = time.monotonic()
        try:
            for addr in targets:
                ctx.check(addr)
        except ScopeViolation as exc:
            return [failed_result("liveness", "*", ProbeStatus.OUT_OF_SCOPE, str(exc), started)]
        except ExchangeError as exc:
            return [failed_result("liveness", "*", exc.status, str(exc), started)]
        echoes = _start_echoes(targets, ctx)
        try:
            if echoes is not None:
                await echoes.send_all()
                await echoes.quiet()
            # Per target: whatever its neighbours answered, a silent target may be filtered.
            silent = [a for a in targets if echoes is None or a not in echoes.alive]
            checked = silent[:MAX_TCP_TARGETS]
            outcomes = await asyncio.gather(*(_tcp_alive(addr, ctx) for addr in checked))
        finally:
            if echoes is not None:
                echoes.close()
        icmp_tried = echoes is not None
        icmp_alive = echoes.alive if echoes is not None else set()
        tcp_found = {found[0]: found[1] for found in outcomes if found is not None}
        results: list[ProbeResult] = []
        for addr in sorted(icmp_alive | set(tcp_found)):
            obs = ObservationSet("liveness", addr)
            port = tcp_found.get(addr)
            target = str(addr)
            if port is not None:
                obs.port = port
                obs.add("tcp", "open_port", str(port))
                target = f"{addr}:{port}"
            results.append(obs.result(target, started))
        results.extend(
            summarise_silent(
                targets,
                icmp_alive,
                set(checked),
                set(tcp_found),
                icmp_tried=icmp_tried,
                started=started,
            )
        )
        return results


PROBE: Final = LivenessProbe()
