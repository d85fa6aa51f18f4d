import asyncio
import contextlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scanner.errors import ProbeParseError
from scanner.probes.base import run_host_probe
from scanner.probes.telnet_banner import (
    DO,
    DONT,
    IAC,
    PROBE,
    SB,
    SE,
    WILL,
    WONT,
    Negotiator,
    parse_reply,
    prompt_complete,
    strip_commands,
)

from .loopback import fresh_address, loopback_ctx, tcp_server

CAPTURES = Path(__file__).parents[2] / "data" / "captures" / "telnet_banner"
INETUTILS = CAPTURES / "debian-inetutils-telnetd-2.4.bin"
FIRST_FLIGHT = CAPTURES / "debian-inetutils-telnetd-2.4-unanswered.bin"


def test_inetutils_capture_parses_to_its_banner_and_prompt():
    banner = parse_reply(INETUTILS.read_bytes())
    assert banner.text.endswith("login: ")
    assert "(pts/0)" in banner.text
    assert "DO 24" in banner.requests  # TTYPE
    assert "\xff" not in banner.text
    assert prompt_complete(INETUTILS.read_bytes())


def test_first_flight_without_answers_has_no_text():
    # inetutils telnetd waits for answers to its first requests before it prints anything,
    # which is why the probe must refuse them.
    with pytest.raises(ProbeParseError, match="option requests"):
        parse_reply(FIRST_FLIGHT.read_bytes())


def test_negotiator_refuses_every_request_once():
    negotiator = Negotiator()
    first = negotiator.feed(FIRST_FLIGHT.read_bytes())
    # WILL AUTHENTICATION, WILL ENCRYPT, DO TTYPE, TSPEED, XDISPLOC, NEW-ENVIRON, OLD-ENVIRON
    expected = [(DONT, 37), (DONT, 38), (WONT, 24), (WONT, 32), (WONT, 35), (WONT, 39), (WONT, 36)]
    assert first == b"".join(bytes([IAC, verb, option]) for verb, option in expected)
    assert negotiator.feed(bytes([IAC, DO, 24])) == b""  # asked again: no loop
    assert negotiator.feed(bytes([IAC, DONT, 1, IAC, WONT, 3])) == b""  # already our state


def test_negotiator_handles_sequences_split_across_reads():
    negotiator = Negotiator()
    assert negotiator.feed(bytes([IAC])) == b""
    assert negotiator.feed(bytes([WILL])) == b""
    assert negotiator.feed(bytes([1]) + b"text") == bytes([IAC, DONT, 1])
    assert negotiator.feed(bytes([IAC, SB, 24, 1])) == b""
    assert negotiator.feed(bytes([IAC, SE, IAC, DO, 31])) == bytes([IAC, WONT, 31])


def test_strip_commands():
    data = bytes([IAC, WILL, 1]) + b"a" + bytes([IAC, IAC]) + b"b" + bytes([IAC, SB, 24, 0])
    data += b"hidden" + bytes([IAC, SE]) + b"c" + bytes([IAC, 241]) + b"d" + bytes([IAC])
    text, requests = strip_commands(data)
    assert text == b"a\xffbcd"
    assert requests == ((WILL, 1),)


@pytest.mark.parametrize(
    "text",
    [
        b"\r\nWelcome Visiting Huawei Home Gateway\r\n"
        b"Copyright by Huawei Technologies Co., Ltd.\r\n\r\nLogin:",
        b"Username:",
        b"ZXR10 5250-52TM-H\r\nLogin: ",
        b"router> ",
        b"Password: ",
    ],
)
def test_prompts(text):
    assert prompt_complete(text)


def test_not_a_prompt_yet():
    assert not prompt_complete(b"Warning: Telnet is not a secure protocol")


@pytest.mark.parametrize(
    "data", [b"", b"\r\n \r\n", bytes(range(32)) * 4, b"\x16\x03\x01\x02\x00\x01"]
)
def test_not_a_banner(data):
    with pytest.raises(ProbeParseError):
        parse_reply(data)


@given(st.binary(max_size=4096))
@settings(max_examples=300, deadline=None)
def test_fuzz_parse_reply(data):
    with contextlib.suppress(ProbeParseError):
        banner = parse_reply(data)
        assert banner.text.strip()


