"""SSH identification string on TCP 22: the one line a server sends before any key exchange.

RFC 4253 §4.2: the server sends ``SSH-protoversion-softwareversion SP comments CR LF`` (it may
send other lines first). The software version names the implementation: Huawei VRP sends
``SSH-2.0-HUAWEI-VRP-3.10`` or ``SSH-2.0--``, ZTE ``SSH-2.0-ZTE_SSH.2.0``, OpenSSH
``SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3`` (nmap-service-probes sshd matches, rapid7/recog
xml/ssh_banners.xml; fingerprints/SOURCES.md). The probe
reads that line and closes: it sends nothing at all, so no key exchange, no login, no credential.
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

__all__ = ["PROBE", "SshBannerProbe", "SshIdentification", "identification_complete", "parse_reply"]

PORT: Final = 22
#: RFC 4253 §4.2 caps the identification line at 255 characters; the lines a server may send
#: before it are unbounded in the RFC, so 4 KiB is this probe's own bound.
MAX_REPLY_BYTES: Final = 4096
MAX_LINE: Final = 255
_IDENT_RE: Final = re.compile(
    rb"^SSH-(?P<proto>[0-9][0-9.]{0,8})-(?P<software>[\x21-\x7e]*)(?: (?P<comments>[^\r\n]*))?$"
)


@dataclass(frozen=True, slots=True)
class SshIdentification:
    """The parsed identification line (and how many lines came before it)."""

    line: str
    proto_version: str
    software_version: str
    comments: str | None
    lines_before: int


def _lines(data: bytes) -> list[bytes]:
    return [line.rstrip(b"\r") for line in data.split(b"\n")]


def identification_complete(data: bytes) -> bool:
    """Whether ``data`` already holds a whole ``SSH-`` line (so the read can stop)."""
    return any(line.startswith(b"SSH-") for line in _lines(data[: data.rfind(b"\n") + 1]) if line)


def parse_reply(data: bytes) -> SshIdentification:
    """Parse what an SSH server sent first; raise :class:`ProbeParseError` if it is not SSH."""
    if len(data) > MAX_REPLY_BYTES:
        raise ProbeParseError(f"more than {MAX_REPLY_BYTES} bytes before an SSH identification")
    lines = _lines(data)
    for index, line in enumerate(lines):
        if not line.startswith(b"SSH-"):
            continue
        if len(line) > MAX_LINE:
            raise ProbeParseError("SSH identification line longer than 255 characters")
        match = _IDENT_RE.match(line)
        if match is None:
            shown = line[:60].decode("latin-1")
            raise ProbeParseError(f"malformed SSH identification {shown!r}")
        comments = match.group("comments")
        return SshIdentification(
            line=line.decode("utf-8", errors="replace"),
            proto_version=match.group("proto").decode("ascii"),
            software_version=match.group("software").decode("ascii"),
            comments=None if comments is None else comments.decode("utf-8", errors="replace"),
            lines_before=index,
        )
    first = lines[0][:60].decode("latin-1") if lines else ""
    raise ProbeParseError(f"no SSH identification line (first bytes {first!r})")


class SshBannerProbe:
    """Read the SSH server's identification line on 22 and close; send nothing."""

    info: ClassVar[ProbeInfo] = ProbeInfo(
        name="ssh_banner",
        summary="SSH identification line (TCP 22), read and closed: no key exchange, no login",
        kind="host",
        transport="tcp",
        ports=(PORT,),
        rarity=1,
        fields=("ssh.banner",),
    )

    async def probe(self, host: IPv4Address, ctx: ProbeContext) -> ProbeResult:
        """Connect, read up to the identification line, record it."""
        return await read_greeting(_GREETING, host, PORT, ctx)


_GREETING: Final = Greeting(
    probe=SshBannerProbe.info.name,
    protocol="ssh",
    what="SSH identification",
    max_bytes=MAX_REPLY_BYTES,
    complete=identification_complete,
    parse=lambda data: parse_reply(data).line,
)

PROBE: Final = SshBannerProbe()
