"""Evidence -> one verdict per device: true maker, brand, model, coverage, confidence, conflicts.

:func:`identify` groups observations into devices (:mod:`fingerprints.grouping`), then
:func:`identify_device` works in four steps a reader can follow:

1. **collect** the evidence: rule matches tagged with the reply they came from, MAC-prefix
   leads for the device's own MACs (never a gateway's), leads from the brands seen;
2. **score** each maker by independent source (:mod:`fingerprints.scoring`);
3. **decide**: a maker needs a combined 0.6 *and* evidence that can decide (an identifying clue,
   or shape clues from two sources) before the device is called covered or not covered; below
   that the verdict is a lead and says so. When two makers both clear that bar the verdict is
   undetermined whichever is stronger, both are reported, and the coverage names the covered
   one, so the order of the evidence never changes the status or the priority;
4. **resolve the details** (brand, model, firmware, serial...) from the chosen maker's evidence.
"""

from __future__ import annotations

import ipaddress
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from fingerprints.catalogue import brand_entry
from fingerprints.coverage import coverage_for, covered_entities
from fingerprints.database import FingerprintDB, excerpt, load_vocabulary
from fingerprints.enterprise_numbers import enterprise_evidence
from fingerprints.grouping import (
    DeviceGroup,
    address_order,
    device_node,
    group_devices,
    link_macs,
    payload_macs,
    shared_link_macs,
    uuid_mac,
)
from fingerprints.identity import (
    ConfidenceLevel,
    Coverage,
    CoverageStatus,
    DeviceIdentity,
    Evidence,
)
from fingerprints.oui import OuiLead, oui_lead
from fingerprints.scoring import MakerScore, observation_origin, score_makers
from fingerprints.sources import resolve
from scanner.results import Observation

__all__ = [
    "BRAND_PRIOR_CERTAINTY",
    "DECISIVE_CONFIDENCE",
    "OUI_CERTAINTY",
    "DeviceGroup",
    "device_node",
    "group_devices",
    "identify",
    "identify_device",
]

#: A MAC prefix alone: necessary-not-sufficient in both directions (facts sheet §2.2).
OUI_CERTAINTY: Final = 0.3
#: What a brand's sourcing history is worth as a lead for each maker it buys from.
BRAND_PRIOR_CERTAINTY: Final = {"high": 0.3, "med": 0.2, "low": 0.1}
DECISIVE_CONFIDENCE: Final = 0.6
#: Another maker scoring this much is reported as a conflict, not silently dropped.
CONFLICT_FLOOR: Final = 0.3
_OUI_MACS_CONSIDERED: Final = 4
_DETAIL_FIELDS: Final = ("brand", "model", "firmware", "serial", "device_class", "oem_code")
_BASELINE_OEM_CODES: Final = frozenset({"0", "1"})


# ----------------------------------------------------------------------------- 1. collect


@dataclass(frozen=True, slots=True)
class _Collected:
    evidence: list[Evidence]
    macs: list[str]
    notes: list[str]


def _level(confidence: float, *, decisive: bool) -> ConfidenceLevel:
    if confidence <= 0:
        return ConfidenceLevel.NONE
    if not decisive:
        return ConfidenceLevel.LEAD
    if confidence >= 0.9:
        return ConfidenceLevel.CONFIRMED
    return ConfidenceLevel.LIKELY


def _oui_evidence(mac: str, field: str = "mac.mac") -> tuple[Evidence | None, str | None]:
    """Evidence for a MAC prefix (or None), and a note for traps and review cases."""
    lead: OuiLead | None = oui_lead(mac)
    if lead is None:
        return None, None
    note = None
    if lead.role in {"trap", "review", "module"} and lead.note:
        note = f"MAC {mac}: {lead.registrant} - {lead.note}"
    if lead.maker is None and lead.brand is None:
        return None, note
    asserts = {k: v for k, v in (("maker", lead.maker), ("brand", lead.brand)) if v}
    return (
        Evidence(
            rule_id=f"oui.{lead.prefix.lower()}",
            field=field,
            matched=excerpt(f"{mac} ({lead.registrant})"),
            asserts=asserts,
            certainty=OUI_CERTAINTY,
            source=f"{lead.registry}; {resolve(lead.source)}",
            description=f"MAC prefix {lead.prefix} is registered to {lead.registrant}",
            lead=True,
            clue="shape",
            origin=f"oui:{lead.prefix.upper()}",
        ),
        note,
    )


