import base64
import contextlib
import hashlib
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from scanner.context import ProbeSettings
from scanner.errors import ProbeParseError
from scanner.probes.base import run_host_probe
from scanner.probes.onvif_device import (
    PROBE,
    build_request,
    parse_device_information,
    parse_scopes,
    parse_system_date_and_time,
)
from scanner.safe_xml import child_text, parse_xml

from .loopback import fresh_address, http_response, loopback_ctx, tcp_server

CAPTURES = Path(__file__).parents[2] / "data" / "captures" / "onvif_device"
INFO = (CAPTURES / "facts-hikvision-device-information.xml").read_bytes()
FAULT = (CAPTURES / "facts-not-authorized-fault.xml").read_bytes()
CLOCK = (CAPTURES / "facts-system-date-and-time.xml").read_bytes()
SCOPES = (
    b'<?xml version="1.0"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
    b'xmlns:tds="http://www.onvif.org/ver10/device/wsdl" xmlns:tt="http://www.onvif.org/ver10/schema">'
    b"<s:Body><tds:GetScopesResponse><tds:Scopes><tt:ScopeDef>Fixed</tt:ScopeDef>"
    b"<tt:ScopeItem>onvif://www.onvif.org/hardware/DS-2DF7286-A</tt:ScopeItem></tds:Scopes>"
    b"</tds:GetScopesResponse></s:Body></s:Envelope>"
)


def test_device_information_capture():
    info = parse_device_information(INFO)
    assert (info.manufacturer, info.model, info.firmware, info.hardware_id) == (
        "HIKVISION",
        "DS-2DF7286-A",
        "V5.1.8 build 140616",
        "88",
    )
    assert info.serial == "DS-2DF7286-A20140705CCWR471699220B"


def test_fault_and_clock_and_scopes():
    with pytest.raises(ProbeParseError, match="NotAuthorized"):
        parse_device_information(FAULT)
    assert parse_system_date_and_time(CLOCK) == datetime(1970, 1, 15, 2, 44, 11, tzinfo=UTC)
    assert parse_scopes(SCOPES) == ("onvif://www.onvif.org/hardware/DS-2DF7286-A",)


def test_requests_come_from_the_shipped_wsdl_offline():
    root = parse_xml(
        build_request("GetDeviceInformation", "http://198.18.0.5/onvif/device_service")
    )
    assert root.tag == "{http://www.w3.org/2003/05/soap-envelope}Envelope"
    assert root.find(".//{http://www.onvif.org/ver10/device/wsdl}GetDeviceInformation") is not None


def test_digest_is_signed_with_the_given_clock_and_never_carries_the_password():
    created = datetime(1970, 1, 15, 2, 44, 13, tzinfo=UTC)
    data = build_request(
        "GetDeviceInformation",
        "http://x/onvif/device_service",
        username="admin",
        password="hunter2",
        created=created,
    )
    assert b"hunter2" not in data
    root = parse_xml(data)
    assert child_text(root, "Created") == "1970-01-15T02:44:13Z"
    nonce = base64.b64decode(child_text(root, "Nonce"))
    digest = base64.b64encode(
        hashlib.sha1(  # noqa: S324 - WS-UsernameToken digest is SHA-1 by spec
            nonce + b"1970-01-15T02:44:13Z" + b"hunter2"
        ).digest()
    ).decode()
    assert child_text(root, "Password") == digest


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"<a/>",
        INFO[:150],
        b"<Envelope><Body><GetDeviceInformationResponse/></Body></Envelope>"[:-12],
    ],
)
def test_broken(data):
    with pytest.raises(ProbeParseError):
        parse_device_information(data)


@given(st.binary(max_size=2048))
@settings(max_examples=200, deadline=None)
def test_fuzz_parse_device_information(data):
    with contextlib.suppress(ProbeParseError):
        parse_device_information(data)


@given(st.binary(max_size=2048))
@settings(max_examples=200, deadline=None)
def test_fuzz_parse_system_date_and_time(data):
    with contextlib.suppress(ProbeParseError):
        parse_system_date_and_time(data)


@given(st.text(max_size=40))
@settings(max_examples=200, deadline=None)
def test_fuzz_parse_system_date_and_time_values(text):
    data = CLOCK.replace(
        b"<tt:Year>1970</tt:Year>",
        f"<tt:Year>{text}</tt:Year>".encode("utf-8", "replace")
        .replace(b"<", b"")
        .replace(b"&", b""),
    )
    with contextlib.suppress(ProbeParseError):
        parse_system_date_and_time(data)


