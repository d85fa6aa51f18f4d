"""End to end without a network: the probes' own parsers on recorded replies, then the verdict.

This pins the contract between stages: what the probes really emit (field names, value shapes,
one scope per observation, unquoted scopes) is what the rules match. A missing module or
capture, or a probe whose API no longer fits, is a failure here: these are the tests that notice.
"""

import importlib
from ipaddress import IPv4Address
from pathlib import Path

import pytest

from fingerprints import CoverageStatus, identify, load_database

CAPTURES = Path(__file__).resolve().parents[1] / "data" / "captures"
HOST = IPv4Address("198.18.0.50")


def _observations(module_name, capture, *, parse="parse_reply"):
    module = importlib.import_module(f"scanner.probes.{module_name}")
    path = CAPTURES / module_name / capture
    assert path.is_file(), f"capture missing: {path}"
    reply = getattr(module, parse)(path.read_bytes())
    return list(module.observations_from(reply, HOST).items)


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
