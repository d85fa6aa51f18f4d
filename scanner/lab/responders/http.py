"""HTTP and HTTPS: the profile's exact bytes per path, and the ONVIF device service on its path.

Devices answer HTTP/1.0-style: one request, one reply, close. The request line is read from the
first segment; only a POST to the ONVIF path waits for its ``Content-Length`` body.
"""

from __future__ import annotations

import asyncio
from typing import Final

from scanner.lab.profile import HttpService, OnvifService
from scanner.lab.responders import onvif
from scanner.lab.responders.common import (
    HostContext,
    TcpHandler,
    read_first,
    send_reply,
)
from scanner.lab.responders.dahua_rpc2 import Rpc2State, rpc2_http_reply, state_for
from scanner.lab.responders.http_digest import authorized, query_of

__all__ = ["handler", "request_target"]

# A SOAP request to a camera is a few KiB; anything past this gets 413 and a close.
MAX_SOAP_BYTES: Final = 64 * 1024


def request_target(request: bytes) -> tuple[str, str]:
    """Method and path (query string dropped) of a request's first line; tolerant of junk."""
    first_line = request.split(b"\n", 1)[0].rstrip(b"\r")
    parts = first_line.split(b" ")
    method = parts[0].decode("latin-1", errors="replace")
    path = parts[1].decode("latin-1", errors="replace") if len(parts) >= 2 else "/"
    return method, path.split("?", 1)[0]


def _content_length(head: bytes) -> int | None:
    for line in head.split(b"\r\n")[1:]:
        name, sep, value = line.partition(b":")
        if sep and name.strip().lower() == b"content-length":
            try:
                return int(value.strip())
            except ValueError:
                return None
    return None


async def _read_soap(reader: asyncio.StreamReader, first: bytes) -> bytes | None:
    """Read the rest of a POST; None when it is too large or never completes."""
    data = first
    try:
        async with asyncio.timeout(10):
            while b"\r\n\r\n" not in data:
                if len(data) > MAX_SOAP_BYTES:
                    return None
                more = await reader.read(8192)
                if not more:
                    return None
                data += more
            head, _, body = data.partition(b"\r\n\r\n")
            length = _content_length(head)
            if length is None or length < 0 or length > MAX_SOAP_BYTES:
                return None
            while len(body) < length:
                more = await reader.read(length - len(body))
                if not more:
                    return None
                body += more
            return body[:length]
    except TimeoutError:
        return None


def _server_header(service: HttpService | None) -> str | None:
    if service is None:
        return None
    for name, value in service.route_for("/").headers:
        if name.lower() == "server":
            return value
    return None


def handler(
    ctx: HostContext, service: HttpService | None, device: OnvifService | None
) -> TcpHandler:
    """The connection handler for one HTTP port of one host."""
    rpc2_state = state_for(ctx.address, service.port) if service is not None else Rpc2State()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await read_first(reader)
        if not request:
            return
        method, path = request_target(request)
        soap_paths = {device.path, device.media_path} if device is not None else set()
        if device is not None and not device.video_sources:
            soap_paths = {device.path}
        if device is not None and path in soap_paths:
            body = await _read_soap(reader, request) if method == "POST" else b""
            if body is None:
                writer.write(
                    b"HTTP/1.1 413 Request Entity Too Large\r\nContent-Length: 0\r\n"
                    b"Connection: close\r\n\r\n"
                )
            else:
                server = _server_header(service)
                writer.write(onvif.soap_http_reply(ctx, device, body, server))
            await writer.drain()
            return
        if service is not None and service.rpc2 is not None and path in {"/RPC2_Login", "/RPC2"}:
            body = await _read_soap(reader, request) if method == "POST" else None
            if body is None:
                writer.write(
                    b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                )
            else:
                writer.write(rpc2_http_reply(ctx, service.rpc2, rpc2_state, path, body))
            await writer.drain()
            return
        if service is None:
            writer.write(
                b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            )
            await writer.drain()
            return
        route = service.route_for(path, query_of(request))
        if route.auth is not None and not authorized(ctx, route.auth, request):
            await send_reply(writer, ctx, route.auth.challenge)
            return
        await send_reply(writer, ctx, route)

    return handle
