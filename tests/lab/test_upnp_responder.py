"""The lab's SSDP responder and description server, checked with the probe's own parsers."""

from __future__ import annotations

import asyncio
from ipaddress import IPv4Address
from pathlib import Path

import pytest

from scanner.lab.profile import LabHost, load_profile
from scanner.lab.responders import upnp
from scanner.lab.responders.common import HostContext
from scanner.probes.http_banner import parse_reply as parse_http
from scanner.probes.upnp import GROUP, build_search, parse_description, parse_reply

CITY_HALL = load_profile(Path(__file__).parents[2] / "examples" / "lab" / "city-hall.toml")


def _ctx(name: str) -> tuple[HostContext, LabHost]:
    host = next(h for h in CITY_HALL.hosts if h.name == name)
    ctx = HostContext.build(host, str(host.address), host.mac, "255.255.255.0", "198.18.0.1")
    return ctx, host


@pytest.mark.parametrize("destination", [GROUP, IPv4Address("198.18.0.112")])
def test_answers_the_probes_search(destination):
    ctx, host = _ctx("axis-upnp")
    assert host.upnp is not None
    reply = parse_reply(upnp.ssdp_reply(ctx, host.upnp, build_search(destination)) or b"")
    assert reply.status == 200
    assert reply.header("LOCATION") == "http://198.18.0.112:49152/rootdesc1.xml"
    assert reply.header("SERVER") == host.upnp.server
    assert reply.header("USN") == "uuid:Upnp-BasicDevice-1_0-ACCC8E270070::upnp:rootdevice"


@pytest.mark.parametrize(
    ("target", "answered"),
    [
        ("ssdp:all", True),
        ("urn:schemas-upnp-org:device:InternetGatewayDevice:1", True),
        ("uuid:7a1e0000-0000-1000-8000-0019c65a006e", True),
        ("urn:schemas-upnp-org:device:MediaServer:1", False),
    ],
)
def test_search_targets(target, answered):
    ctx, host = _ctx("zte-router")
    assert host.upnp is not None
    search = (
        f'M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: "ssdp:discover"\r\n'
        f"MX: 1\r\nST: {target}\r\n\r\n"
    ).encode()
    assert (upnp.ssdp_reply(ctx, host.upnp, search) is not None) is answered


@pytest.mark.parametrize(
    "data",
    [
        b"NOTIFY * HTTP/1.1\r\nNT: upnp:rootdevice\r\n\r\n",
        b"M-SEARCH * HTTP/1.1\r\nST: ssdp:all\r\n\r\n",  # no MAN: not a discovery request
        b"\x00" * 100,
    ],
)
def test_ignores_what_is_not_a_search(data):
    ctx, host = _ctx("zte-router")
    assert host.upnp is not None
    assert upnp.ssdp_reply(ctx, host.upnp, data) is None


def test_description_parses_with_the_probe():
    ctx, host = _ctx("zte-router")
    assert host.upnp is not None
    fields = dict(parse_description(upnp.description(ctx, host.upnp)).fields)
    assert fields["manufacturer"] == "ZTE"
    assert fields["model"] == "ZXHN H108N"
    assert fields["udn"] == "uuid:7a1e0000-0000-1000-8000-0019c65a006e"


async def _serve(ctx: HostContext, host: LabHost, request: bytes) -> bytes:
    assert host.upnp is not None
    handle = upnp.handler(ctx, host.upnp)
    reader = asyncio.StreamReader()
    reader.feed_data(request)
    reader.feed_eof()
    written: list[bytes] = []

    class Writer:
        def write(self, data: bytes) -> None:
            written.append(data)

        async def drain(self) -> None:
            return None

    await handle(reader, Writer())  # type: ignore[arg-type]
    return b"".join(written)


async def test_description_server_serves_its_path_and_404s_the_rest():
    ctx, host = _ctx("hw-gateway")
    ok = parse_http(await _serve(ctx, host, b"GET /igddesc.xml HTTP/1.1\r\nHost: x\r\n\r\n"))
    assert ok.status == 200
    assert ok.header("SERVER") == ["Linux UPnP/1.0 Huawei-ATP-IGD"]
    assert dict(parse_description(ok.body).fields)["friendly_name"] == "InternetGatewayDevice"
    missing = parse_http(await _serve(ctx, host, b"GET /ISAPI/System/deviceInfo HTTP/1.1\r\n\r\n"))
    assert missing.status == 404
