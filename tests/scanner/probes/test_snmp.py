"""SNMP probe: parsers on real bytes and on fuzz, and the probe against a real net-snmp snmpd."""

import os
import shutil
import subprocess
import time
from ipaddress import IPv4Address
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyasn1.codec.ber import decoder
from pydantic import SecretStr
from pysnmp.proto import api

from scanner.context import ProbeSettings
from scanner.credentials import CredentialStore, parse_credentials
from scanner.errors import ScopeViolation
from scanner.probes.snmp import (
    DOT1D_BASE_PORT_IFINDEX,
    DOT1D_TP_FDB_PORT,
    DOT1Q_TP_FDB_PORT,
    ENT_PHYSICAL_ENTRY,
    IF_NAME,
    IP_NET_TO_MEDIA_PHYS,
    IP_NET_TO_PHYSICAL_PHYS,
    LLDP_REM_ENTRY,
    SnmpProbe,
    _attribute,
    _Harvest,
    enterprise_number,
    parse_arp,
    parse_entity,
    parse_fdb,
    parse_lldp,
    parse_port_names,
    parse_system,
    parse_vendor_values,
)
from scanner.results import ProbeResult, ProbeStatus, utc_now
from scanner.snmp_session import SnmpAuth, SnmpSession

from .loopback import fresh_address, loopback_ctx, udp_server

CAPTURES = Path(__file__).parents[2] / "data" / "captures" / "snmp"

oids = st.tuples(*[st.integers(0, 2**32 - 1)] * 1).flatmap(
    lambda _: st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=20).map(tuple)
)
values = st.one_of(
    st.binary(max_size=64),
    st.integers(-(2**31), 2**64),
    st.lists(st.integers(0, 2**32), max_size=12).map(tuple),
    st.text(max_size=20),
    st.none(),
)


def prefixed(prefix):
    return st.lists(st.integers(0, 300), max_size=10).map(lambda tail: (*prefix, *tail))


rows = st.lists(
    st.tuples(
        st.one_of(
            oids,
            *(
                prefixed(p)
                for p in (
                    ENT_PHYSICAL_ENTRY,
                    IP_NET_TO_PHYSICAL_PHYS,
                    IP_NET_TO_MEDIA_PHYS,
                    DOT1D_TP_FDB_PORT,
                    DOT1Q_TP_FDB_PORT,
                    DOT1D_BASE_PORT_IFINDEX,
                    IF_NAME,
                    LLDP_REM_ENTRY,
                    (1, 3, 6, 1, 4, 1, 2011),
                )
            ),
        ),
        values,
    ),
    max_size=40,
)


@given(rows)
@settings(max_examples=300, deadline=None)
def test_fuzz_every_parser(table):
    parse_system(table)
    parse_entity(table)
    parse_vendor_values(table, 2011)
    parse_arp(table)
    parse_fdb(table)
    parse_port_names(table)
    parse_lldp(table)


def _decode(path):
    """A captured GetResponse decoded by pysnmp's own v2c codec into (oid, value) rows."""
    message, _ = decoder.decode(path.read_bytes(), asn1Spec=api.PROTOCOL_MODULES[1].Message())
    pdu = api.PROTOCOL_MODULES[1].apiMessage.get_pdu(message)
    from scanner.snmp_session import _varbinds

    return _varbinds(api.PROTOCOL_MODULES[1].apiPDU.get_varbinds(pdu))


def test_captured_nvr_replies_decode_with_pysnmp():
    hik = parse_system(_decode(CAPTURES / "facts-hikvision-nvr.bin"))
    assert hik == {
        "sysdescr": "Hikvision company products",
        "sysobjectid": "1.3.6.1.4.1.50001",
        "enterprise": "50001",
    }
    assert parse_system(_decode(CAPTURES / "facts-dahua-nvr.bin"))["sysdescr"] == (
        "DH-NVR4108HS-8P-4KS2"
    )


def test_enterprise_number():
    assert enterprise_number((1, 3, 6, 1, 4, 1, 2011, 2, 23)) == 2011
    assert enterprise_number((1, 3, 6, 1, 2, 1, 1)) is None
    assert enterprise_number(b"1.3.6.1.4.1.2011") is None