def _brand_priors(brands: Iterable[str]) -> tuple[list[Evidence], list[str]]:
    """Leads from the OEM catalogue for each brand seen: who the brand is known to buy from."""
    priors: list[Evidence] = []
    notes: list[str] = []
    for brand in dict.fromkeys(brands):
        entry = brand_entry(brand)
        if entry is None:
            continue
        slug = re.sub(r"[^a-z0-9]+", "-", entry.brand.lower()).strip("-")
        priors.extend(
            Evidence(
                rule_id=f"oem-brand.{slug}.{maker}",
                field="brand",
                matched=brand[:300],
                asserts={"maker": maker},
                certainty=BRAND_PRIOR_CERTAINTY.get(entry.confidence, 0.1),
                source=resolve(entry.source),
                description=(
                    f"brand {entry.brand} is known to source from {maker} "
                    f"({entry.relationship}; {entry.confidence} confidence): a prior, "
                    "not a verdict"
                ),
                lead=True,
                clue="shape",
                origin=f"brand:{entry.brand}",
            )
            for maker in entry.makers
        )
        if entry.note:
            notes.append(f"{entry.brand}: {entry.note}")
    return priors, notes


def _uniform_vendor_paths(observations: Sequence[Observation]) -> set[tuple[str, int | None]]:
    """(protocol, port) pairs whose server answers every vendor path with the same status.

    A server that 401s (or soft-404s with 200) everything says nothing about which vendor's
    paths exist, so path evidence from it is ignored (the Axis lab camera 401s every path).
    """
    statuses: dict[tuple[str, int | None], dict[str, str]] = defaultdict(dict)
    for obs in observations:
        if obs.field == "vendor_path":
            path, _, status = obs.value.rpartition(" ")
            statuses[(obs.protocol, obs.port)][path] = status
    return {
        key
        for key, by_path in statuses.items()
        if len(by_path) >= 2 and len(set(by_path.values())) == 1
    }


def _match(obs: Observation, db: FingerprintDB) -> list[Evidence]:
    return db.evidence_for(obs.key, obs.value, obs.port, observation_origin(obs))


def _device_macs(
    observations: Sequence[Observation],
    matched: Sequence[Sequence[Evidence]],
    shared: frozenset[str],
) -> tuple[list[str], set[str]]:
    """The device's own MACs (link-layer first), and those read from a WS-Discovery UUID."""
    macs: list[str] = []
    for obs in observations:
        macs.extend(link_macs(obs))
    for obs, items in zip(observations, matched, strict=True):
        macs.extend(payload_macs(obs, items))
    uuid_macs = {
        m
        for obs in observations
        if obs.key == "wsdiscovery.endpoint_uuid" and (m := uuid_mac(obs.value))
    }
    return [m for m in dict.fromkeys(macs) if m not in shared], uuid_macs


def _collect(
    observations: Sequence[Observation],
    matched: Sequence[Sequence[Evidence]],
    shared: frozenset[str],
) -> _Collected:
    notes: list[str] = []
    uniform = _uniform_vendor_paths(observations)
    if uniform:
        notes.append(
            "the web server answers every vendor path with the same status; path evidence ignored"
        )
    evidence: list[Evidence] = []
    seen: set[tuple[str, str, str]] = set()

    def add(item: Evidence) -> None:
        if (item.rule_id, item.matched, item.origin) not in seen:
            seen.add((item.rule_id, item.matched, item.origin))
            evidence.append(item)

    for obs, items in zip(observations, matched, strict=True):
        if obs.field == "vendor_path" and (obs.protocol, obs.port) in uniform:
            continue
        for item in items:
            add(item)
        pen, pen_note = enterprise_evidence(obs)  # the IANA PEN registry, like the OUI one
        if pen is not None:
            add(pen)
        if pen_note:
            notes.append(pen_note)

    macs, uuid_macs = _device_macs(observations, matched, shared)
    for mac in macs[:_OUI_MACS_CONSIDERED]:
        field = "mac.mac" if mac not in uuid_macs else "wsdiscovery.endpoint_uuid"
        oui, note = _oui_evidence(mac, field)
        if oui is not None:
            add(oui)
        if note:
            notes.append(note)

    priors, prior_notes = _brand_priors(
        e.asserts["brand"] for e in evidence if "brand" in e.asserts
    )
    for prior in priors:
        add(prior)
    notes.extend(prior_notes)
    return _Collected(evidence, macs, notes)


# ------------------------------------------------------------------------------ 3. decide


@dataclass(frozen=True, slots=True)
class _Decision:
    maker: str | None
    confidence: float
    decisive: bool
    coverage: Coverage
    conflicts: tuple[str, ...]


