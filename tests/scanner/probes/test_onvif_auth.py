"""ONVIF identity with a login: WS-UsernameToken (zeep's, third-party) against the lab's device
service, and the HTTP-digest fallback for firmware that guards the SOAP endpoint at HTTP."""

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scanner.context import ProbeSettings
from scanner.credentials import CredentialStore, parse_credentials
from scanner.errors import ProbeParseError
from scanner.lab.profile import LabHost, RouteAuth
from scanner.lab.responders import onvif
from scanner.lab.responders.common import HostContext
from scanner.lab.responders.http_digest import authorized
from scanner.probes.base import run_host_probe
from scanner.probes.onvif_auth import (
    PROBE,
    parse_media_xaddr,
    parse_network_interfaces,
    parse_profiles,
    parse_video_sources,
)

from .loopback import fresh_address, loopback_ctx, tcp_server

PASSWORD = "pw-Onvif-Lab-77"
INTERFACES = (
    b'<?xml version="1.0"?><env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope" '
    b'xmlns:tds="http://www.onvif.org/ver10/device/wsdl" xmlns:tt="http://www.onvif.org/ver10/schema">'
    b'<env:Body><tds:GetNetworkInterfacesResponse><tds:NetworkInterfaces token="eth0">'
    b"<tt:Enabled>true</tt:Enabled><tt:Info><tt:Name>eth0</tt:Name>"
    b"<tt:HwAddress>44:19:b6:4e:1a:20</tt:HwAddress><tt:MTU>1500</tt:MTU></tt:Info>"
    b"</tds:NetworkInterfaces></tds:GetNetworkInterfacesResponse></env:Body></env:Envelope>"
)


# Media replies in the element layout of media.wsdl / onvif.xsd (onvif-zeep-async's shipped
# WSDLs): VideoSources with a token attribute, Profiles with a VideoSourceConfiguration whose
# SourceToken names the source. Prefixes as a gSOAP recorder writes them.
_ENV = (
    b'<?xml version="1.0" encoding="UTF-8"?><SOAP-ENV:Envelope '
    b'xmlns:SOAP-ENV="http://www.w3.org/2003/05/soap-envelope" '
    b'xmlns:tt="http://www.onvif.org/ver10/schema" '
    b'xmlns:trt="http://www.onvif.org/ver10/media/wsdl" '
    b'xmlns:tds="http://www.onvif.org/ver10/device/wsdl"><SOAP-ENV:Body>'
)
VIDEO_SOURCES = (
    _ENV + b"<trt:GetVideoSourcesResponse>"
    b'<trt:VideoSources token="VideoSource_1"><tt:Framerate>25</tt:Framerate><tt:Resolution>'
    b"<tt:Width>2560</tt:Width><tt:Height>1440</tt:Height></tt:Resolution></trt:VideoSources>"
    b'<trt:VideoSources token="VideoSource_2"><tt:Framerate>25</tt:Framerate><tt:Resolution>'
    b"<tt:Width>1920</tt:Width><tt:Height>1080</tt:Height></tt:Resolution></trt:VideoSources>"
    b"</trt:GetVideoSourcesResponse></SOAP-ENV:Body></SOAP-ENV:Envelope>"
)
PROFILES = (
    _ENV + b"<trt:GetProfilesResponse>"
    b'<trt:Profiles fixed="true" token="Profile_101"><tt:Name>mainStream</tt:Name>'
    b'<tt:VideoSourceConfiguration token="VideoSourceToken_1"><tt:Name>Front gate</tt:Name>'
    b"<tt:UseCount>2</tt:UseCount><tt:SourceToken>VideoSource_1</tt:SourceToken>"
    b'<tt:Bounds height="1440" width="2560" y="0" x="0"/></tt:VideoSourceConfiguration>'
    b"</trt:Profiles>"
    b'<trt:Profiles fixed="true" token="Profile_102"><tt:Name>subStream</tt:Name>'
    b'<tt:VideoSourceConfiguration token="VideoSourceToken_1"><tt:Name>Front gate sub</tt:Name>'
    b"<tt:SourceToken>VideoSource_1</tt:SourceToken></tt:VideoSourceConfiguration>"
    b"</trt:Profiles>"
    b'<trt:Profiles fixed="true" token="Profile_201"><tt:Name>Yard</tt:Name>'
    b"</trt:Profiles>"
    b"</trt:GetProfilesResponse></SOAP-ENV:Body></SOAP-ENV:Envelope>"
)
CAPABILITIES = (
    _ENV + b"<tds:GetCapabilitiesResponse><tds:Capabilities><tt:Media>"
    b"<tt:XAddr>http://198.18.0.194/onvif/Media</tt:XAddr></tt:Media></tds:Capabilities>"
    b"</tds:GetCapabilitiesResponse></SOAP-ENV:Body></SOAP-ENV:Envelope>"
)


