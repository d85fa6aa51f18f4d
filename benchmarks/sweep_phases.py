"""Where a sweep's time goes: each phase beside the floor the lab's own round trips allow.

Runs one sweep in this process (inside the lab's scanner namespace: ``--netns``), timing every
phase the way a reader names them — liveness, each discovery window, each host probe, then
identification, the inventory and each export — and measures the lab's round-trip times to
compute what each phase could not go below:

* liveness: every target asked once at ``--rate`` plus the slowest reply (the ARP wait is a
  design bound, printed as such);
* discovery: WS-Discovery's APP_MAX_DELAY (500 ms) plus the slowest round trip;
* host probes: the exchanges the probes make, spread over the connection window, one round
  trip each, plus the slowest host.

Prints a table (or ``--json``). ``sweep_vs_nmap.py`` and ``sweep_scale.py`` run it too.

    .venv/bin/python benchmarks/sweep_phases.py --netns ndl-LAB-scan 198.18.0.0/24
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from ipaddress import IPv4Address
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fingerprints import identify, load_database  # noqa: E402
from reports import ScanInfo, build_inventory  # noqa: E402
from reports.exporters import ExportFormat, export  # noqa: E402
from scanner import event_loop  # noqa: E402
from scanner.context import ExchangeError, ProbeContext  # noqa: E402
from scanner.limits import Limits  # noqa: E402
from scanner.netns import enter_netns  # noqa: E402
from scanner.results import ProbeResult, ProbeStatus, tally_statuses, utc_now  # noqa: E402
from scanner.scope import Scope  # noqa: E402
from scanner.sweeper import select_probes, sweep  # noqa: E402

APP_MAX_DELAY_S = 0.5
RTT_SAMPLE_PORTS = (80, 554, 8000, 443)


@dataclass
class PhaseClock:
    """A ProgressSink that stamps phases and, per probe, the first and last result."""

    started: float = field(default_factory=time.monotonic)
    phases: list[tuple[str, float]] = field(default_factory=list)
    first: dict[str, float] = field(default_factory=dict)
    last: dict[str, float] = field(default_factory=dict)
    statuses: Counter[tuple[str, str]] = field(default_factory=Counter)

    def phase(self, name: str, total: int) -> None:
        self.phases.append((name, time.monotonic() - self.started))

    def advance(self, result: ProbeResult | None) -> None:
        if result is None:
            return
        now = time.monotonic() - self.started
        self.first.setdefault(result.probe, now)
        self.last[result.probe] = now
        self.statuses[(result.probe, result.status.value)] += 1


async def _rtts(hosts: list[IPv4Address], scope: Scope) -> list[float]:
    """One TCP connect per host to its first open port: the lab's round-trip times."""
    ctx = ProbeContext(scope, Limits(connect_timeout_s=1.0))
    out: list[float] = []

    async def one(host: IPv4Address) -> None:
        for port in RTT_SAMPLE_PORTS:
            started = time.monotonic()
            try:
                await ctx.tcp_connect(host, port)
            except ExchangeError:
                continue  # closed here: try the host's next port
            out.append(time.monotonic() - started)
            return

    await asyncio.gather(*(one(h) for h in hosts[:512]))
    return out


async def _sweep(scope: Scope, limits: Limits, clock: PhaseClock) -> list[ProbeResult]:
    return [
        r async for r in sweep(scope, probes=select_probes(None), limits=limits, progress=clock)
    ]


