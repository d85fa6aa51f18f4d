"""The IANA PEN registry, its registrant mapping, and enterprise evidence in identify()."""

import re
import tomllib
from importlib import resources
from ipaddress import IPv4Address
from pathlib import Path

import pytest

from fingerprints import CoverageStatus, identify, load_database
from fingerprints.enterprise_numbers import (
    enterprise_lead,
    enterprise_number,
    lookup_enterprise,
    pen_registry_header,
)
from fingerprints.pen_refresh import build_pen_registry, render_pen_registry
from scanner.results import Observation


@pytest.fixture(scope="module")
def db():
    return load_database()


def obs(key, value, host="198.18.0.30", port=161):
    protocol, field = key.split(".", 1)
    return Observation(
        host=IPv4Address(host), protocol=protocol, field=field, value=value, port=port
    )


# ------------------------------------------------------------------------------ the registry


def test_shipped_registry_is_complete_and_dated():
    header = pen_registry_header()
    assert any(line.startswith("generated: 20") for line in header)
    assert any("enterprises.tsv" in line for line in header)
    assert lookup_enterprise(2011) == "HUAWEI Technology Co.,Ltd"
    assert lookup_enterprise(9) == "ciscoSystems"
    assert lookup_enterprise(25506) == "H3C"
    # every assigned number resolves, not only the ones that matter for §889
    assert lookup_enterprise(62000) is not None
    assert lookup_enterprise(1004849) is None


@pytest.mark.parametrize(
    ("value", "number"),
    [
        ("2011", 2011),
        ("1.3.6.1.4.1.2011.2.91", 2011),
        (".1.3.6.1.4.1.3902.1082.1001.320.2.1", 3902),
        ("1.3.6.1.2.1.1.1", None),
        ("not an oid", None),
        ("1.3.6.1.4.1.", None),
    ],
)
def test_enterprise_number_from_either_field(value, number):
    assert enterprise_number(value) == number


def test_every_registrant_pattern_names_a_registered_organisation():
    """A typo in a pattern would silently never match: each must match a registry entry."""
    text = (
        resources.files("fingerprints")
        .joinpath("reference/enterprise_registrants.toml")
        .read_text("utf-8")
    )
    data = tomllib.loads(text)
    names = (
        resources.files("fingerprints")
        .joinpath("reference/enterprise_numbers.tsv")
        .read_text("utf-8")
    )
    registrants = [line.split("\t", 1)[1] for line in names.splitlines() if line[:1].isdigit()]
    for entry in data["registrant"]:
        pattern = re.compile(entry["pattern"])
        assert any(pattern.search(name) for name in registrants), entry["pattern"]
        assert entry["source"]
    for entry in data["number"]:
        assert entry["source"]
        assert entry.get("confirm") is True


def test_h3c_and_huawei_symantec_never_map_to_huawei():
    assert enterprise_lead(25506).maker is None
    assert enterprise_lead(25506).role == "trap"
    assert enterprise_lead(61878).role == "trap"
    assert enterprise_lead(34774).role == "review"
    assert enterprise_lead(2011).maker == "huawei"
    assert enterprise_lead(3902).maker == "zte"
    assert enterprise_lead(40297).maker == "hytera"


def test_refresh_reads_wireshark_and_iana_formats(tmp_path: Path):
    wireshark = tmp_path / "enterprises.tsv"
    wireshark.write_text(
        "# (last updated 2024-08-23)\n\n0\tReserved\n2011\tHUAWEI Technology Co.,Ltd\n"
        "30065\tArista Networks, Inc.\t# formerly 'Arastra, Inc.'\n",
        encoding="utf-8",
    )
    iana = tmp_path / "enterprise-numbers.txt"
    iana.write_text(
        "PRIVATE ENTERPRISE NUMBERS\n\n2011\n  HUAWEI Technology Co.,Ltd\n    Someone\n"
        "      someone&example.com\n70000\n  Example Newer Org\n    A Person\n      a&b.c\n",
        encoding="utf-8",
    )
    table, sources = build_pen_registry(wireshark, iana)
    assert table[30065] == "Arista Networks, Inc."  # the trailing note is not the name
    assert table[70000] == "Example Newer Org"  # the IANA export is read first
    assert any("2024-08-23" in s for s in sources)
    text = render_pen_registry(table, sources, "2026-12-02T00:00:00Z")
    assert "# generated: 2026-12-02T00:00:00Z" in text
    assert "\n2011\tHUAWEI Technology Co.,Ltd\n" in text


def test_refresh_without_a_source_is_a_clear_error(tmp_path: Path):
    with pytest.raises(FileNotFoundError, match="libwireshark-data"):
        build_pen_registry(tmp_path / "missing.tsv", None)


# ------------------------------------------------------------------------------ identify()


