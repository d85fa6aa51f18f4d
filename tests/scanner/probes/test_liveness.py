import asyncio
import contextlib
from ipaddress import IPv4Address

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scanner.errors import ProbeParseError
from scanner.probes import liveness
from scanner.probes.liveness import PROBE, build_echo, parse_echo_reply

from .loopback import fresh_address, loopback_ctx, tcp_server


def test_echo_checksum_is_valid():
    packet = build_echo(0x1234, 7)
    total = sum(int.from_bytes(packet[i : i + 2], "big") for i in range(0, len(packet) - 1, 2))
    total += packet[-1] << 8 if len(packet) % 2 else 0
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    assert total == 0xFFFF


def test_parse_echo_reply():
    ip = bytes([0x45, 0, 0, 37, 0, 0, 0, 0, 64, 1, 0, 0, 198, 18, 0, 7, 198, 18, 0, 1])
    icmp = bytearray(build_echo(0xBEEF, 3))
    icmp[0] = 0  # echo reply
    assert parse_echo_reply(ip + bytes(icmp)) == (IPv4Address("198.18.0.7"), 0xBEEF, 3)


@given(st.binary(max_size=128))
@settings(max_examples=300, deadline=None)
def test_fuzz_parse_echo_reply(data):
    with contextlib.suppress(ProbeParseError):
        parse_echo_reply(data)


@pytest.mark.loopback
async def test_icmp_finds_loopback_hosts_and_only_them():
    host = fresh_address()
    results = await PROBE.discover([host], loopback_ctx())
    assert [(r.target, r.status) for r in results] == [(str(host), "success")]


class _Echoes:
    """Stands in for the echo sweep: these hosts answered."""

    def __init__(self, alive):
        self.alive = set(alive)

    async def send_all(self):
        return None

    async def quiet(self):
        return None

    def close(self):
        return None


@pytest.mark.loopback
async def test_tcp_fallback_when_icmp_is_unavailable(monkeypatch):
    monkeypatch.setattr("scanner.probes.liveness._start_echoes", lambda targets, ctx: None)
    host, refused_only, absent = fresh_address(), fresh_address(), IPv4Address("127.77.250.250")

    async def silent(reader, writer):
        await reader.read(1)

    async with tcp_server(host, 554, silent):
        results = await PROBE.discover([host, refused_only, absent], loopback_ctx())
    by = {r.target: r for r in results}
    assert [o.value for o in by[f"{host}:554"].observations] == ["554"]
    # loopback answers RST for every closed port, so every loopback address "exists"
    assert str(refused_only) in by


@pytest.mark.loopback
async def test_one_pingable_host_does_not_hide_the_silent_ones(monkeypatch):
    pingable, filtered = fresh_address(), fresh_address()

    monkeypatch.setattr(
        "scanner.probes.liveness._start_echoes", lambda targets, ctx: _Echoes({pingable})
    )

    async def silent(reader, writer):
        await reader.read(1)

    async with tcp_server(filtered, 80, silent):
        results = await PROBE.discover([pingable, filtered], loopback_ctx())
    by = {r.target: r for r in results}
    assert by[str(pingable)].status == "success"
    assert by[f"{filtered}:80"].status == "success"  # TCP-checked although ICMP worked nearby


@pytest.mark.loopback
async def test_a_capped_fallback_records_what_it_skipped(monkeypatch):
    monkeypatch.setattr("scanner.probes.liveness._start_echoes", lambda t, c: _Echoes(()))
    monkeypatch.setattr("scanner.probes.liveness.MAX_TCP_TARGETS", 1)
    first, second = fresh_address(), fresh_address()
    results = await PROBE.discover([first, second], loopback_ctx())
    assert results[0].target == str(first)  # checked: loopback answers RST
    summary = next(r for r in results if r.target.endswith("/24"))
    assert summary.status == "skipped"
    assert summary.counts["tcp_checked"] == 1
    assert summary.counts["tcp_skipped"] == 1
    assert summary.counts["targets"] == 2
    assert "capped" in summary.error


@pytest.mark.loopback
async def test_each_live_host_is_told_the_moment_it_answers(monkeypatch):
    pinged, knocked = fresh_address(), fresh_address()
    monkeypatch.setattr(
        "scanner.probes.liveness._start_echoes", lambda targets, ctx: _Echoes({pinged})
    )
    ctx = loopback_ctx()
    heard = []
    ctx.on_live = heard.append
    await PROBE.discover([pinged, knocked], ctx)
    # The echo stand-in tells nobody; the TCP check tells once per answering port.
    assert set(heard) == {knocked}


@pytest.mark.loopback
async def test_real_echo_replies_are_told_too():
    host = fresh_address()
    ctx = loopback_ctx()
    heard = []
    ctx.on_live = heard.append
    await PROBE.discover([host], ctx)
    assert heard == [host]


@pytest.mark.loopback
async def test_tcp_checks_start_once_echo_replies_stop(monkeypatch):
    # Nobody is sent an echo here, so nobody answers: the window must end on the quiet floor,
    # not wait out the hard end (raised far beyond the test's bound to tell the two apart).
    monkeypatch.setattr(liveness, "ICMP_WAIT_S", 60.0)
    sweep = liveness._EchoSweep([fresh_address()], loopback_ctx())
    try:
        async with asyncio.timeout(10):
            await sweep.quiet()
    finally:
        sweep.close()
    assert sweep.alive == set()
