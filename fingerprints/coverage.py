"""Covered or not, decided from the true maker, per regime, with the legal basis spelled out.

The rules are no longer one list. Each regime is one data file under ``reference/policies/``
(§889, the FCC Covered List with its dated entries and categories, the American Security Drone
Act, a state profile), cited and dated. A verdict is judged against a chosen set of regimes
(default: §889 and the FCC Covered List) and names the regime and the entry that make the device
covered, in :attr:`Coverage.findings`.

How one regime judges a device:

* an entry naming the maker covers it (``covered``), unless the entry ``requires_class`` (ASDA:
  only drones) and the device class is unknown (``undetermined``) or outside the entry;
* a ``categorical`` entry (foreign-produced drones, consumer routers) matching the device class
  cannot be decided from the network: production country and FCC grant date decide, so it is
  ``undetermined`` with what to check;
* otherwise the regime does not cover the device.

Across regimes: covered if any regime covers it, else undetermined if any is undetermined.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources
from typing import Any, Final

from fingerprints.database import load_vocabulary
from fingerprints.identity import Coverage, CoverageStatus, Evidence, RegimeFinding
from fingerprints.sources import resolve

__all__ = [
    "DEFAULT_POLICIES",
    "CoveredEntity",
    "Policy",
    "PolicyEntry",
    "PolicyError",
    "coverage_for",
    "covered_entities",
    "judge",
    "policies",
    "resolve_policies",
    "review_makers",
]

#: What ``--policy`` means when not given: the federal regimes every contractor and grantee meets.
DEFAULT_POLICIES: Final = ("ndaa-889", "fcc-covered-list")
_NDAA: Final = "ndaa-889"


class PolicyError(ValueError):
    """An unknown policy id, or a policy file that does not load."""


@dataclass(frozen=True, slots=True)
class CoveredEntity:
    """One entity named by §889 and the FCC Covered List."""

    slug: str
    name: str
    ndaa_clause: str
    equipment: str
    fcc_covered_list: str
    source: str
    subsidiaries: tuple[str, ...] = ()
    purpose_limited: bool = False


@dataclass(frozen=True, slots=True)
class PolicyEntry:
    """One dated entry of a regime: named makers, or a category of devices."""

    id: str
    date: date
    title: str
    source: str
    makers: tuple[str, ...] = ()
    device_classes: tuple[str, ...] = ()
    #: Covered by kind of device (produced abroad), which a sweep cannot see: never decisive.
    categorical: bool = False
    #: The maker alone is not enough: the device must also be of one of ``device_classes``.
    requires_class: bool = False
    purpose_limited: bool = False
    new_models_only: bool = False
    #: False for software or services a network sweep cannot see (Kaspersky).
    detectable: bool = True
    #: The §889 entity (``covered_entities.toml`` slug) whose legal texts this entry cites.
    entity: str | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Policy:
    """One regime: its authority, the date its data is current to, and its entries."""

    id: str
    name: str
    authority: str
    as_of: date
    source: str
    entries: tuple[PolicyEntry, ...]
    note: str | None = None


def _reference(name: str) -> str:
    return resources.files("fingerprints").joinpath(f"reference/{name}").read_text("utf-8")


@cache
def _catalogue() -> dict[str, Any]:
    return tomllib.loads(_reference("covered_entities.toml"))


@cache
def covered_entities() -> dict[str, CoveredEntity]:
    """Return the covered entities from ``reference/covered_entities.toml`` by maker slug."""
    return {
        entry["slug"]: CoveredEntity(
            slug=entry["slug"],
            name=entry["name"],
            ndaa_clause=entry["ndaa_clause"],
            equipment=entry["equipment"],
            fcc_covered_list=entry["fcc_covered_list"],
            source=entry["source"],
            subsidiaries=tuple(entry.get("subsidiaries", ())),
            purpose_limited=bool(entry.get("purpose_limited", False)),
        )
        for entry in _catalogue()["entity"]
    }


@cache
def review_makers() -> dict[str, str]:
    """Makers that are not covered themselves but need a human look (slug -> note)."""
    return {entry["slug"]: entry["note"] for entry in _catalogue().get("review", ())}


def _entry(raw: dict[str, Any]) -> PolicyEntry:
    return PolicyEntry(
        id=raw["id"],
        date=date.fromisoformat(str(raw["date"])),
        title=raw["title"],
        source=raw["source"],
        makers=tuple(raw.get("makers", ())),
        device_classes=tuple(raw.get("device_classes", ())),
        categorical=bool(raw.get("categorical", False)),
        requires_class=bool(raw.get("requires_class", False)),
        purpose_limited=bool(raw.get("purpose_limited", False)),
        new_models_only=bool(raw.get("new_models_only", False)),
        detectable=bool(raw.get("detectable", True)),
        entity=raw.get("entity"),
        note=raw.get("note"),
    )


@cache
def policies() -> dict[str, Policy]:
    """Every regime under ``reference/policies/``, by id."""
    folder = resources.files("fingerprints").joinpath("reference/policies")
    found: dict[str, Policy] = {}
    for item in sorted(folder.iterdir(), key=lambda t: t.name):
        if not item.name.endswith(".toml"):
            continue
        try:
            raw = tomllib.loads(item.read_text("utf-8"))
            policy = Policy(
                id=raw["id"],
                name=raw["name"],
                authority=raw["authority"],
                as_of=date.fromisoformat(str(raw["as_of"])),
                source=raw["source"],
                entries=tuple(_entry(e) for e in raw.get("entry", ())),
                note=raw.get("note"),
            )
        except (tomllib.TOMLDecodeError, KeyError, TypeError, ValueError) as exc:
            raise PolicyError(f"policy file {item.name} does not load: {exc}") from exc
        found[policy.id] = policy
    return found


def resolve_policies(ids: Iterable[str] | None) -> tuple[str, ...]:
    """Validate policy ids (comma lists allowed); None or empty means the default set."""
    chosen = [p.strip() for raw in ids or () for p in raw.split(",") if p.strip()]
    if not chosen:
        return DEFAULT_POLICIES
    unknown = [p for p in chosen if p not in policies()]
    if unknown:
        raise PolicyError(
            f"unknown policy {', '.join(unknown)} (known: {', '.join(sorted(policies()))})"
        )
    return tuple(dict.fromkeys(chosen))


def _finding(
    policy: Policy, entry: PolicyEntry, status: CoverageStatus, note: str | None
) -> RegimeFinding:
    return RegimeFinding(
        regime=policy.id,
        entry=entry.id,
        status=status,
        date=entry.date.isoformat(),
        title=entry.title,
        source=resolve(entry.source),
        note=note,
    )


def _judge_entry(
    policy: Policy, entry: PolicyEntry, maker: str, device_class: str | None
) -> RegimeFinding | None:
    if not entry.detectable:
        return None
    class_match = device_class is not None and device_class in entry.device_classes
    if maker in entry.makers:
        if not entry.requires_class or class_match:
            return _finding(policy, entry, CoverageStatus.COVERED, entry.note)
        if device_class is None:
            return _finding(
                policy,
                entry,
                CoverageStatus.UNDETERMINED,
                f"the maker is named, but the entry covers only {', '.join(entry.device_classes)}"
                "; the device class is unknown: check what the device is",
            )
        return None
    if entry.categorical and class_match:
        return _finding(policy, entry, CoverageStatus.UNDETERMINED, entry.note)
    return None


def _regime_findings(
    policy: Policy, maker: str, device_class: str | None
) -> tuple[RegimeFinding, ...]:
    return tuple(
        finding
        for entry in policy.entries
        if (finding := _judge_entry(policy, entry, maker, device_class)) is not None
    )


def _entry_of(finding: RegimeFinding) -> PolicyEntry:
    return next(e for e in policies()[finding.regime].entries if e.id == finding.entry)


def _ndaa_basis(entity: CoveredEntity) -> tuple[str, ...]:
    return (
        f"NDAA FY2019 {entity.ndaa_clause}; FAR 52.204-25(a): {entity.equipment}",
        "2 CFR 200.216 (grant and loan funds)",
    )


def _basis(findings: Sequence[RegimeFinding]) -> tuple[str, ...]:
    """The legal basis lines of the covering findings, §889 texts first as before."""
    lines: list[str] = []
    for finding in findings:
        if finding.status is not CoverageStatus.COVERED:
            continue
        policy = policies()[finding.regime]
        entry = _entry_of(finding)
        entity = covered_entities().get(entry.entity or "")
        if finding.regime == _NDAA and entity is not None:
            lines.extend(_ndaa_basis(entity))
        elif finding.regime == "fcc-covered-list":
            maker_entity = next(
                (covered_entities()[m] for m in entry.makers if m in covered_entities()), None
            )
            lines.append(
                f"FCC Covered List, entry of {maker_entity.fcc_covered_list}"
                if maker_entity is not None
                else f"FCC Covered List, entry of {finding.date}: {finding.title}"
            )
        else:
            lines.append(f"{policy.name}, entry of {finding.date}: {finding.title}")
    return tuple(dict.fromkeys(lines))


def _entity_name(maker: str, chosen: Sequence[str]) -> str | None:
    """The maker's legal name when one of the chosen regimes names it, else None."""
    if not any(maker in e.makers for p in chosen for e in policies()[p].entries):
        return None
    entity = covered_entities().get(maker)
    return entity.name if entity is not None else load_vocabulary().makers.get(maker, maker)


