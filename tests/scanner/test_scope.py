from ipaddress import IPv4Address, IPv4Network

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scanner.errors import ScopeError, ScopeViolation, TargetSpecError
from scanner.scope import Scope, parse_targets


def test_lab_range_and_loopback_need_no_override():
    assert Scope.from_specs(["198.18.0.0/24", "127.0.0.1"]).size() == 257


@pytest.mark.parametrize("target", ["8.8.8.0/24", "1.1.1.1", "198.20.0.1", "0.0.0.0/0"])
def test_public_addresses_are_refused(target):
    with pytest.raises(ScopeError):
        Scope.from_specs([target])


@pytest.mark.parametrize("target", ["10.0.0.0/8", "172.16.5.0/24", "192.168.1.64"])
def test_private_addresses_need_allow_private(target):
    with pytest.raises(ScopeError, match="--allow-private"):
        Scope.from_specs([target])
    assert Scope.from_specs([target], allow_private=True).networks


def test_multicast_is_never_a_target_even_with_overrides():
    with pytest.raises(ScopeError, match="never"):
        Scope.from_specs(["239.255.255.250"], allow_private=True, allow_public=True)


def test_lab_supernet_crossing_into_public_is_refused():
    # 198.16.0.0/13 contains the lab range but also public space.
    with pytest.raises(ScopeError):
        Scope.from_specs(["198.16.0.0/13"])


def test_ranges_short_and_long_forms():
    assert parse_targets(["198.18.0.10-12"]) == parse_targets(["198.18.0.10-198.18.0.12"])
    assert sum(n.num_addresses for n in parse_targets(["198.18.0.10-12"])) == 3


@pytest.mark.parametrize("bad", ["cam.example.org", "198.18.0.300", "198.18.0.9-198.18.0.1", "::1"])
def test_bad_target_specs_are_clear_errors(bad):
    with pytest.raises(TargetSpecError):
        parse_targets([bad])


def test_target_file(tmp_path):
    path = tmp_path / "targets.txt"
    path.write_text("# lobby cameras\n198.18.0.10\n\n198.18.0.20-21  # garage\n")
    assert parse_targets([f"@{path}"]) == (
        IPv4Network("198.18.0.10/32"),
        IPv4Network("198.18.0.20/31"),
    )


def test_missing_target_file_is_a_clear_error(tmp_path):
    with pytest.raises(TargetSpecError, match="cannot read"):
        parse_targets([f"@{tmp_path / 'none.txt'}"])


def test_check_and_exclude():
    scope = Scope.from_specs(["198.18.0.0/29"], ["198.18.0.4"])
    assert scope.check("198.18.0.3") == IPv4Address("198.18.0.3")
    for addr in ("198.18.0.4", "198.18.0.9", "8.8.8.8", "not-an-ip"):
        with pytest.raises(ScopeViolation):
            scope.check(addr)
    assert [str(a) for a in scope.hosts()] == [f"198.18.0.{i}" for i in (1, 2, 3, 5, 6)]


@given(st.ip_addresses(v=4))
def test_check_never_admits_anything_outside_the_networks(addr):
    scope = Scope.from_specs(["198.18.4.0/22"])
    inside = addr in IPv4Network("198.18.4.0/22")
    if inside:
        assert scope.check(addr) == addr
    else:
        with pytest.raises(ScopeViolation):
            scope.check(addr)
