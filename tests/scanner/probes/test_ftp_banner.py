import asyncio
import contextlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scanner.errors import ProbeParseError
from scanner.probes.base import run_host_probe
from scanner.probes.ftp_banner import PROBE, greeting_complete, parse_reply

from .loopback import fresh_address, loopback_ctx, tcp_server

CAPTURES = Path(__file__).parents[2] / "data" / "captures" / "ftp_banner"


def test_debian_vsftpd_capture():
    data = (CAPTURES / "debian-vsftpd-3.0.3.bin").read_bytes()
    assert greeting_complete(data)
    greeting = parse_reply(data)
    assert greeting.code == 220
    assert greeting.text == "220 (vsFTPd 3.0.3)"


def test_multi_line_greeting_ends_at_its_closing_line():
    data = b"220-Welcome\r\n220-authorised use only\r\n220 DVR FTP server ready\r\n331 x\r\n"
    assert greeting_complete(data[: -len(b"331 x\r\n")])
    greeting = parse_reply(data)
    assert greeting.lines == ("220-Welcome", "220-authorised use only", "220 DVR FTP server ready")


def test_unfinished_multi_line_is_not_complete_but_parses():
    data = b"220-Welcome\r\n   to the box\r\n"
    assert not greeting_complete(data)
    assert parse_reply(data).lines == ("220-Welcome", "   to the box")


def test_refusal_greeting():
    assert parse_reply(b"421 Too many connections (8) from this IP\r\n").code == 421


@pytest.mark.parametrize(
    "data", [b"", b"\r\n", b"SSH-2.0-OpenSSH\r\n", b"HTTP/1.0 200 OK\r\n", b"22 short\r\n"]
)
def test_not_ftp(data):
    with pytest.raises(ProbeParseError):
        parse_reply(data)


@given(st.binary(max_size=4096))
@settings(max_examples=300, deadline=None)
def test_fuzz_parse_reply(data):
    with contextlib.suppress(ProbeParseError):
        greeting = parse_reply(data)
        assert 100 <= greeting.code <= 599
        assert len(greeting.lines) <= 64


@pytest.mark.loopback
async def test_reads_greeting_and_sends_nothing():
    host = fresh_address()
    received: list[bytes] = []

    async def handler(reader, writer):
        writer.write((CAPTURES / "debian-vsftpd-3.0.3.bin").read_bytes())
        await writer.drain()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(3):
                while data := await reader.read(100):
                    received.append(data)

    async with tcp_server(host, 21, handler):
        started = asyncio.get_running_loop().time()
        result = await run_host_probe(PROBE, host, loopback_ctx())
        took = asyncio.get_running_loop().time() - started
        await asyncio.sleep(0.05)
    assert result.status == "success"
    assert result.target == f"{host}:21"
    assert [o.value for o in result.observations] == ["220 (vsFTPd 3.0.3)"]
    assert took < 0.5
    assert received == []  # no USER, no PASS, no QUIT


@pytest.mark.loopback
async def test_line_flood_is_capped():
    host = fresh_address()

    async def handler(reader, writer):
        writer.write(b"220-start\r\n")
        while True:
            writer.write(b"220-more text\r\n" * 100)
            await writer.drain()

    async with tcp_server(host, 21, handler):
        result = await run_host_probe(PROBE, host, loopback_ctx())
    assert result.status == "oversized"
    assert result.reply_bytes <= 4096
    assert result.observations[0].value.count("\n") < 64


@pytest.mark.loopback
async def test_slowloris_greeting_ends_at_the_deadline():
    host = fresh_address()

    async def handler(reader, writer):
        while True:
            writer.write(b"2")
            await writer.drain()
            await asyncio.sleep(0.3)

    async with tcp_server(host, 21, handler):
        started = asyncio.get_running_loop().time()
        result = await run_host_probe(PROBE, host, loopback_ctx())
        took = asyncio.get_running_loop().time() - started
    assert took < 3.0
    assert result.status == "timeout"
