"""HTTP banner grab: status line, Server, WWW-Authenticate realm, header order, title, favicon.

Sends read-only ``GET`` requests only: ``/``, ``/favicon.ico`` (its MD5 is a classic device
fingerprint, fingerprints.md §5.1) and a few vendor paths whose status and realm betray the
firmware family (Hikvision ``/ISAPI/System/deviceInfo``, ``/doc/page/login.asp``; Dahua
``/cgi-bin/magicBox.cgi?action=getSystemInfo``, fingerprints.md §5.1-5.2). Never a login, never a
write, never a credential. Each reply is read up to the byte cap. The reply is parsed from
raw bytes on purpose: header-name case and order are fingerprints (Dahua firmware sends
``CONNECTION:``/``CONTENT-LENGTH:`` in upper case; Hikvision ``App-webs`` answers HTTP/1.0),
and ordinary HTTP clients normalise both away.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from ipaddress import IPv4Address
from typing import ClassVar, Final

from scanner.context import ExchangeError, ProbeContext, TcpReply, message_complete
from scanner.errors import ProbeParseError
from scanner.probes.base import Endpoint, ObservationSet, ProbeInfo, more_telling
from scanner.results import WEB_FIELDS, Observation, ProbeResult, ProbeStatus, utc_now

__all__ = [
    "PROBE",
    "VENDOR_PATHS",
    "WEB_PORTS",
    "HttpBannerProbe",
    "HttpReply",
    "announced_ports",
    "dechunk",
    "fetch",
    "http_observations",
    "parse_reply",
]

# A status line plus headers beyond 16 KiB is not a camera's web server talking.
MAX_HEAD_BYTES: Final = 16 * 1024
# Real devices send < 20 headers; a cap stops a header flood from becoming observations.
MAX_HEADERS: Final = 64
# The title is searched in the first 32 KiB of the body only.
MAX_TITLE_SCAN: Final = 32 * 1024
_STATUS_RE: Final = re.compile(rb"^(HTTP/\d(?:\.\d)?) (\d{3})(?: ([^\r\n]*))?$")
_USER_AGENT: Final = "ndaa-scan/0.1 (read-only inventory)"
#: Plain-HTTP ports cameras and recorders serve their web UI on, every one tried (not only the
#: first that answers): 80 and 8080 (ONVIF/web defaults, fingerprints.md §5), 81/82/88 and
#: 8081/8088/8888 (the alternative web ports installers pick behind port forwards), 8000 (the
#: Hikvision SDK port, where other makers' recorders serve HTTP). All are in nmap's GetRequest
#: probe port list (nmap-service-probes, Debian nmap 7.93, line 6349); TLS ports are the
#: tls_certificate probe's.
WEB_PORTS: Final = (80, 81, 82, 88, 8000, 8080, 8081, 8088, 8888)
#: Read-only paths whose answer (status, realm, body) names the firmware family. Nothing that
#: changes state, nothing that needs or tries a credential.
VENDOR_PATHS: Final = (
    "/ISAPI/System/deviceInfo",
    "/doc/page/login.asp",
    "/cgi-bin/magicBox.cgi?action=getSystemInfo",
)
#: Body text kept per vendor path: enough for an XML namespace or a key=value list.
MAX_BODY_CHARS: Final = 1024
#: A favicon larger than this is not an embedded device's icon.
MAX_FAVICON_BYTES: Final = 64 * 1024


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


def dechunk(body: bytes) -> bytes:
    """Decode a chunked body as far as it goes; a malformed chunk ends it (never raises)."""
    out: list[bytes] = []
    pos = 0
    while pos < len(body):
        line_end = body.find(b"\r\n", pos)
        if line_end < 0:
            break
        try:
            size = int(body[pos:line_end].split(b";")[0].strip() or b"x", 16)
        except ValueError:
            break
        if size <= 0:
            break
        out.append(body[line_end + 2 : line_end + 2 + size])
        pos = line_end + 2 + size + 2
    return b"".join(out)


def _body(reply: HttpReply) -> bytes:
    chunked = any("chunked" in v.lower() for v in reply.header("Transfer-Encoding"))
    return dechunk(reply.body) if chunked else reply.body


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
    title = extract_title(_body(reply))
    if title:
        out.append(obs("title", title))
    return tuple(out)


def _request(host: IPv4Address, path: str) -> bytes:
    return (
        f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {_USER_AGENT}\r\n"
        "Accept: */*\r\nConnection: close\r\n\r\n"
    ).encode("ascii")


def _complete_or_foreign(data: bytes) -> bool:
    # A port that opens with other bytes (Hikvision's SDK frame on 8000) will never send HTTP:
    # stop reading at once instead of waiting out the idle timeout.
    return message_complete(data) or (len(data) >= 5 and not data.startswith(b"HTTP/"))


async def fetch(
    ctx: ProbeContext, host: IPv4Address, port: int, path: str, *, tls: bool = False
) -> tuple[TcpReply, HttpReply]:
    """GET ``path``; raise :class:`ExchangeError` or :class:`ProbeParseError` on failure.

    A reply that does not even begin like HTTP is another service on that port: ``not_found``.
    """
    raw = await ctx.tcp_exchange(
        host, port, _request(host, path), tls=tls, complete=_complete_or_foreign
    )
    if not raw.data:
        raise ExchangeError(ProbeStatus.CLOSED, "closed without a reply")
    if len(raw.data) >= 5 and not raw.data.startswith(b"HTTP/"):
        raise ExchangeError(
            ProbeStatus.NOT_FOUND,
            f"port {port} speaks something else ({len(raw.data)} bytes, not HTTP)",
        )
    try:
        return raw, parse_reply(raw.data)
    except ProbeParseError:
        if raw.timed_out:
            # A trickle (slowloris) that never formed a head: the deadline, not the protocol.
            raise ExchangeError(
                ProbeStatus.TIMEOUT, f"reply incomplete at the deadline ({len(raw.data)} bytes)"
            ) from None
        raise


async def http_observations(
    ctx: ProbeContext,
    host: IPv4Address,
    port: int,
    protocol: str,
    first: HttpReply,
    obs: ObservationSet,
    *,
    tls: bool = False,
) -> int:
    """Record ``/`` and follow up with the favicon and vendor paths; return the bytes read.

    The follow-ups are best effort: a device that stops answering keeps what ``/`` gave.
    """
    for item in observations_from(first, host, port, protocol):
        obs.add(item.protocol, item.field, item.value)
    total = 0
    try:
        raw, favicon = await fetch(ctx, host, port, "/favicon.ico", tls=tls)
        total += len(raw.data)
        body = _body(favicon)
        if favicon.status == 200 and body and not raw.truncated and len(body) <= MAX_FAVICON_BYTES:
            # MD5 because that is the public favicon databases' key, not for security.
            obs.add(protocol, "favicon_md5", hashlib.md5(body, usedforsecurity=False).hexdigest())
        for path in VENDOR_PATHS:
            raw, reply = await fetch(ctx, host, port, path, tls=tls)
            total += len(raw.data)
            obs.add(protocol, "vendor_path", f"{path} {reply.status}")
            obs.extend(protocol, "www_authenticate", reply.header("WWW-Authenticate"))
            obs.extend(protocol, "server_header", reply.header("Server"))
            if reply.status == 200:
                text = _body(reply)[:MAX_BODY_CHARS].decode("utf-8", errors="replace")
                obs.add(protocol, "body", f"{path}: {text}")
    except (ExchangeError, ProbeParseError):
        pass  # follow-ups are optional evidence; "/" already answered
    return total


def announced_ports(leads: Sequence[Observation], fields: frozenset[str]) -> list[int]:
    """The TCP ports ``leads`` announce in ``fields`` (``sadp.http_port``), in first-seen order."""
    ports: list[int] = []
    for lead in leads:
        if lead.key not in fields:
            continue
        try:
            port = int(lead.value.strip())
        except ValueError:
            continue  # a garbled announcement is no lead
        if 0 < port < 65536 and port not in ports:
            ports.append(port)
    return ports


#: The announcements that name a plain web port (SADP ``HttpPort``, DHIP ``HttpPort``).
HTTP_PORT_LEADS: Final = frozenset({"sadp.http_port", "dhip.http_port"})


class HttpBannerProbe:
    """``GET /`` (plus favicon and vendor paths) on every camera web port that answers."""

    info: ClassVar[ProbeInfo] = ProbeInfo(
        name="http_banner",
        summary="HTTP GET / , favicon, vendor paths: status, Server, realm, title, favicon MD5",
        kind="host",
        transport="tcp",
        ports=WEB_PORTS,
        rarity=1,
        fields=tuple(f"http.{name}" for name in sorted(WEB_FIELDS)),
    )

    def endpoints(self, host: IPv4Address, leads: Sequence[Observation]) -> list[Endpoint]:
        """Every web port of :data:`WEB_PORTS`, plus the ports the device announced."""
        out = [Endpoint(host=host, port=port) for port in self.info.ports]
        out.extend(
            Endpoint(host=host, port=port, via="announced HttpPort")
            for port in announced_ports(leads, HTTP_PORT_LEADS)
            if port not in self.info.ports
        )
        return out

    async def probe_endpoint(self, endpoint: Endpoint, ctx: ProbeContext) -> ProbeResult:
        """Fetch ``/`` (and the follow-up paths) from one web port."""
        started = time.monotonic()
        host, port = endpoint.host, endpoint.port
        obs = ObservationSet(self.info.name, host, port=port)
        try:
            raw, parsed = await fetch(ctx, host, port, "/")
        except ProbeParseError as exc:
            return obs.result(
                endpoint.target, started, status=ProbeStatus.PROTOCOL_ERROR, error=str(exc)
            )
        total = len(raw.data)
        total += await http_observations(ctx, host, port, "http", parsed, obs)
        status = ProbeStatus.OVERSIZED if raw.truncated else ProbeStatus.SUCCESS
        return obs.result(endpoint.target, started, status=status, reply_bytes=total)

    async def probe(self, host: IPv4Address, ctx: ProbeContext) -> ProbeResult:
        """The first web port that answers (the sweeper asks every port, one result each)."""
        last_error: ExchangeError | None = None
        for endpoint in self.endpoints(host, ()):
            try:
                return await self.probe_endpoint(endpoint, ctx)
            except ExchangeError as exc:
                last_error = more_telling(last_error, exc)
        assert last_error is not None  # noqa: S101 - ports is never empty
        raise last_error


PROBE: Final = HttpBannerProbe()
