"""Grouping observations into devices, OEM brands, conflicts and notes."""

from ipaddress import IPv4Address

import pytest

from fingerprints import CoverageStatus, identify, load_database
from scanner.results import Observation

SADP = (
    "<ProbeMatch>\r\n<DeviceDescription>DS-2CD2385G1-I</DeviceDescription>\r\n"
    "<DeviceSN>DS-2CD2385G1-I20200414AAWRE33842150</DeviceSN>\r\n"
    "<MAC>58-50-ed-1f-e3-85</MAC>\r\n<SoftwareVersion>V5.6.2build 190701</SoftwareVersion>\r\n"
    "<DetailOEMCode>{code}</DetailOEMCode>\r\n</ProbeMatch>"
)


@pytest.fixture(scope="module")
def db():
    return load_database()


def obs(host, key, value, **extra):
    protocol, field = key.split(".")
    return Observation(host=IPv4Address(host), protocol=protocol, field=field, value=value, **extra)


def test_serial_seen_on_two_addresses_is_one_device(db):
    devices = identify(
        [
            obs("198.18.0.20", "sadp.raw", SADP.format(code=1)),
            obs("198.18.0.21", "onvif.serial", "DS-2CD2385G1-I20200414AAWRE33842150"),
            obs("198.18.0.21", "onvif.manufacturer", "HIKVISION"),
        ],
        db,
    )
    assert len(devices) == 1
    [device] = devices
    assert device.addresses == ("198.18.0.20", "198.18.0.21")
    assert device.maker == "hikvision"
    assert device.serial == "DS-2CD2385G1-I20200414AAWRE33842150"
    assert device.model == "DS-2CD2385G1-I"
    assert device.firmware == "V5.6.2build 190701"
    assert device.coverage.status is CoverageStatus.COVERED


def test_mac_inside_a_discovery_payload_ties_to_the_arp_address(db):
    devices = identify(
        [
            obs("198.18.0.30", "mac.mac", "4c:11:bf:c2:0b:9d"),
            obs(
                "198.18.0.31",
                "dhip.raw",
                '{ "mac" : "4c:11:bf:c2:0b:9d", "method" : "client.notifyDevInfo", "params" : {} }',
            ),
        ],
        db,
    )
    assert [d.addresses for d in devices] == [("198.18.0.30", "198.18.0.31")]
    assert devices[0].mac == "4c:11:bf:c2:0b:9d"


def test_a_gateway_mac_on_many_addresses_does_not_merge_them(db):
    rows = [obs(f"198.18.1.{i}", "mac.mac", "00:40:8c:00:00:01") for i in range(1, 20)]
    assert len(identify(rows, db)) == 19


def test_different_devices_stay_apart(db):
    devices = identify(
        [
            obs("198.18.0.40", "http.server_header", "App-webs/"),
            obs("198.18.0.41", "rtsp.server_header", "Dahua Rtsp Server"),
        ],
        db,
    )
    assert [(d.device_key, d.maker) for d in devices] == [
        ("198.18.0.40", "hikvision"),
        ("198.18.0.41", "dahua"),
    ]


def test_oem_build_is_noted(db):
    [device] = identify([obs("198.18.0.50", "sadp.raw", SADP.format(code=10101))], db)
    assert device.oem_code == "10101"
    assert any("OEM customer build" in note for note in device.notes)


def test_dhip_vendor_names_the_oem_brand(db):
    [device] = identify(
        [
            obs("198.18.0.51", "dhip.vendor", "Lorex"),
            obs("198.18.0.51", "dhip.serial", "6J0E022PAG35073"),
        ],
        db,
    )
    assert (device.maker, device.brand) == ("dahua", "Lorex")
    assert device.coverage.status is CoverageStatus.COVERED
    assert any(e.rule_id.startswith("oem-brand.lorex") for e in device.evidence)


def test_brand_alone_is_a_lead_for_its_known_maker(db):
    [device] = identify([obs("198.18.0.52", "mac.mac", "00:1f:54:00:00:01")], db)
    assert device.brand == "Lorex"
    assert device.maker == "dahua"
    assert device.coverage.status is CoverageStatus.UNDETERMINED


