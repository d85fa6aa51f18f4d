"""The lab switch's tables and the pass_persist loop snmpd drives (no lab needed)."""

import io
from pathlib import Path

import pytest

from scanner.errors import LabError
from scanner.lab import switch_ports
from scanner.lab.profile import load_profile
from scanner.lab.snmp_tables import DOT1D_BRIDGE, IF_NAME, serve, switch_rows
from scanner.probes.snmp import parse_fdb, parse_lldp, parse_port_names

ROOT = Path(__file__).parents[2]
PROFILE = load_profile(ROOT / "examples" / "lab" / "city-hall.toml")


def _plain(rows):
    """Rows as the agent would return them to the probe's parsers."""
    out = []
    for oid, kind, value in rows:
        if kind == "integer":
            out.append((oid, int(value)))
        elif kind == "octet":
            out.append((oid, bytes.fromhex(value.replace(" ", ""))))
        else:
            out.append((oid, value.encode()))
    return out


def test_every_main_network_host_on_its_own_port_and_the_uplink_on_te():
    hosts = switch_ports(PROFILE)
    assert "sw-hall" not in {h.name for h in hosts}
    assert not {h.name for h in hosts} & {"hik-depot-8080", "axis-annex-door"}
    uplink = ["02:00:5e:10:00:01", "02:00:5e:10:00:02"]
    rows = _plain(switch_rows("sw-hall", hosts, uplink, [hosts[0]]))
    fdb, names = parse_fdb(rows), parse_port_names(rows)
    assert names[fdb[hosts[4].mac]] == "Gi1/0/5"
    assert names[fdb[uplink[0]]] == "Te1/0/1"
    assert parse_lldp(rows)[0].chassis_mac == hosts[0].mac


def test_pass_persist_protocol():
    rows = switch_rows("sw", switch_ports(PROFILE)[:2], (), ())
    first = rows[0][0]
    script = (
        "PING\n"
        f"get\n.{'.'.join(map(str, first))}\n"
        f"getnext\n.{'.'.join(map(str, DOT1D_BRIDGE))}\n"
        f"getnext\n.{'.'.join(map(str, (*IF_NAME, 99999)))}\n"
        "get\n.1.3.6.1.2.1.17.9\n"
        "set\n.1.3.6.1.2.1.17.1\ninteger 1\n"
    )
    out = io.StringIO()
    serve(rows, io.StringIO(script), out)
    lines = out.getvalue().splitlines()
    assert lines[0] == "PONG"
    assert lines[1] == "." + ".".join(map(str, first))
    assert lines[4] == lines[1]  # getnext from the root gives the first row
    assert lines[7:] == ["NONE", "NONE", "not-writable"]


def test_snmpd_daemon_needs_its_settings(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text(
        'schema_version = 1\nname = "x"\nnetwork = "198.18.0.0/24"\n'
        'scanner_address = "198.18.0.1"\n\n[[hosts]]\nname = "one"\n'
        'address = "198.18.0.100"\nmac = "52:54:00:00:00:64"\n'
        'truth = { covered = false }\ndaemons = ["snmpd"]\n'
    )
    with pytest.raises(LabError, match="snmpd"):
        load_profile(path)
