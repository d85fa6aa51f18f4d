"""The verdict engine on recorded observations (no network)."""

from ipaddress import IPv4Address

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fingerprints import CoverageStatus, identify, load_database
from fingerprints.oui import lookup_registrant, oui_lead
from scanner.results import Observation


@pytest.fixture(scope="module")
def db():
    return load_database()


def obs(host, key, value):
    protocol, field = key.split(".")
    return Observation(host=IPv4Address(host), protocol=protocol, field=field, value=value)


def test_hikvision_banner_plus_oui_is_covered(db):
    [device] = identify(
        [
            obs("198.18.0.10", "mac.mac", "44:19:b6:4e:1a:20"),
            obs("198.18.0.10", "http.server_header", "App-webs/"),
        ],
        db,
    )
    assert device.maker == "hikvision"
    assert device.coverage.status is CoverageStatus.COVERED
    assert any("889(f)(3)(B)" in basis for basis in device.coverage.basis)
    assert {e.rule_id for e in device.evidence} == {"hikvision.http.server-app-webs", "oui.4419b6"}
    assert device.confidence == pytest.approx(1 - 0.1 * 0.7)


def test_mac_prefix_alone_is_a_lead_not_a_verdict(db):
    [device] = identify([obs("198.18.0.10", "mac.mac", "44:19:b6:4e:1a:20")], db)
    assert device.maker == "hikvision"
    assert device.coverage.status is CoverageStatus.UNDETERMINED
    assert device.level.value == "lead"
    assert "lead only" in (device.coverage.note or "")


def test_axis_is_not_covered(db):
    [device] = identify(
        [
            obs(
                "198.18.0.11",
                "http.www_authenticate",
                'Digest realm="AXIS_ACCC8E3A0A8F", nonce="x", qop="auth"',
            )
        ],
        db,
    )
    assert device.maker == "axis"
    assert device.coverage.status is CoverageStatus.NOT_COVERED


def test_generic_webs_is_a_lead_not_a_verdict(db):
    [device] = identify([obs("198.18.0.12", "http.server_header", "Webs")], db)
    assert device.maker == "hikvision"
    assert device.coverage.status is CoverageStatus.UNDETERMINED
    assert device.level.value == "lead"


def test_goahead_is_not_evidence(db):
    [device] = identify([obs("198.18.0.12", "http.server_header", "GoAhead-Webs")], db)
    assert device.maker is None
    assert device.coverage.status is CoverageStatus.UNDETERMINED


def test_leads_never_add_up_to_a_verdict(db):
    [device] = identify(
        [
            obs("198.18.0.12", "mac.mac", "44:19:b6:4e:1a:20"),
            obs("198.18.0.12", "http.server_header", "Webs"),
            obs(
                "198.18.0.12",
                "rtsp.public",
                "OPTIONS, DESCRIBE, PLAY, PAUSE, SETUP, TEARDOWN, SET_PARAMETER, GET_PARAMETER",
            ),
            obs("198.18.0.12", "onvif.scopes", "onvif://www.onvif.org/location/city/hangzhou"),
        ],
        db,
    )
    assert device.maker == "hikvision"
    assert device.confidence >= 0.6
    assert device.coverage.status is CoverageStatus.UNDETERMINED


def test_dahua_serial_is_captured_from_the_realm(db):
    [device] = identify(
        [
            obs(
                "198.18.0.13",
                "http.www_authenticate",
                'Digest realm="Login to 4H01D66PAJ2FA64", qop="auth", nonce="1"',
            )
        ],
        db,
    )
    assert (device.maker, device.serial) == ("dahua", "4H01D66PAJ2FA64")


def test_https_observations_use_the_http_rules(db):
    [device] = identify([obs("198.18.0.14", "https.server_header", "App-webs/")], db)
    assert device.maker == "hikvision"


def test_conflicting_evidence_is_reported(db):
    [device] = identify(
        [
            obs("198.18.0.15", "mac.mac", "ac:cc:8e:00:00:01"),
            obs("198.18.0.15", "http.server_header", "App-webs/"),
        ],
        db,
    )
    assert device.maker == "hikvision"
    assert device.conflicts
    assert "axis" in device.conflicts[0]


def test_devices_are_sorted_by_address(db):
    devices = identify(
        [
            obs("198.18.0.100", "http.server_header", "x"),
            obs("198.18.0.9", "http.server_header", "y"),
        ],
        db,
    )
    assert [d.device_key for d in devices] == ["198.18.0.9", "198.18.0.100"]


@pytest.mark.parametrize(
    ("mac", "maker", "brand"),
    [
        ("44:19:b6:00:00:01", "hikvision", None),
        ("3c:ef:8c:00:00:01", "dahua", None),
        ("00:40:8c:00:00:01", "axis", None),
        ("00:1f:54:00:00:01", None, "Lorex"),
    ],
)
def test_oui_leads(mac, maker, brand):
    lead = oui_lead(mac)
    assert lead is not None
    assert (lead.maker, lead.brand) == (maker, brand)


def test_randomised_mac_has_no_registrant():
    assert lookup_registrant("02:00:00:00:00:01") is None
    assert lookup_registrant("not a mac") is None


@settings(max_examples=200, deadline=1000)
@given(
    st.sampled_from(
        [
            "http.server_header",
            "http.www_authenticate",
            "http.title",
            "rtsp.server_header",
            "mac.mac",
        ]
    ),
    st.text(max_size=4096),
)
def test_no_rule_raises_on_arbitrary_values(key, value):
    protocol, field = key.split(".")
    identify(
        [Observation(host=IPv4Address("198.18.0.1"), protocol=protocol, field=field, value=value)],
        load_database(),
    )


def test_remembered_matches_give_the_same_evidence_at_every_origin():
    from fingerprints import load_database as fresh

    db = fresh()
    first = db.evidence_for("http.server_header", "App-webs/", 80, "http_banner@198.18.0.5:80")
    again = db.evidence_for("http.server_header", "App-webs/", 8080, "http_banner@198.18.0.6:8080")
    assert first, "the Hikvision App-webs rule should match"
    assert [e.rule_id for e in first] == [e.rule_id for e in again]
    assert {e.port for e in again} == {8080}
    assert {e.origin for e in again} == {"http_banner@198.18.0.6:8080"}
    db.forget_matches()
    assert db.evidence_for("https.server_header", "App-webs/", 443) == [
        e.model_copy(
            update={"field": "https.server_header", "port": 443, "origin": "https.server_header"}
        )
        for e in first
    ]
