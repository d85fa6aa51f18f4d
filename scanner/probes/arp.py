"""ARP sweep of the local segment: who is alive, and with which MAC (IEEE OUI).

ARP only sees the segment the scanner sits on; hosts behind a router answer nothing here and
are found by the host probes instead. Uses scapy's layer-2 send/receive, which needs root (raw
packet sockets). Every target is scope-checked before its request is built.
"""

from __future__ import annotations

import asyncio
import logging
import select
import time
from collections.abc import Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address
from typing import ClassVar, Final

from scanner.context import ProbeContext
from scanner.errors import ScopeViolation
from scanner.probes.base import ProbeInfo, failed_result
from scanner.results import Observation, ProbeResult, ProbeStatus, normalize_mac, utc_now

__all__ = ["PROBE", "ArpProbe", "ArpWindow", "request_frames"]

log = logging.getLogger(__name__)

# One socket and one reply window per chunk: a /16 is heard in pieces of this size.
_CHUNK: Final = 4096


def _route_iface(addr: IPv4Address) -> tuple[str, bool]:
    """Return (interface, on_link) for ``addr`` from scapy's view of the routing table."""
    import scapy.route  # noqa: F401 - populates conf.route from this namespace's routing table
    from scapy.config import conf

    iface, _src, gateway = conf.route.route(str(addr))
    return str(iface), gateway in {"0.0.0.0", None, ""}  # noqa: S104 - scapy's "no gateway"


#: Replies only: the kernel drops every other frame before Python sees it.
_REPLY_FILTER: Final = "arp and arp[6:2] = 2"


@dataclass
class ArpWindow:
    """When an ARP round may end: every target answered, or replies have stopped.

    After the last request the round waits ``quiet`` without a new reply, where ``quiet`` is
    the longer of ``floor`` and four times the slowest reply seen (request to reply, per
    target), and never longer than ``wait_s`` after the last request. On a LAN replies come
    within milliseconds, so a segment nobody else holds ends after the floor instead of the
    full ``arp_wait_s``, while a slow segment (a loaded switch, a NIC waking from
    energy-efficient Ethernet) stretches the window to fit what it has shown.
    """

    wanted: int
    floor: float
    wait_s: float
    slowest: float = 0.0
    answered: int = 0
    last_send: float | None = None
    last_reply: float | None = None

    def reply(self, rtt: float, now: float) -> None:
        """A target answered ``rtt`` seconds after its request, at ``now``."""
        self.answered += 1
        self.slowest = max(self.slowest, rtt)
        self.last_reply = now

    def end(self) -> float | None:
        """The moment the round ends if nothing more arrives (``None`` while still sending)."""
        if self.last_send is None:
            return None
        if self.answered >= self.wanted:
            return self.last_send  # nobody left to hear from
        quiet = min(max(self.floor, 4.0 * self.slowest), self.wait_s)
        last_event = max(self.last_send, self.last_reply or self.last_send)
        return min(self.last_send + self.wait_s, last_event + quiet)


#: Where the target protocol address sits in an Ethernet + ARP request (RFC 826 layout).
_PDST_AT: Final = 14 + 24


def request_frames(targets: Sequence[str]) -> list[bytes]:
    """Who-has frames for ``targets``: scapy builds the first, the rest differ only in pdst.

    Building a packet in scapy costs ~0.2 ms of CPU under the GIL; in a loop paced by the
    millisecond, any other thread's work would then hold every send back by a switch interval.
    """
    from scapy.layers.l2 import ARP, Ether

    if not targets:
        return []
    template = bytes(Ether(dst="ff:ff:ff:ff:ff:ff") / ARP(pdst=targets[0]))
    head, tail = template[:_PDST_AT], template[_PDST_AT + 4 :]
    return [head + IPv4Address(t).packed + tail for t in targets]


def _arp_sweep(
    targets: list[str], iface: str, window: ArpWindow, rate_pps: float
) -> list[tuple[str, str]]:
    """Ask every target at ``rate_pps`` from one packet socket, hearing replies meanwhile."""
    from scapy.config import conf
    from scapy.error import Scapy_Exception
    from scapy.layers.l2 import ARP

    try:
        sock = conf.L2socket(iface=iface, filter=_REPLY_FILTER)
    except Scapy_Exception:  # no BPF compiler (tcpdump/libpcap): filter in Python instead
        sock = conf.L2socket(iface=iface)
    asked_at: dict[str, float] = {}
    replies: dict[str, str] = {}
    clock = time.monotonic
    started = clock()

    def hear(timeout: float) -> None:
        ready = select.select([sock], [], [], max(0.0, timeout))[0]
        while ready:
            packet = sock.recv()
            if packet is not None and ARP in packet and packet[ARP].op == 2:
                ip = str(packet[ARP].psrc)
                if ip in asked_at and ip not in replies:
                    replies[ip] = str(packet[ARP].hwsrc)
                    now = clock()
                    window.reply(now - asked_at[ip], now)
            ready = select.select([sock], [], [], 0)[0]

    try:
        frames = request_frames(targets)
        for sent, (target, frame) in enumerate(zip(targets, frames, strict=True)):
            # Paced against the round's own start, so slow sends are caught up, not repeated.
            hear(started + sent / rate_pps - clock())
            sock.send(frame)  # type: ignore[arg-type]  # scapy sends raw bytes as they are
            asked_at[target] = clock()
        window.last_send = clock()
        while (end := window.end()) is not None and (now := clock()) < end:
            hear(min(end - now, 0.05))
    finally:
        sock.close()
    return sorted(replies.items())


