"""RTSP on TCP 554: ``OPTIONS`` and ``DESCRIBE`` without credentials, read-only.

The reply head names the server (``Dahua Rtsp Server``), the auth realm (Hikvision
``IP Camera(C2875)``, Dahua ``Login to <serial>``) and the method list, which together identify
the firmware family (rapid7/recog xml/rtsp_servers.xml, nmap-service-probes). No credentials are
ever sent and no paths
are guessed: one DESCRIBE of ``/`` and nothing more, never a brute force.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from ipaddress import IPv4Address
from typing import ClassVar, Final

from scanner.context import ExchangeError, ProbeContext, message_complete
from scanner.errors import ProbeParseError
from scanner.probes.base import ObservationSet, ProbeInfo
from scanner.results import ProbeResult, ProbeStatus

__all__ = ["PROBE", "RtspProbe", "RtspReply", "parse_reply"]

PORT: Final = 554
#: A 401 or an OPTIONS answer is < 1 KiB; an SDP body < 4 KiB.
MAX_REPLY_BYTES: Final = 16 * 1024
MAX_HEADERS: Final = 64
_STATUS_RE: Final = re.compile(rb"^RTSP/(\d\.\d) (\d{3})(?: ([^\r\n]*))?$")
_USER_AGENT: Final = "ndaa-scan/0.1 (read-only inventory)"


@dataclass(frozen=True, slots=True)
class RtspReply:
    """A parsed RTSP response head."""

    status: int
    status_line: str
    headers: tuple[tuple[str, str], ...]

    def header(self, name: str) -> list[str]:
        """Return every value of header ``name`` (case-insensitive)."""
        lowered = name.lower()
        return [value for key, value in self.headers if key.lower() == lowered]


def parse_reply(data: bytes) -> RtspReply:
    """Parse an RTSP response head; raise :class:`ProbeParseError` if it is not one."""
    end = data.find(b"\r\n\r\n")
    head = data if end < 0 else data[:end]
    if len(head) > MAX_REPLY_BYTES:
        raise ProbeParseError("RTSP head larger than 16 KiB")
    lines = head.replace(b"\r\n", b"\n").split(b"\n")
    match = _STATUS_RE.match(lines[0].rstrip(b"\r"))
    if match is None:
        raise ProbeParseError(f"not an RTSP status line: {lines[0][:60].decode('latin-1')!r}")
    headers: list[tuple[str, str]] = []
    for line in lines[1 : MAX_HEADERS + 1]:
        name, colon, value = line.partition(b":")
        if colon and name.strip() and b" " not in name.strip():
            headers.append((name.strip().decode("latin-1"), value.strip().decode("latin-1")))
    return RtspReply(
        status=int(match.group(2)),
        status_line=lines[0].rstrip(b"\r").decode("latin-1"),
        headers=tuple(headers),
    )


def observations_from(replies: list[RtspReply], obs: ObservationSet) -> None:
    """Flatten the replies into the shared ``rtsp.*`` vocabulary."""
    for reply in replies:
        obs.add("rtsp", "status_line", reply.status_line)
        obs.extend("rtsp", "server_header", reply.header("Server"))
        obs.extend("rtsp", "www_authenticate", reply.header("WWW-Authenticate"))
        obs.extend("rtsp", "public", reply.header("Public"))


class RtspProbe:
    """OPTIONS then DESCRIBE on 554, no credentials."""

    info: ClassVar[ProbeInfo] = ProbeInfo(
        name="rtsp",
        summary="RTSP OPTIONS + DESCRIBE (TCP 554), no credentials: Server, realm, Public",
        kind="host",
        transport="tcp",
        ports=(PORT,),
        rarity=1,
        fields=("rtsp.status_line", "rtsp.server_header", "rtsp.www_authenticate", "rtsp.public"),
    )

    async def probe(self, host: IPv4Address, ctx: ProbeContext) -> ProbeResult:
        """Send OPTIONS, then DESCRIBE if the port speaks RTSP."""
        started = time.monotonic()
        obs = ObservationSet(self.info.name, host, port=PORT)
        target = f"{host}:{PORT}"
        replies: list[RtspReply] = []
        total = 0
        truncated = False
        for cseq, method in enumerate(("OPTIONS", "DESCRIBE"), start=1):
            extra = "Accept: application/sdp\r\n" if method == "DESCRIBE" else ""
            request = (
                f"{method} rtsp://{host}:{PORT}/ RTSP/1.0\r\nCSeq: {cseq}\r\n"
                f"User-Agent: {_USER_AGENT}\r\n{extra}\r\n"
            ).encode("ascii")
            try:
                reply = await ctx.tcp_exchange(
                    host, PORT, request, max_bytes=MAX_REPLY_BYTES, complete=message_complete
                )
            except ExchangeError:
                if replies:
                    break  # OPTIONS answered: what DESCRIBE adds is optional
                raise
            total += len(reply.data)
            truncated = truncated or reply.truncated
            try:
                replies.append(parse_reply(reply.data))
            except ProbeParseError as exc:
                if replies:
                    break
                if reply.timed_out:
                    raise ExchangeError(
                        ProbeStatus.TIMEOUT,
                        f"reply incomplete at the deadline ({len(reply.data)} bytes)",
                    ) from None
                return obs.result(
                    target,
                    started,
                    status=ProbeStatus.PROTOCOL_ERROR,
                    reply_bytes=total,
                    error=str(exc),
                )
        observations_from(replies, obs)
        status = ProbeStatus.OVERSIZED if truncated else ProbeStatus.SUCCESS
        return obs.result(target, started, status=status, reply_bytes=total)


PROBE: Final = RtspProbe()
