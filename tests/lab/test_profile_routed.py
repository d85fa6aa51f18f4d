"""The profile format for routed subnets and proxy ARP: what the topology builds from."""

from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

import pytest

from scanner.errors import LabError
from scanner.lab.profile import load_profile

ROOT = Path(__file__).parents[2]

BASE = """
schema_version = 1
name = "routed"
network = "198.18.0.0/24"
scanner_address = "198.18.0.1"

[[hosts]]
name = "gw"
address = "198.18.0.160"
mac = "4c:5e:0c:a0:01:60"
truth = { maker = "mikrotik", covered = false }

[[hosts]]
name = "proxied"
address = "198.18.0.161"
mac = "02:00:00:00:01:61"
behind = "gw"
truth = { maker = "axis", covered = false }

[[hosts]]
name = "far"
address = "198.18.2.10"
mac = "02:00:00:00:02:10"
truth = { maker = "hikvision", covered = true }

[[routed]]
network = "198.18.2.0/24"
router = "gw"
router_address = "198.18.2.1"
"""


def write(tmp_path, text):
    path = tmp_path / "p.toml"
    path.write_text(text)
    return path


def test_routed_and_proxied_hosts_know_their_router_and_segment(tmp_path):
    profile = load_profile(write(tmp_path, BASE))
    hosts = {h.name: h for h in profile.hosts}
    assert profile.networks() == (IPv4Network("198.18.0.0/24"), IPv4Network("198.18.2.0/24"))
    assert profile.router_of(hosts["far"]) == "gw"
    assert profile.router_of(hosts["proxied"]) == "gw"
    assert profile.router_of(hosts["gw"]) is None
    assert profile.segment_of(hosts["far"]) == (
        IPv4Network("198.18.2.0/24"),
        IPv4Address("198.18.2.1"),
    )
    assert profile.segment_of(hosts["proxied"])[1] == IPv4Address("198.18.0.1")
    assert profile.routed[0].drop_icmp_echo


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('router = "gw"', 'router = "nobody"', "is not a host of the main network"),
        ('router_address = "198.18.2.1"', 'router_address = "198.18.3.1"', "outside it"),
        ('network = "198.18.2.0/24"', 'network = "198.18.0.0/23"', "overlaps"),
        ('behind = "gw"', 'behind = "far"', "behind names no router"),
        ('address = "198.18.2.10"', 'address = "198.18.3.10"', "is not a host address"),
        ('router_address = "198.18.2.1"', 'router_address = "198.18.2.10"', "share an address"),
    ],
)
def test_broken_routing_is_a_clear_error(tmp_path, old, new, message):
    with pytest.raises(LabError, match=message):
        load_profile(write(tmp_path, BASE.replace(old, new, 1)))


def test_city_hall_new_hosts_stay_in_their_ranges():
    profile = load_profile(ROOT / "examples" / "lab" / "city-hall.toml")
    added = [h for h in profile.hosts if profile.router_of(h) or h.name == "gw-annex"]
    assert added
    for host in added:
        assert host.address in IPv4Network("198.18.2.0/24") or (
            IPv4Address("198.18.0.160") <= host.address <= IPv4Address("198.18.0.189")
        ), host.name


def test_a_truth_that_expects_less_must_say_why(tmp_path):
    argued = BASE.replace(
        'truth = { maker = "axis", covered = false }',
        'truth = { maker = "axis", covered = false, expect = "undetermined", '
        'reason = "only the router\'s MAC is seen" }',
    )
    hosts = {h.name: h for h in load_profile(write(tmp_path, argued)).hosts}
    assert hosts["proxied"].truth.expect == "undetermined"
    bare = BASE.replace(
        'truth = { maker = "axis", covered = false }',
        'truth = { maker = "axis", covered = false, expect = "undetermined" }',
    )
    with pytest.raises(LabError, match="`expect` and `reason` go together"):
        load_profile(write(tmp_path, bare))