def test_tables_parse():
    mac = bytes.fromhex("4c11bfc20b9d")
    table = [
        ((*IP_NET_TO_PHYSICAL_PHYS, 3, 1, 4, 198, 18, 2, 10), mac),
        ((*IP_NET_TO_PHYSICAL_PHYS, 3, 2, 16, *([0] * 16)), mac),  # IPv6: not ours
        ((*IP_NET_TO_MEDIA_PHYS, 3, 198, 18, 2, 11), bytes.fromhex("bcad28000001")),
        ((*DOT1D_TP_FDB_PORT, *mac), 12),
        ((*DOT1Q_TP_FDB_PORT, 1, 0xBC, 0xAD, 0x28, 0, 0, 1), 13),
        ((*DOT1D_BASE_PORT_IFINDEX, 12), 10012),
        ((*IF_NAME, 10012), b"Gi1/0/12"),
        ((*ENT_PHYSICAL_ENTRY, 12, 1), b"Huawei"),
        ((*ENT_PHYSICAL_ENTRY, 13, 1), b"S5735-L24T4S"),
        ((*ENT_PHYSICAL_ENTRY, 11, 1), b"\x00\xff\x01"),  # binary: dropped
        ((*LLDP_REM_ENTRY, 4, 0, 5, 1), 4),
        ((*LLDP_REM_ENTRY, 5, 0, 5, 1), mac),
        ((*LLDP_REM_ENTRY, 9, 0, 5, 1), b"cam-lobby"),
    ]
    assert parse_arp(table) == {
        IPv4Address("198.18.2.10"): "4c:11:bf:c2:0b:9d",
        IPv4Address("198.18.2.11"): "bc:ad:28:00:00:01",
    }
    assert parse_fdb(table) == {"4c:11:bf:c2:0b:9d": 12, "bc:ad:28:00:00:01": 13}
    assert parse_port_names(table) == {12: "Gi1/0/12"}
    assert parse_entity(table) == [("mfg_name", "Huawei"), ("model_name", "S5735-L24T4S")]
    [neighbour] = parse_lldp(table)
    assert neighbour.chassis_mac == "4c:11:bf:c2:0b:9d"
    assert dict(neighbour.fields) == {"chassis_id": "4c:11:bf:c2:0b:9d", "sysname": "cam-lobby"}


def _ok(host):
    return ProbeResult(
        probe="snmp",
        target=f"{host}:161",
        status=ProbeStatus.SUCCESS,
        started_at=utc_now(),
        elapsed_s=0,
    )


@pytest.mark.loopback
def test_harvest_becomes_observations_of_the_described_hosts_only_in_scope():
    ctx = loopback_ctx()
    router, switch = IPv4Address("127.77.200.1"), IPv4Address("127.77.200.2")
    cam, outside = IPv4Address("127.77.200.10"), IPv4Address("127.1.1.1")
    ctx.link_macs[IPv4Address("127.77.200.11")] = "00:11:22:33:44:55"
    r = _Harvest(router, _ok(router), arp={cam: "4c:11:bf:c2:0b:9d", outside: "4c:11:bf:00:00:01"})
    s = _Harvest(
        switch,
        _ok(switch),
        name="sw-core",
        fdb={"4c:11:bf:c2:0b:9d": "sw-core/Gi1/0/12", "00:11:22:33:44:55": "sw-core/Gi1/0/13"},
    )
    out = _attribute([r, s], ctx)
    facts = {(str(o.host), o.key, o.value, o.origin) for res in out for o in res.observations}
    assert facts == {
        ("127.77.200.10", "mac.mac", "4c:11:bf:c2:0b:9d", "127.77.200.1"),
        ("127.77.200.10", "snmp.switch_port", "sw-core/Gi1/0/12", "127.77.200.2"),
        ("127.77.200.11", "snmp.switch_port", "sw-core/Gi1/0/13", "127.77.200.2"),
    }


