"""Covered or not, decided from the true maker, with the legal basis spelled out."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from fingerprints.identity import Coverage, CoverageStatus

__all__ = ["CoveredEntity", "coverage_for", "covered_entities", "review_makers"]


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


@cache
def _catalogue() -> dict[str, Any]:
    text = (
        resources.files("fingerprints")
        .joinpath("reference/covered_entities.toml")
        .read_text("utf-8")
    )
    return tomllib.loads(text)


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


def coverage_for(maker: str | None, *, decisive: bool) -> Coverage:
    """Return the coverage verdict for ``maker``.

    ``decisive`` is False when the maker rests on a lead only (a MAC prefix, a generic banner):
    the verdict is then ``undetermined`` and says what to check.
    """
    if maker is None:
        return Coverage(status=CoverageStatus.UNDETERMINED, note="maker not identified")
    entity = covered_entities().get(maker)
    if not decisive:
        hint = "covered maker" if entity else "maker"
        return Coverage(
            status=CoverageStatus.UNDETERMINED,
            entity=entity.name if entity else None,
            note=f"lead only: weak evidence points to a {hint}; confirm before acting",
        )
    if maker in review_makers():
        return Coverage(status=CoverageStatus.UNDETERMINED, note=review_makers()[maker])
    if entity is None:
        return Coverage(status=CoverageStatus.NOT_COVERED, note=f"{maker} is not a covered entity")
    return Coverage(
        status=CoverageStatus.COVERED,
        entity=entity.name,
        basis=(
            f"NDAA FY2019 {entity.ndaa_clause}; FAR 52.204-25(a): {entity.equipment}",
            "2 CFR 200.216 (grant and loan funds)",
            f"FCC Covered List, entry of {entity.fcc_covered_list}",
        ),
        note=str(_catalogue()["purpose_note"]) if entity.purpose_limited else None,
    )
