"""MAC prefix -> IEEE registrant -> (maker, brand) lead.

Registrant names come from the IEEE registry as shipped by netaddr (MA-L) and, when Debian's
nmap is installed, from ``/usr/share/nmap/nmap-mac-prefixes`` (MA-L, MA-M and MA-S, longest
match first). ``reference/oui_registrants.toml`` turns a registrant into a maker or brand.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Final

import netaddr

__all__ = ["OuiLead", "lookup_registrant", "oui_lead"]

NMAP_MAC_PREFIXES: Final = Path("/usr/share/nmap/nmap-mac-prefixes")


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


@cache
def _nmap_prefixes() -> dict[str, str]:
    table: dict[str, str] = {}
    try:
        text = NMAP_MAC_PREFIXES.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return table
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        prefix, _, org = line.partition(" ")
        if org:
            table[prefix.upper()] = org.strip()
    return table


def lookup_registrant(mac: str) -> tuple[str, str, str] | None:
    """Return (prefix, registrant, registry) for ``mac``, longest registered prefix first."""
    digits = re.sub(r"[^0-9A-Fa-f]", "", mac).upper()
    if len(digits) != 12:
        return None
    if int(digits[1], 16) & 0x2:
        return None  # locally administered (randomised) MAC: no registrant by definition
    nmap = _nmap_prefixes()
    for length in (9, 7, 6):
        org = nmap.get(digits[:length])
        if org:
            return digits[:length], org, "nmap-mac-prefixes (IEEE MA-L/MA-M/MA-S)"
    try:
        org = str(netaddr.EUI(digits).oui.registration()["org"])
    except (netaddr.NotRegisteredError, netaddr.AddrFormatError, IndexError):
        return None
    return digits[:6], str(org), f"IEEE MA-L via netaddr {netaddr.__version__}"


@dataclass(frozen=True, slots=True)
class _Mapping:
    pattern: re.Pattern[str]
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
            maker=entry.get("maker"),
            brand=entry.get("brand"),
            source=entry.get("source", entry.get("note", "")),
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
            )
    return OuiLead(prefix, registrant, registry, None, None, registry, None)