def _device_class(evidence: Iterable[Evidence], maker: str | None) -> str | None:
    """The device class the strongest evidence for ``maker`` asserts, if any."""
    candidates = [
        e
        for e in evidence
        if "device_class" in e.asserts and e.asserts.get("maker") in {None, maker}
    ]
    if not candidates:
        return None
    return max(candidates, key=lambda e: (e.certainty, not e.lead)).asserts["device_class"]


def judge(
    maker: str | None,
    *,
    decisive: bool,
    device_class: str | None = None,
    policy_ids: Sequence[str] = DEFAULT_POLICIES,
) -> Coverage:
    """The coverage verdict for ``maker`` (and its device class) under the chosen regimes.

    ``decisive`` is False when the maker rests on a lead only (a MAC prefix, a generic banner):
    the verdict is then ``undetermined`` and says what to check.
    """
    chosen = tuple(policy_ids)
    if maker is None:
        return Coverage(
            status=CoverageStatus.UNDETERMINED, note="maker not identified", policies=chosen
        )
    entity_name = _entity_name(maker, chosen)
    if not decisive:
        hint = "covered maker" if entity_name else "maker"
        return Coverage(
            status=CoverageStatus.UNDETERMINED,
            entity=entity_name,
            note=f"lead only: weak evidence points to a {hint}; confirm before acting",
            policies=chosen,
        )
    if maker in review_makers():
        return Coverage(
            status=CoverageStatus.UNDETERMINED, note=review_makers()[maker], policies=chosen
        )
    findings = tuple(
        f for p in chosen for f in _regime_findings(policies()[p], maker, device_class)
    )
    statuses = {f.status for f in findings}
    if CoverageStatus.COVERED in statuses:
        covering = [f for f in findings if f.status is CoverageStatus.COVERED]
        limited = [_entry_of(f).purpose_limited for f in covering]
        # The purpose limit applies only when every covering entry carries it (Texas does not).
        purpose = bool(limited) and all(limited)
        return Coverage(
            status=CoverageStatus.COVERED,
            entity=entity_name,
            basis=_basis(findings),
            note=str(_catalogue()["purpose_note"]) if purpose else None,
            policies=chosen,
            findings=findings,
        )
    if CoverageStatus.UNDETERMINED in statuses:
        return Coverage(
            status=CoverageStatus.UNDETERMINED,
            entity=entity_name,
            note="; ".join(f"{f.regime} {f.entry}: {f.note}" for f in findings if f.note),
            policies=chosen,
            findings=findings,
        )
    under = "" if chosen == DEFAULT_POLICIES else f" under {', '.join(chosen)}"
    return Coverage(
        status=CoverageStatus.NOT_COVERED,
        note=f"{maker} is not a covered entity{under}",
        policies=chosen,
    )


def coverage_for(
    maker: str | None,
    *,
    decisive: bool,
    evidence: Iterable[Evidence] = (),
    policy_ids: Sequence[str] = DEFAULT_POLICIES,
) -> Coverage:
    """:func:`judge` for the verdict engine: the device class is read from the evidence."""
    return judge(
        maker,
        decisive=decisive,
        device_class=_device_class(evidence, maker),
        policy_ids=policy_ids,
    )