def _decide(scores: dict[str, MakerScore], evidence: Sequence[Evidence]) -> _Decision:
    if not scores:
        return _Decision(None, 0.0, False, coverage_for(None, decisive=False), ())
    ranked = sorted(scores.values(), key=lambda s: (s.can_decide, s.score, s.maker), reverse=True)
    best = ranked[0]
    decisive = best.can_decide and best.score >= DECISIVE_CONFIDENCE
    rivals = sorted((s for s in ranked[1:] if s.score >= CONFLICT_FLOOR), key=lambda s: s.maker)
    conflicts = tuple(
        f"evidence also points to {s.maker} ({s.score:.2f}): " + ", ".join(s.rule_ids)
        for s in rivals
    )
    coverage = coverage_for(best.maker, decisive=decisive, evidence=evidence)
    contested = [s for s in rivals if s.can_decide and s.score >= DECISIVE_CONFIDENCE]
    if decisive and contested:
        coverage = _contested(best, contested)
    return _Decision(best.maker, best.score, decisive, coverage, conflicts)


def _contested(best: MakerScore, contested: Sequence[MakerScore]) -> Coverage:
    """Two makers can both decide: undetermined, naming the strongest covered candidate."""
    entities = covered_entities()
    covered = sorted(
        (s for s in (best, *contested) if s.maker in entities),
        key=lambda s: (-s.score, s.maker),
    )
    names = ", ".join(sorted(s.maker for s in (best, *contested)))
    return Coverage(
        status=CoverageStatus.UNDETERMINED,
        entity=entities[covered[0].maker].name if covered else None,
        note=(
            f"conflicting evidence: {names} are all supported; review the evidence before acting"
        ),
    )


# ------------------------------------------------------------------ 4. resolve the details


def _details(evidence: Sequence[Evidence], maker: str | None) -> dict[str, str | None]:
    """Each detail from the most certain evidence that does not speak for another maker."""

    def best(field: str) -> str | None:
        candidates = [
            e for e in evidence if field in e.asserts and e.asserts.get("maker") in {None, maker}
        ]
        if not candidates:
            return None
        return max(candidates, key=lambda e: (e.certainty, not e.lead)).asserts[field]

    return {name: best(name) for name in _DETAIL_FIELDS}


def _detail_notes(details: dict[str, str | None]) -> list[str]:
    code = details["oem_code"]
    if code and code not in _BASELINE_OEM_CODES:
        return [
            f"SADP DetailOEMCode {code}: an OEM customer build of Hikvision firmware "
            "(the label differs from the maker)"
        ]
    return []


# ------------------------------------------------------------------------------ the steps


def identify_device(
    device_key: str,
    observations: Sequence[Observation],
    db: FingerprintDB,
    evidence_per_observation: Sequence[Sequence[Evidence]] | None = None,
    *,
    gateway_macs: Iterable[str] | None = None,
    notes: Sequence[str] = (),
) -> DeviceIdentity:
    """Combine everything seen about one device into a verdict.

    ``gateway_macs`` are MACs known to answer for other addresses too (found by
    :func:`identify` over the whole scan); by default, those these observations share.
    """
    matched = (
        evidence_per_observation
        if evidence_per_observation is not None
        else [_match(obs, db) for obs in observations]
    )
    shared = frozenset(gateway_macs if gateway_macs is not None else shared_link_macs(observations))
    collected = _collect(observations, matched, shared)  # 1. collect
    scores = score_makers(collected.evidence)  # 2. score by source (fingerprints.scoring)
    decision = _decide(scores, collected.evidence)  # 3. decide
    details = _details(collected.evidence, decision.maker)  # 4. resolve the details
    seen_macs = {m for obs in observations for m in link_macs(obs)}
    gateway = sorted(shared & seen_macs)
    maker = decision.maker
    return DeviceIdentity(
        device_key=device_key,
        addresses=tuple(
            sorted(
                {address for obs in observations if (address := _device_address(obs))},
                key=address_order,
            )
        ),
        mac=collected.macs[0] if collected.macs else None,
        maker=maker,
        maker_name=load_vocabulary().makers.get(maker) if maker else None,
        brand=details["brand"],
        model=details["model"],
        firmware=details["firmware"],
        serial=details["serial"],
        device_class=details["device_class"],
        coverage=decision.coverage,
        confidence=decision.confidence,
        level=_level(decision.confidence, decisive=decision.decisive),
        evidence=tuple(
            sorted(collected.evidence, key=lambda e: (-e.certainty, e.rule_id, e.matched))
        ),
        conflicts=decision.conflicts,
        oem_code=details["oem_code"],
        macs=tuple(collected.macs),
        gateway_mac=gateway[0] if gateway else None,
        notes=tuple(dict.fromkeys([*notes, *collected.notes, *_detail_notes(details)])),
        identity_with_credentials=_with_credentials(observations, matched, maker),
        switch_port=_switch_port(observations),
    )


