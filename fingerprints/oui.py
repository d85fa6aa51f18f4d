"""MAC prefix -> IEEE registrant -> (maker, brand, role) lead.

The prefixes that matter for §889 live in ``reference/oui_registry.tsv``, generated from the IEEE
registry (netaddr's copy, nmap's ``nmap-mac-prefixes`` and the dated supplement) by
:mod:`fingerprints.oui_refresh`, with the date and sources in its header. Lookup is longest
match over MA-S (9 hex digits), MA-M (7) and MA-L (6), so a small block carved out of a larger
one (Shanghai Dahua Scale Factory's MA-M) wins over it. ``reference/oui_registrants.toml``
turns a registrant into a maker, a brand, or a trap. Any other prefix still resolves to its
registrant name through netaddr, with no maker.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Final

import netaddr

__all__ = ["OuiLead", "lookup_registrant", "oui_lead", "registry_header"]

_LENGTHS: Final = (9, 7, 6)
_REGISTRY_FILE: Final = "reference/oui_registry.tsv"


@dataclass(frozen=True, slots=True)
class OuiLead:
    """What a MAC prefix suggests: a registrant, and maybe a maker and brand."""

    prefix: str
    registrant: str
    registry: str
    maker: str | None
    brand: str | None
    source: str
    note: str | None
    role: str | None = None


@cache
def _registry() -> dict[str, tuple[str, str, str]]:
    """prefix -> (block kind, registrant, first source) from the generated TSV."""
    text = resources.files("fingerprints").joinpath(_REGISTRY_FILE).read_text("utf-8")
    table: dict[str, tuple[str, str, str]] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) >= 4:
            table[parts[0]] = (parts[1], parts[2], parts[3])
    return table


@cache
def registry_header() -> tuple[str, ...]:
    """The provenance comment lines of the generated registry (date, sources, counts)."""
    text = resources.files("fingerprints").joinpath(_REGISTRY_FILE).read_text("utf-8")
    return tuple(line[2:] for line in text.splitlines() if line.startswith("# "))


def _digits(mac: str) -> str | None:
    digits = re.sub(r"[^0-9A-Fa-f]", "", mac[:64]).upper()
    if len(digits) != 12:
        return None
    if int(digits[1], 16) & 0x2:
        return None  # locally administered (randomised) MAC: no registrant by definition
    return digits


def lookup_registrant(mac: str) -> tuple[str, str, str] | None:
    """Return (prefix, registrant, registry) for ``mac``, longest registered prefix first."""
    digits = _digits(mac)
    if digits is None:
        return None
    table = _registry()
    generated = next((line for line in registry_header() if line.startswith("generated:")), "")
    for length in _LENGTHS:
        found = table.get(digits[:length])
        if found:
            kind, registrant, origin = found
            return digits[:length], registrant, f"IEEE {kind} via {origin} ({generated})"
    try:
        org = str(netaddr.EUI(digits).oui.registration()["org"])
    except (netaddr.NotRegisteredError, netaddr.AddrFormatError, IndexError, ValueError):
        return None
    return digits[:6], org, f"IEEE MA-L via netaddr {netaddr.__version__}"


@dataclass(frozen=True, slots=True)
class _Mapping:
    pattern: re.Pattern[str]
    role: str
    maker: str | None
    brand: str | None
    source: str
    note: str | None


@cache
def _mappings() -> tuple[_Mapping, ...]:
    text = (
        resources.files("fingerprints")
        .joinpath("reference/oui_registrants.toml")
        .read_text("utf-8")
    )
    data = tomllib.loads(text)
    return tuple(
        _Mapping(
            pattern=re.compile(entry["pattern"]),
            role=entry["role"],
            maker=entry.get("maker"),
            brand=entry.get("brand"),
            source=entry.get("source", ""),
            note=entry.get("note"),
        )
        for entry in data["registrant"]
    )


def oui_lead(mac: str) -> OuiLead | None:
    """Return the registrant of ``mac`` and the maker/brand it points to, if any."""
    found = lookup_registrant(mac)
    if found is None:
        return None
    prefix, registrant, registry = found
    for mapping in _mappings():
        if mapping.pattern.search(registrant):
            return OuiLead(
                prefix,
                registrant,
                registry,
                mapping.maker,
                mapping.brand,
                mapping.source,
                mapping.note,
                mapping.role,
            )
    return OuiLead(prefix, registrant, registry, None, None, registry, None, None)
