"""UPnP: SSDP search answers on UDP 1900 and the root device description over HTTP.

SSDP (UPnP Device Architecture 1.1 §1.3): an ``M-SEARCH * HTTP/1.1`` with ``MAN:
"ssdp:discover"`` and a search target ``ST`` is answered, when the target is ``ssdp:all``,
``upnp:rootdevice``, the device type or the device's UDN, by an HTTP-over-UDP ``200 OK``
carrying ``LOCATION`` (the description URL), ``SERVER``, ``ST`` and ``USN``. The description
(UDA §2.3) is a ``<root>`` document in ``urn:schemas-upnp-org:device-1-0`` whose ``<device>``
carries friendlyName, manufacturer, modelName, modelNumber, serialNumber and UDN. Every value
comes from the profile; this module only knows the protocol.
"""

from __future__ import annotations

import asyncio
import base64
from email.utils import formatdate
from typing import Final

from scanner.lab.profile import UpnpService
from scanner.lab.responders.common import HostContext, TcpHandler, read_first, xml_escape
from scanner.lab.responders.http import request_target

__all__ = ["description", "description_url", "handler", "ssdp_reply"]

_ROOT_DEVICE: Final = "upnp:rootdevice"


def description_url(ctx: HostContext, service: UpnpService) -> str:
    """The LOCATION announced: the profile's override, or the description server's URL."""
    if service.location is not None:
        return ctx.fill(service.location)
    return f"http://{ctx.address}:{service.port}{service.path}"


def _headers(data: bytes) -> tuple[str, dict[str, str]]:
    lines = data.decode("latin-1", errors="replace").split("\r\n")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().upper()] = value.strip()
    return lines[0].strip(), headers


def ssdp_reply(ctx: HostContext, service: UpnpService, data: bytes) -> bytes | None:
    """The answer to one SSDP datagram, or None (a NOTIFY, another target, not SSDP)."""
    request_line, headers = _headers(data[:8192])
    if request_line.upper() != "M-SEARCH * HTTP/1.1":
        return None
    if headers.get("MAN", "").strip('"').lower() != "ssdp:discover":
        return None
    udn = ctx.fill(service.udn)
    target = headers.get("ST", "")
    device_type = ctx.fill(service.device_type)
    if target in {"ssdp:all", _ROOT_DEVICE}:
        st, usn = _ROOT_DEVICE, f"{udn}::{_ROOT_DEVICE}"
    elif target == device_type:
        st, usn = device_type, f"{udn}::{device_type}"
    elif target == udn:
        st, usn = udn, udn
    else:
        return None
    lines = [
        "HTTP/1.1 200 OK",
        f"CACHE-CONTROL: max-age={service.max_age}",
        f"DATE: {formatdate(usegmt=True)}",
        "EXT:",
        f"LOCATION: {description_url(ctx, service)}",
        f"SERVER: {ctx.fill(service.server)}",
        f"ST: {st}",
        f"USN: {usn}",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")


def description(ctx: HostContext, service: UpnpService) -> bytes:
    """The root device description document."""
    if service.raw_description_b64 is not None:
        return base64.b64decode(service.raw_description_b64)
    fields = (
        ("deviceType", service.device_type),
        ("friendlyName", service.friendly_name),
        ("manufacturer", service.manufacturer),
        ("manufacturerURL", service.manufacturer_url),
        ("modelDescription", service.model_description),
        ("modelName", service.model_name),
        ("modelNumber", service.model_number),
        ("modelURL", service.model_url),
        ("serialNumber", service.serial),
        ("UDN", service.udn),
        ("presentationURL", service.presentation_url),
    )
    device = "".join(
        f"<{tag}>{xml_escape(ctx.fill(value))}</{tag}>\r\n" for tag, value in fields if value
    )
    return (
        '<?xml version="1.0"?>\r\n<root xmlns="urn:schemas-upnp-org:device-1-0">\r\n'
        "<specVersion>\r\n<major>1</major>\r\n<minor>0</minor>\r\n</specVersion>\r\n"
        f"<device>\r\n{device}</device>\r\n</root>\r\n"
    ).encode()


def _http(status: str, server: str, body: bytes, content_type: str) -> bytes:
    head = (
        f"HTTP/1.1 {status}\r\nSERVER: {server}\r\nCONNECTION: close\r\n"
        f"CONTENT-LENGTH: {len(body)}\r\nCONTENT-TYPE: {content_type}\r\n"
        f"DATE: {formatdate(usegmt=True)}\r\n\r\n"
    )
    return head.encode("latin-1", errors="replace") + body


def handler(ctx: HostContext, service: UpnpService) -> TcpHandler:
    """The description server: GET of the description path, 404 for anything else."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await read_first(reader)
        if not request:
            return
        method, path = request_target(request)
        server = ctx.fill(service.server)
        if method in {"GET", "HEAD"} and path == service.path:
            body = description(ctx, service)
            reply = _http("200 OK", server, body, 'text/xml; charset="utf-8"')
            if method == "HEAD":
                reply = reply[: reply.index(b"\r\n\r\n") + 4]
        else:
            reply = _http("404 Not Found", server, b"", "text/html")
        writer.write(reply)
        await writer.drain()

    return handle
