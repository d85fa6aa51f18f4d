"""Plans and runs a sweep: liveness, then discovery by multicast and unicast, then host probes.

Phases, each bounded by the global budget:

1. **Liveness** network probes over every target: ARP on the scanner's own segment first (a
   fraction of a second), then ICMP echo and a bounded TCP connect sweep for the targets ARP
   could not ask (routed subnets).
2. **Discovery** network probes (WS-Discovery, SADP, DHIP, SNMP): multicast onto a segment the
   scope covers in full, plus unicast to every live host; whoever answers is live too.
3. **Host** probes (HTTP, TLS, RTSP, ONVIF, nmap) against every live host. Endpoint probes
   (HTTP, TLS, ONVIF) run once per endpoint: their default ports, then the follow-ups the
   discovery replies announced (WS-Discovery XAddrs, SADP/DHIP HttpPort), which reach the
   sweeper as ordinary observations and are handed back to the probe that understands them.

After ARP the phases overlap rather than wait for each other. The routed liveness sweep is
mostly waiting (an address nobody holds costs a connect timeout or a router's ARP failure), so
discovery and host probes start on the hosts ARP found while it runs; each host it finds is
queued the moment it answers, and each discovery probe asks such hosts in its own later,
unicast-only rounds (:func:`scanner.context.unicast_only`), at its own pace.

Every (probe, host) pair a sweep asks gets a result line: a discovery probe's unicast target
that stays silent is recorded as ``no_reply`` at ``host:port``.

Results stream out as they arrive (an async iterator), so the caller can write each one to
disk at once and an interrupted sweep loses nothing; ``done`` lets a resumed sweep skip the
(probe, target) pairs a previous run already recorded.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Collection, Iterator, Sequence
from ipaddress import IPv4Address
from typing import Final, Protocol

from scanner.context import ProbeContext, ProbeSettings, local_addresses, unicast_only
from scanner.errors import ScopeError
from scanner.host_jobs import HostJob, HostJobs
from scanner.limits import DEFAULT_LIMITS, Limits
from scanner.probes import HostProbe, NetworkProbe, all_probes
from scanner.probes.base import (
    EndpointProbe,
    failed_result,
    is_endpoint_probe,
    prepare_probes,
    run_host_probe,
)
from scanner.results import Observation, ProbeResult, ProbeStatus
from scanner.scope import Scope

__all__ = ["ProgressSink", "result_key", "select_probes", "sweep"]

log = logging.getLogger(__name__)


class ProgressSink(Protocol):
    """Receives progress; the CLI's rich display is one implementation, tests use none."""

    def phase(self, name: str, total: int) -> None:
        """A new phase starts with ``total`` units of work."""

    def advance(self, result: ProbeResult | None) -> None:
        """One unit of work finished (with its result, if it produced one)."""


def result_key(result: ProbeResult) -> tuple[str, str]:
    """The (probe, host) pair a result settles; ``--resume`` skips pairs already on disk."""
    return result.probe, result.target.split(":", 1)[0]


def select_probes(
    names: Sequence[str] | None, *, include_optional: Collection[str] = ()
) -> list[NetworkProbe | HostProbe]:
    """Return the probes called ``names``, or every default probe plus ``include_optional``.

    Unknown names raise ``KeyError``.
    """
    registry = all_probes()
    if names is None:
        unknown = [name for name in include_optional if name not in registry]
        if unknown:
            raise KeyError(f"unknown probe(s): {', '.join(unknown)}")
        return [
            probe
            for name, probe in registry.items()
            if not probe.info.optional or name in include_optional
        ]
    unknown = [name for name in names if name not in registry]
    if unknown:
        raise KeyError(f"unknown probe(s): {', '.join(unknown)}; known: {', '.join(registry)}")
    return [registry[name] for name in dict.fromkeys([*names, *include_optional])]


#: A later discovery round waits this long after the first find it will ask, so that hosts
#: answering one echo burst are asked in one round rather than one round each.
ROUND_GATHER_S: Final = 0.05


def _liveness_order(probe: NetworkProbe | HostProbe) -> int:
    # ARP first: what it covers, liveness need not ask again.
    return 0 if probe.info.transport == "l2" else 1


