import asyncio
import contextlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scanner.errors import ProbeParseError
from scanner.probes.base import run_host_probe
from scanner.probes.ssh_banner import PROBE, identification_complete, parse_reply

from .loopback import fresh_address, loopback_ctx, tcp_server

CAPTURES = Path(__file__).parents[2] / "data" / "captures" / "ssh_banner"


def test_debian_openssh_capture():
    data = (CAPTURES / "debian-openssh-9.2.bin").read_bytes()
    assert identification_complete(data)
    ident = parse_reply(data)
    assert ident.line == "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10"
    assert ident.proto_version == "2.0"
    assert ident.software_version == "OpenSSH_9.2p1"
    assert ident.comments == "Debian-2+deb12u10"


@pytest.mark.parametrize(
    ("data", "line"),
    [
        (b"SSH-2.0-HUAWEI-VRP-3.10\r\n", "SSH-2.0-HUAWEI-VRP-3.10"),
        (b"SSH-2.0--\r\n", "SSH-2.0--"),
        (b"SSH-1.99-VRP-3.3\n", "SSH-1.99-VRP-3.3"),
        # RFC 4253 §4.2: other lines may come first.
        (b"Welcome\r\nauthorised use only\r\nSSH-2.0-ZTE_SSH.2.0\r\n", "SSH-2.0-ZTE_SSH.2.0"),
        # Key exchange bytes after the line are not part of it.
        (b"SSH-2.0-dropbear_2019.78\r\n\x00\x00\x01\x14\x0a\x14", "SSH-2.0-dropbear_2019.78"),
    ],
)
def test_identification_lines(data, line):
    assert parse_reply(data).line == line


@pytest.mark.parametrize(
    "data",
    [b"", b"HTTP/1.1 400 Bad Request\r\n\r\n", b"\x00" * 40, b"SSH-2.0-" + b"A" * 300 + b"\r\n"],
)
def test_not_ssh(data):
    with pytest.raises(ProbeParseError):
        parse_reply(data)


def test_incomplete_line_is_not_complete():
    assert not identification_complete(b"SSH-2.0-Open")
    assert not identification_complete(b"banner line\r\n")
    assert identification_complete(b"banner\r\nSSH-2.0-x\r\n")


@given(st.binary(max_size=4096))
@settings(max_examples=300, deadline=None)
def test_fuzz_parse_reply(data):
    with contextlib.suppress(ProbeParseError):
        ident = parse_reply(data)
        assert ident.line.startswith("SSH-")


@pytest.mark.loopback
async def test_reads_the_line_sends_nothing_and_does_not_wait_for_close():
    host = fresh_address()
    received: list[bytes] = []

    async def handler(reader, writer):
        writer.write((CAPTURES / "debian-openssh-9.2.bin").read_bytes())
        await writer.drain()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(5):
                while data := await reader.read(100):
                    received.append(data)
        # a real sshd waits for the client's identification; so does this one

    async with tcp_server(host, 22, handler):
        started = asyncio.get_running_loop().time()
        result = await run_host_probe(PROBE, host, loopback_ctx())
        took = asyncio.get_running_loop().time() - started
    assert result.status == "success"
    assert result.target == f"{host}:22"
    assert [(o.field, o.value) for o in result.observations] == [
        ("banner", "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10")
    ]
    assert took < 0.5
    assert received == []


@pytest.mark.loopback
async def test_endless_banner_lines_end_at_the_cap():
    host = fresh_address()

    async def handler(reader, writer):
        for _ in range(10_000):
            writer.write(b"x" * 100 + b"\r\n")
            await writer.drain()

    async with tcp_server(host, 22, handler):
        result = await run_host_probe(PROBE, host, loopback_ctx())
    assert result.status == "protocol_error"
    assert result.reply_bytes <= 4096


@pytest.mark.loopback
async def test_slowloris_ends_at_the_deadline():
    host = fresh_address()

    async def handler(reader, writer):
        for byte in b"SSH-2.0-never-ending-story\r\n":
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(0.3)

    async with tcp_server(host, 22, handler):
        started = asyncio.get_running_loop().time()
        result = await run_host_probe(PROBE, host, loopback_ctx())
        took = asyncio.get_running_loop().time() - started
    assert took < 3.0  # FAST limits: 2 s per exchange
    assert result.status in {"success", "timeout"}


@pytest.mark.loopback
async def test_silent_port_is_a_timeout_and_closed_port_refused():
    host = fresh_address()

    async def handler(reader, writer):
        await asyncio.sleep(10)

    async with tcp_server(host, 22, handler):
        result = await run_host_probe(PROBE, host, loopback_ctx())
    assert result.status == "timeout"
    refused = await run_host_probe(PROBE, fresh_address(), loopback_ctx())
    assert refused.status == "refused"
