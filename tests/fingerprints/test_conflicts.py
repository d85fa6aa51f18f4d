"""Conflicting makers are handled symmetrically (issue 13, item 5)."""

from ipaddress import IPv4Address

import pytest

from fingerprints import CoverageStatus, identify, load_database
from fingerprints.identity import Evidence
from fingerprints.verdict import identify_device
from reports.exporters.view import top_evidence
from reports.inventory import InventoryRecord, Priority
from scanner.results import Observation

AXIS_SNMP = "; AXIS P5534-E; PTZ Dome Network Camera; 5.40.9.2; x;"  # axis.snmp.sysdescr 0.9


@pytest.fixture(scope="module")
def db():
    return load_database()


def obs(key, value, port):
    protocol, field = key.split(".")
    return Observation(
        host=IPv4Address("198.18.4.1"), protocol=protocol, field=field, value=value, port=port
    )


def _evidence(maker, certainty, origin):
    return Evidence(
        rule_id=f"{maker}.test.clue",
        field="http.server_header",
        matched=maker,
        asserts={"maker": maker},
        certainty=certainty,
        source="test",
        origin=origin,
    )


def _verdict(db, first, second):
    rows = [obs("http.title", "a", 80), obs("rtsp.public", "b", 554)]
    return identify_device(
        "198.18.4.1",
        rows,
        db,
        [[_evidence(*first, "http@198.18.4.1:80")], [_evidence(*second, "rtsp@198.18.4.1:554")]],
    )


@pytest.mark.parametrize(
    ("axis", "hikvision"), [(0.85, 0.8), (0.8, 0.85), (0.7, 0.95), (0.95, 0.7)]
)
def test_either_order_gives_the_same_status_and_priority(db, axis, hikvision):
    one = _verdict(db, ("axis", axis), ("hikvision", hikvision))
    other = _verdict(db, ("hikvision", hikvision), ("axis", axis))
    for device in (one, other):
        assert device.coverage.status is CoverageStatus.UNDETERMINED
        assert device.coverage.entity == "Hangzhou Hikvision Digital Technology Company"
        assert InventoryRecord.from_identity(device).priority is Priority.MEDIUM
        assert device.conflicts
    assert one.maker == other.maker == ("axis" if axis > hikvision else "hikvision")


def test_both_makers_evidence_is_shown_in_the_exports(db):
    sadp = (
        "<ProbeMatch><DeviceSN>DS-2CD2385G1-I20200414AAWRE33842150</DeviceSN>"
        "<MAC>58-50-ed-1f-e3-85</MAC><DeviceDescription>DS-2CD2385G1-I</DeviceDescription>"
        "<SoftwareVersion>V5.6.2build 190701</SoftwareVersion></ProbeMatch>"
    )
    [device] = identify([obs("sadp.raw", sadp, 37020), obs("snmp.sysdescr", AXIS_SNMP, 161)], db)
    assert device.coverage.status is CoverageStatus.UNDETERMINED
    shown = top_evidence(InventoryRecord.from_identity(device))
    assert {e.asserts.get("maker") for e in shown} >= {"axis", "hikvision"}


def test_a_lead_for_a_covered_maker_does_not_contest_a_decided_one(db):
    [device] = identify(
        [obs("snmp.sysdescr", AXIS_SNMP, 161), obs("http.server_header", "Webs", 80)], db
    )
    assert (device.maker, device.coverage.status) == ("axis", CoverageStatus.NOT_COVERED)
