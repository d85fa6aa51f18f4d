"""What every responder shares: the per-host context, placeholders, bounded reads, replies.

A :class:`HostContext` is one simulated host as the responders see it: its profile entry plus
the values its ``{placeholders}`` expand to. Every read has a size cap and a deadline, and every
reply is written through :func:`send_reply`, which knows the hostile behaviours (streamed body,
slowloris, reset mid-reply) so each protocol module only decides *what* to send.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import secrets
import socket
import struct
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from email.utils import formatdate
from typing import Final

from scanner.lab.profile import LabHost, _Reply

__all__ = [
    "IDLE_TIMEOUT_S",
    "MAX_REQUEST_BYTES",
    "HostContext",
    "TcpHandler",
    "abort_with_rst",
    "hold_open",
    "read_first",
    "render_reply",
    "send_reply",
    "xml_escape",
]

# Real devices keep an idle connection for far longer; below 6 s nmap says "tcpwrapped"
# (lab-feasibility §6), so 30 s it is.
IDLE_TIMEOUT_S: Final = 30.0
# A request line plus headers to a camera is short; 8 KiB is more than any we serve.
MAX_REQUEST_BYTES: Final = 8192
# A slowloris reply drips one byte per interval; the whole drip is bounded by the reply size.
SLOWLORIS_INTERVAL_S: Final = 1.0
_STREAM_CHUNK: Final = 64 * 1024
_PLACEHOLDER: Final = re.compile(r"\{([a-z_][a-z0-9_]*)\}")
_DAYS: Final = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS: Final = (
    "Jan",
    "Feb",
    "Mar",
    "Apr",
    "May",
    "Jun",
    "Jul",
    "Aug",
    "Sep",
    "Oct",
    "Nov",
    "Dec",
)

TcpHandler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


def _rtsp_date_hik() -> str:
    # Hikvision's RTSP Date puts the month before the day: "Thu, May 14 2020 16:45:35 GMT"
    # (fingerprints.md §4, nmap-service-probes line 14882).
    t = time.gmtime()
    return (
        f"{_DAYS[t.tm_wday]}, {_MONTHS[t.tm_mon - 1]} {t.tm_mday:02d} {t.tm_year} "
        f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} GMT"
    )


def _ipv6_link_local(mac: str) -> str:
    octets = bytearray(int(part, 16) for part in mac.split(":"))
    octets[0] ^= 0x02
    eui = bytes(octets[:3]) + b"\xff\xfe" + bytes(octets[3:])
    # Devices print the four groups in full ("fe80::4e11:bfff:fec2:0b9d", fingerprints.md §7.1).
    return "fe80::" + ":".join(eui[i : i + 2].hex() for i in range(0, 8, 2))


def xml_escape(text: str) -> str:
    """Escape text for an XML element (the stdlib helper lives in the banned ``xml.sax``)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@dataclass(frozen=True)
class HostContext:
    """One simulated host: its profile entry and its placeholder values."""

    host: LabHost
    address: str
    mac: str
    values: Mapping[str, str]

    @classmethod
    def build(
        cls, host: LabHost, address: str, mac: str, netmask: str, gateway: str, seq: int = 0
    ) -> HostContext:
        """Resolve the host's static placeholders (its ``vars`` may use the builtins)."""
        hexmac = mac.replace(":", "")
        values = {
            "address": address,
            "mac": mac,
            "mac_dash": mac.replace(":", "-"),
            "mac_hex": hexmac.upper(),
            "mac_hex_lower": hexmac,
            "ipv6_ll": _ipv6_link_local(mac),
            "netmask": netmask,
            "gateway": gateway,
            "seq": f"{seq:09d}",
            "seq_hex": f"{seq:06X}",
        }
        for key, value in host.vars.items():
            values[key] = _fill(value, values, {})
        return cls(host=host, address=address, mac=mac, values=values)

    def fill(self, text: str, **extra: str) -> str:
        """Expand ``{placeholders}``; unknown ones stay as written (JSON, JavaScript)."""
        return _fill(text, self.values, extra)


def _fill(text: str, values: Mapping[str, str], extra: Mapping[str, str]) -> str:
    if "{" not in text:
        return text

    def one(match: re.Match[str]) -> str:
        key = match.group(1)
        if key in extra:
            return extra[key]
        if key in values:
            return values[key]
        if key == "http_date":
            return formatdate(usegmt=True)
        if key == "rtsp_date_hik":
            return _rtsp_date_hik()
        if key == "nonce":
            return secrets.token_hex(16)
        return match.group(0)

    return _PLACEHOLDER.sub(one, text)


def render_reply(ctx: HostContext, reply: _Reply, **extra: str) -> tuple[bytes, bytes]:
    """Return (head, body) of ``reply`` for ``ctx``: status line and headers, then the body."""
    if reply.body_b64 is not None:
        body = reply.body_bytes()
    else:
        body = ctx.fill(reply.body, **extra).encode("utf-8")
    length = str(reply.stream_bytes if reply.behaviour == "stream" else len(body))
    lines = [ctx.fill(reply.status_line, **extra)]
    for name, value in reply.headers:
        text = ctx.fill(value, content_length=length, **extra)
        # A header made only of an echo (CSeq) is left out when there was nothing to echo.
        if not text and value.startswith("{") and value.endswith("}"):
            continue
        lines.append(f"{name}: {text}")
    # Headers go out in latin-1, as device firmware writes raw bytes; anything else is replaced.
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", errors="replace")
    return head, body


async def send_reply(
    writer: asyncio.StreamWriter, ctx: HostContext, reply: _Reply, **extra: str
) -> None:
    """Write ``reply`` the way its ``behaviour`` says."""
    head, body = render_reply(ctx, reply, **extra)
    if reply.behaviour == "stream":
        writer.write(head)
        chunk = (body or b"A") * (_STREAM_CHUNK // max(1, len(body or b"A")) + 1)
        chunk = chunk[:_STREAM_CHUNK]
        left = reply.stream_bytes
        while left > 0:
            piece = chunk[: min(left, len(chunk))]
            writer.write(piece)
            left -= len(piece)
            await writer.drain()
        return
    data = head + body
    if reply.behaviour == "slowloris":
        for index in range(len(data)):
            writer.write(data[index : index + 1])
            await writer.drain()
            await asyncio.sleep(SLOWLORIS_INTERVAL_S)
        return
    if reply.behaviour == "reset":
        writer.write(data[: max(1, len(data) // 2)])
        await writer.drain()
        abort_with_rst(writer)
        return
    writer.write(data)
    await writer.drain()


def abort_with_rst(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP RST (SO_LINGER 0), as a crashing device or a closed port does."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


async def read_first(reader: asyncio.StreamReader) -> bytes:
    """The first bytes a client sends, or b"" after the idle timeout or EOF.

    Answering on the first segment (not on a blank line) is what keeps nmap -sV fast.
    """
    try:
        async with asyncio.timeout(IDLE_TIMEOUT_S):
            return await reader.read(MAX_REQUEST_BYTES)
    except TimeoutError:
        return b""


async def hold_open(reader: asyncio.StreamReader) -> None:
    """Keep an idle connection until the client leaves or the idle timeout passes."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(IDLE_TIMEOUT_S):
            while await reader.read(MAX_REQUEST_BYTES):
                pass
