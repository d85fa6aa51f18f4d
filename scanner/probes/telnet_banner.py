"""Telnet banner on TCP 23 and 2323: refuse every option, read the first banner and prompt.

A telnet server opens with option negotiation (RFC 854/855: ``IAC DO``/``WILL <option>``) and
then prints its banner and login prompt, which name the maker: ``Welcome Visiting Huawei Home
Gateway``, VRP's ``Warning: Telnet is not a secure protocol…``, a ZTE model then ``Login:``
(nmap-service-probes telnet matches, rapid7/recog xml/telnet_banners.xml; fingerprints/SOURCES.md).
The probe answers every request with a refusal
(``DONT``/``WONT``, the answer RFC 854 says a party that does not support an option gives),
each option at most once (RFC 1143's loop guard, and a bound on a peer that floods options),
and stops at the first prompt, the byte cap or the deadline. It never types anything:
no user name, no password, no keystroke.
"""

from __future__ import annotations

import re
import time
import unicodedata
from dataclasses import dataclass, field
from ipaddress import IPv4Address
from typing import ClassVar, Final

from scanner.context import ExchangeError, ProbeContext
from scanner.errors import ProbeParseError
from scanner.greeting import Greeting, read_greeting
from scanner.probes.base import ProbeInfo, more_telling
from scanner.results import ProbeResult

__all__ = [
    "PROBE",
    "Negotiator",
    "TelnetBanner",
    "TelnetBannerProbe",
    "parse_reply",
    "prompt_complete",
    "strip_commands",
]

PORTS: Final = (23, 2323)
#: Rules read at most ~1,200 characters of a banner; 4 KiB holds the longest seen (a VRP
#: warning plus a copyright box) and cuts off a peer that never stops talking.
MAX_REPLY_BYTES: Final = 4096

IAC: Final = 255
DONT: Final = 254
DO: Final = 253
WONT: Final = 252
WILL: Final = 251
SB: Final = 250
SE: Final = 240
#: The refusal for each request: DO -> WONT (we will not), WILL -> DONT (please do not).
_REFUSAL: Final = {DO: WONT, WILL: DONT}
_VERBS: Final = {DO: "DO", DONT: "DONT", WILL: "WILL", WONT: "WONT"}
#: A prompt the banner ends with: the login/user/password question or a shell prompt.
_PROMPT_RE: Final = re.compile(
    r"(?:log\s?in|user\s?name|user|password|passwd|account)\s*[:>]\s*$|[>#$%]\s*$",
    re.IGNORECASE,
)
#: Below this share of printable characters the port is not talking text (an SDK port, TLS).
_MIN_TEXT_SHARE: Final = 0.7


@dataclass(frozen=True, slots=True)
class TelnetBanner:
    """The text a telnet server showed, and the options it asked about (``DO 1``, ``WILL 3``)."""

    text: str
    requests: tuple[str, ...]


def strip_commands(data: bytes) -> tuple[bytes, tuple[tuple[int, int], ...]]:
    """Split a telnet stream into its data bytes and its (verb, option) requests.

    ``IAC IAC`` is a literal 0xFF; ``IAC SB … IAC SE`` is dropped whole (an unterminated one
    runs to the end); any other ``IAC x`` is a two-byte command; a trailing lone ``IAC`` or a
    verb without its option byte is dropped (the rest of it is still on the wire).
    """
    text = bytearray()
    requests: list[tuple[int, int]] = []
    pos = 0
    size = len(data)
    while pos < size:
        byte = data[pos]
        if byte != IAC:
            text.append(byte)
            pos += 1
            continue
        if pos + 1 >= size:
            break
        command = data[pos + 1]
        if command == IAC:
            text.append(IAC)
            pos += 2
        elif command in _VERBS:
            if pos + 2 >= size:
                break
            requests.append((command, data[pos + 2]))
            pos += 3
        elif command == SB:
            end = data.find(bytes((IAC, SE)), pos + 2)
            pos = size if end < 0 else end + 2
        else:
            pos += 2
    return bytes(text), tuple(requests)