async def sweep(
    scope: Scope,
    *,
    probes: Sequence[NetworkProbe | HostProbe] | None = None,
    limits: Limits = DEFAULT_LIMITS,
    settings: ProbeSettings | None = None,
    progress: ProgressSink | None = None,
    done: Collection[tuple[str, str]] = (),
    known_live: Collection[IPv4Address] = (),
) -> AsyncIterator[ProbeResult]:
    """Sweep ``scope`` and yield every :class:`ProbeResult` as soon as it exists."""
    if scope.size() > limits.max_hosts * 4 or sum(1 for _ in scope.hosts()) > limits.max_hosts:
        raise ScopeError(
            f"scope has more than {limits.max_hosts} hosts; raise --max-hosts to sweep it"
        )
    chosen = list(probes) if probes is not None else select_probes(None)
    liveness = sorted(
        (p for p in chosen if p.info.kind == "network" and not p.info.after_liveness),
        key=_liveness_order,
    )
    discovery = [p for p in chosen if p.info.kind == "network" and p.info.after_liveness]
    # Checked once here: a runtime Protocol check per job costs more than the job planning.
    host_probes = [p for p in chosen if p.info.kind == "host" and isinstance(p, HostProbe)]
    ctx = ProbeContext(scope, limits, settings=settings)
    # One-off CPU work of the later probes runs while liveness waits on the network.
    preparing = asyncio.create_task(asyncio.to_thread(prepare_probes, [*discovery, *host_probes]))
    # The scanner's own addresses are in scope when it sits inside the swept network.
    own = await asyncio.to_thread(local_addresses)
    ctx.own_addresses = frozenset(own)
    targets = [addr for addr in scope.hosts() if addr not in own]
    skip = set(done)
    live: set[IPv4Address] = {addr for addr in known_live if scope.contains(addr)}

    def fresh(result: ProbeResult) -> bool:
        return result_key(result) not in skip

    def note_live(result: ProbeResult) -> IPv4Address | None:
        if result.status in {ProbeStatus.SUCCESS, ProbeStatus.OVERSIZED} and result.target != "*":
            try:
                host = IPv4Address(result.target.split(":")[0])
            except ValueError:
                return None
            live.add(host)
            return host
        return None

    def keep_macs(result: ProbeResult) -> None:
        for obs in result.observations:
            if obs.key == "mac.mac" and obs.mac is not None:
                ctx.link_macs.setdefault(obs.host, obs.mac)

    def still_unknown() -> list[IPv4Address]:
        return [a for a in targets if a not in live and a not in ctx.arp_covered]

    # Phase 1: ARP over the scanner's own segment; it takes a fraction of a second.
    link_liveness = [p for p in liveness if p.info.transport == "l2"]
    routed_liveness = [p for p in liveness if p.info.transport != "l2"]
    for probe in link_liveness:
        assert isinstance(probe, NetworkProbe)  # noqa: S101 - kind says so
        if ctx.remaining_s() <= 0:
            break
        if progress:
            progress.phase(probe.info.name, 1)
        if ask := still_unknown():
            for result in await _bounded_discover(probe, ask, ctx):
                note_live(result)
                keep_macs(result)
                if fresh(result):
                    yield result
        if progress:
            progress.advance(None)

    await preparing

    # Then everything overlaps. Liveness of what ARP could not ask (routed subnets, where an
    # address nobody holds costs a connect timeout) goes on while discovery and host probes
    # work on the hosts already live; a host liveness finds is queued the moment it answers,
    # and the discovery probes ask such hosts in later, unicast-only rounds. Discovery probes
    # run all at once, each on its own socket; hosts only discovery found are queued as each
    # probe ends.
    out: asyncio.Queue[ProbeResult | None] = asyncio.Queue()
    jobs = HostJobs()
    queued: set[IPv4Address] = set()
    #: What discovery heard about each host: the leads endpoint probes may follow.
    leads: defaultdict[IPv4Address, list[Observation]] = defaultdict(list)
    tried: set[tuple[str, tuple[IPv4Address, int, str, bool]]] = set()
    #: Per discovery probe, the hosts it has a row for (asked, or answered its multicast); not
    #: the hosts its answers speak of (a router's ARP table names hosts it was never asked).
    settled: defaultdict[str, set[IPv4Address]] = defaultdict(set)
    #: Hosts the liveness probes found after ARP; discovery asks them in later rounds.
    found_by_liveness: set[IPv4Address] = set()
    news = asyncio.Event()
    wakers: list[asyncio.Event] = [news]
    liveness_over = asyncio.Event()

    def endpoint_jobs(
        probe: EndpointProbe, host: IPv4Address, heard: Sequence[Observation]
    ) -> Iterator[HostJob]:
        for endpoint in probe.endpoints(host, heard):
            if (probe.info.name, endpoint.key) in tried:
                continue
            tried.add((probe.info.name, endpoint.key))
            yield probe, endpoint.host, endpoint

    def host_jobs(host: IPv4Address, heard: Sequence[Observation]) -> Iterator[HostJob]:
        for probe in host_probes:
            if (probe.info.name, str(host)) in skip:
                continue
            if is_endpoint_probe(probe):
                yield from endpoint_jobs(probe, host, heard)
            else:
                yield probe, host, None

    def job_count(host: IPv4Address) -> int:
        """How many jobs ``host_jobs`` will make for ``host`` (the progress total)."""
        return sum(
            sum(1 for _ in probe.endpoints(host, ())) if is_endpoint_probe(probe) else 1
            for probe in host_probes
            if (probe.info.name, str(host)) not in skip
        )

    def enqueue(hosts: Collection[IPv4Address]) -> int:
        count = 0
        for host in sorted(hosts):
            if host in queued:
                continue
            queued.add(host)
            count += job_count(host)
            # The leads as they stand when the host is queued, not when a worker reaches it:
            # which endpoints a host is asked must not depend on how far the queue had got.
            jobs.add(host_jobs(host, tuple(leads.get(host, ()))))
        return count

    def follow_up(told: Collection[IPv4Address]) -> None:
        """Queue the endpoints discovery announced for ``told`` hosts already queued.

        Only hosts a probe just told something about can have gained an endpoint; a host whose
        jobs have not been made yet picks the new endpoints up itself (``tried`` keeps each
        endpoint to one run).
        """
        for host in sorted(told):
            if host not in queued:
                continue
            for probe in host_probes:
                if is_endpoint_probe(probe) and (probe.info.name, str(host)) not in skip:
                    jobs.add(endpoint_jobs(probe, host, tuple(leads.get(host, ()))))

    def found_live(host: IPv4Address) -> None:
        if host in queued:
            return
        live.add(host)
        enqueue((host,))
        found_by_liveness.add(host)
        for wake in wakers:
            wake.set()

    ctx.on_live = found_live
    total = enqueue(live)
    if progress:
        progress.phase("hosts", total + len(discovery))

    async def find_routed() -> None:
        try:
            for probe in routed_liveness:
                assert isinstance(probe, NetworkProbe)  # noqa: S101 - kind says so
                if ctx.remaining_s() <= 0:
                    break
                if not (ask := still_unknown()):
                    continue
                for result in await _bounded_discover(probe, ask, ctx):
                    if (host := note_live(result)) is not None:
                        found_live(host)  # a probe that does not tell as it goes
                    keep_macs(result)
                    if fresh(result):
                        await out.put(result)
        finally:
            liveness_over.set()
            for wake in wakers:
                wake.set()

    async def ask_hosts(probe: NetworkProbe, hosts: Sequence[IPv4Address], *, first: bool) -> None:
        name = probe.info.name
        asked = [h for h in hosts if h not in settled[name]]
        if not asked and not first:
            return  # a later round only asks; the multicast went out in the first
        settled[name].update(asked)
        results = await _bounded_discover(probe, asked, ctx)
        told: set[IPv4Address] = set()
        for result in _complete(probe, asked, results):
            if (host := note_live(result)) is not None:
                settled[name].add(host)  # answered the multicast: asked, in effect
            for observation in result.observations:
                leads[observation.host].append(observation)
                told.add(observation.host)
            if fresh(result):
                await out.put(result)
        # What this probe found is followed up now, not when the slowest discovery probe
        # (SNMP walking a switch) is done: the follow-ups are often the sweep's last work.
        enqueue(set(live))
        follow_up(told)

    async def keep_asking(probe: NetworkProbe, hosts: Sequence[IPv4Address]) -> None:
        """The first round (multicast allowed), then each batch of hosts liveness finds.

        Each probe goes at its own pace: a quick WS-Discovery round does not wait for SNMP
        to finish walking the router that liveness found first.
        """
        wake = asyncio.Event()
        wakers.append(wake)
        await ask_hosts(probe, hosts, first=True)
        name = probe.info.name
        with unicast_only():
            while True:
                if found_by_liveness - settled[name]:
                    await asyncio.sleep(ROUND_GATHER_S)  # let a burst of finds gather
                    await ask_hosts(probe, sorted(found_by_liveness - settled[name]), first=False)
                elif liveness_over.is_set():
                    return
                else:
                    wake.clear()
                    await wake.wait()

    async def discover_all() -> None:
        # The first round may multicast onto the segment; it waits for liveness only when
        # nobody is live yet (a routed scope), so that it has somebody to ask.
        if not live:
            while not found_by_liveness and not liveness_over.is_set():
                news.clear()
                await news.wait()
        hosts = sorted(live)
        await asyncio.gather(
            *(keep_asking(p, hosts) for p in discovery if isinstance(p, NetworkProbe))
        )

    workers_n = max(1, limits.concurrency)

    async def worker() -> None:
        while (job := await jobs.get()) is not None:
            probe, host, endpoint = job
            await out.put(await run_host_probe(probe, host, ctx, endpoint))

    async def run_all() -> None:
        workers = [asyncio.create_task(worker()) for _ in range(workers_n)]
        try:
            async with asyncio.timeout(ctx.remaining_s() + 5):
                await asyncio.gather(find_routed(), discover_all())
                jobs.close()
                await asyncio.gather(*workers)
        except TimeoutError:
            log.warning(
                "sweep budget exhausted; %d hosts' jobs not all run", jobs.pending_batches()
            )
        finally:
            for task in workers:
                task.cancel()
            await out.put(None)

    runner = asyncio.create_task(run_all())
    try:
        while (item := await out.get()) is not None:
            if progress:
                progress.advance(item)
            yield item
    finally:
        runner.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await runner


