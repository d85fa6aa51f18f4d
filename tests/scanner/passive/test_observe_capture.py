"""Passive capture → observations → verdicts, on frames built around captured reply bytes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from scapy.layers.dhcp import BOOTP, DHCP
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether
from scapy.utils import PcapNgWriter, wrpcap

from scanner.passive import CaptureReadError, observe_capture
from tests.scanner.passive.frames import (
    SCANNER_MAC,
    arp_reply,
    capture,
    tcp_reply,
    udp_from,
)

ROOT = Path(__file__).parents[3]
HIK_MAC = "44:19:b6:12:34:56"  # registered to Hangzhou Hikvision Digital Technology
PLAIN_MAC = "02:11:22:33:44:55"  # locally administered: no OUI lead


def _values(summary, host: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for result in summary.results:
        if result.target == host:
            for obs in result.observations:
                out.setdefault(obs.key, []).append(obs.value)
    return out


def _mixed_capture(path: Path, *, pcapng: bool = False) -> None:
    frames = [
        arp_reply("198.18.0.10", HIK_MAC),
        *tcp_reply(
            "198.18.0.10",
            80,
            capture("http_banner/lab-hikvision-app-webs.bin"),
            mac=HIK_MAC,
            segments=3,
            reverse=True,  # out-of-order segments must still reassemble
        ),
        arp_reply("198.18.0.20", PLAIN_MAC),
        *tcp_reply("198.18.0.20", 554, capture("rtsp/facts-dahua-401.bin"), mac=PLAIN_MAC),
    ]
    if pcapng:
        with PcapNgWriter(str(path)) as writer:
            for frame in frames:
                writer.write(frame)
    else:
        wrpcap(str(path), frames)


@pytest.mark.parametrize("pcapng", [False, True], ids=["pcap", "pcapng"])
def test_http_and_rtsp_replies_become_observations(tmp_path, pcapng):
    path = tmp_path / "mixed.cap"
    _mixed_capture(path, pcapng=pcapng)
    summary = observe_capture(path)
    hik = _values(summary, "198.18.0.10")
    assert hik["mac.mac"] == [HIK_MAC]
    assert hik["http.server_header"] == ["App-webs/"]
    assert _values(summary, "198.18.0.20")["rtsp.server_header"] == ["Dahua Rtsp Server"]
    assert summary.recognised["http"] == 1
    assert summary.recognised["rtsp"] == 1
    assert all(obs.probe == "passive" for r in summary.results for obs in r.observations)
    assert "no packet was sent" in summary.limitations()[0]


def test_import_of_a_capture_judges_it_like_a_sweep(tmp_path):
    """The issue's must-show: App-webs/ from a Hikvision MAC, and a Dahua RTSP Server header."""
    path = tmp_path / "capture.pcap"
    _mixed_capture(path)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "scanner",
            "import",
            str(path),
            "--out",
            str(tmp_path / "out"),
            "--json",
            "--fail-on",
            "never",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
        env={"NDAA_SCAN_DB": "off", "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 0, proc.stderr
    inventory = json.loads(proc.stdout)
    devices = {d["addresses"][0]: d for d in inventory["devices"]}
    assert devices["198.18.0.10"]["maker"] == "hikvision"
    assert devices["198.18.0.10"]["coverage"]["status"] == "covered"
    assert devices["198.18.0.20"]["maker"] == "dahua"
    assert inventory["scan"]["probes"] == ["passive"]
    assert any("Passive mode" in line for line in inventory["scan"]["limitations"])


def test_announcements_over_udp(tmp_path):
    wsd = capture("ws_discovery/facts-hikvision-probematch.xml")
    frames = [
        udp_from(
            "198.18.0.11",
            37020,
            capture("sadp/facts-ds-2cd2385g1-i.xml"),
            dst="239.255.255.250",
            dport=37020,
        ),
        udp_from("198.18.0.12", 37810, capture("dhip/facts-ipc-hdw5421s.bin")),
        udp_from("198.18.0.13", 3702, wsd),
        udp_from(
            "198.18.0.14",
            1900,
            b"NOTIFY * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nNT: upnp:rootdevice\r\n"
            b"NTS: ssdp:alive\r\nSERVER: Linux/3.0, UPnP/1.0, Portable SDK for UPnP devices/1.6.6"
            b"\r\nLOCATION: http://198.18.0.14:49152/description.xml\r\n"
            b"USN: uuid:0a1b2c3d-0000-1000-8000-001122334455::upnp:rootdevice\r\n\r\n",
            dst="239.255.255.250",
            dport=1900,
        ),
        # A control point's own M-SEARCH says nothing about a device.
        udp_from(
            "198.18.0.1",
            40002,
            b"M-SEARCH * HTTP/1.1\r\nST: ssdp:all\r\n\r\n",
            dst="239.255.255.250",
            dport=1900,
        ),
    ]
    path = tmp_path / "udp.pcap"
    wrpcap(str(path), frames)
    summary = observe_capture(path)
    assert "sadp.serial" in _values(summary, "198.18.0.11")
    assert "dhip.model" in _values(summary, "198.18.0.12")
    assert "wsdiscovery.scopes" in _values(summary, "198.18.0.13")
    upnp = _values(summary, "198.18.0.14")
    assert upnp["upnp.location"] == ["http://198.18.0.14:49152/description.xml"]
    assert upnp["upnp.server_header"][0].startswith("Linux/3.0")
    assert "198.18.0.1" not in {r.target for r in summary.results}


def test_ws_discovery_hello_is_read(tmp_path):
    hello = (
        b'<?xml version="1.0"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
        b'xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" '
        b'xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery"><s:Header><a:Action>'
        b"http://schemas.xmlsoap.org/ws/2005/04/discovery/Hello</a:Action></s:Header><s:Body>"
        b"<d:Hello><a:EndpointReference><a:Address>urn:uuid:1</a:Address></a:EndpointReference>"
        b"<d:Types>dn:NetworkVideoTransmitter</d:Types><d:Scopes>onvif://www.onvif.org/name/"
        b"IPC-HFW2431S onvif://www.onvif.org/hardware/IPC-HFW2431S</d:Scopes>"
        b"<d:XAddrs>http://198.18.0.15/onvif/device_service</d:XAddrs></d:Hello></s:Body>"
        b"</s:Envelope>"
    )
    path = tmp_path / "hello.pcap"
    wrpcap(str(path), [udp_from("198.18.0.15", 49000, hello, dst="239.255.255.250", dport=3702)])
    values = _values(observe_capture(path), "198.18.0.15")
    assert "onvif://www.onvif.org/hardware/IPC-HFW2431S" in values["wsdiscovery.scopes"]
    assert values["wsdiscovery.xaddrs"] == ["http://198.18.0.15/onvif/device_service"]


def test_dhcp_client_facts_wait_for_the_ack(tmp_path):
    mac = "44:19:b6:00:00:01"
    chaddr = bytes.fromhex(mac.replace(":", "")) + b"\x00" * 10
    discover = (
        Ether(src=mac, dst="ff:ff:ff:ff:ff:ff")
        / IP(src="0.0.0.0", dst="255.255.255.255")
        / UDP(sport=68, dport=67)
        / BOOTP(op=1, chaddr=chaddr, xid=7)
        / DHCP(
            options=[
                ("message-type", "discover"),
                ("hostname", b"IPC"),
                ("vendor_class_id", b"udhcp 1.19.4"),
                ("param_req_list", [1, 3, 6, 12]),
                "end",
            ]
        )
    )
    ack = (
        Ether(src=SCANNER_MAC, dst=mac)
        / IP(src="198.18.0.1", dst="198.18.0.40")
        / UDP(sport=67, dport=68)
        / BOOTP(op=2, chaddr=chaddr, xid=7, yiaddr="198.18.0.40")
        / DHCP(options=[("message-type", "ack"), "end"])
    )
    path = tmp_path / "dhcp.pcap"
    wrpcap(str(path), [discover, ack])
    summary = observe_capture(path)
    values = _values(summary, "198.18.0.40")
    assert values["mac.mac"] == [mac]
    assert values["dhcp.vendor_class"] == ["udhcp 1.19.4"]
    assert values["dhcp.hostname"] == ["IPC"]
    assert values["dhcp.param_list"] == ["1,3,6,12"]
    assert summary.unplaced_facts == 0


def _lldp_tlv(kind: int, value: bytes) -> bytes:
    return ((kind << 9) | len(value)).to_bytes(2, "big") + value


def test_lldp_names_a_switch_by_its_management_address(tmp_path):
    chassis = bytes.fromhex("7c1cf1000001")
    body = (
        _lldp_tlv(1, b"\x04" + chassis)
        + _lldp_tlv(2, b"\x05Gi0/0/1")
        + _lldp_tlv(3, b"\x00\x78")
        + _lldp_tlv(5, b"core-sw1")
        + _lldp_tlv(6, b"Huawei Versatile Routing Platform Software VRP (R) software")
        + _lldp_tlv(8, b"\x05\x01" + bytes([198, 18, 0, 2]) + b"\x02\x00\x00\x00\x01\x00")
        + _lldp_tlv(0, b"")
    )
    frame = Ether(src="7c:1c:f1:00:00:02", dst="01:80:c2:00:00:0e", type=0x88CC) / body
    path = tmp_path / "lldp.pcap"
    wrpcap(str(path), [frame])
    values = _values(observe_capture(path), "198.18.0.2")
    assert values["lldp.sysname"] == ["core-sw1"]
    assert values["lldp.sysdescr"][0].startswith("Huawei Versatile Routing Platform")
    assert values["mac.mac"] == ["7c:1c:f1:00:00:01"]


def test_lldp_without_an_address_is_counted_not_lost(tmp_path):
    body = _lldp_tlv(1, b"\x04" + bytes(6)[:5] + b"\x07") + _lldp_tlv(5, b"lonely") + b"\x00\x00"
    frame = Ether(src="02:00:00:00:00:07", dst="01:80:c2:00:00:0e", type=0x88CC) / body
    path = tmp_path / "lldp.pcap"
    wrpcap(str(path), [frame])
    summary = observe_capture(path)
    assert summary.results == ()
    assert summary.unplaced_facts == 1
    assert any("never tied to an IP address" in line for line in summary.limitations())


def test_snmp_response_gives_sysdescr_and_never_the_community(tmp_path):
    reply = capture("snmp/facts-hikvision-nvr.bin")
    path = tmp_path / "snmp.pcap"
    wrpcap(str(path), [udp_from("198.18.0.21", 161, reply)])
    summary = observe_capture(path)
    values = _values(summary, "198.18.0.21")
    assert "snmp.sysdescr" in values or "snmp.sysobjectid" in values
    assert b"public" not in summary.model_dump_json().encode()


def test_not_a_capture_is_a_clear_error(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_bytes(b"this is not a capture at all")
    with pytest.raises(CaptureReadError, match="not a pcap or pcapng capture"):
        observe_capture(path)


def test_a_truncated_capture_keeps_what_came_before_the_cut(tmp_path):
    path = tmp_path / "cut.pcap"
    _mixed_capture(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 20])
    summary = observe_capture(path)
    assert _values(summary, "198.18.0.10")["http.server_header"] == ["App-webs/"]


def test_import_of_garbage_with_a_pcap_magic_exits_2(tmp_path):
    path = tmp_path / "bad.pcap"
    path.write_bytes(b"\xd4\xc3\xb2\xa1" + b"\xff" * 3)
    proc = subprocess.run(
        [sys.executable, "-m", "scanner", "import", str(path), "--out", str(tmp_path / "o")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
        env={"NDAA_SCAN_DB": "off", "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode in {0, 2}, proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_fragmented_discovery_reply_is_reassembled(tmp_path):
    """SADP replies run to 2–4 KiB: on a 1500-byte segment they arrive as IP fragments."""
    from scapy.layers.inet import fragment

    reply = capture("sadp/facts-ds-2cd2385g1-i.xml")
    padded = reply.replace(b"</ProbeMatch>", b"<Pad>" + b"x" * 3000 + b"</Pad></ProbeMatch>")
    datagram = udp_from("198.18.0.31", 37020, padded, dst="239.255.255.250", dport=37020)
    pieces = fragment(datagram[IP], fragsize=1400)
    assert len(pieces) >= 3
    frames = [Ether(src="02:00:00:00:00:31", dst=SCANNER_MAC) / p for p in reversed(pieces)]
    path = tmp_path / "frag.pcap"
    wrpcap(str(path), frames)
    values = _values(observe_capture(path), "198.18.0.31")
    assert values["sadp.model"] == ["DS-2CD2385G1-I"]