@dataclass
class Negotiator:
    """Answers a telnet server's option requests as they stream in: refuse each one once."""

    _buffer: bytearray = field(default_factory=bytearray)
    _answered: set[tuple[int, int]] = field(default_factory=set)
    sent: int = 0

    def feed(self, chunk: bytes) -> bytes:
        """Take the next bytes from the server; return the refusals to send now."""
        self._buffer += chunk
        out = bytearray()
        pos = 0
        data = bytes(self._buffer)
        while True:
            start = data.find(bytes((IAC,)), pos)
            if start < 0:
                pos = len(data)
                break
            if start + 1 >= len(data):
                pos = start  # a lone IAC: wait for its command
                break
            command = data[start + 1]
            if command in _REFUSAL:
                if start + 2 >= len(data):
                    pos = start
                    break
                key = (command, data[start + 2])
                if key not in self._answered:
                    self._answered.add(key)
                    out += bytes((IAC, _REFUSAL[command], data[start + 2]))
                pos = start + 3
            elif command == SB:
                end = data.find(bytes((IAC, SE)), start + 2)
                if end < 0:
                    pos = start
                    break
                pos = end + 2
            else:
                pos = start + 2  # IAC IAC, DONT/WONT (already our state), NOP, GA, ...
        # Keep only an unfinished sequence; the text itself is read from the reply, not here.
        del self._buffer[:pos]
        if len(self._buffer) > MAX_REPLY_BYTES:
            self._buffer.clear()  # an endless subnegotiation: the byte cap ends the read
        self.sent += len(out)
        return bytes(out)


def _decode(text: bytes) -> str:
    # NVT ASCII in theory; devices send UTF-8 (or GBK): undecodable bytes stay visible as U+FFFD.
    return text.replace(b"\x00", b"").decode("utf-8", errors="replace")


def _printable_share(text: str) -> float:
    if not text:
        return 0.0
    good = sum(
        1
        for ch in text
        if ch in "\r\n\t" or (ch != "\ufffd" and unicodedata.category(ch)[0] != "C")
    )
    return good / len(text)


def prompt_complete(data: bytes) -> bool:
    """Whether the text so far ends in a prompt, so the read can stop before the idle timeout."""
    text, _ = strip_commands(data)
    return bool(_PROMPT_RE.search(_decode(text)[-200:]))


def parse_reply(data: bytes) -> TelnetBanner:
    """Parse what a telnet server sent; raise :class:`ProbeParseError` unless it shows text."""
    raw, requests = strip_commands(data)
    text = _decode(raw)
    if not text.strip():
        what = f"{len(requests)} option requests" if requests else "nothing"
        raise ProbeParseError(f"no banner text ({what})")
    if _printable_share(text) < _MIN_TEXT_SHARE:
        raise ProbeParseError("not a text banner (mostly control or undecodable bytes)")
    return TelnetBanner(
        text=text,
        requests=tuple(f"{_VERBS[verb]} {option}" for verb, option in requests),
    )


class TelnetBannerProbe:
    """Refuse every option, read the banner up to the first prompt; never type a thing."""

    info: ClassVar[ProbeInfo] = ProbeInfo(
        name="telnet_banner",
        summary="telnet banner and prompt (TCP 23, 2323); every option refused, nothing typed",
        kind="host",
        transport="tcp",
        ports=PORTS,
        rarity=1,
        fields=("telnet.banner",),
    )

    async def probe(self, host: IPv4Address, ctx: ProbeContext) -> ProbeResult:
        """Try each telnet port; the first that shows a banner is reported."""
        started = time.monotonic()
        last_error: ExchangeError | None = None
        for port in self.info.ports:
            try:
                return await self._one_port(host, port, ctx, started)
            except ExchangeError as exc:
                last_error = more_telling(last_error, exc)
        assert last_error is not None  # noqa: S101 - ports is never empty
        raise last_error

    async def _one_port(
        self, host: IPv4Address, port: int, ctx: ProbeContext, started: float
    ) -> ProbeResult:
        # A fresh negotiator per connection: options refused on one port say nothing of the next.
        return await read_greeting(
            _GREETING, host, port, ctx, started=started, respond=Negotiator().feed
        )


_GREETING: Final = Greeting(
    probe=TelnetBannerProbe.info.name,
    protocol="telnet",
    what="telnet banner",
    max_bytes=MAX_REPLY_BYTES,
    complete=prompt_complete,
    parse=lambda data: parse_reply(data).text,
)

PROBE: Final = TelnetBannerProbe()
