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
#: Echo replies arrive in milliseconds on a LAN; 1.5 s after the last request covers WAN links.
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


async def _icmp_sweep(targets: Sequence[IPv4Address], ctx: ProbeContext) -> set[IPv4Address]:
    """Echo every target from one raw socket; return who answered. Raises PermissionError."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    sock.setblocking(False)
    wanted = set(targets)
    ident = (os.getpid() ^ id(ctx)) & 0xFFFF
    alive: set[IPv4Address] = set()
    loop = asyncio.get_running_loop()
    everyone_answered = asyncio.Event()

    # Readiness callbacks, not sock_recv/sock_sendto: uvloop implements neither for raw sockets.
    def drain_replies() -> None:
        for _ in range(256):  # bounded per wake-up: the loop's other work goes on
            try:
                packet = sock.recv(2048)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                log.debug("echo socket read failed: %s", exc)
                return
            try:
                source, reply_ident, _seq = parse_echo_reply(packet)
            except ProbeParseError:
                continue
            if reply_ident == ident and source in wanted and ctx.scope.contains(source):
                alive.add(source)
                if len(alive) >= len(wanted):
                    everyone_answered.set()

    loop.add_reader(sock.fileno(), drain_replies)
    try:
        for seq, addr in enumerate(targets):
            ctx.check(addr)
            if everyone_answered.is_set():
                break
            await ctx.rate.acquire()
            if await _send_echo(sock, build_echo(ident, seq & 0xFFFF), addr):
                ctx.packets_sent += 1
        try:
            async with asyncio.timeout(min(ICMP_WAIT_S, max(ctx.remaining_s(), 0.01))):
                await everyone_answered.wait()
        except TimeoutError:
            pass  # the end of the collection window
    finally:
        loop.remove_reader(sock.fileno())
        sock.close()
    return alive


async def _tcp_alive(host: IPv4Address, ctx: ProbeContext) -> tuple[IPv4Address, int | None] | None:
    """Return (host, open port, or None if it only refused) when any port answers."""

    async def attempt(port: int) -> ProbeStatus:
        try:
            await ctx.tcp_connect(host, port)
        except ExchangeError as exc:
            return exc.status
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
        icmp_alive: set[IPv4Address] = set()
        icmp_tried = True
        try:
            icmp_alive = await _icmp_sweep(targets, ctx)
        except PermissionError:
            icmp_tried = False
            log.info("liveness: ICMP needs root (raw socket); TCP connects only")
        except OSError as exc:
            icmp_tried = False
            log.info("liveness: ICMP failed (%s); TCP connects only", exc.strerror)
        # Per target: whatever its neighbours answered, a silent target may be filtered.
        silent = [addr for addr in targets if addr not in icmp_alive]
        checked = silent[:MAX_TCP_TARGETS]
        outcomes = await asyncio.gather(*(_tcp_alive(addr, ctx) for addr in checked))
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
