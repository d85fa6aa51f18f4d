"""The probe contract: what a probe declares about itself, and how it is run.

Two kinds exist. A *network* probe looks at many targets at once (ARP, multicast discovery) and
reports the hosts that answered. A *host* probe talks to one live host (HTTP, RTSP, ONVIF).
Both return :class:`ProbeResult` values; :func:`run_host_probe` turns every failure into one.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from ipaddress import IPv4Address
from typing import ClassVar, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from scanner.context import ExchangeError, ProbeContext
from scanner.errors import ScopeViolation
from scanner.results import ProbeResult, ProbeStatus, utc_now

__all__ = ["HostProbe", "NetworkProbe", "ProbeInfo", "failed_result", "run_host_probe"]


class ProbeInfo(BaseModel):
    """What a probe is, for the registry, ``--probe`` choices and the rule verifier."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    summary: str
    kind: Literal["network", "host"]
    transport: Literal["udp", "tcp", "l2", "external"]
    ports: tuple[int, ...] = ()
    #: nmap-style threshold: the probe runs when rarity <= the sweep's intensity.
    rarity: int = Field(default=1, ge=1, le=9)
    #: The observation keys (``protocol.field``) this probe can emit.
    fields: tuple[str, ...]
    needs_root: bool = False


@runtime_checkable
class NetworkProbe(Protocol):
    """A probe that sweeps many targets in one go and reports who answered."""

    info: ClassVar[ProbeInfo]

    async def discover(
        self, targets: Sequence[IPv4Address], ctx: ProbeContext
    ) -> list[ProbeResult]:
        """Probe ``targets`` and return one result per answering host (or one failure)."""
        ...


@runtime_checkable
class HostProbe(Protocol):
    """A probe that talks to one host."""

    info: ClassVar[ProbeInfo]

    async def probe(self, host: IPv4Address, ctx: ProbeContext) -> ProbeResult:
        """Probe ``host``; may raise :class:`ExchangeError` (see :func:`run_host_probe`)."""
        ...


def failed_result(
    name: str, target: str, status: ProbeStatus, message: str, started: float
) -> ProbeResult:
    """Build the result for a probe that ended without observations."""
    return ProbeResult(
        probe=name,
        target=target,
        status=status,
        started_at=utc_now(),
        elapsed_s=max(0.0, time.monotonic() - started),
        error=message[:500],
    )


async def run_host_probe(probe: HostProbe, host: IPv4Address, ctx: ProbeContext) -> ProbeResult:
    """Run ``probe`` against ``host`` and return a result whatever happens on the wire."""
    started = time.monotonic()
    try:
        return await probe.probe(host, ctx)
    except ExchangeError as exc:
        return failed_result(probe.info.name, str(host), exc.status, str(exc), started)
    except ScopeViolation as exc:
        return failed_result(
            probe.info.name, str(host), ProbeStatus.OUT_OF_SCOPE, str(exc), started
        )
