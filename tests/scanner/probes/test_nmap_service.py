import contextlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scanner.errors import ProbeParseError
from scanner.probes.nmap_service import host_observations, parse_nmap_xml

CAPTURE = (
    Path(__file__).parents[2] / "data" / "captures" / "nmap_service" / "lab-cityhall-3hosts.xml"
)


def test_real_nmap_report_maps_into_the_shared_fields():
    hosts = {str(h.address): h for h in parse_nmap_xml(CAPTURE.read_bytes())}
    assert set(hosts) == {"198.18.0.10", "198.18.0.20", "198.18.0.75"}
    hik = hosts["198.18.0.10"]
    assert hik.mac == "44:19:b6:4e:1a:20"
    seen = {(o.protocol, o.field, o.value) for o in host_observations(hik)}
    assert ("mac", "mac", "44:19:b6:4e:1a:20") in seen
    assert ("http", "server_header", "App-webs/") in seen  # the same key http_banner emits
    assert ("nmap", "product", "Hikvision IP camera httpd") in seen
    assert ("tcp", "open_port", "554") in seen
    assert all(o.probe == "nmap_service" for o in host_observations(hik))


def test_closed_and_filtered_ports_are_not_evidence():
    xml = b"""<?xml version="1.0"?><nmaprun><host><address addr="198.18.0.9" addrtype="ipv4"/>
    <ports><port protocol="tcp" portid="80"><state state="closed"/></port>
    <port protocol="tcp" portid="554"><state state="filtered"/><service name="rtsp"/></port>
    <port protocol="tcp" portid="x"><state state="open"/></port></ports></host></nmaprun>"""
    [host] = parse_nmap_xml(xml)
    assert host.ports == []
    assert host_observations(host) == []


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"<html/>",
        b"<nmaprun",
        b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><nmaprun>&e;</nmaprun>',
    ],
)
def test_not_a_report(data):
    with pytest.raises(ProbeParseError):
        parse_nmap_xml(data)


@given(st.binary(max_size=2048))
@settings(max_examples=200, deadline=None)
def test_fuzz_parse_nmap_xml(data):
    with contextlib.suppress(ProbeParseError):
        parse_nmap_xml(data)


@given(st.text(max_size=60), st.text(max_size=60))
@settings(max_examples=200, deadline=None)
def test_fuzz_parse_nmap_xml_attributes(addr, portid):
    from xml.sax.saxutils import quoteattr  # noqa: TID251 - escaping for the test input only

    xml = (
        f'<nmaprun><host><address addr={quoteattr(addr)} addrtype="ipv4"/>'
        f"<address addr={quoteattr(addr)} "
        f'addrtype="mac"/><ports><port portid={quoteattr(portid)}><state state="open"/>'
        f'<service name={quoteattr(addr)} tunnel="ssl"/></port></ports></host></nmaprun>'
    ).encode()
    with contextlib.suppress(ProbeParseError):
        for host in parse_nmap_xml(xml):
            host_observations(host)