def _complete(
    probe: NetworkProbe, asked: Sequence[IPv4Address], results: list[ProbeResult]
) -> list[ProbeResult]:
    """``results`` plus a ``no_reply`` row for every asked host that did not answer.

    A probe-wide failure (out of scope, a local error, the budget) stands alone: those hosts
    were never really asked. A probe-wide "nobody answered" row gives way to the per-host rows.
    """
    wide = [r for r in results if r.target == "*"]
    if any(r.status is not ProbeStatus.NO_REPLY for r in wide) or not asked:
        return results
    answered = {r.target.split(":", 1)[0] for r in results if r.target != "*"}
    port = probe.info.ports[0] if probe.info.ports else None
    started = time.monotonic()
    silent = [
        failed_result(
            probe.info.name,
            f"{host}:{port}" if port is not None else str(host),
            ProbeStatus.NO_REPLY,
            "no reply to the unicast probe",
            started,
        )
        for host in asked
        if str(host) not in answered
    ]
    return [r for r in results if r.target != "*"] + silent


async def _bounded_discover(
    probe: NetworkProbe, targets: Sequence[IPv4Address], ctx: ProbeContext
) -> list[ProbeResult]:
    """Run one network probe under the global budget; a probe that overruns becomes a result."""
    started = time.monotonic()
    try:
        async with asyncio.timeout(ctx.remaining_s() + 5):
            return await probe.discover(targets, ctx)
    except TimeoutError:
        return [
            failed_result(
                probe.info.name,
                "*",
                ProbeStatus.TIMEOUT,
                "sweep budget exhausted during this probe",
                started,
            )
        ]
    # As for host probes: one broken network probe must not end the sweep.
    except Exception as exc:
        log.warning("probe %s failed", probe.info.name, exc_info=True)
        return [
            failed_result(
                probe.info.name, "*", ProbeStatus.ERROR, f"{type(exc).__name__}: {exc}", started
            )
        ]