def test_the_scanner_itself_is_not_a_device_in_its_neighbours_tables():
    # A router's ARP cache and a switch's forwarding table list the scanner too; those rows
    # would otherwise turn the sweeping machine into an inventory device.
    ctx = loopback_ctx()
    router, switch = IPv4Address("127.77.200.1"), IPv4Address("127.77.200.2")
    me, cam = IPv4Address("127.77.200.9"), IPv4Address("127.77.200.10")
    ctx.own_addresses = frozenset({me})
    ctx.link_macs[me] = "02:00:00:00:00:09"
    r = _Harvest(router, _ok(router), arp={me: "02:00:00:00:00:09", cam: "4c:11:bf:c2:0b:9d"})
    s = _Harvest(
        switch,
        _ok(switch),
        name="sw-core",
        fdb={"02:00:00:00:00:09": "sw-core/Gi1/0/1", "4c:11:bf:c2:0b:9d": "sw-core/Gi1/0/12"},
    )
    hosts = {str(o.host) for res in _attribute([r, s], ctx) for o in res.observations}
    assert hosts == {"127.77.200.10"}


def test_auth_prints_no_secret():
    auth = SnmpAuth("2c", SecretStr("hall-s3cret"), index=2)
    assert "hall-s3cret" not in repr(auth) + str(auth)
    assert str(auth) == "v2c community #2"


@pytest.mark.loopback
async def test_session_refuses_out_of_scope_host_before_any_socket():
    ctx = loopback_ctx()
    from pysnmp.hlapi.v3arch.asyncio import SnmpEngine

    with pytest.raises(ScopeViolation):
        SnmpSession(ctx, SnmpEngine(), IPv4Address("127.1.2.3"), SnmpAuth("2c", SecretStr("x")))


@pytest.mark.loopback
async def test_silent_malformed_and_huge_replies_are_bounded():
    quiet, garbage, huge = fresh_address(), fresh_address(), fresh_address()
    probe = SnmpProbe()
    probe.timeout_s, probe.retries, probe.port = 0.3, 0, 16162
    ctx = loopback_ctx()
    started = time.monotonic()
    async with (
        udp_server(garbage, 16162, lambda data: [b"\x30\x03\x02\x01\x00", b"junk"]),
        udp_server(huge, 16162, lambda data: [b"\x30\x84\x7f\xff\xff\xff" + b"\x00" * 60000]),
    ):
        out = await probe.discover([quiet, garbage, huge], ctx)
    assert time.monotonic() - started < 10
    assert {r.target: r.status for r in out} == {
        f"{quiet}:16162": ProbeStatus.NO_REPLY,
        f"{garbage}:16162": ProbeStatus.NO_REPLY,
        f"{huge}:16162": ProbeStatus.NO_REPLY,
    }


# ------------------------------------------------------------ interop with net-snmp's snmpd

SNMPD = shutil.which("snmpd") or "/usr/sbin/snmpd"
SKIP_MODULES = "ifTable,ifXTable,hrSystem,hrStorage,hrDevice,hrSWRun,hrSWInstalled"
COMMUNITY = "hall-ro-7f3q"
AUTH_KEY, PRIV_KEY = "auditor-auth-91x", "auditor-priv-62y"


