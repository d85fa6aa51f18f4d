import asyncio
import contextlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scanner.errors import ProbeParseError
from scanner.probes.base import run_host_probe
from scanner.probes.rtsp import PROBE, parse_reply

from .loopback import fresh_address, loopback_ctx, tcp_server

CAPTURES = Path(__file__).parents[2] / "data" / "captures" / "rtsp"


def test_dahua_401():
    reply = parse_reply((CAPTURES / "facts-dahua-401.bin").read_bytes())
    assert reply.status == 401
    assert reply.header("server") == ["Dahua Rtsp Server"]
    assert reply.header("WWW-Authenticate") == ['Basic realm="device"']


def test_hikvision_options_and_401():
    options = parse_reply((CAPTURES / "facts-hikvision-options.bin").read_bytes())
    assert options.header("Public")[0].startswith("OPTIONS, DESCRIBE, PLAY")
    challenge = parse_reply((CAPTURES / "facts-hikvision-401.bin").read_bytes())
    assert 'realm="IP Camera(C2875)"' in challenge.header("WWW-Authenticate")[0]


@pytest.mark.parametrize(
    "data", [b"", b"HTTP/1.1 200 OK\r\n\r\n", b"RTSP/1.0 20 OK\r\n", b"\x00" * 50, b"X" * 20000]
)
def test_not_rtsp(data):
    with pytest.raises(ProbeParseError):
        parse_reply(data)


@given(st.binary(max_size=2048))
@settings(max_examples=300, deadline=None)
def test_fuzz_parse_reply(data):
    with contextlib.suppress(ProbeParseError):
        parse_reply(data)


@pytest.mark.loopback
async def test_options_then_describe_without_credentials_on_a_keepalive_server():
    host = fresh_address()
    seen: list[bytes] = []

    async def handler(reader, writer):
        request = await reader.readuntil(b"\r\n\r\n")
        seen.append(request)
        if request.startswith(b"OPTIONS"):
            writer.write((CAPTURES / "facts-hikvision-options.bin").read_bytes())
        else:
            writer.write((CAPTURES / "facts-hikvision-401.bin").read_bytes())
        await writer.drain()
        await asyncio.sleep(30)  # keep-alive: the probe must not wait for the close

    async with tcp_server(host, 554, handler):
        started = asyncio.get_running_loop().time()
        result = await run_host_probe(PROBE, host, loopback_ctx())
        took = asyncio.get_running_loop().time() - started
    assert result.status == "success"
    assert took < 1.5  # well under two idle timeouts: the head was complete
    assert [r.split(b" ")[0] for r in seen] == [b"OPTIONS", b"DESCRIBE"]
    assert not any(b"Authorization" in r for r in seen)
    fields = {(o.field, o.value) for o in result.observations}
    assert (
        "www_authenticate",
        'Digest realm="IP Camera(C2875)", nonce="0a4f3c0d6a1b2c3d4e5f60718293a4b5", stale="FALSE"',
    ) in fields
    assert any(f == "public" for f, _ in fields)


@pytest.mark.loopback
async def test_garbage_on_554_is_a_protocol_error():
    host = fresh_address()

    async def handler(reader, writer):
        await reader.read(100)
        writer.write(b"\x00\x00\x00\x10\x00\x00\x00\x1e")
        writer.close()

    async with tcp_server(host, 554, handler):
        result = await run_host_probe(PROBE, host, loopback_ctx())
    assert result.status == "protocol_error"
