"""Policies as data: each regime judges on its own, and every covering verdict names its entry."""

from datetime import date

import pytest

from fingerprints import CoverageStatus, identify, load_database
from fingerprints.coverage import (
    DEFAULT_POLICIES,
    PolicyError,
    judge,
    policies,
    resolve_policies,
)
from fingerprints.database import load_vocabulary
from tests.reports.conftest import observations


def test_every_policy_is_cited_dated_and_names_known_makers_and_classes():
    vocabulary = load_vocabulary()
    assert {"ndaa-889", "fcc-covered-list", "asda-drones", "texas-2026"} <= set(policies())
    for policy in policies().values():
        assert policy.source
        assert policy.authority
        assert isinstance(policy.as_of, date)
        assert policy.entries
        for entry in policy.entries:
            assert entry.source
            assert entry.title
            assert isinstance(entry.date, date)
            assert set(entry.makers) <= set(vocabulary.makers), entry.id
            assert set(entry.device_classes) <= set(vocabulary.device_classes), entry.id


def test_drone_controller_is_covered_by_the_fcc_list_but_not_by_889():
    fcc = judge("dji", decisive=True, device_class="uas-controller")
    assert fcc.status is CoverageStatus.COVERED
    covering = [f for f in fcc.findings if f.status is CoverageStatus.COVERED]
    assert [(f.regime, f.entry, f.date) for f in covering] == [
        ("fcc-covered-list", "2025-12-22-dji-autel", "2025-12-22")
    ]
    assert any("FCC Covered List, entry of 2025-12-22" in line for line in fcc.basis)

    ndaa = judge("dji", decisive=True, device_class="uas-controller", policy_ids=["ndaa-889"])
    assert ndaa.status is CoverageStatus.NOT_COVERED
    assert ndaa.findings == ()

    asda = judge("dji", decisive=True, device_class="uas-controller", policy_ids=["asda-drones"])
    assert asda.status is CoverageStatus.COVERED
    # ASDA covers drones only: a DJI device of unknown kind is a question, not a verdict.
    unknown = judge("dji", decisive=True, policy_ids=["asda-drones"])
    assert unknown.status is CoverageStatus.UNDETERMINED


def test_consumer_router_from_a_telnet_banner_judged_per_regime():
    rows = [("198.18.0.40", "telnet.banner", "TD-W8961ND 1.0 DSL Modem Router\r\nLogin: ")]
    (device,) = identify(observations(rows), load_database())
    assert device.maker == "tp-link"
    assert device.device_class == "consumer-router"
    # Default (§889 + FCC): the categorical router entry matches, but production country and
    # FCC grant date decide, so the verdict says what to check and names the entry.
    assert device.coverage.status is CoverageStatus.UNDETERMINED
    assert [f.entry for f in device.coverage.findings] == ["2026-03-23-foreign-consumer-routers"]
    assert "grant date" in (device.coverage.note or "")
    assert (
        judge("tp-link", decisive=True, device_class="consumer-router", policy_ids=["ndaa-889"])
    ).status is CoverageStatus.NOT_COVERED
    texas = judge(
        "tp-link", decisive=True, device_class="consumer-router", policy_ids=["texas-2026"]
    )
    assert texas.status is CoverageStatus.COVERED
    assert texas.findings[0].entry == "2026-01-26-hardware"


def test_889_verdict_names_both_default_regimes():
    cov = judge("hikvision", decisive=True, device_class="ip-camera")
    assert cov.status is CoverageStatus.COVERED
    assert cov.policies == DEFAULT_POLICIES
    assert {f.regime for f in cov.findings} == {"ndaa-889", "fcc-covered-list"}
    assert "889(f)(3)(B)" in cov.basis[0]
    assert cov.note
    assert "purposes" in cov.note


def test_policy_ids_are_validated():
    assert resolve_policies(None) == DEFAULT_POLICIES
    assert resolve_policies(["texas-2026,ndaa-889"]) == ("texas-2026", "ndaa-889")
    with pytest.raises(PolicyError, match="unknown policy nope"):
        resolve_policies(["nope"])
