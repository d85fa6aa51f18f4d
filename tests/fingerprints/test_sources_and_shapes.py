"""Independent sources and shape-only clues (issue 13, items 1 and 2).

One reply is one source: its clues count once, as the strongest. A shape (a firmware, serial or
model grammar; a generic banner) never decides alone.
"""

import json
import random
import string
import subprocess
import sys
from ipaddress import IPv4Address

import pytest

from fingerprints import CoverageStatus, identify, load_database
from fingerprints.scoring import noisy_or
from scanner.results import Observation

SADP = (
    "<ProbeMatch>\r\n<Types>inquiry</Types>\r\n<DeviceType>138153</DeviceType>\r\n"
    "<DeviceDescription>DS-2CD2385G1-I</DeviceDescription>\r\n"
    "<DeviceSN>DS-2CD2385G1-I20200414AAWRE33842150</DeviceSN>\r\n"
    "<CommandPort>8000</CommandPort>\r\n<HttpPort>80</HttpPort>\r\n"
    "<MAC>58-50-ed-1f-e3-85</MAC>\r\n<IPv4Address>198.18.0.20</IPv4Address>\r\n"
    "<SoftwareVersion>V5.6.2build 190701</SoftwareVersion>\r\n"
    "<DetailOEMCode>1</DetailOEMCode>\r\n</ProbeMatch>"
)


@pytest.fixture(scope="module")
def db():
    return load_database()


def obs(host, key, value, port=None):
    protocol, field = key.split(".")
    return Observation(
        host=IPv4Address(host), protocol=protocol, field=field, value=value, port=port
    )


def test_one_sadp_reply_is_one_source_not_fourteen(db):
    rows = [
        obs("198.18.0.20", "sadp.raw", SADP, 37020),
        obs("198.18.0.20", "sadp.model", "DS-2CD2385G1-I", 37020),
        obs("198.18.0.20", "sadp.serial", "DS-2CD2385G1-I20200414AAWRE33842150", 37020),
        obs("198.18.0.20", "sadp.firmware", "V5.6.2build 190701", 37020),
        obs("198.18.0.20", "sadp.device_type", "138153", 37020),
    ]
    [device] = identify(rows, db)
    hik = [
        e
        for e in device.evidence
        if e.asserts.get("maker") == "hikvision" and e.rule_id.startswith("hikvision.sadp")
    ]
    assert len(hik) >= 8  # many rules matched ...
    assert {e.origin for e in hik} == {"sadp@198.18.0.20:37020"}
    # ... but the reply counts once (0.95); the MAC prefix it reports is a second source.
    assert {e.origin for e in device.evidence} == {"sadp@198.18.0.20:37020", "oui:5850ED"}
    assert device.confidence == round(noisy_or([0.95, 0.3]), 3)
    assert device.coverage.status is CoverageStatus.COVERED


def test_independent_replies_combine(db):
    rows = [
        obs("198.18.0.21", "sadp.model", "DS-2CD2385G1-I", 37020),
        obs("198.18.0.21", "http.server_header", "App-webs/", 80),
    ]
    [device] = identify(rows, db)
    assert device.confidence == round(noisy_or([0.95, 0.9]), 3)


def test_the_same_rule_through_two_probes_counts_once(db):
    scope = "onvif://www.onvif.org/extension/unique_identifier"
    rows = [
        obs("198.18.0.22", "wsdiscovery.scopes", scope, 3702),
        obs("198.18.0.22", "onvif.scopes", scope, 80),
    ]
    [device] = identify(rows, db)
    assert device.confidence == 0.65
    assert device.coverage.status is CoverageStatus.UNDETERMINED


@pytest.mark.parametrize("firmware", ["1.101.2", "2.100.1", "3.100.0", "4.000.12"])
def test_a_bare_firmware_shape_is_not_covered(db, firmware):
    [device] = identify([obs("198.18.0.30", "onvif.firmware", firmware, 80)], db)
    assert device.coverage.status is not CoverageStatus.COVERED
    assert device.level.value == "lead"


def _random_serial(rng, letters):
    chars = string.ascii_uppercase + string.digits
    serial = [rng.choice(chars) for _ in range(15)]
    serial[7], serial[8] = letters  # Dahua's grammar: [0-9A-Z]{7}[PZ]A[0-9A-Z]{6}
    return "".join(serial)


def test_random_serials_with_pa_are_not_covered(db):
    rng = random.Random(13)
    serials = [_random_serial(rng, "PA") for _ in range(20)] + [_random_serial(rng, "ZA")]
    for serial in serials:
        [device] = identify([obs("198.18.0.31", "onvif.serial", serial, 80)], db)
        assert device.coverage.status is not CoverageStatus.COVERED, serial


def test_shapes_in_one_reply_do_not_add_up(db):
    rows = [
        obs("198.18.0.32", "onvif.firmware", "2.800.0000000.13.R", 80),
        obs("198.18.0.32", "onvif.serial", "1F006E4PAX00075", 80),
    ]
    [device] = identify(rows, db)
    assert device.maker == "dahua"
    assert device.coverage.status is CoverageStatus.UNDETERMINED


def test_two_independent_shapes_that_agree_decide(db):
    rows = [
        obs("198.18.0.33", "http.www_authenticate", 'Digest realm="Login to 1F006E4PAX00075"', 80),
        obs("198.18.0.33", "onvif.firmware", "2.800.0000000.13.R", 80),
    ]
    [device] = identify(rows, db)
    assert device.maker == "dahua"
    assert device.coverage.status is CoverageStatus.COVERED
    assert {e.clue for e in device.evidence if e.asserts.get("maker") == "dahua"} == {"shape"}


def test_one_identifying_clue_decides(db):
    [device] = identify([obs("198.18.0.34", "rtsp.server_header", "Dahua Rtsp Server", 554)], db)
    assert device.coverage.status is CoverageStatus.COVERED


def test_cli_answers_no_covered_verdict_on_shapes():
    """The issue's own reproduction, through ``ndaa-scan identify``."""
    lines = [
        {"host": f"198.18.0.{40 + i}", "protocol": "onvif", "field": "firmware", "value": v}
        for i, v in enumerate(["1.101.2", "2.100.1", "3.100.0", "4.000.12"])
    ]
    lines.append(
        {"host": "198.18.0.50", "protocol": "onvif", "field": "serial", "value": "Q7X2M9KPA3B8Z1C"}
    )
    proc = subprocess.run(
        [sys.executable, "-m", "scanner", "identify", "-"],
        input="\n".join(map(json.dumps, lines)).encode(),
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(x) for x in proc.stdout.decode().splitlines()]
    assert len(rows) == 5
    assert all(row["covered"] is not True for row in rows), rows
