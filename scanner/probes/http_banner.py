"""HTTP banner grab: status line, Server, WWW-Authenticate realm, header order, page title.

Sends one read-only ``GET /`` and reads the reply up to the byte cap. The reply is parsed from
raw bytes on purpose: header-name case and order are fingerprints (Dahua firmware sends
``CONNECTION:``/``CONTENT-LENGTH:`` in upper case; Hikvision ``App-webs`` answers HTTP/1.0),
and ordinary HTTP clients normalise both away.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from html.parser import HTMLParser
from ipaddress import IPv4Address
from typing import ClassVar, Final

from scanner.context import ExchangeError, ProbeContext
from scanner.errors import ProbeParseError
from scanner.probes.base import ProbeInfo
from scanner.results import Observation, ProbeResult, ProbeStatus, utc_now

__all__ = ["PROBE", "HttpBannerProbe", "HttpReply", "parse_reply"]

# A status line plus headers beyond 16 KiB is not a camera's web server talking.
MAX_HEAD_BYTES: Final = 16 * 1024
# Real devices send < 20 headers; a cap stops a header flood from becoming observations.
MAX_HEADERS: Final = 64
# The title is searched in the first 32 KiB of the body only.
MAX_TITLE_SCAN: Final = 32 * 1024
_STATUS_RE: Final = re.compile(rb"^(HTTP/\d(?:\.\d)?) (\d{3})(?: ([^\r\n]*))?$")
_USER_AGENT: Final = "ndaa-scan/0.1 (read-only inventory)"


@dataclass(frozen=True, slots=True)
class HttpReply:
    """A parsed HTTP response head and the start of its body."""

    version: str
    status: int
    status_line: str
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def header(self, name: str) -> list[str]:
        """Return every value of header ``name`` (case-insensitive), in order."""
        lowered = name.lower()
        return [value for key, value in self.headers if key.lower() == lowered]


class _TitleParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self._in_title = False
        self.title: str | None = None
        self._parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title" and self.title is None:
            self._in_title = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "title" and self._in_title:
            self._in_title = False
            self.title = " ".join("".join(self._parts).split())

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self._parts.append(data)


def _decode(raw: bytes) -> str:
    # Header bytes are ISO-8859-1 by RFC 9110; invalid UTF-8 from a hostile device stays visible.
    return raw.decode("latin-1")


def extract_title(body: bytes) -> str | None:
    """Return the first ``<title>`` text of an HTML body, whitespace folded."""
    text = body[:MAX_TITLE_SCAN].lstrip(b"\xef\xbb\xbf").decode("utf-8", errors="replace")
    parser = _TitleParser()
    try:
        parser.feed(text)
        parser.close()
    except AssertionError:  # html.parser asserts on some malformed declarations
        return None
    return parser.title or None


def parse_reply(data: bytes) -> HttpReply:
    """Parse an HTTP response from raw bytes; raise :class:`ProbeParseError` if it is not one."""
    head_end = data.find(b"\r\n\r\n")
    sep = 4
    if head_end < 0:
        head_end = data.find(b"\n\n")
        sep = 2
    if head_end < 0:
        if len(data) >= MAX_HEAD_BYTES:
            raise ProbeParseError("no end of headers within 16 KiB")
        head_end, sep = len(data), 0
    if head_end > MAX_HEAD_BYTES:
        raise ProbeParseError("response head larger than 16 KiB")
    lines = data[:head_end].replace(b"\r\n", b"\n").split(b"\n")
    match = _STATUS_RE.match(lines[0].rstrip(b"\r"))
    if match is None:
        raise ProbeParseError(f"not an HTTP status line: {_decode(lines[0][:60])!r}")
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        if len(headers) >= MAX_HEADERS:
            break
        name, colon, value = line.partition(b":")
        if not colon or not name.strip() or b" " in name.strip():
            continue  # tolerate junk lines rather than losing the whole banner
        headers.append((_decode(name.strip()), _decode(value.strip())))
    return HttpReply(
        version=_decode(match.group(1)),
        status=int(match.group(2)),
        status_line=_decode(lines[0].rstrip(b"\r")),
        headers=tuple(headers),
        body=data[head_end + sep :],
    )


def observations_from(
    reply: HttpReply, host: IPv4Address, port: int, protocol: str
) -> tuple[Observation, ...]:
    """Flatten a reply into the shared ``http.*`` vocabulary."""
    now = utc_now()

    def obs(field: str, value: str) -> Observation:
        return Observation(
            host=host,
            protocol=protocol,
            field=field,
            value=value,
            port=port,
            probe="http_banner",
            observed_at=now,
        )

    out = [obs("status_line", reply.status_line)]
    out.extend(obs("server_header", value) for value in reply.header("Server"))
    out.extend(obs("www_authenticate", value) for value in reply.header("WWW-Authenticate"))
    out.extend(obs("location", value) for value in reply.header("Location"))
    if reply.headers:
        out.append(obs("header_names", ",".join(name for name, _ in reply.headers)))
    title = extract_title(reply.body)
    if title:
        out.append(obs("title", title))
    return tuple(out)


class HttpBannerProbe:
    """``GET /`` on the camera web ports; records what the server says about itself."""

    info: ClassVar[ProbeInfo] = ProbeInfo(
        name="http_banner",
        summary="HTTP GET / : status line, Server, WWW-Authenticate realm, header order, title",
        kind="host",
        transport="tcp",
        ports=(80,),
        rarity=1,
        fields=(
            "http.status_line",
            "http.server_header",
            "http.www_authenticate",
            "http.location",
            "http.header_names",
            "http.title",
        ),
    )

    async def probe(self, host: IPv4Address, ctx: ProbeContext) -> ProbeResult:
        """Fetch ``/`` from each web port; the first port that answers is reported."""
        started = time.monotonic()
        wall_start = utc_now()
        last_error: ExchangeError | None = None
        for port in self.info.ports:
            request = (
                f"GET / HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {_USER_AGENT}\r\n"
                "Accept: */*\r\nConnection: close\r\n\r\n"
            ).encode("ascii")
            try:
                reply = await ctx.tcp_exchange(host, port, request)
            except ExchangeError as exc:
                last_error = exc
                continue
            try:
                parsed = parse_reply(reply.data)
            except ProbeParseError as exc:
                return ProbeResult(
                    probe=self.info.name,
                    target=f"{host}:{port}",
                    status=ProbeStatus.PROTOCOL_ERROR,
                    started_at=wall_start,
                    elapsed_s=time.monotonic() - started,
                    error=str(exc),
                    reply_bytes=len(reply.data),
                )
            return ProbeResult(
                probe=self.info.name,
                target=f"{host}:{port}",
                status=ProbeStatus.OVERSIZED if reply.truncated else ProbeStatus.SUCCESS,
                started_at=wall_start,
                elapsed_s=time.monotonic() - started,
                observations=observations_from(parsed, host, port, "http"),
                reply_bytes=len(reply.data),
            )
        assert last_error is not None  # noqa: S101 - ports is never empty
        raise last_error


PROBE: Final = HttpBannerProbe()
