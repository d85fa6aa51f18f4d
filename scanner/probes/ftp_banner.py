"""FTP greeting on TCP 21: the reply a server sends on connect, before any command.

RFC 959 §4.2: the greeting is a reply, usually ``220`` (``421`` when the server turns us away),
one line ``220 text`` or several, ``220-first`` … ``220 last``. Embedded servers name themselves
there (``220 (vsFTPd 3.0.3)``, ``220 DVR FTP server ready``). The probe reads the greeting and
closes without sending a byte: no ``USER``, no ``PASS``, no anonymous login.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from ipaddress import IPv4Address
from typing import ClassVar, Final

from scanner.context import ProbeContext
from scanner.errors import ProbeParseError
from scanner.greeting import Greeting, read_greeting
from scanner.probes.base import ProbeInfo
from scanner.results import ProbeResult

__all__ = ["PROBE", "FtpBannerProbe", "FtpGreeting", "greeting_complete", "parse_reply"]

PORT: Final = 21
#: Multi-line greetings with a login notice run to a few hundred bytes; 4 KiB is plenty.
MAX_REPLY_BYTES: Final = 4096
#: Real greetings have < 20 lines; the cap stops a line flood from becoming one huge banner.
MAX_LINES: Final = 64
_LINE_RE: Final = re.compile(rb"^(?P<code>[1-5][0-9]{2})(?P<sep>[ -]|$)(?P<text>.*)$")


@dataclass(frozen=True, slots=True)
class FtpGreeting:
    """A parsed FTP reply: its code and its lines as sent (code prefixes kept)."""

    code: int
    lines: tuple[str, ...]

    @property
    def text(self) -> str:
        """The greeting as one string, one line per line."""
        return "\n".join(self.lines)


def _lines(data: bytes) -> list[bytes]:
    return [line.rstrip(b"\r") for line in data.split(b"\n")]


def _end_of_reply(lines: list[bytes]) -> int | None:
    """Index of the line that ends the first reply, or None if it has not ended yet."""
    first = _LINE_RE.match(lines[0]) if lines else None
    if first is None:
        return None
    if first.group("sep") != b"-":
        return 0
    # RFC 959: a multi-line reply ends at the first line that starts with the same code and SP.
    closing = first.group("code") + b" "
    for index, line in enumerate(lines[1:], start=1):
        if line.startswith(closing) or line == first.group("code"):
            return index
    return None


def greeting_complete(data: bytes) -> bool:
    """Whether ``data`` holds a whole reply, ended by its line feed."""
    whole = data[: data.rfind(b"\n") + 1]
    return bool(whole) and _end_of_reply(_lines(whole)) is not None


def parse_reply(data: bytes) -> FtpGreeting:
    """Parse an FTP greeting; raise :class:`ProbeParseError` if it is not an FTP reply."""
    lines = _lines(data)
    while lines and not lines[-1]:
        lines.pop()
    if not lines:
        raise ProbeParseError("empty greeting")
    first = _LINE_RE.match(lines[0])
    if first is None:
        raise ProbeParseError(f"not an FTP reply line: {lines[0][:60].decode('latin-1')!r}")
    end = _end_of_reply(lines)
    if end is None:
        # An unterminated multi-line reply (cut by the cap or the deadline): keep what came.
        end = len(lines) - 1
    kept = lines[: min(end + 1, MAX_LINES)]
    return FtpGreeting(
        code=int(first.group("code")),
        lines=tuple(line.decode("utf-8", errors="replace") for line in kept),
    )


class FtpBannerProbe:
    """Read the FTP greeting on 21 and close; send nothing."""

    info: ClassVar[ProbeInfo] = ProbeInfo(
        name="ftp_banner",
        summary="FTP greeting (TCP 21), read and closed: no USER, no PASS, no anonymous login",
        kind="host",
        transport="tcp",
        ports=(PORT,),
        rarity=1,
        fields=("ftp.banner",),
    )

    async def probe(self, host: IPv4Address, ctx: ProbeContext) -> ProbeResult:
        """Connect, read the greeting, record it."""
        return await read_greeting(_GREETING, host, PORT, ctx)


_GREETING: Final = Greeting(
    probe=FtpBannerProbe.info.name,
    protocol="ftp",
    what="FTP greeting",
    max_bytes=MAX_REPLY_BYTES,
    complete=greeting_complete,
    parse=lambda data: parse_reply(data).text,
)

PROBE: Final = FtpBannerProbe()