@pytest.fixture
def snmpd(tmp_path):
    if not Path(SNMPD).exists():
        pytest.fail("snmpd missing: scripts/bootstrap.sh installs it")
    host = fresh_address()
    conf = tmp_path / "snmpd.conf"
    conf.write_text(
        f"agentaddress udp:{host}:16163\n"
        f"rocommunity {COMMUNITY} default\n"
        f'createUser auditor SHA "{AUTH_KEY}" AES "{PRIV_KEY}"\n'
        "rouser auditor priv\n"
        "sysName sw-lab\nsysDescr net-snmp interop agent\n"
        "sysObjectID .1.3.6.1.4.1.8072.3.2.10\n"
    )
    proc = subprocess.Popen(
        [SNMPD, "-f", "-Lo", "-C", "-c", str(conf), "-I", f"-{SKIP_MODULES}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        # engine boots and localised keys go to the test's directory, not /var/lib/snmp
        env={**os.environ, "SNMP_PERSISTENT_DIR": str(tmp_path)},
    )
    time.sleep(1.0)
    try:
        yield host
    finally:
        proc.terminate()
        proc.wait(timeout=5)


def _probe():
    probe = SnmpProbe()
    probe.timeout_s, probe.retries, probe.port = 0.5, 0, 16163
    return probe


@pytest.mark.loopback
async def test_snmpd_answers_only_the_right_community(snmpd):
    wrong = loopback_ctx(settings=ProbeSettings(snmp_communities=(SecretStr("public"),)))
    [silent] = await _probe().discover([snmpd], wrong)
    assert silent.status == ProbeStatus.NO_REPLY
    right = loopback_ctx(
        settings=ProbeSettings(snmp_communities=(SecretStr("public"), SecretStr(COMMUNITY)))
    )
    [result] = await _probe().discover([snmpd], right)
    assert result.status == ProbeStatus.SUCCESS
    got = {o.key: o.value for o in result.observations}
    assert got["snmp.sysname"] == "sw-lab"
    assert got["snmp.sysdescr"] == "net-snmp interop agent"
    assert got["snmp.sysobjectid"] == "1.3.6.1.4.1.8072.3.2.10"
    assert got["snmp.enterprise"] == "8072"
    assert COMMUNITY not in result.model_dump_json()


def _store(auth_key):
    text = (
        '[[snmp]]\nmatch = "127.77.0.0/16"\n'
        f'v3 = [{{ username = "auditor", auth_protocol = "sha", auth_key = "{auth_key}", '
        f'priv_protocol = "aes", priv_key = "{PRIV_KEY}" }}]\n'
    )
    return CredentialStore(entries=parse_credentials(text, name="creds.toml"))


@pytest.mark.loopback
async def test_snmpd_v3_user_from_credentials_file_and_wrong_key(snmpd, caplog):
    caplog.set_level("DEBUG")
    none = ProbeSettings(snmp_communities=())
    ok = loopback_ctx(settings=none.model_copy(update={"credentials": _store(AUTH_KEY)}))
    [result] = await _probe().discover([snmpd], ok)
    assert result.status == ProbeStatus.SUCCESS, result.error
    assert {o.key: o.value for o in result.observations}["snmp.sysname"] == "sw-lab"
    bad = loopback_ctx(settings=none.model_copy(update={"credentials": _store("wrong-key-000")}))
    [refused] = await _probe().discover([snmpd], bad)
    assert refused.status == ProbeStatus.AUTH_REQUIRED
    dumped = result.model_dump_json() + refused.model_dump_json() + caplog.text
    for secret in (AUTH_KEY, PRIV_KEY, "wrong-key-000", COMMUNITY):
        assert secret not in dumped


@pytest.mark.loopback
async def test_the_transport_itself_refuses_an_out_of_scope_datagram():
    from scanner.snmp_session import scoped_target_class

    transport = scoped_target_class(loopback_ctx().scope).PROTO_TRANSPORT()
    with pytest.raises(ScopeViolation):
        transport.send_message(b"\x30\x00", ("127.1.2.3", 161))
    with pytest.raises(ScopeViolation):
        transport.send_message(b"\x30\x00", ("198.51.100.7", 161))


def test_net_snmp_switch_replies_parse():
    """GETBULK replies captured from net-snmp 5.9.3 snmpd serving the lab switch's tables
    (scanner.lab.snmp_tables, first six access hosts, four uplink MACs, gw-annex on LLDP)."""
    fdb = parse_fdb(_decode(CAPTURES / "netsnmp-sw-fdb.bin"))
    names = parse_port_names(
        _decode(CAPTURES / "netsnmp-sw-baseport.bin") + _decode(CAPTURES / "netsnmp-sw-ifname.bin")
    )
    assert len(fdb) == 10
    assert sorted(set(fdb.values())) == [1, 2, 3, 4, 5, 6, 7]
    assert [p for p, n in sorted(names.items())] == [1, 2, 3, 4, 5, 6, 7]
    assert names[7] == "Te1/0/1"
    assert names[fdb["44:19:b6:4e:1a:20"]] == "Gi1/0/1"  # hik-lobby, the profile's first host
    assert sum(1 for port in fdb.values() if port == 7) == 4
    [neighbour] = parse_lldp(_decode(CAPTURES / "netsnmp-sw-lldp.bin"))
    assert neighbour.chassis_mac == "4c:5e:0c:a0:01:60"
    assert ("sysname", "gw-annex") in neighbour.fields
    system = parse_system(_decode(CAPTURES / "netsnmp-sw-system.bin"))
    assert system["sysname"] == "sw-hall"
    assert system["enterprise"] == "8072"
