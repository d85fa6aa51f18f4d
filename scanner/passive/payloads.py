"""What the head of a reassembled TCP stream says about the server that sent it.

An HTTP or RTSP response head goes through the active probes' parsers; a TLS ≤ 1.2 handshake is
walked record by record to its Certificate message (RFC 5246 §7.4.2), whose first certificate is
the server's. TLS 1.3 encrypts the certificate: such streams are counted, not read.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address
from typing import Final

from scanner.errors import ProbeParseError
from scanner.passive.facts import PASSIVE_PROBE, Facts
from scanner.probes import http_banner, rtsp
from scanner.probes.base import ObservationSet
from scanner.probes.tls_certificate import parse_certificate

__all__ = ["StreamOutcome", "dissect_stream"]

_TLS_HANDSHAKE: Final = 22
_TLS_CERTIFICATE: Final = 11
_TLS_SERVER_HELLO: Final = 2
_MAX_RTSP_REPLIES: Final = 8


@dataclass(frozen=True, slots=True)
class StreamOutcome:
    """What one stream gave: the protocol recognised (or None) and whether its TLS was 1.3."""

    protocol: str | None
    tls13: bool = False


def _tls_handshake_bytes(data: bytes) -> bytes:
    """The handshake-layer bytes of the leading TLS records (fragments joined, RFC 5246 §6.2.1)."""
    out = bytearray()
    pos = 0
    while pos + 5 <= len(data) and data[pos] == _TLS_HANDSHAKE and data[pos + 1] == 3:
        length = int.from_bytes(data[pos + 3 : pos + 5], "big")
        out.extend(data[pos + 5 : pos + 5 + length])
        pos += 5 + length
    return bytes(out)


def _server_certificate(handshake: bytes) -> tuple[bytes | None, bool]:
    """(the first certificate's DER or None, whether the ServerHello negotiated TLS 1.3)."""
    pos = 0
    tls13 = False
    while pos + 4 <= len(handshake):
        kind = handshake[pos]
        length = int.from_bytes(handshake[pos + 1 : pos + 4], "big")
        body = handshake[pos + 4 : pos + 4 + length]
        if kind == _TLS_SERVER_HELLO:
            # supported_versions (43) = 0x0304 marks TLS 1.3 (RFC 8446 §4.2.1).
            tls13 = b"\x00\x2b\x00\x02\x03\x04" in body
        elif kind == _TLS_CERTIFICATE and len(body) >= 6:
            cert_len = int.from_bytes(body[3:6], "big")
            der = body[6 : 6 + cert_len]
            return (der if len(der) == cert_len and cert_len else None), tls13
        pos += 4 + length
    return None, tls13


def _rtsp(data: bytes, host: IPv4Address, port: int, facts: Facts, at: float) -> None:
    replies = []
    for head in data.split(b"\r\n\r\n")[:_MAX_RTSP_REPLIES]:
        if head.startswith(b"RTSP/1.0"):
            try:
                replies.append(rtsp.parse_reply(head + b"\r\n\r\n"))
            except ProbeParseError:
                continue
    obs = ObservationSet(PASSIVE_PROBE, host, port=port)
    rtsp.observations_from(replies, obs)
    facts.adopt(obs.items, timestamp=at)


def dissect_stream(
    data: bytes, host: IPv4Address, port: int, facts: Facts, at: float
) -> StreamOutcome:
    """Read the server side of one connection; raise ProbeParseError for a broken head."""
    if data.startswith(b"HTTP/1."):
        reply = http_banner.parse_reply(data)
        facts.adopt(list(http_banner.observations_from(reply, host, port, "http")), timestamp=at)
        return StreamOutcome("http")
    if data.startswith(b"RTSP/1.0"):
        _rtsp(data, host, port, facts, at)
        return StreamOutcome("rtsp")
    if len(data) >= 5 and data[0] == _TLS_HANDSHAKE and data[1] == 3:
        der, tls13 = _server_certificate(_tls_handshake_bytes(data))
        if der is None:
            return StreamOutcome("tls", tls13=tls13)
        names = parse_certificate(der)
        facts.add(host, "tls", "cert_subject", names.subject, timestamp=at, port=port)
        facts.add(host, "tls", "cert_issuer", names.issuer, timestamp=at, port=port)
        return StreamOutcome("tls")
    return StreamOutcome(None)
