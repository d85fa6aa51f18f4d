"""What the later stages need from a sweep's results, kept as the results stream past.

A sweep of a /16 yields millions of rows, most of them a refused or silent port with nothing
observed. Every row is already on disk (results.jsonl, one line as it arrives); holding each
``ProbeResult`` as well cost about 1.2 KB a row and was most of a large sweep's memory. What
identification and the scan statement read is much smaller: the observations, the count of
rows per probe and status, and the liveness rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from scanner.results import Observation, ProbeResult, ProbeStatus
from scanner.sweeper import result_key


@dataclass
class SweepRecord:
    """Observations, status counts and liveness rows of every result added so far."""

    status_counts: dict[str, dict[str, int]] = field(default_factory=dict)
    #: The liveness probe's rows (per-host answers and per-/24 summaries): the reach statement.
    liveness: list[ProbeResult] = field(default_factory=list)
    observations: list[Observation] = field(default_factory=list)
    #: Hosts that answered anything: a resumed sweep does not ask them to prove it again.
    live_targets: set[str] = field(default_factory=set)
    #: (probe, target) of every row: a resumed sweep skips what already ran.
    keys: set[tuple[str, str]] = field(default_factory=set)

    def add(self, result: ProbeResult, *, remember_keys: bool = False) -> None:
        """Take what later stages read from ``result``; ``remember_keys`` for a resume."""
        per_probe = self.status_counts.setdefault(result.probe, {})
        per_probe[result.status.value] = per_probe.get(result.status.value, 0) + 1
        if result.probe == "liveness":
            self.liveness.append(result)
        self.observations.extend(result.observations)
        if remember_keys:
            self.keys.add(result_key(result))
            if result.status is ProbeStatus.SUCCESS and result.target != "*":
                self.live_targets.add(result.target.split(":")[0])
