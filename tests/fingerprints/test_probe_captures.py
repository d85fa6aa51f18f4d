"""End to end without a network: the probes' own parsers on recorded replies, then the verdict.

This pins the contract between stages: what the probes really emit (field names, value shapes,
one scope per observation, unquoted scopes) is what the rules match. Skips, rather than fails,
while a probe module is being reworked.
"""

from ipaddress import IPv4Address
from pathlib import Path

import pytest

from fingerprints import CoverageStatus, identify, load_database

CAPTURES = Path(__file__).resolve().parents[1] / "data" / "captures"
HOST = IPv4Address("198.18.0.50")


def _observations(module_name, capture, *, parse="parse_reply"):
    module = pytest.importorskip(f"scanner.probes.{module_name}")
    path = CAPTURES / module_name / capture
    if not path.exists():
        pytest.skip(f"no capture {path}")
    try:
        reply = getattr(module, parse)(path.read_bytes())
        return list(module.observations_from(reply, HOST).items)
    except (AttributeError, TypeError) as exc:  # the probe API is moving: not this stage's bug
        pytest.skip(f"probe API changed: {exc}")


@pytest.mark.parametrize(
    ("module", "capture", "maker"),
    [
        ("sadp", "facts-ds-2cd2385g1-i.xml", "hikvision"),
        ("dhip", "facts-ipc-hdw5421s.bin", "dahua"),
    ],
)
def test_discovery_capture_is_identified(module, capture, maker):
    observations = _observations(module, capture)
    [device] = identify(observations, load_database())
    assert device.maker == maker
    assert device.coverage.status is CoverageStatus.COVERED
    assert device.level.value == "confirmed"
    assert device.serial
    assert device.mac
