"""Grouping observations into devices (issue 13, item 4): gateway MACs, cloned serials."""

from ipaddress import IPv4Address

import pytest

from fingerprints import CoverageStatus, identify, load_database
from fingerprints.grouping import device_node, group_devices
from scanner.results import Observation

ROUTER_MAC = "00:e0:fc:12:34:56"  # a Huawei block: the router in front of the cameras


@pytest.fixture(scope="module")
def db():
    return load_database()


def obs(host, key, value, *, mac=None, port=None):
    protocol, field = key.split(".")
    return Observation(
        host=IPv4Address(host), protocol=protocol, field=field, value=value, mac=mac, port=port
    )


def test_the_grouping_node_of_an_observation_is_its_address():
    assert device_node(obs("198.18.3.1", "http.title", "x")) == "host:198.18.3.1"


def test_five_hosts_behind_one_mac_are_five_devices(db):
    hosts = [f"198.18.3.{i}" for i in range(1, 6)]
    rows = [obs(host, "mac.mac", ROUTER_MAC) for host in hosts]
    rows += [
        obs(hosts[0], "http.server_header", "App-webs/", mac=ROUTER_MAC, port=80),
        obs(hosts[1], "snmp.sysdescr", "; AXIS P5534-E; PTZ Dome Network Camera; 5.40.9.2; x;"),
        obs(hosts[2], "http.title", "Some printer", mac=ROUTER_MAC, port=80),
    ]
    devices = identify(rows, db)
    assert [d.device_key for d in devices] == hosts
    by_key = {d.device_key: d for d in devices}
    hik = by_key[hosts[0]]
    assert (hik.maker, hik.coverage.status) == ("hikvision", CoverageStatus.COVERED)
    for device in devices:
        assert device.gateway_mac == ROUTER_MAC
        assert device.mac is None
        assert ROUTER_MAC not in device.macs
        assert not any(e.rule_id.startswith("oui.") for e in device.evidence)
        assert any("answers for several addresses" in note for note in device.notes)
    for host in hosts[1:]:
        assert by_key[host].coverage.status is not CoverageStatus.COVERED
        assert by_key[host].maker != "huawei"
    assert by_key[hosts[1]].maker == "axis"


def test_an_unshared_mac_is_still_the_device_mac_and_a_lead(db):
    [device] = identify([obs("198.18.3.9", "mac.mac", ROUTER_MAC)], db)
    assert device.mac == ROUTER_MAC
    assert device.gateway_mac is None
    assert device.maker == "huawei"
    assert device.level.value == "lead"


def test_two_macs_with_one_serial_are_two_devices(db):
    serial = "DS-2CD2385G1-I20200414AAWRE33842150"
    rows = [
        obs("198.18.3.20", "mac.mac", "58:50:ed:00:00:01"),
        obs("198.18.3.20", "onvif.serial", serial, port=80),
        obs("198.18.3.20", "onvif.manufacturer", "HIKVISION", port=80),
        obs("198.18.3.21", "mac.mac", "58:50:ed:00:00:02"),
        obs("198.18.3.21", "onvif.serial", serial, port=80),
        obs("198.18.3.21", "onvif.manufacturer", "HIKVISION", port=80),
    ]
    devices = identify(rows, db)
    assert [d.mac for d in devices] == ["58:50:ed:00:00:01", "58:50:ed:00:00:02"]
    for device in devices:
        assert device.coverage.status is CoverageStatus.COVERED
        assert any(
            f"serial {serial}" in note and "separate devices" in note for note in device.notes
        )


def test_a_serial_still_joins_addresses_when_the_macs_agree(db):
    serial = "DS-2CD2385G1-I20200414AAWRE33842150"
    rows = [
        obs("198.18.3.30", "mac.mac", "58:50:ed:00:00:03"),
        obs("198.18.3.30", "sadp.serial", serial, port=37020),
        obs("198.18.3.31", "onvif.serial", serial, port=80),
    ]
    [device] = identify(rows, db)
    assert device.addresses == ("198.18.3.30", "198.18.3.31")
    assert not any("separate devices" in note for note in device.notes)


def test_a_payload_mac_does_not_join_a_gateway_mac(db):
    rows = [
        obs("198.18.3.40", "mac.mac", ROUTER_MAC),
        obs("198.18.3.41", "mac.mac", ROUTER_MAC),
        obs("198.18.3.42", "dhip.mac", ROUTER_MAC, port=37810),
    ]
    assert len(identify(rows, db)) == 3


def test_group_devices_reports_gateway_macs_per_group(db):
    rows = [obs(f"198.18.3.{i}", "mac.mac", ROUTER_MAC) for i in (50, 51)]
    groups = group_devices(rows, [[], []])
    assert [g.gateway_macs for g in groups] == [(ROUTER_MAC,), (ROUTER_MAC,)]


def test_cloned_identities_note_only_the_devices_that_carry_them(db):
    # Grouping indexes refused joins by node (linear): each device still gets exactly the notes
    # for the identities it reports, in key order, and a device with none gets none.
    first, second = "DS-2CD2385G1-I20200414AAWRE33842150", "DS-2CD2385G1-I20200414AAWRE33842151"
    rows = [obs("198.18.3.40", "mac.mac", "58:50:ed:00:01:40")]
    for index in range(6):
        host = f"198.18.3.{index + 1}"
        rows.append(obs(host, "mac.mac", f"58:50:ed:00:01:{index:02x}"))
        rows.append(obs(host, "onvif.serial", first if index < 3 else second, port=80))
        if index == 2:
            rows.append(obs(host, "onvif.serial", second, port=80))
    devices = {d.device_key: d for d in identify(rows, db)}
    assert len(devices) == 7
    notes = {key: [n for n in d.notes if "separate devices" in n] for key, d in devices.items()}
    assert notes["198.18.3.40"] == []
    assert [first in n for n in notes["198.18.3.1"]] == [True]
    assert len(notes["198.18.3.3"]) == 2
    assert [second in n for n in notes["198.18.3.6"]] == [True]
