"""Evidence -> one verdict per device: true maker, brand, model, coverage, confidence, conflicts.

Observations are first grouped into devices: everything seen on one address, plus every address
that shares a MAC address or a serial number with it (an NVR seen via SADP on one address and via
ONVIF on another is one device; a MAC inside a SADP/DHIP payload counts).

Certainties for one maker combine as independent signals (noisy-OR: 1 - Π(1 - c), one term per
rule). A maker needs a combined 0.6 *and* at least one signal that is not a lead (a MAC prefix,
a bare ``Webs``, a brand's sourcing history) before the device is called covered or not covered;
below that the verdict is a lead and says so. When two makers both clear that bar the verdict is
undetermined and both are reported: conflicting evidence is shown, never hidden.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Final

from fingerprints.catalogue import brand_entry
from fingerprints.coverage import coverage_for
from fingerprints.database import FingerprintDB, excerpt, load_vocabulary
from fingerprints.identity import (
    ConfidenceLevel,
    Coverage,
    CoverageStatus,
    DeviceIdentity,
    Evidence,
)
from fingerprints.oui import OuiLead, oui_lead
from scanner.results import Observation, normalize_mac

__all__ = [
    "BRAND_PRIOR_CERTAINTY",
    "DECISIVE_CONFIDENCE",
    "OUI_CERTAINTY",
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
#: Serial numbers shorter than this ("0", "1234") are too common to tie addresses together.
MIN_SERIAL_CHARS: Final = 8
#: A MAC or serial seen on more addresses than this is a gateway (proxy ARP) or a proxy, not one
#: device: it is not used to merge addresses.
MAX_ADDRESSES_PER_KEY: Final = 8
_DETAIL_FIELDS: Final = ("model", "firmware", "serial", "device_class", "oem_code")
_UUID_NODE: Final = re.compile(
    r"^(?:urn:uuid:)?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-([0-9a-f]{12})$", re.I
)
_BASELINE_OEM_CODES: Final = frozenset({"0", "1"})


def _level(confidence: float, *, decisive: bool) -> ConfidenceLevel:
    if confidence <= 0:
        return ConfidenceLevel.NONE
    if not decisive:
        return ConfidenceLevel.LEAD
    if confidence >= 0.9:
        return ConfidenceLevel.CONFIRMED
    return ConfidenceLevel.LIKELY


def _combine(certainties: Iterable[float]) -> float:
    return 1.0 - math.prod(1.0 - c for c in certainties)


def _mac(value: str) -> str | None:
    try:
        return normalize_mac(value[:40])
    except ValueError:
        return None


def _uuid_mac(value: str) -> str | None:
    """The MAC Hikvision firmware puts in the node part of its WS-Discovery endpoint UUID.

    Only trusted when the prefix is a registered block that says something (a random UUID node
    rarely hits one), facts sheet §2.2 and §3.2.
    """
    found = _UUID_NODE.match(value.strip()[:64])
    if found is None:
        return None
    mac = _mac(found.group(1))
    if mac is None:
        return None
    lead = oui_lead(mac)
    return mac if lead is not None and lead.maker is not None else None


def _macs_of(obs: Observation, evidence: Sequence[Evidence]) -> list[str]:
    found: list[str] = []
    if obs.mac:
        found.append(obs.mac)
    if obs.key in {"mac.mac", "sadp.mac", "dhip.mac"} and (mac := _mac(obs.value)):
        found.append(mac)
    if obs.key == "wsdiscovery.endpoint_uuid" and (mac := _uuid_mac(obs.value)):
        found.append(mac)
    captured = (_mac(item.captures["mac"]) for item in evidence if "mac" in item.captures)
    found.extend(mac for mac in captured if mac)
    return list(dict.fromkeys(found))


def _serials_of(evidence: Sequence[Evidence]) -> list[str]:
    return list(
        dict.fromkeys(
            item.captures["serial"].upper()
            for item in evidence
            if len(item.captures.get("serial", "")) >= MIN_SERIAL_CHARS
        )
    )


def _address_key(address: str) -> tuple[int, int]:
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return (9, 0)
    return (parsed.version, int(parsed))


def group_devices(
    observations: Sequence[Observation], evidence: Sequence[Sequence[Evidence]]
) -> list[list[int]]:
    """Group observation indices into devices by address, MAC and serial (union-find)."""
    parent: dict[str, str] = {}

    def find(node: str) -> str:
        parent.setdefault(node, node)
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    links: dict[str, set[str]] = defaultdict(set)
    for index, obs in enumerate(observations):
        host = f"host:{obs.host}"
        find(host)
        for mac in _macs_of(obs, evidence[index]):
            links[f"mac:{mac}"].add(host)
        for serial in _serials_of(evidence[index]):
            links[f"serial:{serial}"].add(host)
    for hosts in links.values():
        if 1 < len(hosts) <= MAX_ADDRESSES_PER_KEY:
            first, *rest = sorted(hosts)
            for other in rest:
                parent[find(other)] = find(first)
    groups: dict[str, list[int]] = defaultdict(list)
    for index, obs in enumerate(observations):
        groups[find(f"host:{obs.host}")].append(index)
    return list(groups.values())


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
            source=f"{lead.registry}; {lead.source}",
            description=f"MAC prefix {lead.prefix} is registered to {lead.registrant}",
            lead=True,
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
                source=entry.source,
                description=(
                    f"brand {entry.brand} is known to source from {maker} "
                    f"({entry.relationship}; {entry.confidence} confidence): a prior, "
                    "not a verdict"
                ),
                lead=True,
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


def identify_device(
    device_key: str,
    observations: Sequence[Observation],
    db: FingerprintDB,
    evidence_per_observation: Sequence[Sequence[Evidence]] | None = None,
) -> DeviceIdentity:
    """Combine everything seen about one device into a verdict."""
    matched = (
        evidence_per_observation
        if evidence_per_observation is not None
        else [db.evidence_for(obs.key, obs.value, obs.port) for obs in observations]
    )
    addresses = sorted({str(obs.host) for obs in observations}, key=_address_key)

    notes: list[str] = []
    uniform = _uniform_vendor_paths(observations)
    if uniform:
        notes.append(
            "the web server answers every vendor path with the same status; path evidence ignored"
        )
    evidence: list[Evidence] = []
    seen: set[tuple[str, str]] = set()
    for obs, items in zip(observations, matched, strict=True):
        if obs.field == "vendor_path" and (obs.protocol, obs.port) in uniform:
            continue
        for item in items:
            if (item.rule_id, item.matched) not in seen:
                seen.add((item.rule_id, item.matched))
                evidence.append(item)

    # The ARP-level MAC first: it is the address the device answers with on this segment.
    direct = [obs.value for obs in observations if obs.key == "mac.mac"]
    macs: list[str] = [m for m in (_mac(v) for v in direct) if m]
    for obs, items in zip(observations, matched, strict=True):
        macs.extend(_macs_of(obs, items))
    macs = list(dict.fromkeys(macs))
    uuid_macs = {
        m
        for obs in observations
        if obs.key == "wsdiscovery.endpoint_uuid" and (m := _uuid_mac(obs.value))
    }

    for mac in macs[:4]:
        field = "mac.mac" if mac not in uuid_macs else "wsdiscovery.endpoint_uuid"
        oui, note = _oui_evidence(mac, field)
        if oui is not None and (oui.rule_id, oui.matched) not in seen:
            seen.add((oui.rule_id, oui.matched))
            evidence.append(oui)
        if note:
            notes.append(note)

    brands = (e.asserts["brand"] for e in evidence if "brand" in e.asserts)
    priors, prior_notes = _brand_priors(brands)
    evidence.extend(priors)

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
    solid = {maker: any(not e.lead for e in items) for maker, items in per_maker.items()}
    maker = max(scores, key=lambda m: (solid[m], scores[m], m)) if scores else None
    confidence = round(scores[maker], 3) if maker else 0.0
    decisive = maker is not None and confidence >= DECISIVE_CONFIDENCE and solid[maker]

    rivals = sorted(
        (other, score)
        for other, score in scores.items()
        if other != maker and score >= CONFLICT_FLOOR
    )
    conflicts = tuple(
        f"evidence also points to {other} ({score:.2f}): "
        + ", ".join(sorted({e.rule_id for e in per_maker[other]}))
        for other, score in rivals
    )
    coverage = coverage_for(maker, decisive=decisive, evidence=evidence)
    contested = [other for other, score in rivals if solid[other] and score >= DECISIVE_CONFIDENCE]
    if decisive and contested:
        coverage = Coverage(
            status=CoverageStatus.UNDETERMINED,
            entity=coverage.entity,
            note=(
                f"conflicting evidence: {maker} and {', '.join(contested)} are both supported; "
                "review the evidence before acting"
            ),
        )

    def best(field: str) -> str | None:
        candidates = [
            e for e in evidence if field in e.asserts and e.asserts.get("maker") in {None, maker}
        ]
        if not candidates:
            return None
        return max(candidates, key=lambda e: (e.certainty, not e.lead)).asserts[field]

    details = {name: best(name) for name in _DETAIL_FIELDS}
    if (code := details["oem_code"]) and code not in _BASELINE_OEM_CODES:
        notes.append(
            f"SADP DetailOEMCode {code}: an OEM customer build of Hikvision firmware "
            "(the label differs from the maker)"
        )
    notes.extend(prior_notes)
    vocabulary = load_vocabulary()
    return DeviceIdentity(
        device_key=device_key,
        addresses=tuple(addresses),
        mac=macs[0] if macs else None,
        maker=maker,
        maker_name=vocabulary.makers.get(maker) if maker else None,
        brand=best("brand"),
        model=details["model"],
        firmware=details["firmware"],
        serial=details["serial"],
        device_class=details["device_class"],
        coverage=coverage,
        confidence=confidence,
        level=_level(confidence, decisive=decisive),
        evidence=tuple(sorted(evidence, key=lambda e: (-e.certainty, e.rule_id, e.matched))),
        conflicts=conflicts,
        oem_code=details["oem_code"],
        macs=tuple(macs),
        notes=tuple(dict.fromkeys(notes)),
    )


def identify(observations: Iterable[Observation], db: FingerprintDB) -> list[DeviceIdentity]:
    """Group observations into devices (address, MAC, serial) and identify each one."""
    items = list(observations)
    matched = [db.evidence_for(obs.key, obs.value, obs.port) for obs in items]
    devices: list[DeviceIdentity] = []
    for group in group_devices(items, matched):
        group_obs = [items[i] for i in group]
        key = min((str(obs.host) for obs in group_obs), key=_address_key)
        devices.append(identify_device(key, group_obs, db, [matched[i] for i in group]))
    return sorted(devices, key=lambda d: _address_key(d.device_key))
