"""Dahua CGI identity and RemoteDevice probe, with and without a login, against real bytes."""

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scanner.errors import ProbeParseError
from scanner.probes.base import run_host_probe
from scanner.probes.dahua_cgi import PROBE as DAHUA
from scanner.probes.dahua_cgi import parse_key_values, parse_remote_devices

from .digest_server import REMOTE, SYSTEM_INFO, creds, lighttpd
from .loopback import fresh_address, http_response, loopback_ctx, tcp_server

__all__ = ["lighttpd"]  # the module-scoped fixture, imported for pytest


def test_remote_device_table_both_key_spellings_and_placeholders():
    cameras = parse_remote_devices(REMOTE)
    assert [c.channel for c in cameras] == [1, 2, 4]  # slot 2 disabled; slot = channel - 1
    assert cameras[0].model == "IPC-HDW2431T-AS-S2"
    assert cameras[0].serial == "7J0A3B2PAZ5C1D9"
    assert cameras[0].dahua_protocol == "Private"
    assert cameras[1].model is None  # "IP Camera" names a class, not a model
    assert cameras[2].model == "DH-SD49425XB-HNR"


def test_key_values():
    assert parse_key_values(SYSTEM_INFO)["deviceType"] == "DHI-NVR5216-16P-4KS2E"
    with pytest.raises(ProbeParseError):
        parse_key_values(b"<html><body>404</body></html>")


@settings(max_examples=200, deadline=None)
@given(
    st.binary(max_size=4096)
    | st.sampled_from([REMOTE, SYSTEM_INFO]).map(
        lambda doc: doc[: len(doc) // 3] + b"=\xff\r\ntable.RemoteDevice[99999].Enable=true"
    )
)
def test_parsers_never_crash_on_garbage(data):
    for parse in (parse_key_values, parse_remote_devices):
        with contextlib.suppress(ProbeParseError):
            parse(data)


@pytest.mark.loopback
async def test_dahua_cgi_probe_with_a_login(lighttpd):
    result = await run_host_probe(DAHUA, lighttpd, loopback_ctx(settings=creds(lighttpd)))
    facts = {(o.key, o.channel): o.value for o in result.observations}
    assert facts[("dahua_cgi.device_type", None)] == "DHI-NVR5216-16P-4KS2E"
    assert facts[("dahua_cgi.serial", None)] == "5F0A1B2PAZ3C4D5"
    assert facts[("dahua_cgi.vendor", None)] == "Dahua"
    assert facts[("channel.model", 1)] == "IPC-HDW2431T-AS-S2"
    assert facts[("channel.mac", 1)] == "e0:50:8b:12:34:56"
    assert ("channel.mac", 2) not in facts  # ff:ff:ff:ff:ff:ff is a placeholder
    assert facts[("channel.dahua_protocol", 4)] == "Private"
    assert all(o.authenticated for o in result.observations if o.protocol != "auth")


@pytest.mark.loopback
async def test_dahua_that_answers_without_a_login_is_read_unauthenticated():
    host = fresh_address()
    bodies = {
        b"getSystemInfo": SYSTEM_INFO,
        b"getVendor": b"vendor=Lorex\r\n",
        b"getDeviceType": b"type=DHI-NVR5216-16P-4KS2E\r\n",
        b"name=RemoteDevice": REMOTE,
    }

    async def handler(reader, writer):
        request = await reader.read(4096)
        line = request.split(b"\r\n", 1)[0]
        body = next((b for key, b in bodies.items() if key in line), None)
        if body is None:
            writer.write(http_response("404 Not Found", [("Connection", "close")]))
        else:
            writer.write(http_response("200 OK", [("Connection", "close")], body))
        await writer.drain()

    async with tcp_server(host, 80, handler):
        result = await run_host_probe(DAHUA, host, loopback_ctx())
    facts = {(o.key, o.channel): o for o in result.observations}
    assert facts[("dahua_cgi.vendor", None)].value == "Lorex"
    assert not facts[("dahua_cgi.vendor", None)].authenticated
    assert facts[("channel.serial", 1)].value == "7J0A3B2PAZ5C1D9"


@pytest.mark.loopback
async def test_servers_without_the_cgi_are_not_found_not_a_crash():
    host = fresh_address()

    async def handler(reader, writer):
        await reader.read(4096)
        writer.write(http_response("200 OK", [("Connection", "close")], b"<html>login</html>"))
        await writer.drain()

    async with tcp_server(host, 80, handler):
        result = await run_host_probe(DAHUA, host, loopback_ctx())
    assert result.status == "not_found"
    assert not result.observations


@pytest.mark.loopback
async def test_a_refused_login_is_never_offered_again_so_accounts_do_not_lock():
    host = fresh_address()
    attempts: list[bytes] = []

    async def handler(reader, writer):
        request = await reader.read(8192)
        if b"Authorization:" in request:
            attempts.append(request.split(b"\r\n", 1)[0])
        writer.write(
            http_response(
                "401 Unauthorized",
                [
                    (
                        "WWW-Authenticate",
                        'Digest realm="Login to 8L0E41CPAZ00191", qop="auth", nonce="abc123"',
                    ),
                    ("Connection", "close"),
                ],
                b"Error\r\nInvalid Authority!\r\n",
            )
        )
        await writer.drain()

    async with tcp_server(host, 80, handler):
        result = await run_host_probe(DAHUA, host, loopback_ctx(settings=creds(host, "wrong-pw")))
    assert len(attempts) == 1, attempts  # one login in scope, one try, then nothing more
    assert [o.key for o in result.observations] == ["auth.rejected"]
    assert result.status == "auth_required"


@pytest.mark.loopback
async def test_a_recorder_moved_off_port_80_is_read_on_the_port_dhip_announced():
    from scanner.results import Observation, utc_now

    host = fresh_address()

    async def handler(reader, writer):
        request = await reader.read(4096)
        body = (
            SYSTEM_INFO
            if b"getSystemInfo" in request
            else (REMOTE if b"RemoteDevice" in request else b"vendor=Dahua\r\n")
        )
        writer.write(http_response("200 OK", [("Connection", "close")], body))
        await writer.drain()

    lead = Observation(
        host=host,
        protocol="dhip",
        field="http_port",
        value="8088",
        probe="dhip",
        observed_at=utc_now(),
    )
    endpoints = DAHUA.endpoints(host, [lead])
    assert [e.port for e in endpoints] == [80, 8088]
    async with tcp_server(host, 8088, handler):
        result = await run_host_probe(DAHUA, host, loopback_ctx(), endpoints[1])
    assert result.target == f"{host}:8088"
    facts = {(o.key, o.channel): o for o in result.observations}
    assert facts[("channel.serial", 1)].value == "7J0A3B2PAZ5C1D9"
    assert facts[("channel.serial", 1)].port == 8088
