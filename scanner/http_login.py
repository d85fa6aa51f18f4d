"""Read-only HTTP GETs with a login, every byte through the :class:`ProbeContext`.

The request is first sent without credentials. Only when the device answers 401 and the
credentials file has a login whose scope names the device is the request repeated with
``Authorization``: digest (RFC 7616) when the device offers it, basic only when the entry says
``scheme = "basic"`` or ``"any"`` (basic sends the password in clear text).

The digest response is computed by ``httpx.DigestAuth`` (MD5, SHA-256, SHA-512 and their
``-sess`` variants, ``qop=auth``; maintained by the encode project) driven as a sans-I/O
generator: we hand it the 401 we already hold and take back the request it wants to send, then
write that request ourselves through :meth:`ProbeContext.tcp_exchange`. httpx never opens a
socket, so the scope check, deadlines, byte caps and rate limit of the context still hold, which
no HTTP client library offers on its own.

Nothing here logs or raises a secret: failures carry the path and status only.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from ipaddress import IPv4Address
from typing import Final

import httpx

from scanner.context import ProbeContext, message_complete
from scanner.credentials import Login
from scanner.probes.base import Endpoint
from scanner.probes.http_banner import (
    HTTP_PORT_LEADS,
    HttpReply,
    announced_ports,
    dechunk,
    parse_reply,
)
from scanner.results import Observation

__all__ = [
    "Access",
    "WebReply",
    "authenticated_get",
    "challenges",
    "digest_authorization",
    "web_endpoints",
]

#: Identity and channel documents of a 64-channel recorder stay well under this.
MAX_REPLY_BYTES: Final = 256 * 1024


def web_endpoints(
    host: IPv4Address, leads: Sequence[Observation], path: str, default: int = 80
) -> list[Endpoint]:
    """Port ``default``, then each web port SADP or DHIP announced for ``host``.

    A recorder moved off port 80 says where its web server is (SADP ``HttpPort``, DHIP
    ``HttpPort``, fingerprints.md §6.1, §7.1): the identity and channel APIs live there too.
    """
    ports = [default, *(p for p in announced_ports(leads, HTTP_PORT_LEADS) if p != default)]
    return [
        Endpoint(host=host, port=p, path=path, via=None if p == default else "announced HttpPort")
        for p in ports
    ]


class Access(StrEnum):
    """How a GET got its answer, for the inventory and the limitations statement."""

    OPEN = "open"  # answered without credentials
    ACCEPTED = "accepted"  # answered with a login from the credentials file
    MISSING = "missing"  # the device asked for a login and none in the file names it
    REJECTED = "rejected"  # every login in scope was refused
    UNSUPPORTED = "unsupported"  # the device asked for a scheme the entries do not allow


@dataclass(frozen=True, slots=True)
class WebReply:
    """The final reply to a GET and how access was obtained."""

    reply: HttpReply
    body: bytes
    size: int
    access: Access
    #: The login the device accepted: later requests to it use this one only.
    login: Login | None = None

    def logins_after(self, offered: Sequence[Login]) -> tuple[Login, ...]:
        """What to offer this device next: the accepted login, none after a refusal.

        Recorder firmware locks an account (or the client address) after a handful of failed
        logins (Dahua: 5), so a login the device refused is never offered to it again.
        """
        if self.access is Access.REJECTED:
            return ()
        if self.login is not None:
            return (self.login,)
        return tuple(offered)

    @property
    def authenticated(self) -> bool:
        """Whether the answer came with credentials."""
        return self.access is Access.ACCEPTED

    @property
    def ok(self) -> bool:
        """A 2xx answer."""
        return 200 <= self.reply.status < 300


def challenges(reply: HttpReply) -> tuple[str | None, str | None]:
    """The digest and basic challenges of a 401 (first of each)."""
    digest = basic = None
    for value in reply.header("WWW-Authenticate"):
        scheme = value.strip().split(" ", 1)[0].lower()
        if scheme == "digest" and digest is None:
            digest = value.strip()
        elif scheme == "basic" and basic is None:
            basic = value.strip()
    return digest, basic


def _request(host: IPv4Address, path: str, authorization: str | None) -> bytes:
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}", "Accept: */*"]
    if authorization is not None:
        lines.append(f"Authorization: {authorization}")
    lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def _send(
    ctx: ProbeContext, host: IPv4Address, port: int, path: str, authorization: str | None
) -> tuple[HttpReply, bytes, int]:
    raw = await ctx.tcp_exchange(
        host,
        port,
        _request(host, path, authorization),
        max_bytes=MAX_REPLY_BYTES,
        complete=message_complete,
    )
    reply = parse_reply(raw.data)
    chunked = any("chunked" in v.lower() for v in reply.header("Transfer-Encoding"))
    return reply, dechunk(reply.body) if chunked else reply.body, len(raw.data)


def digest_authorization(
    host: IPv4Address, port: int, path: str, challenge: str, login: Login, method: str = "GET"
) -> str | None:
    """The ``Authorization`` value answering ``challenge`` (None if httpx cannot answer it)."""
    auth = httpx.DigestAuth(login.username, login.password.get_secret_value())
    request = httpx.Request(method, f"http://{host}:{port}{path}")
    flow = auth.auth_flow(request)
    try:
        next(flow)
        challenged = httpx.Response(401, headers=[("WWW-Authenticate", challenge)], request=request)
        answered = flow.send(challenged)
    except (StopIteration, httpx.ProtocolError, ValueError, KeyError):
        # A malformed or unsupported challenge (no nonce, qop=auth-int only, unknown algorithm).
        return None
    value = answered.headers.get("Authorization")
    return value if isinstance(value, str) else None


def _basic_authorization(login: Login) -> str:
    pair = f"{login.username}:{login.password.get_secret_value()}".encode()
    return "Basic " + base64.b64encode(pair).decode("ascii")


async def authenticated_get(
    ctx: ProbeContext,
    host: IPv4Address,
    port: int,
    path: str,
    logins: Sequence[Login],
) -> WebReply:
    """GET ``path``: unauthenticated first, then each login in scope the challenge allows.

    Raises :class:`ExchangeError` / ``ProbeParseError`` like any exchange when the device does
    not answer HTTP at all.
    """
    reply, body, size = await _send(ctx, host, port, path, None)
    total = size
    if reply.status != 401:
        return WebReply(reply, body, total, Access.OPEN)
    if not logins:
        return WebReply(reply, body, total, Access.MISSING)
    digest, basic = challenges(reply)
    tried = False
    for login in logins:
        authorization: str | None = None
        if digest is not None and login.scheme in {"digest", "any"}:
            authorization = digest_authorization(host, port, path, digest, login)
        elif basic is not None and login.scheme in {"basic", "any"}:
            authorization = _basic_authorization(login)
        if authorization is None:
            continue
        tried = True
        answer, answer_body, size = await _send(ctx, host, port, path, authorization)
        total += size
        if answer.status != 401:
            return WebReply(answer, answer_body, total, Access.ACCEPTED, login)
        reply, body = answer, answer_body
    return WebReply(reply, body, total, Access.REJECTED if tried else Access.UNSUPPORTED)
