"""The OEM-brand catalogue (``reference/oem_brands.toml``): brand -> makers it sources from.

A brand is a label, not a producer. The catalogue gives a *prior* — which makers a brand is known
to buy from, how sure that is and who says so — that the verdict turns into a lead, never into a
verdict (research/aesthetics.md §7.5, FAR 52.204-25 "produced by").
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources

__all__ = ["OemBrand", "brand_entry", "oem_brands"]


@dataclass(frozen=True, slots=True)
class OemBrand:
    """One brand and the makers it is known to source from."""

    brand: str
    makers: tuple[str, ...]
    relationship: str
    confidence: str
    source: str
    aliases: tuple[str, ...] = ()
    note: str | None = None


def _norm(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


@cache
def oem_brands() -> dict[str, OemBrand]:
    """Every catalogued brand, keyed by its normalised name and aliases."""
    text = resources.files("fingerprints").joinpath("reference/oem_brands.toml").read_text("utf-8")
    table: dict[str, OemBrand] = {}
    for row in tomllib.loads(text)["brand"]:
        entry = OemBrand(
            brand=row["brand"],
            makers=tuple(row["makers"]),
            relationship=row["relationship"],
            confidence=row["confidence"],
            source=row["source"],
            aliases=tuple(row.get("aliases", ())),
            note=row.get("note"),
        )
        for name in (entry.brand, *entry.aliases):
            table[_norm(name)] = entry
    return table


def brand_entry(brand: str) -> OemBrand | None:
    """The catalogue row for ``brand`` (case, blanks and punctuation ignored), if any."""
    return oem_brands().get(_norm(brand[:80]))
