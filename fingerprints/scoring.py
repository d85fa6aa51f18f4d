"""How much the evidence for each maker is worth, counted by independent source.

One reply of one probe is one source: a SADP reply that matches 14 rules says "Hikvision" once,
not 14 times, so within a source only the strongest clue counts. Sources combine as independent
signals (noisy-OR, ``1 - Π(1 - c)``); the same rule seen through two probes (an ONVIF scope read
from WS-Discovery and from GetScopes) is one fact and counts once.

A maker's evidence *can decide* a verdict when it holds an identifying clue, or shape clues from
two independent sources; leads (a MAC prefix, a brand's sourcing history, a bare ``Webs``)
never decide, however many agree.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from fingerprints.identity import Evidence
from scanner.results import Observation

__all__ = [
    "SHAPE_SOURCES_TO_DECIDE",
    "MakerScore",
    "noisy_or",
    "observation_origin",
    "score_makers",
]

#: Independent sources of agreeing shape clues that together may decide, without a name.
SHAPE_SOURCES_TO_DECIDE: Final = 2


def observation_origin(obs: Observation) -> str:
    """The source an observation came from: one probe's reply from one address and port."""
    port = "" if obs.port is None else f":{obs.port}"
    return f"{obs.protocol}@{obs.host_text}{port}"


def noisy_or(certainties: Iterable[float]) -> float:
    """Combine independent signals: the chance that not all of them are wrong."""
    return 1.0 - math.prod(1.0 - c for c in certainties)


@dataclass(frozen=True, slots=True)
class MakerScore:
    """What the evidence says about one maker."""

    maker: str
    score: float
    #: The strongest clue of each source, strongest first: what the score is made of.
    strongest: tuple[Evidence, ...]
    identifying: bool
    shape_sources: int

    @property
    def can_decide(self) -> bool:
        """True when the evidence is of a kind that may decide (a name, or two shapes)."""
        return self.identifying or self.shape_sources >= SHAPE_SOURCES_TO_DECIDE

    @property
    def rule_ids(self) -> tuple[str, ...]:
        """The rules behind the score."""
        return tuple(sorted({e.rule_id for e in self.strongest}))


def _one_per_rule(items: Sequence[Evidence]) -> list[Evidence]:
    best: dict[str, Evidence] = {}
    for item in items:
        kept = best.get(item.rule_id)
        if kept is None or item.certainty > kept.certainty:
            best[item.rule_id] = item
    return list(best.values())


def _score(maker: str, items: Sequence[Evidence]) -> MakerScore:
    kept = _one_per_rule(items)
    by_origin: dict[str, list[Evidence]] = defaultdict(list)
    for item in kept:
        by_origin[item.origin].append(item)
    strongest = sorted(
        (
            max(group, key=lambda e: (e.certainty, not e.lead, e.rule_id))
            for group in by_origin.values()
        ),
        key=lambda e: (-e.certainty, e.rule_id),
    )
    decisive = [e for e in kept if not e.lead]
    return MakerScore(
        maker=maker,
        score=round(noisy_or(e.certainty for e in strongest), 3),
        strongest=tuple(strongest),
        identifying=any(e.clue == "identifying" for e in decisive),
        shape_sources=len({e.origin for e in decisive if e.clue == "shape"}),
    )


def score_makers(evidence: Sequence[Evidence]) -> dict[str, MakerScore]:
    """Score every maker some evidence asserts."""
    per_maker: dict[str, list[Evidence]] = defaultdict(list)
    for item in evidence:
        if maker := item.asserts.get("maker"):
            per_maker[maker].append(item)
    return {maker: _score(maker, items) for maker, items in per_maker.items()}
