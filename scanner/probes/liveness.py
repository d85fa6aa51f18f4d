"""ICMP echo and TCP connect liveness for targets ARP cannot see (routed subnets).

ARP only answers on the scanner's own segment. Every other target is asked with an ICMP echo
(raw socket, root) and, when a bounded number of targets stays silent, with TCP connects to the
ports cameras and recorders listen on: an accept *or* a refusal proves a host is there. Hosts
that answer neither are not probed further, so a sparse /16 costs seconds, not hours.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import struct
import time
from collections.abc import Sequence
from ipaddress import IPv4Address
from typing import ClassVar, Final

from scanner.context import ExchangeError, ProbeContext
from scanner.errors import ProbeParseError, ScopeViolation
from scanner.probes.base import ObservationSet, ProbeInfo, failed_result
from scanner.results import ProbeResult, ProbeStatus

__all__ = ["PROBE", "LivenessProbe", "build_echo", "parse_echo_reply"]

log = logging.getLogger(__name__)

#: Web, RTSP, HTTPS, Hikvision SDK, Dahua SDK: what a camera or NVR almost always has open.
TCP_PORTS: Final = (80, 554, 443, 8000, 37777)
#: TCP fallback only for this many silent targets; beyond that the silent hosts are reported as
#: a limitation (five connects to each of 65,000 silent addresses is not a sweep, it is a flood).
MAX_TCP_TARGETS: Final = 1024
#: Echo replies arrive in milliseconds on a LAN; 1.5 s after the last request covers WAN links.
ICMP_WAIT_S: Final = 1.5
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


async def _icmp_sweep(targets: Sequence[IPv4Address], ctx: ProbeContext) -> set[IPv4Address]:
    """Echo every target from one raw socket; return who answered. Raises PermissionError."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    sock.setblocking(False)
    wanted = set(targets)
    ident = (os.getpid() ^ id(ctx)) & 0xFFFF
    alive: set[IPv4Address] = set()
    loop = asyncio.get_running_loop()

    async def receive() -> None:
        while len(alive) < len(wanted):
            packet = await loop.sock_recv(sock, 2048)
            try:
                source, reply_ident, _seq = parse_echo_reply(packet)
            except ProbeParseError:
                continue
            if reply_ident == ident and source in wanted and ctx.scope.contains(source):
                alive.add(source)

    receiver = asyncio.create_task(receive())
    try:
        for seq, addr in enumerate(targets):
            ctx.check(addr)
            if receiver.done():
                break
            await ctx.rate.acquire()
            try:
                await loop.sock_sendto(sock, build_echo(ident, seq & 0xFFFF), (str(addr), 0))
            except OSError as exc:
                log.debug("echo to %s failed: %s", addr, exc)
                continue
            ctx.packets_sent += 1
        try:
            async with asyncio.timeout(min(ICMP_WAIT_S, max(ctx.remaining_s(), 0.01))):
                await asyncio.shield(receiver)
        except TimeoutError:
            pass  # the end of the collection window
    finally:
        receiver.cancel()
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


class LivenessProbe:
    """ICMP echo sweep, then a bounded TCP connect sweep of the silent targets."""

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
        """Return one result per live target."""
        started = time.monotonic()
        try:
            for addr in targets:
                ctx.check(addr)
        except ScopeViolation as exc:
            return [failed_result("liveness", "*", ProbeStatus.OUT_OF_SCOPE, str(exc), started)]
        except ExchangeError as exc:
            return [failed_result("liveness", "*", exc.status, str(exc), started)]
        icmp_alive: set[IPv4Address] = set()
        icmp_note = ""
        try:
            icmp_alive = await _icmp_sweep(targets, ctx)
        except PermissionError:
            icmp_note = "ICMP needs root (raw socket); "
        except OSError as exc:
            icmp_note = f"ICMP failed ({exc.strerror}); "
        silent = [addr for addr in targets if addr not in icmp_alive]
        tcp_found: dict[IPv4Address, int | None] = {}
        if icmp_alive and not icmp_note:
            # ICMP works on this path and these targets stayed silent: they are absent (or
            # firewalled, which the TCP fallback would rarely get past either). Checking each by
            # TCP would cost a connect timeout per address for nothing.
            silent = []
        if len(silent) <= MAX_TCP_TARGETS:
            outcomes = await asyncio.gather(*(_tcp_alive(addr, ctx) for addr in silent))
            tcp_found = {found[0]: found[1] for found in outcomes if found is not None}
        else:
            icmp_note += (
                f"{len(silent)} silent targets not TCP-checked (more than {MAX_TCP_TARGETS}); "
            )
        results: list[ProbeResult] = []
        for addr in sorted(icmp_alive | set(tcp_found)):
            obs = ObservationSet("liveness", addr)
            port = tcp_found.get(addr)
            if port is not None:
                obs.port = port
                obs.add("tcp", "open_port", str(port))
            results.append(obs.result(str(addr), started))
        if not results:
            results.append(
                failed_result(
                    "liveness",
                    "*",
                    ProbeStatus.NO_REPLY,
                    f"{icmp_note}none of {len(targets)} targets answered",
                    started,
                )
            )
        elif icmp_note:
            log.info("liveness: %s", icmp_note.rstrip("; "))
        return results


PROBE: Final = LivenessProbe()
