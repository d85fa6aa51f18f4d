"""RTSP: the profile's reply per method, with the request's CSeq echoed.

nmap sends ``OPTIONS / RTSP/1.0`` and, on the same port, an HTTP ``GET``; Dahua answers the
latter ``RTSP/1.0 405 Method Not Allowed`` with ``CSeq: 0`` (fingerprints.md §4, nmap-service-
probes line 11572), so an HTTP request line selects the ``HTTP`` route. The connection stays open
for further requests, as an RTSP session does, until the client leaves or goes idle.
"""

from __future__ import annotations

import asyncio
from typing import Final

from scanner.lab.profile import RtspService
from scanner.lab.responders.common import HostContext, TcpHandler, read_first, send_reply

__all__ = ["handler", "parse_request"]

# An RTSP client sends a handful of requests per session; more is a loop we need not serve.
MAX_REQUESTS: Final = 32


def parse_request(request: bytes) -> tuple[str, str]:
    """Route key (method, or ``HTTP`` for an HTTP request line) and CSeq (\"\" if absent)."""
    lines = request.split(b"\n")
    first = lines[0].rstrip(b"\r").split(b" ")
    version = first[-1] if len(first) >= 3 else b""
    method = first[0].decode("latin-1", errors="replace")
    key = "HTTP" if version.startswith(b"HTTP/") else method
    # Devices echo CSeq verbatim (nmap's SIP probe gets "CSeq: 42 OPTIONS" back, NSP 14560) and
    # leave the header out when the request had none (NSP 12147): "" means "omit".
    cseq = ""
    for line in lines[1:]:
        name, sep, value = line.partition(b":")
        if sep and name.strip().lower() == b"cseq":
            text = value.strip()[:32].decode("latin-1")
            cseq = "".join(ch for ch in text if ch.isprintable())
            break
    return key, cseq


def handler(ctx: HostContext, service: RtspService) -> TcpHandler:
    """The connection handler for one host's RTSP port."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for _ in range(MAX_REQUESTS):
            request = await read_first(reader)
            if not request:
                return
            key, cseq = parse_request(request)
            route = service.route_for(key)
            await send_reply(writer, ctx, route, cseq=cseq)
            if route.behaviour != "normal":
                return

    return handle
