"""The generated MAC-prefix registry: provenance, longest match, subsidiaries and traps."""

import re
from pathlib import Path

import pytest

from fingerprints.oui import lookup_registrant, oui_lead, registry_header
from fingerprints.oui_refresh import (
    build_registry,
    default_output,
    registrant_patterns,
    render_registry,
)

REGISTRY = default_output()


def test_registry_header_carries_date_and_sources():
    header = registry_header()
    assert any(re.match(r"generated: \d{4}-\d\d-\d\dT", line) for line in header)
    assert sum(line.startswith("source:") for line in header) >= 2
    assert any("netaddr" in line for line in header)


def test_every_registry_line_parses_and_maps():
    patterns = registrant_patterns()
    rows = [
        line.split("\t") for line in REGISTRY.read_text().splitlines() if not line.startswith("#")
    ]
    assert len(rows) > 2000
    for prefix, kind, registrant, origin in rows:
        assert re.fullmatch(r"[0-9A-F]{6}|[0-9A-F]{7}|[0-9A-F]{9}", prefix), prefix
        assert kind == {6: "MA-L", 7: "MA-M", 9: "MA-S"}[len(prefix)]
        assert any(p.search(registrant) for p in patterns), registrant
        assert origin


@pytest.mark.parametrize(
    ("mac", "maker", "brand", "role"),
    [
        ("58:50:ed:1f:e3:85", "hikvision", None, "covered"),
        ("24:b1:05:00:00:01", "hikvision", "Prama Hikvision", "subsidiary"),
        ("0c:a6:4c:00:00:01", "hikvision", "EZVIZ", "subsidiary"),
        ("34:bd:20:00:00:01", "hikvision", "Hikrobot", "subsidiary"),
        ("b0:b3:53:60:00:01", "hikvision", "Hikrobot", "subsidiary"),
        ("4c:11:bf:c2:0b:9d", "dahua", None, "covered"),
        ("a8:ca:87:00:00:01", "dahua", "Dahua Zhilian", "subsidiary"),
        ("64:69:bc:00:00:01", "hytera", None, "covered"),
        ("00:e0:fc:00:00:01", "huawei", None, "covered"),
        ("84:8a:59:00:00:01", "huawei", "HiSilicon", "subsidiary"),
        ("ac:64:dd:50:00:01", "zte", None, "covered"),
        ("00:1f:54:00:00:01", None, "Lorex", "oem"),
        ("38:c4:e8:00:00:01", None, "BCS", "oem"),
        ("04:79:75:00:00:01", None, None, "review"),
        ("40:2c:76:10:00:01", None, None, "trap"),
        ("00:40:8c:ef:08:1c", "axis", None, "negative"),
        ("48:ea:63:00:00:01", "uniview", None, "negative"),
    ],
)
def test_oui_roles(mac, maker, brand, role):
    lead = oui_lead(mac)
    assert lead is not None
    assert (lead.maker, lead.brand, lead.role) == (maker, brand, role)


def test_longest_match_prefers_the_ma_m_block():
    prefix, registrant, registry = lookup_registrant("40:2c:76:1a:bc:de")
    assert prefix == "402C761"
    assert "Dahua Scale" in registrant
    assert "MA-M" in registry
    # The rest of the parent block is the IEEE's, not the scale maker's.
    other = lookup_registrant("40:2c:76:2a:bc:de")
    assert other is None or "Dahua" not in other[1]


def test_unknown_prefixes_still_resolve_to_a_registrant():
    found = lookup_registrant("10:e9:92:00:00:01")  # INGRAM MICRO SERVICES in netaddr's copy
    assert found is not None
    assert "INGRAM" in found[1].upper()
    lead = oui_lead("10:e9:92:00:00:01")
    assert lead is not None
    assert lead.maker is None


def test_refresh_keeps_every_documented_covered_block(tmp_path: Path):
    import tomllib

    supplement = tomllib.loads(
        (REGISTRY.parent / "oui_supplement.toml").read_text(encoding="utf-8")
    )
    documented = {p.upper() for block in supplement["block"] for p in block["prefixes"]}
    entries, sources = build_registry()
    text = render_registry(entries, sources, "2026-01-01T00:00:00Z")
    generated = {line.split("\t")[0] for line in text.splitlines() if not line.startswith("#")}
    shipped = {
        line.split("\t")[0]
        for line in REGISTRY.read_text().splitlines()
        if not line.startswith("#")
    }
    assert documented <= generated
    assert documented <= shipped
    assert "# generated: 2026-01-01T00:00:00Z" in text