def _switch_port(observations: Sequence[Observation]) -> str | None:
    """The access port a switch learnt the device's MAC on (uplinks are dropped by the probe).

    Several switches can each hold the MAC on a port that carries few MACs (a chain of small
    access switches); the one reported by most agents wins, then the lowest name, so the
    choice is stable across scans.
    """
    ports = Counter(obs.value for obs in observations if obs.key == "snmp.switch_port")
    if not ports:
        return None
    return min(ports, key=lambda port: (-ports[port], port))


def identify(observations: Iterable[Observation], db: FingerprintDB) -> list[DeviceIdentity]:
    """Group observations into devices (address, MAC, serial) and identify each one."""
    items = list(observations)
    matched = [_match(obs, db) for obs in items]
    shared = shared_link_macs(items)
    groups = group_devices(items, matched, shared)
    keys = _device_keys(items, [group.indices for group in groups])
    devices: list[DeviceIdentity] = []
    for group, (key, behind, channel) in zip(groups, keys, strict=True):
        group_obs = [items[i] for i in group.indices]
        identity = identify_device(
            key,
            group_obs,
            db,
            [matched[i] for i in group.indices],
            gateway_macs=shared,
            notes=group.notes,
        )
        if behind is not None:
            identity = _as_listed(identity, group_obs, behind, channel)
        devices.append(identity)
    return sorted(devices, key=lambda d: _device_order(d.device_key))


# ------------------------------------------------------------------ behind the recorder (issue 9)


def _device_address(obs: Observation) -> str | None:
    """The address an observation shows the device at: a channel camera's internal one."""
    if obs.behind is None:
        return obs.host_text
    if obs.key == "channel.address":
        try:
            return str(ipaddress.ip_address(obs.value.strip()))
        except ValueError:
            return None
    return None


def _with_credentials(
    observations: Sequence[Observation], matched: Sequence[Sequence[Evidence]], maker: str | None
) -> bool:
    """Whether evidence for the verdict's maker came only after a login (issue 9)."""
    return any(
        obs.authenticated and any(e.asserts.get("maker") in {maker, None} for e in items)
        for obs, items in zip(observations, matched, strict=True)
        if items
    )


#: What a recorder reports about a channel camera, kept when no rule reads the field.
_REPORTED: Final = {
    "model": "channel.model",
    "serial": "channel.serial",
    "firmware": "channel.firmware",
}


def _as_listed(
    identity: DeviceIdentity, observations: Sequence[Observation], behind: str, channel: int | None
) -> DeviceIdentity:
    """A channel camera's identity: tied to its recorder, with what the recorder reported.

    A model no rule knows (an OEM label, another maker's camera) is still the recorder's word
    for what sits on that channel, and an auditor needs it to find the camera: it is kept as
    reported, without adding evidence.
    """
    update: dict[str, object] = {"behind": behind, "channel": channel}
    for field, key in _REPORTED.items():
        if getattr(identity, field) is None:
            reported = next((o.value for o in observations if o.key == key), None)
            if reported is not None:
                update[field] = reported[:128]
    return identity.model_copy(update=update)


def _device_order(key: str) -> tuple[tuple[int, int], int]:
    address, _, channel = key.partition("/ch")
    return address_order(address), int(channel) if channel.isdigit() else -1


def _device_keys(
    items: Sequence[Observation], groups: Sequence[Sequence[int]]
) -> list[tuple[str, str | None, int | None]]:
    """(device key, recorder key, channel) per group.

    A device seen at an address is keyed by its lowest address. A camera known only from its
    recorder's channel list is keyed ``<recorder key>/ch<channel>``: stable across scans (the
    internal address may be DHCP) and readable, and ``behind`` is the recorder's device key.
    """
    by_node: dict[str, str] = {}
    plain: list[str | None] = []
    for group in groups:
        hosts = [items[i].host_text for i in group if items[i].behind is None]
        key = min(hosts, key=address_order) if hosts else None
        plain.append(key)
        for i in group:
            if items[i].behind is None and key is not None:
                by_node[items[i].host_text] = key
    keys: list[tuple[str, str | None, int | None]] = []
    for group, key in zip(groups, plain, strict=True):
        listed = [items[i] for i in group if items[i].behind is not None]
        if not listed:
            keys.append((key or items[group[0]].host_text, None, None))
            continue
        # A camera both listed by a recorder and seen on the LAN keeps its address as its key.
        first = min(listed, key=lambda o: (address_order(o.behind or ""), o.channel or 0))
        behind = by_node.get(first.behind or "", first.behind or "")
        keys.append((key or f"{behind}/ch{first.channel}", behind, first.channel))
    return keys