@given(st.lists(st.binary(max_size=64), max_size=40))
@settings(max_examples=200, deadline=None)
def test_fuzz_negotiator_answers_are_refusals_only(chunks):
    negotiator = Negotiator()
    out = b"".join(negotiator.feed(chunk) for chunk in chunks)
    assert len(out) % 3 == 0
    triples = [out[i : i + 3] for i in range(0, len(out), 3)]
    assert all(t[0] == IAC and t[1] in (DONT, WONT) for t in triples)
    assert len(set(triples)) == len(triples)  # each refused once
    assert len(triples) <= 512


def _telnetd_like(banner: bytes):
    """A server that, like inetutils telnetd, waits for answers before it prints anything."""
    answers: list[bytes] = []

    async def handler(reader, writer):
        first = FIRST_FLIGHT.read_bytes()
        writer.write(first)
        await writer.drain()
        expected = len(first) // 3 * 3
        got = b""
        async with asyncio.timeout(3):
            while len(got) < expected:
                chunk = await reader.read(100)
                if not chunk:
                    return
                got += chunk
        answers.append(got)
        writer.write(bytes([IAC, WILL, 3, IAC, DO, 1]) + banner)
        await writer.drain()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(5):
                while more := await reader.read(100):
                    answers.append(more)

    return handler, answers


@pytest.mark.loopback
async def test_refuses_options_reads_the_banner_and_types_nothing():
    host = fresh_address()
    handler, answers = _telnetd_like(b"\r\nWelcome Visiting Huawei Home Gateway\r\nLogin:")
    async with tcp_server(host, 23, handler):
        started = asyncio.get_running_loop().time()
        result = await run_host_probe(PROBE, host, loopback_ctx())
        took = asyncio.get_running_loop().time() - started
        await asyncio.sleep(0.1)  # let the server read the last refusals before it is stopped
    assert result.status == "success", result.error
    assert result.target == f"{host}:23"
    [obs] = result.observations
    assert obs.field == "banner"
    assert obs.value == "Welcome Visiting Huawei Home Gateway\r\nLogin:"
    assert took < 0.5  # stopped at the prompt, not at the idle timeout
    sent = b"".join(answers)
    text, _ = strip_commands(sent)
    assert text == b""  # only refusals went out: no user name, no keystroke
    assert bytes([IAC, WONT, 1]) in sent
    assert bytes([IAC, DONT, 3]) in sent


@pytest.mark.loopback
async def test_falls_back_to_2323():
    host = fresh_address()

    async def handler(reader, writer):
        writer.write(b"\r\n(none) login: ")
        await writer.drain()
        await asyncio.sleep(5)

    async with tcp_server(host, 2323, handler):
        result = await run_host_probe(PROBE, host, loopback_ctx())
    assert result.status == "success"
    assert result.target == f"{host}:2323"


@pytest.mark.loopback
async def test_iac_flood_is_bounded():
    host = fresh_address()
    replies: list[int] = []

    async def handler(reader, writer):
        async def drain_replies():
            while data := await reader.read(4096):
                replies.append(len(data))

        task = asyncio.create_task(drain_replies())
        try:
            for _ in range(2000):
                writer.write(bytes(b for option in range(256) for b in (IAC, DO, option)))
                await writer.drain()
        finally:
            task.cancel()

    async with tcp_server(host, 23, handler):
        started = asyncio.get_running_loop().time()
        result = await run_host_probe(PROBE, host, loopback_ctx())
        took = asyncio.get_running_loop().time() - started
    assert took < 3.0
    assert result.status in {"protocol_error", "timeout"}
    assert result.reply_bytes <= 4096
    assert sum(replies) <= 256 * 3  # each option refused once, however often it is asked


@pytest.mark.loopback
async def test_endless_banner_is_cut_at_the_cap():
    host = fresh_address()

    async def handler(reader, writer):
        while True:
            writer.write(b"ALL WORK AND NO PLAY " * 50)
            await writer.drain()

    async with tcp_server(host, 23, handler):
        result = await run_host_probe(PROBE, host, loopback_ctx())
    assert result.status == "oversized"
    assert len(result.observations[0].value) <= 4096


@pytest.mark.loopback
async def test_endless_subnegotiation_and_slowloris_end():
    host = fresh_address()

    async def handler(reader, writer):
        writer.write(bytes([IAC, SB, 24]))
        while True:
            writer.write(b"x")
            await writer.drain()
            await asyncio.sleep(0.2)

    async with tcp_server(host, 23, handler):
        started = asyncio.get_running_loop().time()
        result = await run_host_probe(PROBE, host, loopback_ctx())
        took = asyncio.get_running_loop().time() - started
    assert took < 3.0
    assert result.status == "timeout"
