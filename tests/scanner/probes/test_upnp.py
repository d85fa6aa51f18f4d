import asyncio
import contextlib
from ipaddress import IPv4Address
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scanner.errors import ProbeParseError
from scanner.probes.http_banner import parse_reply as parse_http
from scanner.probes.upnp import (
    GROUP,
    PROBE,
    build_search,
    description_target,
    parse_description,
    parse_reply,
)

from .loopback import fresh_address, loopback_ctx, tcp_server, udp_server

CAPTURES = Path(__file__).parents[2] / "data" / "captures" / "upnp"
SSDP = (CAPTURES / "debian-minidlna-1.3.0-ssdp.bin").read_bytes()
ROOTDESC = (CAPTURES / "debian-minidlna-1.3.0-rootdesc.bin").read_bytes()


def test_minidlna_ssdp_answer():
    reply = parse_reply(SSDP)
    assert reply.status == 200
    assert reply.header("server") == "Debian DLNADOC/1.50 UPnP/1.0 MiniDLNA/1.3.0"
    assert reply.header("LOCATION") == "http://198.18.0.105:8200/rootDesc.xml"
    assert reply.header("ST") == "upnp:rootdevice"


def test_minidlna_description():
    body = parse_http(ROOTDESC).body
    fields = dict(parse_description(body).fields)
    assert fields == {
        "manufacturer": "Justin Maggard",
        "model": "Windows Media Connect compatible (MiniDLNA)",
        "model_number": "1.3.0",
        "serial": "00000000",
        "friendly_name": "deb-dlna",
        "udn": "uuid:4d696e69-444c-164e-9d41-0242c6120069",
    }


def test_embedded_devices_do_not_count():
    doc = (
        b'<?xml version="1.0"?><root xmlns="urn:schemas-upnp-org:device-1-0"><device>'
        b"<friendlyName>gw</friendlyName><deviceList><device><manufacturer>Other</manufacturer>"
        b"<modelName>WANDevice</modelName></device></deviceList></device></root>"
    )
    assert parse_description(doc).fields == (("friendly_name", "gw"),)


@pytest.mark.parametrize(
    "doc",
    [
        b"",
        b"<html><body>hi</body></html>",
        b"<root/>",
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa">]><root><device>&a;</device></root>',
        b"<root><device>" * 10 + b"x",
    ],
)
def test_not_a_description(doc):
    with pytest.raises(ProbeParseError):
        parse_description(doc)


@pytest.mark.parametrize(
    "data",
    [b"", b"NOTIFY * HTTP/1.1\r\nNT: upnp:rootdevice\r\n\r\n", b"garbage", b"HTTP/1.1 OK\r\n"],
)
def test_not_an_ssdp_answer(data):
    with pytest.raises(ProbeParseError):
        parse_reply(data)


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        (
            "http://198.18.0.9:49152/rootDesc.xml",
            (IPv4Address("198.18.0.9"), 49152, "/rootDesc.xml"),
        ),
        ("http://198.18.0.9/d.xml?x=1", (IPv4Address("198.18.0.9"), 80, "/d.xml?x=1")),
        ("https://198.18.0.9/d.xml", None),
        ("http://camera.local/d.xml", None),
        ("http://198.18.0.9:99999/d.xml", None),
        ("file:///etc/passwd", None),
        ("http://198.18.0.9/a b", None),
    ],
)
def test_description_target(location, expected):
    assert description_target(location) == expected


def test_search_forms():
    multicast = build_search(GROUP)
    assert b"HOST: 239.255.255.250:1900\r\n" in multicast
    assert b"MX: 1\r\n" in multicast
    unicast = build_search(IPv4Address("198.18.0.7"))
    assert b"HOST: 198.18.0.7:1900\r\n" in unicast
    assert b"MX:" not in unicast
    assert b'MAN: "ssdp:discover"' in unicast
    assert b"ST: upnp:rootdevice" in unicast


@given(st.binary(max_size=4096))
@settings(max_examples=300, deadline=None)
def test_fuzz_parse_reply(data):
    with contextlib.suppress(ProbeParseError):
        parse_reply(data)


@given(st.binary(max_size=4096) | st.text(max_size=2000).map(str.encode))
@settings(max_examples=300, deadline=None)
def test_fuzz_parse_description(data):
    with contextlib.suppress(ProbeParseError):
        parse_description(b"<root><device>" + data + b"</device></root>")
    with contextlib.suppress(ProbeParseError):
        parse_description(data)


def _ssdp_answer(location: str) -> bytes:
    return (
        "HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=1800\r\nEXT:\r\n"
        f"LOCATION: {location}\r\nSERVER: Linux/3.0.8 UPnP/1.0 lab/1\r\n"
        "ST: upnp:rootdevice\r\nUSN: uuid:1::upnp:rootdevice\r\n\r\n"
    ).encode()


async def _sweep(host, location, description_handler=None, port=49152):
    searches: list[bytes] = []

    def answer(data):
        searches.append(data)
        return [_ssdp_answer(location)]

    async with udp_server(host, 1900, answer):
        if description_handler is None:
            return await PROBE.discover([host], loopback_ctx()), searches
        async with tcp_server(host, port, description_handler):
            return await PROBE.discover([host], loopback_ctx()), searches