def measure(targets: list[str], limits: Limits) -> dict[str, object]:
    scope = Scope.from_specs(targets)
    clock = PhaseClock()
    results = event_loop.run(_sweep(scope, limits, clock))
    network_s = time.monotonic() - clock.started
    live = sorted(
        {
            IPv4Address(r.target.split(":")[0])
            for r in results
            if r.status is ProbeStatus.SUCCESS and r.target != "*"
        }
    )
    timings: dict[str, float] = {}
    started = time.monotonic()
    db = load_database()
    timings["load fingerprint database"] = time.monotonic() - started
    observations = [obs for r in results for obs in r.observations]
    started = time.monotonic()
    identities = identify(observations, db)
    timings[f"identification ({len(observations)} observations)"] = time.monotonic() - started
    scan = ScanInfo(
        scope=tuple(str(n) for n in scope.networks),
        exclude=(),
        started_at=utc_now(),
        finished_at=utc_now(),
        probes=tuple(sorted({r.probe for r in results})),
        status_counts=tally_statuses(results),
        tool_version="bench",
        fingerprint_db_version=db.version,
    )
    started = time.monotonic()
    inventory = build_inventory(identities, scan)
    timings["inventory"] = time.monotonic() - started
    for fmt in ExportFormat:
        started = time.monotonic()
        export(inventory, fmt, io.BytesIO())
        timings[f"export {fmt.value}"] = time.monotonic() - started
    rtts = event_loop.run(_rtts(live, scope))
    rtt_max = max(rtts, default=0.0)
    rtt_median = statistics.median(rtts) if rtts else 0.0
    targets_n = sum(1 for _ in scope.hosts())
    host_probe_names = [p.info.name for p in select_probes(None) if p.info.kind == "host"]
    exchanges = sum(n for (probe, _), n in clock.statuses.items() if probe in host_probe_names)
    per_probe = {
        probe: {
            "first_s": round(clock.first[probe], 3),
            "last_s": round(clock.last[probe], 3),
            "results": sum(n for (p, _), n in clock.statuses.items() if p == probe),
            "timeouts": clock.statuses.get((probe, "timeout"), 0),
        }
        for probe in clock.first
    }
    floors = {
        "liveness": round(targets_n / limits.rate_pps + rtt_max, 3),
        "discovery window": round(APP_MAX_DELAY_S + rtt_max, 3),
        "host probes": round(exchanges / limits.concurrency * rtt_median + rtt_max, 3),
    }
    return {
        "targets": targets_n,
        "live_hosts": len(live),
        "network_s": round(network_s, 3),
        "phase_starts": [(name, round(at, 3)) for name, at in clock.phases],
        "per_probe": per_probe,
        "after_sweep_s": {k: round(v, 3) for k, v in timings.items()},
        "rtt_median_ms": round(rtt_median * 1000, 2),
        "rtt_max_ms": round(rtt_max * 1000, 2),
        "floors_s": floors,
        "timeouts": sum(n for (_, status), n in clock.statuses.items() if status == "timeout"),
    }


def print_table(data: dict[str, object]) -> None:
    print(
        f"{data['targets']} targets, {data['live_hosts']} live; lab round trips: median "
        f"{data['rtt_median_ms']} ms, max {data['rtt_max_ms']} ms"
    )
    print(f"network phases {data['network_s']} s; phase starts: {data['phase_starts']}")
    print(f"  {'probe':18}{'first (s)':>10}{'last (s)':>10}{'results':>9}{'timeouts':>10}")
    per_probe = data["per_probe"]
    if not isinstance(per_probe, dict):
        raise TypeError("per_probe")
    for probe, row in sorted(per_probe.items(), key=lambda kv: kv[1]["first_s"]):
        print(
            f"  {probe:18}{row['first_s']:>10}{row['last_s']:>10}{row['results']:>9}"
            f"{row['timeouts']:>10}"
        )
    print("  floors from the lab's round trips (s): " + json.dumps(data["floors_s"]))
    after = data["after_sweep_s"]
    if not isinstance(after, dict):
        raise TypeError("after_sweep_s")
    for name, seconds in after.items():
        print(f"  {name:44}{seconds:>8.3f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("targets", nargs="+")
    parser.add_argument("--netns", required=True, help="the lab's scanner namespace")
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    enter_netns(args.netns)
    limits = Limits(rate_pps=args.rate, concurrency=args.concurrency, sweep_budget_s=900)
    data = measure(args.targets, limits)
    if args.json:
        print(json.dumps(data))
    else:
        print_table(data)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
