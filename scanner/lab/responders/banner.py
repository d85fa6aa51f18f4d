"""Fixed-bytes TCP ports: telnet banners, SDK ports (Hikvision 8000, Dahua 37777), TLS garbage.

The port sends its bytes on connect or after the client's first data, then keeps the connection
open until the client leaves or goes idle (≥ 30 s, so nmap does not call it ``tcpwrapped``).
"""

from __future__ import annotations

import asyncio

from scanner.lab.profile import BannerService
from scanner.lab.responders.common import (
    HostContext,
    TcpHandler,
    abort_with_rst,
    hold_open,
    read_first,
)

__all__ = ["handler"]


def handler(ctx: HostContext, service: BannerService) -> TcpHandler:
    """The connection handler for one banner port of one host."""
    raw = service.banner_b64 is not None

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if service.when == "first_data" and not await read_first(reader):
            return
        if service.when != "never":
            data = service.banner_bytes() if raw else ctx.fill(service.banner).encode("utf-8")
            writer.write(data)
            await writer.drain()
            if service.behaviour == "reset":
                abort_with_rst(writer)
                return
        await hold_open(reader)

    return handle