class ArpProbe:
    """Broadcast ARP who-has for every in-scope target on a directly connected segment."""

    info: ClassVar[ProbeInfo] = ProbeInfo(
        name="arp",
        summary="ARP who-has on the local segment: live hosts and their MAC (OUI)",
        kind="network",
        transport="l2",
        rarity=1,
        fields=("mac.mac",),
        needs_root=True,
    )

    async def discover(
        self, targets: Sequence[IPv4Address], ctx: ProbeContext
    ) -> list[ProbeResult]:
        """ARP every on-link target; one result per host that answered."""
        started = time.monotonic()
        by_iface: dict[str, list[str]] = {}
        try:
            import scapy.route  # noqa: F401 - creates conf.route
            from scapy.config import conf

            conf.verb = 0
            # scapy reads interfaces and routes once, at first import, which may have happened
            # before the process entered the sweep's network namespace (--netns): reread both.
            conf.ifaces.reload()
            conf.route.resync()
            for addr in targets:
                ctx.check(addr)
                iface, on_link = _route_iface(addr)
                if on_link:
                    by_iface.setdefault(iface, []).append(str(addr))
        except ScopeViolation as exc:
            return [failed_result("arp", "*", ProbeStatus.OUT_OF_SCOPE, str(exc), started)]
        except OSError as exc:
            return [failed_result("arp", "*", ProbeStatus.ERROR, f"routing lookup: {exc}", started)]
        results: list[ProbeResult] = []
        for iface, addrs in by_iface.items():
            for i in range(0, len(addrs), _CHUNK):
                chunk = addrs[i : i + _CHUNK]
                await ctx.rate.acquire(len(chunk))
                ctx.packets_sent += len(chunk)
                rate = ctx.limits.rate_pps  # the thread paces, so the rate holds in the chunk
                budget = ctx.remaining_s()
                if budget <= 0:
                    break
                window = ArpWindow(
                    len(chunk), floor=ctx.limits.arp_quiet_s, wait_s=ctx.limits.arp_wait_s
                )
                try:
                    async with asyncio.timeout(
                        min(budget, len(chunk) / rate + ctx.limits.arp_wait_s + 10)
                    ):
                        replies = await asyncio.to_thread(_arp_sweep, chunk, iface, window, rate)
                except PermissionError:
                    return [
                        failed_result(
                            "arp",
                            "*",
                            ProbeStatus.ERROR,
                            "ARP needs root (raw packet sockets); skipped",
                            started,
                        )
                    ]
                except (OSError, TimeoutError) as exc:
                    log.warning("ARP sweep on %s failed: %s", iface, exc)
                    results.append(
                        failed_result(
                            "arp", iface, ProbeStatus.ERROR, f"ARP on {iface}: {exc}", started
                        )
                    )
                    continue
                ctx.arp_covered.update(IPv4Address(addr) for addr in chunk)
                results.extend(self._results(replies, ctx, started))
        return results

    @staticmethod
    def _results(
        replies: list[tuple[str, str]], ctx: ProbeContext, started: float
    ) -> list[ProbeResult]:
        seen: dict[str, str] = {}
        for ip, mac in replies:
            # A reply from outside the scope (a spoofer, a proxy-ARP router) is not ours to record.
            if ctx.scope.contains(IPv4Address(ip)):
                seen.setdefault(ip, mac)
        now = utc_now()
        out = []
        for ip, raw_mac in sorted(seen.items(), key=lambda kv: IPv4Address(kv[0])):
            try:
                mac = normalize_mac(raw_mac)
            except ValueError:
                continue
            out.append(
                ProbeResult(
                    probe="arp",
                    target=ip,
                    status=ProbeStatus.SUCCESS,
                    started_at=now,
                    elapsed_s=time.monotonic() - started,
                    observations=(
                        Observation(
                            host=IPv4Address(ip),
                            protocol="mac",
                            field="mac",
                            value=mac,
                            mac=mac,
                            probe="arp",
                            observed_at=now,
                        ),
                    ),
                    reply_bytes=42,
                )
            )
        return out


PROBE: Final = ArpProbe()