@given(st.binary(max_size=2048))
@settings(max_examples=200, deadline=None)
def test_fuzz_parse_scopes(data):
    with contextlib.suppress(ProbeParseError):
        parse_scopes(data)


def soap_server(password=None):
    """An ONVIF device that wants a digest for GetDeviceInformation, checked against its clock."""
    calls = []

    async def handler(reader, writer):
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(re.search(rb"Content-Length: (\d+)", head).group(1))
        body = await reader.readexactly(length)
        root = parse_xml(body)
        op = next(
            el.tag.split("}")[1]
            for el in root.iter()
            if el.tag.endswith(
                ("GetSystemDateAndTime", "GetCapabilities", "GetDeviceInformation", "GetScopes")
            )
        )
        calls.append((op, body))
        if op == "GetSystemDateAndTime":
            reply = http_response("200 OK", [("Content-Type", "application/soap+xml")], CLOCK)
        elif op == "GetScopes":
            reply = http_response("200 OK", [], SCOPES)
        elif op == "GetCapabilities":
            reply = http_response(
                "200 OK", [], SCOPES.replace(b"GetScopesResponse", b"GetCapabilitiesResponse")
            )
        else:
            created = child_text(root, "Created")
            ok = False
            if (password and created == "1970-01-15T02:44:11Z") or (
                password and created and created.startswith("1970-01-15T02:44:1")
            ):
                nonce = base64.b64decode(child_text(root, "Nonce"))
                expect = base64.b64encode(
                    hashlib.sha1(  # noqa: S324 - WS-UsernameToken digest is SHA-1 by spec
                        nonce + created.encode() + password.encode()
                    ).digest()
                ).decode()
                ok = child_text(root, "Password") == expect
            if ok:
                reply = http_response("200 OK", [], INFO)
            else:
                reply = http_response(
                    "400 Bad Request",
                    [("WWW-Authenticate", 'Digest realm="Login to 4H01D66PAJ2FA64"')],
                    FAULT,
                )
        writer.write(reply)
        await writer.drain()
        writer.close()

    return handler, calls


@pytest.mark.loopback
async def test_anonymous_then_digest_with_the_device_clock():
    host = fresh_address()
    handler, calls = soap_server(password="pa55")
    ctx = loopback_ctx(
        settings=ProbeSettings(onvif_username="admin", onvif_password=SecretStr("pa55"))
    )
    async with tcp_server(host, 80, handler):
        result = await run_host_probe(PROBE, host, ctx)
    assert [c[0] for c in calls] == [
        "GetSystemDateAndTime",
        "GetCapabilities",
        "GetDeviceInformation",
        "GetDeviceInformation",
        "GetScopes",
    ]
    assert b"UsernameToken" not in calls[2][1]
    assert b"UsernameToken" in calls[3][1]
    assert all(b"pa55" not in body for _, body in calls)
    seen = {(o.field, o.value) for o in result.observations}
    assert ("manufacturer", "HIKVISION") in seen
    assert ("www_authenticate", 'Digest realm="Login to 4H01D66PAJ2FA64"') in seen
    assert ("scopes", "onvif://www.onvif.org/hardware/DS-2DF7286-A") in seen
    assert result.status == "success"
    assert "pa55" not in result.model_dump_json()


@pytest.mark.loopback
async def test_without_credentials_the_challenge_is_still_evidence():
    host = fresh_address()
    handler, calls = soap_server(password="pa55")
    async with tcp_server(host, 80, handler):
        result = await run_host_probe(PROBE, host, loopback_ctx())
    assert len([c for c in calls if c[0] == "GetDeviceInformation"]) == 1
    assert any(o.field == "www_authenticate" for o in result.observations)
    assert any(o.field == "fault" and "NotAuthorized" in o.value for o in result.observations)


@pytest.mark.loopback
async def test_an_xml_bomb_is_a_protocol_error():
    host = fresh_address()
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><Envelope>&b;</Envelope>'
    )

    async def handler(reader, writer):
        await reader.readuntil(b"\r\n\r\n")
        writer.write(http_response("200 OK", [], bomb))
        await writer.drain()
        writer.close()

    async with tcp_server(host, 80, handler):
        result = await run_host_probe(PROBE, host, loopback_ctx())
    assert result.status == "protocol_error"
    assert "unsafe XML" in result.error


