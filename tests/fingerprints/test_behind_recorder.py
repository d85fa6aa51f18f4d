"""Cameras a recorder lists become devices of their own, behind the recorder, judged by the
same rules; identity that needed a login says so."""

from ipaddress import IPv4Address

from fingerprints import identify, load_database
from scanner.results import Observation

DB = load_database()
NVR = IPv4Address("198.18.0.190")


def obs(key, value, *, host=NVR, channel=None, mac=None, authenticated=False):
    protocol, field = key.split(".", 1)
    return Observation(
        host=host,
        protocol=protocol,
        field=field,
        value=value,
        mac=mac,
        behind=None if channel is None else str(host),
        channel=channel,
        authenticated=authenticated,
    )


def recorder_and_cameras():
    return [
        obs("mac.mac", "44:19:b6:4e:01:90"),
        obs("isapi.namespace", "http://www.hikvision.com/ver20/XMLSchema", authenticated=True),
        obs("isapi.model", "DS-7608NXI-I2/8P", authenticated=True),
        obs("channel.model", "DS-2CD2143G2-I", channel=1, authenticated=True),
        obs("channel.isapi_protocol", "HIKVISION", channel=1, authenticated=True),
        obs("channel.address", "192.168.254.2", channel=1, authenticated=True),
        obs("channel.serial", "DS-2CD2143G2-I20220315AAWRK10023456", channel=1),
        obs("channel.model", "XNO-6080R", channel=2),
        obs("channel.mac", "00:09:18:6c:11:10", channel=2),
        obs("channel.address", "192.168.254.3", channel=2),
        obs("channel.model", "MYSTERY-1", channel=3),
    ]


def test_each_channel_is_its_own_device_keyed_behind_its_recorder():
    devices = {d.device_key: d for d in identify(recorder_and_cameras(), DB)}
    assert set(devices) == {
        "198.18.0.190",
        "198.18.0.190/ch1",
        "198.18.0.190/ch2",
        "198.18.0.190/ch3",
    }
    recorder = devices["198.18.0.190"]
    assert recorder.behind is None
    assert recorder.model == "DS-7608NXI-I2/8P"
    assert recorder.identity_with_credentials
    first = devices["198.18.0.190/ch1"]
    assert (first.behind, first.channel, first.addresses) == ("198.18.0.190", 1, ("192.168.254.2",))
    assert (first.maker, first.coverage.status) == ("hikvision", "covered")
    assert first.serial == "DS-2CD2143G2-I20220315AAWRK10023456"
    assert first.identity_with_credentials
    second = devices["198.18.0.190/ch2"]
    # A model grammar and a MAC prefix, both from the recorder's report: a shape and a lead from
    # one source, which never decide a verdict alone (fingerprints.scoring).
    assert (second.maker, second.coverage.status, second.mac) == (
        "hanwha",
        "undetermined",
        "00:09:18:6c:11:10",
    )
    assert not second.identity_with_credentials
    # A model no rule reads is still what the recorder says sits on that channel.
    third = devices["198.18.0.190/ch3"]
    assert (third.model, third.maker, third.addresses) == ("MYSTERY-1", None, ())


def test_two_recorders_with_the_same_internal_addresses_stay_apart():
    other = IPv4Address("198.18.0.191")
    items = [
        obs("channel.address", "192.168.1.108", channel=1),
        obs("channel.address", "192.168.1.108", channel=1, host=other),
        obs("channel.model", "DH-IPC-HFW2431S-S-S2", channel=1, host=other),
    ]
    keys = sorted(d.device_key for d in identify(items, DB))
    assert keys == ["198.18.0.190/ch1", "198.18.0.191/ch1"]


def test_a_listed_camera_also_seen_on_the_lan_is_one_device_keyed_by_its_address():
    lan = IPv4Address("198.18.0.77")
    items = [
        *recorder_and_cameras(),
        obs("mac.mac", "00:09:18:6c:11:10", host=lan, mac="00:09:18:6c:11:10"),
        obs("http.title", "Hanwha Techwin", host=lan),
    ]
    devices = {d.device_key: d for d in identify(items, DB)}
    assert "198.18.0.190/ch2" not in devices
    camera = devices["198.18.0.77"]
    assert (camera.behind, camera.channel) == ("198.18.0.190", 2)
    assert "198.18.0.77" in camera.addresses


def test_recorder_facts_do_not_leak_into_the_recorder():
    devices = {d.device_key: d for d in identify(recorder_and_cameras(), DB)}
    assert devices["198.18.0.190"].model != "DS-2CD2143G2-I"
    assert not any("channel." in e.field for e in devices["198.18.0.190"].evidence)
