"""Which identities are recorders, and why their cameras stayed unlisted (sweep composition)."""

from ipaddress import IPv4Address

from fingerprints import ConfidenceLevel, Coverage, CoverageStatus, DeviceIdentity
from scanner.cli.behind_recorder import (
    is_recorder,
    login_notes,
    remote_channel_counts,
    unlisted_recorders,
)
from scanner.results import Observation


def identity(key, model=None, behind=None, device_class=None):
    return DeviceIdentity(
        device_key=key,
        addresses=(key,) if "/" not in key else (),
        maker="dahua",
        model=model,
        device_class=device_class,
        coverage=Coverage(status=CoverageStatus.COVERED),
        confidence=0.9,
        level=ConfidenceLevel.CONFIRMED,
        behind=behind,
    )


def obs(host, key, value):
    protocol, field = key.split(".", 1)
    return Observation(host=IPv4Address(host), protocol=protocol, field=field, value=value)


def test_recorders_by_model_class_or_dhip_channel_count():
    assert is_recorder(identity("198.18.0.1", "DS-7608NXI-I2/8P"))
    assert is_recorder(identity("198.18.0.1", "DHI-NVR4108HS-8P-4KS2"))
    assert is_recorder(identity("198.18.0.1", "XVR5108HS-I3"))
    assert is_recorder(identity("198.18.0.1", device_class="nvr"))
    assert not is_recorder(identity("198.18.0.1", "DS-2CD2385G1-I"))
    assert not is_recorder(identity("198.18.0.1", "N841A6"))
    counts = remote_channel_counts(
        [
            obs(
                "198.18.0.1", "dhip.raw", '{"params":{"deviceInfo":{"RemoteVideoInputChannels":8}}}'
            ),
            obs("198.18.0.2", "dhip.raw", '{"RemoteVideoInputChannels":0}'),
        ]
    )
    assert counts == {"198.18.0.1": 8}
    assert is_recorder(identity("198.18.0.1", "N841A6"), counts)


def test_only_recorders_without_listed_cameras_are_reported_with_the_reason():
    devices = [
        identity("198.18.0.16", "DS-7616NI-K2"),
        identity("198.18.0.17", "DS-7608NXI-I2/8P"),
        identity("198.18.0.17/ch1", "DS-2CD2143G2-I", behind="198.18.0.17"),
        identity("198.18.0.35", "DHI-NVR4108HS-8P-4KS2"),
        identity("198.18.0.36", "XVR5108HS-I3"),
    ]
    logins = login_notes(
        [
            obs("198.18.0.16", "auth.required", "isapi /ISAPI/System/deviceInfo"),
            obs("198.18.0.35", "auth.rejected", "dahua_cgi /cgi-bin/magicBox.cgi"),
            obs("198.18.0.35", "auth.rejected", "dahua_cgi /cgi-bin/magicBox.cgi"),
        ]
    )
    assert logins["198.18.0.35"] == {"rejected": ["dahua_cgi /cgi-bin/magicBox.cgi"]}
    found = dict(unlisted_recorders(devices, logins, have_credentials=True))
    assert set(found) == {
        "198.18.0.16 (dahua DS-7616NI-K2)",
        "198.18.0.35 (dahua DHI-NVR4108HS-8P-4KS2)",
        "198.18.0.36 (dahua XVR5108HS-I3)",
    }
    assert "no entry of the credentials file" in found["198.18.0.16 (dahua DS-7616NI-K2)"]
    assert "refused" in found["198.18.0.35 (dahua DHI-NVR4108HS-8P-4KS2)"]
    assert "no channel list" in found["198.18.0.36 (dahua XVR5108HS-I3)"]
    without = dict(unlisted_recorders(devices, logins, have_credentials=False))
    assert "no credentials file" in without["198.18.0.16 (dahua DS-7616NI-K2)"]
