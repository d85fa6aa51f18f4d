"""Evidence -> one verdict per device: true maker, brand, model, coverage, confidence, conflicts.

Certainties for one maker combine as independent signals (noisy-OR: 1 - Π(1 - c)). A maker
needs a combined 0.6 *and* at least one signal besides the MAC prefix before the device is
called covered or not covered; below that the verdict is a lead and says so.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Final

from fingerprints.coverage import coverage_for
from fingerprints.database import FingerprintDB, load_vocabulary
from fingerprints.identity import ConfidenceLevel, DeviceIdentity, Evidence
from fingerprints.oui import oui_lead
from scanner.results import Observation

__all__ = ["DECISIVE_CONFIDENCE", "OUI_CERTAINTY", "identify", "identify_device"]

#: A MAC prefix alone: necessary-not-sufficient in both directions (facts sheet §2.2).
OUI_CERTAINTY: Final = 0.3
DECISIVE_CONFIDENCE: Final = 0.6
#: Another maker scoring this much is reported as a conflict, not silently dropped.
CONFLICT_FLOOR: Final = 0.3
_DETAIL_FIELDS: Final = ("model", "firmware", "serial", "device_class")


def _level(confidence: float) -> ConfidenceLevel:
    if confidence >= 0.9:
        return ConfidenceLevel.CONFIRMED
    if confidence >= DECISIVE_CONFIDENCE:
        return ConfidenceLevel.LIKELY
    if confidence > 0:
        return ConfidenceLevel.LEAD
    return ConfidenceLevel.NONE


def _combine(certainties: Iterable[float]) -> float:
    return 1.0 - math.prod(1.0 - c for c in certainties)


def _oui_evidence(mac: str) -> Evidence | None:
    lead = oui_lead(mac)
    if lead is None or (lead.maker is None and lead.brand is None):
        return None
    asserts = {k: v for k, v in (("maker", lead.maker), ("brand", lead.brand)) if v}
    return Evidence(
        rule_id=f"oui.{lead.prefix.lower()}",
        field="mac.mac",
        matched=f"{mac} ({lead.registrant})",
        asserts=asserts,
        certainty=OUI_CERTAINTY,
        source=f"{lead.registry}; {lead.source}",
        description=f"MAC prefix {lead.prefix} is registered to {lead.registrant}",
    )


def identify_device(
    device_key: str, observations: Sequence[Observation], db: FingerprintDB
) -> DeviceIdentity:
    """Combine everything seen about one device into a verdict."""
    addresses = sorted({str(obs.host) for obs in observations})
    macs = [obs.value for obs in observations if obs.key == "mac.mac"]
    macs += [obs.mac for obs in observations if obs.mac]
    mac = macs[0] if macs else None

    evidence: list[Evidence] = []
    seen: set[tuple[str, str]] = set()
    for obs in observations:
        for item in db.evidence_for(obs.key, obs.value, obs.port):
            if (item.rule_id, item.matched) not in seen:
                seen.add((item.rule_id, item.matched))
                evidence.append(item)
    if mac is not None and (oui := _oui_evidence(mac)) is not None:
        evidence.append(oui)

    per_maker: dict[str, list[Evidence]] = defaultdict(list)
    for item in evidence:
        if maker := item.asserts.get("maker"):
            per_maker[maker].append(item)
    scores = {
        maker: _combine(
            max(e.certainty for e in items if e.rule_id == rid)
            for rid in {e.rule_id for e in items}
        )
        for maker, items in per_maker.items()
    }
    maker = max(scores, key=lambda m: (scores[m], m)) if scores else None
    confidence = round(scores[maker], 3) if maker else 0.0
    decisive = (
        maker is not None
        and confidence >= DECISIVE_CONFIDENCE
        and any(e.field != "mac.mac" for e in per_maker[maker])
    )

    def best(field: str, *, maker_only: bool) -> str | None:
        candidates = [
            e
            for e in evidence
            if field in e.asserts and (not maker_only or e.asserts.get("maker") in {None, maker})
        ]
        if not candidates:
            return None
        return max(candidates, key=lambda e: e.certainty).asserts[field]

    details = {name: best(name, maker_only=True) for name in _DETAIL_FIELDS}
    conflicts = tuple(
        f"evidence also points to {other} ({score:.2f}): "
        + ", ".join(sorted({e.rule_id for e in per_maker[other]}))
        for other, score in sorted(scores.items())
        if other != maker and score >= CONFLICT_FLOOR
    )
    vocabulary = load_vocabulary()
    return DeviceIdentity(
        device_key=device_key,
        addresses=tuple(addresses),
        mac=mac,
        maker=maker,
        maker_name=vocabulary.makers.get(maker) if maker else None,
        brand=best("brand", maker_only=False),
        model=details["model"],
        firmware=details["firmware"],
        serial=details["serial"],
        device_class=details["device_class"],
        coverage=coverage_for(maker, decisive=decisive),
        confidence=confidence,
        level=_level(confidence),
        evidence=tuple(sorted(evidence, key=lambda e: (-e.certainty, e.rule_id))),
        conflicts=conflicts,
    )


def identify(observations: Iterable[Observation], db: FingerprintDB) -> list[DeviceIdentity]:
    """Group observations into devices (by address for now) and identify each one."""
    groups: dict[str, list[Observation]] = defaultdict(list)
    for obs in observations:
        groups[str(obs.host)].append(obs)
    keys = sorted(groups, key=lambda k: tuple(int(part) for part in k.split(".")))
    return [identify_device(key, groups[key], db) for key in keys]
