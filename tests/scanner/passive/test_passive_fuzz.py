"""Hostile bytes never escape a passive dissector as anything but a counted parse failure."""

from __future__ import annotations

import contextlib
from ipaddress import IPv4Address

from hypothesis import given, settings
from hypothesis import strategies as st

from scanner.errors import ProbeParseError
from scanner.passive.datagrams import UDP_DISSECTORS
from scanner.passive.facts import Facts
from scanner.passive.link_layer import dissect_cdp, dissect_lldp
from scanner.passive.payloads import dissect_stream
from scanner.passive.streams import MAX_STREAM_BYTES, TcpStream

HOST = IPv4Address("198.18.0.50")
PREFIXES = [
    b"",
    b"HTTP/1.1 200 OK\r\n",
    b"RTSP/1.0 200 OK\r\n",
    b"\x16\x03\x01",
    b"\x30\x82",
    b"NOTIFY * HTTP/1.1\r\n",
    b"<?xml version='1.0'?><ProbeMatch>",
    b" \x00\x00\x00DHIP",
]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(PREFIXES), st.binary(max_size=2048))
def test_streams_and_datagrams_fail_only_as_parse_errors(prefix, tail):
    data = prefix + tail
    facts = Facts()
    with contextlib.suppress(ProbeParseError):
        dissect_stream(data, HOST, 80, facts, 0.0)
    for dissector in UDP_DISSECTORS.values():
        with contextlib.suppress(ProbeParseError):
            dissector(data, HOST, facts, 0.0)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=1500))
def test_link_layer_tlv_walks_never_raise(data):
    facts = Facts()
    dissect_lldp("02:00:00:00:00:01", data, facts, 0.0)
    dissect_cdp("02:00:00:00:00:01", b"\xaa\xaa\x03\x00\x00\x0c\x20\x00" + data, facts, 0.0)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2**32 - 1), st.binary(max_size=4096)), max_size=64))
def test_reassembly_is_bounded_whatever_the_segments(segments):
    stream = TcpStream(first_seen=0.0)
    for seq, payload in segments:
        stream.add(seq, payload, syn=False)
    assert len(stream.data) <= MAX_STREAM_BYTES
    assert len(stream.pending) <= 64


def test_retransmitted_and_overlapping_segments_assemble_once():
    stream = TcpStream(first_seen=0.0)
    stream.add(99, b"", syn=True)
    stream.add(100, b"HTTP/1.1 ", syn=False)
    stream.add(100, b"HTTP/1.1 ", syn=False)  # retransmission
    stream.add(104, b"/1.1 200 OK", syn=False)  # overlaps what is placed
    stream.add(120, b"later", syn=False)  # a gap: held back
    assert bytes(stream.data) == b"HTTP/1.1 200 OK"