def test_strong_conflicting_evidence_is_undetermined_and_reported(db):
    [device] = identify(
        [
            obs("198.18.0.60", "sadp.model", "DS-2CD2385G1-I"),
            obs(
                "198.18.0.60",
                "snmp.sysdescr",
                "; AXIS P5534-E; PTZ Dome Network Camera; 5.40.9.2; x;",
            ),
        ],
        db,
    )
    assert device.coverage.status is CoverageStatus.UNDETERMINED
    assert "conflicting evidence" in (device.coverage.note or "")
    assert device.conflicts


def test_traps_are_explained_not_accused(db):
    [scale] = identify([obs("198.18.0.70", "mac.mac", "40:2c:76:10:00:01")], db)
    assert scale.maker is None
    assert any("weighing-scale" in note for note in scale.notes)
    [honor] = identify([obs("198.18.0.71", "mac.mac", "04:79:75:00:00:01")], db)
    assert honor.maker is None
    assert any("legal review" in note for note in honor.notes)


def test_hisilicon_white_label_is_flagged_for_review_not_covered(db):
    [device] = identify([obs("198.18.0.72", "http.server_header", "Cross Web Server")], db)
    assert device.maker == "hisilicon-generic"
    assert device.coverage.status is CoverageStatus.UNDETERMINED
    assert "component" in (device.coverage.note or "")


def test_purpose_limited_entities_say_so(db):
    [device] = identify([obs("198.18.0.73", "rtsp.server_header", "Dahua Rtsp Server")], db)
    assert "889(f)(3)(B)" in (device.coverage.note or "")
    [zte] = identify([obs("198.18.0.74", "ssh.banner", "SSH-2.0-ZTE_SSH.2.0")], db)
    assert zte.coverage.status is CoverageStatus.COVERED
    assert any("889(f)(3)(A)" in basis for basis in zte.coverage.basis)


def test_hikvision_endpoint_uuid_carries_the_mac(db):
    [device] = identify(
        [
            obs(
                "198.18.0.75",
                "wsdiscovery.endpoint_uuid",
                "urn:uuid:aa85c000-6324-11b3-819e-5850ed1fe385",
            )
        ],
        db,
    )
    assert device.mac == "58:50:ed:1f:e3:85"
    assert device.maker == "hikvision"
    assert device.level.value == "lead"


def test_hytera_is_a_lead_only(db):
    [device] = identify([obs("198.18.0.76", "mac.mac", "9c:06:6e:00:00:01")], db)
    assert device.maker == "hytera"
    assert device.coverage.status is CoverageStatus.UNDETERMINED


def test_a_server_that_401s_every_vendor_path_says_nothing(db):
    rows = [
        obs("198.18.0.80", "http.vendor_path", f"{path} 401", port=80)
        for path in (
            "/ISAPI/System/deviceInfo",
            "/doc/page/login.asp",
            "/cgi-bin/magicBox.cgi?action=getSystemInfo",
        )
    ]
    [device] = identify(rows, db)
    assert device.maker is None
    assert not device.conflicts
    assert any("every vendor path" in note for note in device.notes)


def test_vendor_paths_that_differ_are_evidence(db):
    rows = [
        obs("198.18.0.81", "http.vendor_path", "/ISAPI/System/deviceInfo 401", port=80),
        obs("198.18.0.81", "http.vendor_path", "/doc/page/login.asp 200", port=80),
        obs(
            "198.18.0.81",
            "http.vendor_path",
            "/cgi-bin/magicBox.cgi?action=getSystemInfo 404",
            port=80,
        ),
    ]
    [device] = identify(rows, db)
    assert device.maker == "hikvision"
    assert device.coverage.status is CoverageStatus.UNDETERMINED  # paths alone stay below 0.6


def test_the_login_page_body_itself_is_not_a_redirect_to_it(db):
    [device] = identify(
        [obs("198.18.0.82", "http.body", "/doc/page/login.asp: <html>soft 404</html>")], db
    )
    assert device.maker is None


def test_evidence_excerpts_are_one_printable_line(db):
    [device] = identify(
        [
            obs(
                "198.18.0.83",
                "telnet.banner",
                "\r\nWelcome Visiting Huawei Home Gateway\r\n\x1b[31mLogin:",
            )
        ],
        db,
    )
    assert device.evidence  # several rules may read the banner; every excerpt is one line
    for item in device.evidence:
        assert "\n" not in item.matched
        assert "\x1b" not in item.matched
        assert item.matched.startswith("\\r\\nWelcome")
