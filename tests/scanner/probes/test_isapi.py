"""Hikvision ISAPI identity and channel probe, with a login, against real bytes and lighttpd."""

import asyncio
import contextlib
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scanner.errors import ProbeParseError
from scanner.probes.base import run_host_probe
from scanner.probes.isapi import PROBE as ISAPI
from scanner.probes.isapi import parse_channel_status, parse_channels, parse_device_info

from .digest_server import CHANNELS, DEVICE_INFO, PASSWORD, STATUS, creds, lighttpd
from .loopback import fresh_address, http_response, loopback_ctx, tcp_server

__all__ = ["lighttpd"]  # the module-scoped fixture, imported for pytest


def test_device_info_fields():
    fields = parse_device_info(DEVICE_INFO)
    assert fields == {
        "model": "DS-7616NXI-I2/16P",
        "serial": "DS-7616NXI-I2/16P1620220118CCRRJ40012345WCVU",
        "mac": "c0:56:e3:a1:00:42",
        "device_type": "NVR",
        "device_name": "Network Video Recorder",
        "firmware": "V4.51.105 build 220418",
        "namespace": "http://www.hikvision.com/ver20/XMLSchema",
    }


def test_channels_and_status():
    cameras = parse_channels(CHANNELS)
    assert [c.channel for c in cameras] == [1, 2]  # the channel with id "x" is skipped
    first = cameras[0]
    assert (first.address, first.isapi_protocol, first.model) == (
        "192.168.254.2",
        "HIKVISION",
        "DS-2CD2386G2-IU",
    )
    assert first.firmware == "V5.7.13 build 230530"
    assert cameras[1].model is None
    assert cameras[1].isapi_protocol == "ONVIF"
    assert parse_channel_status(STATUS) == {1: "true", 2: "false"}


BOMB = (
    b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">'
    b'<!ENTITY b "&a;&a;&a;&a;&a;&a;">]><InputProxyChannelList>&b;</InputProxyChannelList>'
)


def test_hostile_documents():
    for parse in (parse_channels, parse_device_info, parse_channel_status):
        with pytest.raises(ProbeParseError):
            parse(BOMB)
    with pytest.raises(ProbeParseError):
        parse_device_info(b"<html><title>login</title></html>")


@settings(max_examples=200, deadline=None)
@given(
    st.binary(max_size=2048)
    | st.sampled_from([DEVICE_INFO, CHANNELS, STATUS]).map(lambda doc: doc[: len(doc) // 2])
)
def test_parsers_never_crash_on_garbage(data):
    for parse in (parse_device_info, parse_channels, parse_channel_status):
        with contextlib.suppress(ProbeParseError):
            parse(data)


@pytest.mark.loopback
async def test_isapi_probe_lists_the_channels_with_a_login(lighttpd):
    result = await run_host_probe(ISAPI, lighttpd, loopback_ctx(settings=creds(lighttpd)))
    assert result.status == "success", result.error
    facts = {(o.key, o.channel): o for o in result.observations}
    assert facts[("isapi.model", None)].value == "DS-7616NXI-I2/16P"
    assert facts[("isapi.model", None)].authenticated
    camera = facts[("channel.model", 1)]
    assert (camera.value, camera.behind, camera.authenticated) == (
        "DS-2CD2386G2-IU",
        str(lighttpd),
        True,
    )
    assert facts[("channel.online", 1)].value == "true"
    assert facts[("channel.isapi_protocol", 2)].value == "ONVIF"
    assert ("auth.accepted", None) in facts
    assert PASSWORD not in result.model_dump_json()


@pytest.mark.loopback
async def test_isapi_probe_without_a_login_records_that_it_was_asked(lighttpd):
    result = await run_host_probe(ISAPI, lighttpd, loopback_ctx())
    keys = {o.key for o in result.observations}
    assert keys == {"auth.required"}
    assert not any(o.channel for o in result.observations)


@pytest.mark.loopback
async def test_servers_without_isapi_are_not_found_not_a_crash():
    host = fresh_address()

    async def handler(reader, writer):
        await reader.read(4096)
        writer.write(http_response("200 OK", [("Connection", "close")], b"<html>login</html>"))
        await writer.drain()

    async with tcp_server(host, 80, handler):
        result = await run_host_probe(ISAPI, host, loopback_ctx())
    assert result.status == "not_found"
    assert not result.observations


@pytest.mark.loopback
async def test_a_device_that_never_answers_times_out_within_the_limits():
    host = fresh_address()

    async def handler(reader, writer):
        await asyncio.sleep(30)

    async with tcp_server(host, 80, handler):
        started = time.monotonic()
        result = await run_host_probe(ISAPI, host, loopback_ctx(settings=creds(host)))
    assert time.monotonic() - started < 10
    assert result.status in {"timeout", "protocol_error"}