def test_media_parsers():
    assert parse_video_sources(VIDEO_SOURCES) == ("VideoSource_1", "VideoSource_2")
    assert parse_profiles(PROFILES) == {"VideoSource_1": "Front gate"}  # first profile wins
    assert parse_media_xaddr(CAPABILITIES) == "http://198.18.0.194/onvif/Media"
    for parse in (parse_video_sources, parse_profiles, parse_media_xaddr):
        with pytest.raises(ProbeParseError):
            parse(INTERFACES)  # another operation's reply


@settings(max_examples=200, deadline=None)
@given(
    st.binary(max_size=2048)
    | st.sampled_from([VIDEO_SOURCES, PROFILES, CAPABILITIES]).map(lambda d: d[: len(d) // 2])
    | st.sampled_from([VIDEO_SOURCES, PROFILES]).map(
        lambda d: d.replace(b'token="VideoSource_2"', b'token="' + b"x" * 5000 + b'"')
    )
)
def test_media_parsers_never_crash_on_garbage(data):
    for parse in (parse_video_sources, parse_profiles, parse_media_xaddr):
        with contextlib.suppress(ProbeParseError):
            parse(data)


def recorder_ctx(address) -> HostContext:
    host = LabHost.model_validate(
        {
            "name": "onvif-nvr-unit",
            "address": "198.18.0.9",
            "mac": "00:12:41:0a:01:94",
            "truth": {"maker": "unknown", "covered": False},
            "onvif": {
                "manufacturer": "General",
                "model": "NVR-1108P",
                "firmware": "V3.5.0.1",
                "serial": "NV1108P20230311",
                "scopes": ["onvif://www.onvif.org/type/NetworkVideoRecorder"],
                "username": "admin",
                "password": PASSWORD,
                "video_sources": [
                    {"token": "VideoSource_1", "name": "Front gate"},
                    {"token": "VideoSource_2", "name": "Yard"},
                    {"token": "VideoSource_3"},
                ],
            },
        }
    )
    return HostContext.build(host, str(address), host.mac, "255.255.255.0", "127.0.0.1")


@pytest.mark.loopback
async def test_an_onvif_only_recorder_lists_its_channels_through_the_media_service():
    address = fresh_address()
    device = recorder_ctx(address)
    seen: list[bytes] = []

    async def handler(reader, writer):
        request = await _read_request(reader)
        seen.append(request.split(b"\r\n", 1)[0])
        path = request.split(b" ")[1].decode()
        if path not in {"/onvif/device_service", "/onvif/media_service"}:
            writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
        else:
            writer.write(onvif.soap_http_reply(device, device.host.onvif, _body(request), None))
        await writer.drain()

    async with tcp_server(address, 80, handler):
        result = await run_host_probe(PROBE, address, loopback_ctx(settings=settings_for(address)))
    channels = {(o.channel, o.value) for o in result.observations if o.key == "channel.name"}
    assert channels == {(1, "Front gate"), (2, "Yard"), (3, "VideoSource_3")}
    assert all(o.behind == str(address) for o in result.observations if o.protocol == "channel")
    assert b"POST /onvif/media_service HTTP/1.1" in seen
    assert result.status == "success"

    # A camera (no recorder model) is never asked for its media channels.
    seen.clear()
    camera_address = fresh_address()
    camera = host_ctx(camera_address)

    async def camera_handler(reader, writer):
        request = await _read_request(reader)
        seen.append(request.split(b"\r\n", 1)[0])
        writer.write(onvif.soap_http_reply(camera, camera.host.onvif, _body(request), None))
        await writer.drain()

    async with tcp_server(camera_address, 80, camera_handler):
        result = await run_host_probe(
            PROBE, camera_address, loopback_ctx(settings=settings_for(camera_address))
        )
    assert not [o for o in result.observations if o.protocol == "channel"]
    assert all(b"media" not in line for line in seen)


def host_ctx(address, *, password=PASSWORD) -> HostContext:
    host = LabHost.model_validate(
        {
            "name": "onvif-unit",
            "address": "198.18.0.9",
            "mac": "44:19:b6:4e:1a:20",
            "truth": {"maker": "hikvision", "covered": True},
            "onvif": {
                "manufacturer": "HIKVISION",
                "model": "DS-2CD2385G1-I",
                "firmware": "V5.6.2 build 190701",
                "serial": "DS-2CD2385G1-I20210312AAWRF12345678",
                "scopes": ["onvif://www.onvif.org/name/HIKVISION"],
                **({"username": "admin", "password": password} if password else {}),
            },
        }
    )
    return HostContext.build(host, str(address), host.mac, "255.255.255.0", "127.0.0.1")


def settings_for(address, password=PASSWORD) -> ProbeSettings:
    text = f'[[onvif]]\nmatch = "{address}"\nusername = "admin"\npassword = "{password}"\n'
    return ProbeSettings(credentials=CredentialStore(entries=parse_credentials(text)))


def _body(request: bytes) -> bytes:
    return request.partition(b"\r\n\r\n")[2]


async def _read_request(reader) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        data += await reader.read(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        body += await reader.read(65536)
    return head + b"\r\n\r\n" + body


def test_network_interfaces_parser():
    assert parse_network_interfaces(INTERFACES) == ("44:19:b6:4e:1a:20",)
    with pytest.raises(ProbeParseError):
        parse_network_interfaces(b"<html/>")


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2048) | st.just(INTERFACES[: len(INTERFACES) // 2]))
def test_parser_never_crashes_on_garbage(data):
    with contextlib.suppress(ProbeParseError):
        parse_network_interfaces(data)


@pytest.mark.loopback
async def test_usernametoken_login_reads_identity_and_mac():
    address = fresh_address()
    device = host_ctx(address)

    async def handler(reader, writer):
        request = await _read_request(reader)
        writer.write(onvif.soap_http_reply(device, device.host.onvif, _body(request), None))
        await writer.drain()

    async with tcp_server(address, 80, handler):
        result = await run_host_probe(PROBE, address, loopback_ctx(settings=settings_for(address)))
        refused = await run_host_probe(
            PROBE, address, loopback_ctx(settings=settings_for(address, "wrong-one"))
        )
        nothing = await run_host_probe(PROBE, address, loopback_ctx())
    facts = {o.key: o for o in result.observations}
    assert facts["onvif.manufacturer"].value == "HIKVISION"
    assert facts["onvif.manufacturer"].authenticated
    assert facts["onvif.mac"].value == "44:19:b6:4e:1a:20"
    assert PASSWORD not in result.model_dump_json()
    assert [o.key for o in refused.observations] == ["auth.rejected"]
    assert nothing.status == "success"
    assert not nothing.observations  # no login names the host: nothing asked


@pytest.mark.loopback
async def test_http_digest_fallback_when_the_endpoint_answers_401():
    address = fresh_address()
    device = host_ctx(address, password=None)
    gate = RouteAuth(
        username="admin",
        password=PASSWORD,
        realm="ONVIF-digest",
        challenge={"status_line": "HTTP/1.1 401 Unauthorized"},
    )
    challenge = (
        b'HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Digest realm="ONVIF-digest", '
        b'qop="auth", nonce="0a1b2c3d4e5f"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n'
    )

    async def handler(reader, writer):
        request = await _read_request(reader)
        if b"GetSystemDateAndTime" in request or authorized(device, gate, request):
            writer.write(onvif.soap_http_reply(device, device.host.onvif, _body(request), None))
        else:
            writer.write(challenge)
        await writer.drain()

    async with tcp_server(address, 80, handler):
        result = await run_host_probe(PROBE, address, loopback_ctx(settings=settings_for(address)))
    facts = {o.key: o.value for o in result.observations}
    assert facts["onvif.model"] == "DS-2CD2385G1-I"
    assert facts["onvif.mac"] == "44:19:b6:4e:1a:20"


@pytest.mark.loopback
async def test_open_identity_but_a_refused_token_on_the_media_service_is_rejected():
    address = fresh_address()
    device = recorder_ctx(address)
    onvif_service = device.host.onvif.model_copy(update={"open_actions": ("GetDeviceInformation",)})

    async def handler(reader, writer):
        request = await _read_request(reader)
        writer.write(onvif.soap_http_reply(device, onvif_service, _body(request), None))
        await writer.drain()

    async with tcp_server(address, 80, handler):
        result = await run_host_probe(
            PROBE, address, loopback_ctx(settings=settings_for(address, "not-it"))
        )
    keys = [o.key for o in result.observations]
    assert "onvif.model" in keys
    assert not [k for k in keys if k.startswith("channel.")]
    assert ("auth.rejected", "onvif_auth GetVideoSources") in {
        (o.key, o.value) for o in result.observations
    }


@pytest.mark.loopback
async def test_a_closed_port_is_refused_not_a_refused_login():
    address = fresh_address()  # nothing listens there
    result = await run_host_probe(PROBE, address, loopback_ctx(settings=settings_for(address)))
    assert result.status == "refused"
    assert not result.observations