def _fixed_reply(reply):
    async def handler(reader, writer):
        await reader.readuntil(b"\r\n\r\n")
        writer.write(reply)
        await writer.drain()
        writer.close()

    return handler


@pytest.mark.loopback
async def test_a_web_servers_404_is_not_found_not_a_protocol_error():
    host = fresh_address()
    reply = http_response("404 Not Found", [("Content-Type", "text/html")], b"<h1>404</h1>")
    async with tcp_server(host, 80, _fixed_reply(reply)):
        result = await run_host_probe(PROBE, host, loopback_ctx())
    assert result.status == "not_found"
    assert result.target == f"{host}:80"
    assert "HTTP 404" in result.error


@pytest.mark.loopback
async def test_a_catch_all_html_page_is_not_found():
    host = fresh_address()
    reply = http_response("200 OK", [("Content-Type", "text/html")], b"<html>login</html>")
    async with tcp_server(host, 80, _fixed_reply(reply)):
        result = await run_host_probe(PROBE, host, loopback_ctx())
    assert result.status == "not_found"
    assert "not SOAP" in result.error


@pytest.mark.loopback
async def test_a_device_refusing_everything_is_auth_required_with_its_fault_kept():
    host = fresh_address()

    async def handler(reader, writer):
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(re.search(rb"Content-Length: (\d+)", head).group(1))
        body = await reader.readexactly(length)
        if b"GetSystemDateAndTime" in body:
            reply = http_response("200 OK", [], CLOCK)
        else:
            reply = http_response("400 Bad Request", [], FAULT)
        writer.write(reply)
        await writer.drain()
        writer.close()

    async with tcp_server(host, 80, handler):
        result = await run_host_probe(PROBE, host, loopback_ctx())
    assert result.status == "auth_required", result.error
    assert any(o.field == "fault" and "NotAuthorized" in o.value for o in result.observations)


def test_xaddrs_name_the_endpoint_and_only_ipv4_http_urls_are_followed():
    from ipaddress import IPv4Address

    from scanner.probes.onvif_device import endpoint_from_xaddr
    from scanner.results import Observation

    endpoint = endpoint_from_xaddr("http://198.18.2.10:8080/onvif/device_service")
    assert (endpoint.host, endpoint.port, endpoint.path, endpoint.tls) == (
        IPv4Address("198.18.2.10"),
        8080,
        "/onvif/device_service",
        False,
    )
    assert endpoint_from_xaddr("https://198.18.2.10/onvif/device_service").port == 443
    assert endpoint_from_xaddr("http://[fe80::1]/onvif/device_service") is None
    assert endpoint_from_xaddr("http://camera.local/onvif") is None
    assert endpoint_from_xaddr("ftp://198.18.2.10/x") is None
    assert endpoint_from_xaddr("http://198.18.2.10:99999/x") is None
    host = IPv4Address("198.18.2.10")
    lead = Observation(
        host=host,
        protocol="wsdiscovery",
        field="xaddrs",
        value="http://198.18.2.10:8080/onvif/device_service",
    )
    assert [e.port for e in PROBE.endpoints(host, [lead, lead])] == [8080]
    assert [e.port for e in PROBE.endpoints(host, [])] == [80]


@pytest.mark.loopback
async def test_the_announced_endpoint_is_probed_at_its_port_and_path():
    from scanner.probes.base import Endpoint

    host = fresh_address()
    handler, calls = soap_server()
    async with tcp_server(host, 8080, handler):
        endpoint = Endpoint(host=host, port=8080, path="/onvif/device_service")
        result = await run_host_probe(PROBE, host, loopback_ctx(), endpoint)
    assert result.target == f"{host}:8080"
    assert [c[0] for c in calls][:2] == ["GetSystemDateAndTime", "GetCapabilities"]
    assert result.status in {"success", "auth_required"}


def test_plain_request_names_no_address():
    # The unsigned envelope is built once per operation: it must not depend on the address.
    first = build_request("GetScopes", "http://198.18.0.5/onvif/device_service")
    other = build_request("GetScopes", "https://198.18.3.9:8443/onvif/other")
    assert first == other
    assert b"198.18" not in first
