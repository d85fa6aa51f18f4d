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
from scanner.probes.onvif_auth import PROBE, parse_network_interfaces

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
