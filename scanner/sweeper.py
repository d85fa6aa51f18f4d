"""Plans and runs a sweep: network probes first, then host probes on what answered.

Results stream out as they arrive (an async iterator), so the caller can write each one to
disk at once and an interrupted sweep loses nothing. Concurrency, rate and the global budget
come from :class:`scanner.limits.Limits` through the :class:`ProbeContext`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from ipaddress import IPv4Address
from typing import Protocol

from scanner.context import ProbeContext
from scanner.errors import ScopeError
from scanner.limits import DEFAULT_LIMITS, Limits
from scanner.probes import HostProbe, NetworkProbe, all_probes
from scanner.probes.base import run_host_probe
from scanner.results import ProbeResult, ProbeStatus
from scanner.scope import Scope

__all__ = ["ProgressSink", "select_probes", "sweep"]

log = logging.getLogger(__name__)


class ProgressSink(Protocol):
    """Receives progress; the CLI's rich display is one implementation, tests use none."""

    def phase(self, name: str, total: int) -> None:
        """A new phase starts with ``total`` units of work."""

    def advance(self, result: ProbeResult | None) -> None:
        """One unit of work finished (with its result, if it produced one)."""


def select_probes(names: Sequence[str] | None) -> list[NetworkProbe | HostProbe]:
    """Return the probes called ``names`` (all when ``None``); unknown names raise ``KeyError``."""
    registry = all_probes()
    if names is None:
        return list(registry.values())
    unknown = [name for name in names if name not in registry]
    if unknown:
        raise KeyError(f"unknown probe(s): {', '.join(unknown)}; known: {', '.join(registry)}")
    return [registry[name] for name in names]


async def sweep(
    scope: Scope,
    *,
    probes: Sequence[NetworkProbe | HostProbe] | None = None,
    limits: Limits = DEFAULT_LIMITS,
    progress: ProgressSink | None = None,
) -> AsyncIterator[ProbeResult]:
    """Sweep ``scope`` and yield every :class:`ProbeResult` as soon as it exists."""
    if scope.size() > limits.max_hosts * 4 or sum(1 for _ in scope.hosts()) > limits.max_hosts:
        raise ScopeError(
            f"scope has more than {limits.max_hosts} hosts; raise --max-hosts to sweep it"
        )
    chosen = list(probes) if probes is not None else list(all_probes().values())
    network = [p for p in chosen if p.info.kind == "network"]
    host_probes = [p for p in chosen if p.info.kind == "host"]
    ctx = ProbeContext(scope, limits)
    targets = list(scope.hosts())

    live: set[IPv4Address] = set()
    discovery_worked = False
    for probe in network:
        if progress:
            progress.phase(probe.info.name, 1)
        assert isinstance(probe, NetworkProbe)  # noqa: S101 - kind says so
        for result in await probe.discover(targets, ctx):
            if result.status is ProbeStatus.SUCCESS:
                discovery_worked = True
                live.add(IPv4Address(result.target))
            yield result
        if progress:
            progress.advance(None)

    # Hosts that answered discovery get the host probes. Without any discovery answer (routed
    # subnet, no root) every target is probed directly, so nothing is missed.
    hosts = sorted(live) if discovery_worked else targets
    jobs = [(probe, host) for host in hosts for probe in host_probes]
    if progress:
        progress.phase("hosts", len(jobs))
    queue: asyncio.Queue[tuple[HostProbe, IPv4Address]] = asyncio.Queue()
    for probe, host in jobs:
        assert isinstance(probe, HostProbe)  # noqa: S101 - kind says so
        queue.put_nowait((probe, host))
    results: asyncio.Queue[ProbeResult | None] = asyncio.Queue()

    async def worker() -> None:
        while True:
            try:
                probe, host = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            await results.put(await run_host_probe(probe, host, ctx))

    workers = [asyncio.create_task(worker()) for _ in range(min(limits.concurrency, len(jobs)))]

    async def close_when_done() -> None:
        try:
            async with asyncio.timeout(ctx.remaining_s() + 5):
                await asyncio.gather(*workers)
        except TimeoutError:
            log.warning("sweep budget exhausted; %d jobs not run", queue.qsize())
            for task in workers:
                task.cancel()
        await results.put(None)

    closer = asyncio.create_task(close_when_done())
    try:
        while (item := await results.get()) is not None:
            if progress:
                progress.advance(item)
            yield item
    finally:
        for task in workers:
            task.cancel()
        closer.cancel()
