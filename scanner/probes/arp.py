"""ARP sweep of the local segment: who is alive, and with which MAC (IEEE OUI).

ARP only sees the segment the scanner sits on; hosts behind a router answer nothing here and
are found by the host probes instead. Uses scapy's layer-2 send/receive, which needs root (raw
packet sockets). Every target is scope-checked before its request is built.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from ipaddress import IPv4Address
from typing import ClassVar, Final

from scanner.context import ProbeContext
from scanner.errors import ScopeViolation
from scanner.probes.base import ProbeInfo, failed_result
from scanner.results import Observation, ProbeResult, ProbeStatus, normalize_mac, utc_now

__all__ = ["PROBE", "ArpProbe"]

log = logging.getLogger(__name__)

# One srp() call per chunk keeps scapy's answer-matching table small on a /16.
_CHUNK: Final = 4096


def _route_iface(addr: IPv4Address) -> tuple[str, bool]:
    """Return (interface, on_link) for ``addr`` from scapy's view of the routing table."""
    import scapy.route  # noqa: F401 - populates conf.route from this namespace's routing table
    from scapy.config import conf

    iface, _src, gateway = conf.route.route(str(addr))
    return str(iface), gateway in {"0.0.0.0", None, ""}  # noqa: S104 - scapy's "no gateway"


def _arp_sweep(
    targets: list[str], iface: str, wait_s: float, inter: float
) -> list[tuple[str, str]]:
    from scapy.layers.l2 import ARP, Ether
    from scapy.sendrecv import srp

    answered, _ = srp(
        Ether(dst="ff:ff:ff:ff:ff:ff") / ARP(pdst=targets),
        iface=iface,
        timeout=wait_s,
        inter=inter,
        verbose=False,
    )
    return [(str(reply.psrc), str(reply.hwsrc)) for _request, reply in answered]


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
                # srp paces with `inter`, so the rate holds inside the chunk as well.
                inter = 1.0 / ctx.limits.rate_pps
                budget = ctx.remaining_s()
                if budget <= 0:
                    break
                try:
                    async with asyncio.timeout(
                        min(budget, len(chunk) * inter + ctx.limits.arp_wait_s + 10)
                    ):
                        replies = await asyncio.to_thread(
                            _arp_sweep, chunk, iface, ctx.limits.arp_wait_s, inter
                        )
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