def _serving(body: bytes, head_extra: bytes = b""):
    requests: list[bytes] = []

    async def handler(reader, writer):
        requests.append(await reader.read(4096))
        writer.write(
            b"HTTP/1.1 200 OK\r\nSERVER: Linux/3.0.8 UPnP/1.0 lab/1\r\n"
            + head_extra
            + b"Content-Length: %d\r\n\r\n" % len(body)
            + body
        )
        await writer.drain()

    return handler, requests


@pytest.mark.loopback
async def test_search_then_description():
    host = fresh_address()
    body = parse_http(ROOTDESC).body
    handler, requests = _serving(body)
    [result], searches = await _sweep(host, f"http://{host}:49152/rootDesc.xml", handler)
    assert result.status == "success", result.error
    assert result.target == f"{host}:1900"
    fields = {(o.field, o.value) for o in result.observations}
    assert ("manufacturer", "Justin Maggard") in fields
    assert ("friendly_name", "deb-dlna") in fields
    assert ("server_header", "Linux/3.0.8 UPnP/1.0 lab/1") in fields
    assert ("location", f"http://{host}:49152/rootDesc.xml") in fields
    assert len(searches) == 1
    assert searches[0].startswith(b"M-SEARCH * HTTP/1.1\r\n")
    [request] = requests
    assert request.startswith(b"GET /rootDesc.xml HTTP/1.1\r\n")
    ports = {o.field: o.port for o in result.observations}
    assert ports["location"] == 1900
    assert ports["manufacturer"] == 49152


@pytest.mark.loopback
async def test_out_of_scope_location_is_not_fetched():
    host = fresh_address()
    # 10.0.0.1 is outside the loopback scope: nothing may be sent there, not even a SYN.
    [result], _ = await _sweep(host, "http://10.0.0.1:49152/rootDesc.xml")
    assert result.status == "success"
    assert "out of scope" in (result.error or "")
    assert {o.field for o in result.observations} == {"server_header", "location", "usn"}


@pytest.mark.loopback
async def test_named_location_is_not_resolved():
    host = fresh_address()
    [result], _ = await _sweep(host, "http://printer.example/rootDesc.xml")
    assert "not an http://IPv4 URL" in (result.error or "")


@pytest.mark.loopback
async def test_xml_bomb_description_keeps_the_ssdp_answer():
    host = fresh_address()
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;">]><root><device><manufacturer>&lol2;'
        b"</manufacturer></device></root>"
    )
    handler, _ = _serving(bomb)
    [result], _ = await _sweep(host, f"http://{host}:49152/d.xml", handler)
    assert result.status == "success"
    assert "unsafe XML" in (result.error or "")
    assert "manufacturer" not in {o.field for o in result.observations}


@pytest.mark.loopback
async def test_chunked_description_and_404():
    host = fresh_address()
    body = parse_http(ROOTDESC).body

    async def chunked(reader, writer):
        request = await reader.read(4096)
        if b"GET /rootDesc.xml " not in request:
            writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
            return
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        for i in range(0, len(body), 500):
            piece = body[i : i + 500]
            writer.write(b"%x\r\n%s\r\n" % (len(piece), piece))
        writer.write(b"0\r\n\r\n")
        await writer.drain()

    [result], _ = await _sweep(host, f"http://{host}:49152/rootDesc.xml", chunked)
    assert ("udn", "uuid:4d696e69-444c-164e-9d41-0242c6120069") in {
        (o.field, o.value) for o in result.observations
    }
    other = fresh_address()
    [missing], _ = await _sweep(other, f"http://{other}:49152/nothing.xml", chunked)
    assert "404" in (missing.error or "")


@pytest.mark.loopback
async def test_slow_description_is_bounded():
    host = fresh_address()

    async def slow(reader, writer):
        await reader.read(4096)
        for byte in b"HTTP/1.1 200 OK\r\n\r\n<root>":
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(0.3)

    started = asyncio.get_running_loop().time()
    [result], _ = await _sweep(host, f"http://{host}:49152/d.xml", slow)
    took = asyncio.get_running_loop().time() - started
    assert took < 2.0 + 2.0 + 1.0  # collection window + one exchange deadline + slack
    assert result.status == "success"
    assert result.error


@pytest.mark.loopback
async def test_nobody_answers():
    [result] = await PROBE.discover([fresh_address()], loopback_ctx())
    assert result.status == "no_reply"
    assert result.target == "*"


@pytest.mark.loopback
async def test_an_answer_that_waits_for_mx_is_still_heard():
    host = fresh_address()
    loop = asyncio.get_running_loop()

    class Late(asyncio.DatagramProtocol):
        def connection_made(self, transport):
            self.transport = transport

        def datagram_received(self, data, addr):
            # UDA 1.1: a device may wait up to MX (1 s) before it answers; past the 0.8 s floor.
            loop.call_later(0.95, self.transport.sendto, _ssdp_answer("http://10.0.0.1/x"), addr)

    transport, _ = await loop.create_datagram_endpoint(Late, local_addr=(str(host), 1900))
    try:
        [result] = await PROBE.discover([host], loopback_ctx())
    finally:
        transport.close()
    assert result.status == "success"
    assert result.target == f"{host}:1900"