def test_empty_sysdescr_with_huawei_sysobjectid_is_covered(db):
    [device] = identify(
        [obs("snmp.sysdescr", ""), obs("snmp.sysobjectid", ".1.3.6.1.4.1.2011.2.91")], db
    )
    assert device.maker == "huawei"
    assert device.coverage.status is CoverageStatus.COVERED
    assert [e.rule_id for e in device.evidence] == ["pen.2011"]
    assert "IANA PEN registry" in device.evidence[0].source


def test_enterprise_field_alone_identifies_zte(db):
    [device] = identify(
        [obs("snmp.sysdescr", "ISM SNMP Agent"), obs("snmp.enterprise", "3902")], db
    )
    assert device.maker == "zte"
    assert device.coverage.status is CoverageStatus.COVERED


def test_number_and_sysdescr_of_one_reply_count_once(db):
    [device] = identify(
        [
            obs(
                "snmp.sysdescr",
                "C320 Version V2.1.0 Software, Copyright (c) by ZTE Corporation Compiled",
            ),
            obs("snmp.sysobjectid", "1.3.6.1.4.1.3902.1082.1001.320.2.1"),
            obs("snmp.enterprise", "3902"),
        ],
        db,
    )
    assert device.maker == "zte"
    assert device.confidence == pytest.approx(0.9)  # one source: its strongest clue


def test_misattributed_enterprise_needs_a_vendor_string(db):
    """Hikvision NVRs answer under 50001, which IANA registered to Scildon."""
    [alone] = identify([obs("snmp.sysobjectid", "1.3.6.1.4.1.50001")], db)
    assert alone.maker == "hikvision"
    assert alone.coverage.status is CoverageStatus.UNDETERMINED
    assert alone.level.value == "lead"
    assert any("50001 (Scildon)" in note for note in alone.notes)

    [confirmed] = identify(
        [
            obs("snmp.sysobjectid", "1.3.6.1.4.1.50001"),
            obs("snmp.sysdescr", "Hikvision company products"),
        ],
        db,
    )
    assert confirmed.maker == "hikvision"
    assert confirmed.coverage.status is CoverageStatus.COVERED


def test_h3c_enterprise_is_not_huawei(db):
    [device] = identify(
        [
            obs(
                "snmp.sysdescr",
                "HP Comware Platform Software, Software Version 7.1.045, Release 2416 HP FF "
                "5700-40XG-2QSFP  Switch Copyright (c) 2010-2014 Hewlett-Packard Development "
                "Company, L.P.",
            ),
            obs("snmp.sysobjectid", "1.3.6.1.4.1.25506.11.1.172"),
        ],
        db,
    )
    assert device.maker is None
    assert device.coverage.status is not CoverageStatus.COVERED
    assert any("H3C" in note for note in device.notes)


@pytest.mark.parametrize(
    ("banner", "maker"),
    [
        ("SSH-2.0-HUAWEI-VRP", "huawei"),
        ("SSH-2.0-HUAWEI-1.5", "huawei"),
        ("SSH-2.0-ZTE_SSH.1.0", "zte"),
    ],
)
def test_ssh_banner_alone_identifies(db, banner, maker):
    [device] = identify([obs("ssh.banner", banner, port=22)], db)
    assert device.maker == maker
    assert device.coverage.status is CoverageStatus.COVERED


def test_anonymous_ssh_version_alone_is_only_a_lead(db):
    [device] = identify([obs("ssh.banner", "SSH-2.0--", port=22)], db)
    assert device.maker == "huawei"
    assert device.coverage.status is CoverageStatus.UNDETERMINED


def test_dahua_cgi_body_identifies_dahua(db):
    body = (
        "/cgi-bin/magicBox.cgi?action=getSystemInfo: deviceType=31\r\nprocessor=ST7108\r\n"
        "serialNumber=ND0219110NNNNN\r\nupdateSerial=DHI-NVR4108HS-8P-4KS2\r\n"
    )
    [device] = identify([obs("http.body", body, port=80)], db)
    assert device.maker == "dahua"
    assert device.coverage.status is CoverageStatus.COVERED
    assert device.model == "DHI-NVR4108HS-8P-4KS2"


def test_axis_vapix_body_is_not_dahua(db):
    body = (
        "/axis-cgi/param.cgi?action=list&group=Brand: root.Brand.Brand=AXIS\n"
        "root.Brand.ProdNbr=M1065-LW\n"
    )
    devices = identify([obs("http.body", body, port=80)], db)
    assert all(d.coverage.status is not CoverageStatus.COVERED for d in devices)


def test_vendor_subtree_model_identifies_a_camera(db):
    [device] = identify([obs("snmp.vendor_value", "DS-2CD2185FWD-I")], db)
    assert device.maker == "hikvision"
    assert device.coverage.status is CoverageStatus.COVERED
