"""How fast identification runs on a large scan, and a digest that shows its results unchanged.

Identification (grouping, rule matching, scoring, the verdict) must stay linear in the number of
observations: the issue's target is 12,000 observations in under 2 s. The observations come
either from a sweep's ``results.jsonl`` (``--results``, e.g. the scale farm's) or, with no lab
at hand, from the real-value corpus (tests/fingerprints/corpus/) laid out as a network: every
case on its own address, copied until ``--observations`` are reached. The copies keep the
corpus's hard parts at scale: the same serials and payload MACs on many addresses (cloned
identities that grouping must refuse to join), one gateway MAC in front of a share of them.

Prints the time of each step (load, match, group, verdict, inventory), best of ``--repeat``,
and a SHA-256 of the identities: the same input must give the same digest before and after an
engine change.

    .venv/bin/python benchmarks/identify_speed.py [--observations 12000] [--results FILE]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
import tomllib
from collections.abc import Callable
from ipaddress import IPv4Address
from pathlib import Path
from typing import TypeVar

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fingerprints import DeviceIdentity, Evidence, identify, load_database  # noqa: E402
from fingerprints.grouping import group_devices  # noqa: E402
from fingerprints.verdict import _match  # noqa: E402
from reports import ScanInfo, build_inventory  # noqa: E402
from scanner.results import Observation, ProbeResult, utc_now  # noqa: E402

CORPUS = ROOT / "tests" / "fingerprints" / "corpus"
TARGET_OBSERVATIONS = 12_000
TARGET_S = 2.0
#: One address in this many sits behind the same proxy-ARP gateway MAC.
GATEWAY_SHARE = 10
T = TypeVar("T")


def corpus_observations(count: int) -> list[Observation]:
    """The corpus laid out as a network until ``count`` observations (see the docstring)."""
    cases = [
        row["observations"]
        for path in sorted(CORPUS.glob("*.toml"))
        for row in tomllib.loads(path.read_text(encoding="utf-8"))["case"]
    ]
    out: list[Observation] = []
    base = int(IPv4Address("198.19.0.1"))
    index = 0
    while len(out) < count:
        pairs = cases[index % len(cases)]
        host = IPv4Address(base + index)
        # Each address its own link MAC, except a share behind one gateway (proxy ARP).
        mac = (
            "02:00:5e:00:00:01"
            if index % GATEWAY_SHARE == 0
            else f"02:00:{index >> 24 & 255:02x}:{index >> 16 & 255:02x}:"
            f"{index >> 8 & 255:02x}:{index & 255:02x}"
        )
        for key, value in pairs:
            protocol, name = key.split(".", 1)
            out.append(Observation(host=host, protocol=protocol, field=name, value=value, mac=mac))
        index += 1
    return out[:count]


def results_observations(path: Path) -> list[Observation]:
    with path.open(encoding="utf-8") as stream:
        return [
            obs
            for line in stream
            if line.strip()
            for obs in ProbeResult.model_validate_json(line).observations
        ]


def best_of(repeat: int, step: Callable[[], T]) -> tuple[float, T]:
    timings: list[float] = []
    started = time.perf_counter()
    value = step()
    timings.append(time.perf_counter() - started)
    for _ in range(repeat - 1):
        started = time.perf_counter()
        value = step()
        timings.append(time.perf_counter() - started)
    return min(timings), value


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--observations", type=int, default=TARGET_OBSERVATIONS)
    parser.add_argument("--results", type=Path, help="a sweep's results.jsonl instead")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    started = time.perf_counter()
    db = load_database()
    load_s = time.perf_counter() - started
    observations = (
        results_observations(args.results)
        if args.results
        else corpus_observations(args.observations)
    )

    def cold_match() -> list[list[Evidence]]:
        db.forget_matches()  # every repeat pays for its rule searches, like a fresh sweep
        return [_match(obs, db) for obs in observations]

    def cold_identify() -> list[DeviceIdentity]:
        db.forget_matches()
        return identify(observations, db)

    match_s, matched = best_of(args.repeat, cold_match)
    group_s, groups = best_of(args.repeat, lambda: group_devices(observations, matched))
    total_s, identities = best_of(args.repeat, cold_identify)
    scan = ScanInfo(
        scope=("198.19.0.0/16",),
        exclude=(),
        started_at=utc_now(),
        finished_at=utc_now(),
        probes=(),
        status_counts={},
        tool_version="bench",
        fingerprint_db_version=db.version,
    )
    inventory_s, _ = best_of(args.repeat, lambda: build_inventory(identities, scan))
    digest = hashlib.sha256()
    for identity in identities:
        digest.update(identity.model_dump_json().encode())
    data = {
        "observations": len(observations),
        "devices": len(identities),
        "groups": len(groups),
        "load_database_s": round(load_s, 3),
        "match_s": round(match_s, 3),
        "group_s": round(group_s, 3),
        "identify_s": round(total_s, 3),
        "inventory_s": round(inventory_s, 3),
        "identities_sha256": digest.hexdigest(),
    }
    if args.json:
        print(json.dumps(data))
        return 0
    source = str(args.results) if args.results else "the corpus, laid out as a network"
    print(f"{data['observations']} observations from {source}: {data['devices']} devices")
    for name in ("load_database_s", "match_s", "group_s", "identify_s", "inventory_s"):
        print(f"  {name[:-2]:16}{data[name]:>8.3f} s")
    per_12k = total_s * TARGET_OBSERVATIONS / max(len(observations), 1)
    print(
        f"identify (match + group + verdict): {total_s:.3f} s, {per_12k:.3f} s per "
        f"{TARGET_OBSERVATIONS:,} observations (target < {TARGET_S:.0f} s)"
    )
    print(f"identities sha256 {data['identities_sha256']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
