"""Issue 14 item 4 against the city-hall lab's real net-snmp agents (sw-hall, gw-annex).

One lab, swept with the liveness probes and SNMP only, through the CLI inside the lab's scanner
namespace, with the site's credentials file: the switch's forwarding table must place the hosts
behind it, the router's ARP cache must give the routed hosts' MACs, and no secret may leak.
"""

import json
import subprocess
import sys
import time
from ipaddress import IPv4Address
from pathlib import Path

import pytest

from scanner import lab
from scanner.credentials import load_credentials
from scanner.lab.profile import load_profile
from scanner.lab.topology import lab_namespaces

from .helpers import lab_name

pytestmark = pytest.mark.lab

ROOT = Path(__file__).parents[2]
PROFILE_PATH = ROOT / "examples" / "lab" / "city-hall.toml"
CREDENTIALS = ROOT / "examples" / "lab" / "city-hall-credentials.toml"
PROFILE = load_profile(PROFILE_PATH)
BY_NAME = {h.name: h for h in PROFILE.hosts}
SWITCH, ROUTER = BY_NAME["sw-hall"], BY_NAME["gw-annex"]
ROUTED = [h for h in PROFILE.hosts if h.address in PROFILE.routed[0].network]


def _sweep(name, out, *args):
    started = time.monotonic()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "scanner",
            "sweep",
            "--netns",
            f"ndl-{name}-scan",
            "--probe",
            "arp",
            "--probe",
            "liveness",
            "--probe",
            "snmp",
            "--out",
            str(out),
            "--quiet",
            "--fail-on",
            "never",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    results = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    inventory = json.loads((out / "inventory.json").read_text())
    return results, inventory, proc.stdout + proc.stderr, time.monotonic() - started


@pytest.fixture(scope="module")
def labbed():
    name = lab_name("snmp")
    lab.down(name)
    lab.up(PROFILE_PATH, name)
    try:
        yield name
    finally:
        lab.down(name)
        assert lab_namespaces(name) == []


@pytest.fixture(scope="module")
def swept(labbed, tmp_path_factory):
    out = tmp_path_factory.mktemp("snmp-cityhall")
    nets = [str(PROFILE.network), *(str(r.network) for r in PROFILE.routed)]
    return _sweep(labbed, out, *nets, "--credentials", str(CREDENTIALS))


def test_switch_table_fills_switch_port_for_the_hosts_behind_the_switch(swept):
    _results, inventory, _log, _elapsed = swept
    behind = lab.switch_ports(PROFILE)
    expected = {str(h.address): f"sw-hall/Gi1/0/{n}" for n, h in enumerate(behind, 1)}
    got = {
        address: d["location"]["switch_port"]
        for d in inventory["devices"]
        for address in d["addresses"]
        if address in expected
    }
    right = sum(1 for address, port in expected.items() if got.get(address) == port)
    print(f"switch_port filled for {right}/{len(expected)} hosts behind sw-hall")
    assert right >= 0.9 * len(expected)
    # No row is placed on the uplink, whatever it carries.
    assert not any("Te1/0/1" in (d["location"]["switch_port"] or "") for d in inventory["devices"])


def test_router_arp_cache_gives_the_routed_hosts_macs(swept):
    results, _inventory, _log, _elapsed = swept
    seen = {
        (o["host"], o["value"])
        for r in results
        if r["probe"] == "snmp"
        for o in r["observations"]
        if o["protocol"] == "mac" and o.get("origin") == str(ROUTER.address)
    }
    routed = {(str(h.address), h.mac) for h in ROUTED}
    print(f"ARP cache of gw-annex gave {len(seen & routed)}/{len(routed)} routed MACs")
    assert routed <= seen


def test_snmp_row_for_every_live_host_and_no_secret_anywhere(swept):
    results, inventory, log, _elapsed = swept
    snmp = {r["target"] for r in results if r["probe"] == "snmp"}
    assert f"{SWITCH.address}:161" in snmp
    assert f"{ROUTER.address}:161" in snmp
    text = json.dumps(results) + json.dumps(inventory) + log
    secrets = load_credentials(CREDENTIALS).secrets()
    assert len(secrets) >= 3
    for secret in secrets:
        assert secret not in text


def test_snmpd_answers_only_the_site_community(labbed, tmp_path):
    results, _inv, _log, _elapsed = _sweep(
        labbed,
        tmp_path,
        str(SWITCH.address),
        "--snmp-community",
        "public",
        "--snmp-community",
        "private",
    )
    [row] = [r for r in results if r["probe"] == "snmp"]
    assert row["status"] == "no_reply"
    results, _inv, _log, _elapsed = _sweep(
        labbed,
        tmp_path / "right",
        str(SWITCH.address),
        "--snmp-community",
        "public",
        "--snmp-community",
        SWITCH.snmpd.community,
    )
    [row] = [r for r in results if r["probe"] == "snmp"]
    assert row["status"] == "success"
    assert {o["field"]: o["value"] for o in row["observations"]}["sysname"] == "sw-hall"


def test_v3_user_from_the_credentials_file(labbed, tmp_path):
    text = CREDENTIALS.read_text()
    v3_only = tmp_path / "v3.toml"
    v3_only.write_text(text.replace('communities = ["cityhall-ro-2026"]\n', ""))
    v3_only.chmod(0o600)
    results, _inv, log, _elapsed = _sweep(
        labbed,
        tmp_path / "out",
        str(ROUTER.address),
        "--credentials",
        str(v3_only),
        "--snmp-community",
        "public",
    )
    [row] = [r for r in results if r["probe"] == "snmp"]
    assert row["status"] == "success", row["error"]
    got = {(o["protocol"], o["field"], o["value"]) for o in row["observations"]}
    assert ("snmp", "sysname", "gw-annex") in got
    wrong = tmp_path / "wrong.toml"
    wrong.write_text(v3_only.read_text().replace("Audit-Auth-Key-2026", "Not-The-Key-0000"))
    wrong.chmod(0o600)
    results, _inv, log, _elapsed = _sweep(
        labbed,
        tmp_path / "wrong",
        str(ROUTER.address),
        "--credentials",
        str(wrong),
        "--snmp-community",
        "public",
    )
    [row] = [r for r in results if r["probe"] == "snmp"]
    assert row["status"] == "auth_required"
    assert "Not-The-Key-0000" not in json.dumps(results) + log
    assert IPv4Address(row["target"].split(":")[0]) == ROUTER.address
