"""Dahua RPC2 (JSON over HTTP POST): a recorder's ``RemoteDevice`` table where the CGI is off.

Recent Dahua web UIs (and the OEM lines built on them) talk JSON to ``/RPC2_Login`` and
``/RPC2`` rather than to ``configManager.cgi``; on some recorders the CGI is disabled and RPC2 is
the only way to the channel list. Read-only calls only: ``global.login`` (two steps),
``configManager.getConfig`` with ``name = RemoteDevice``, ``global.logout``.

The login is a challenge (rroller/dahua custom_components/dahua/rpc2.py ``login``, "reversed from
rpcCore.js"; the same two steps in several public RPC2 clients): step 1 sends ``global.login``
with the user name and an empty password and gets back ``session``, ``params.realm``,
``params.random`` and ``params.encryption``; step 2 sends
``MD5(user:random:MD5(user:realm:password).upper()).upper()`` with ``passwordType`` and
``authorityType`` ``Default``, and a ``result: true`` reply carries the session for later calls.
Only the ``Default`` encryption is answered: the others (``OldDigest``, RSA/AES variants) are
recorded as unsupported rather than guessed at. The password never leaves this module in any
form but that one-time hash.

``configManager.getConfig`` answers ``params.table``: the same RemoteDevice table the CGI prints
flattened (``table.RemoteDevice.uuid:System_CONFIG_NETCAMERA_INFO_<slot>.<Key>``, see
:mod:`scanner.probes.dahua_cgi`), as a JSON object keyed
``uuid:System_CONFIG_NETCAMERA_INFO_<slot>`` or as a list indexed by slot (rroller/dahua reads
config tables both ways: ``General`` as an object, ``LeLensMask`` as a list). Replies are capped
at 256 KiB, parsed with the stdlib JSON
reader (no code execution) with nesting bounded, and anything else is a ``protocol_error``.

Without a credentials file entry the probe asks once, without a session, for the table: real
firmware refuses (``result: false``), which is recorded as ``auth.required`` so the limitations
can name the recorder; firmware that answers anonymously is read as it is.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address
from typing import Any, ClassVar, Final

from scanner.channel_facts import MAX_CHANNELS, ChannelCamera, FactSet
from scanner.context import ExchangeError, ProbeContext, message_complete
from scanner.credentials import Login
from scanner.errors import ProbeParseError
from scanner.http_login import web_endpoints
from scanner.probes.base import Endpoint, ProbeInfo
from scanner.probes.http_banner import dechunk, parse_reply
from scanner.results import Observation, ProbeResult, ProbeStatus

__all__ = [
    "PROBE",
    "DahuaRpc2Probe",
    "Rpc2Reply",
    "parse_rpc2_challenge",
    "parse_rpc2_remote_devices",
    "parse_rpc2_reply",
    "password_hash",
]

PORT: Final = 80
LOGIN_PATH: Final = "/RPC2_Login"
RPC_PATH: Final = "/RPC2"
CLIENT_TYPE: Final = "Web3.0"
#: A 256-channel RemoteDevice table is ~150 KiB of JSON.
MAX_REPLY_BYTES: Final = 256 * 1024
#: Real replies nest four deep; a hostile one must not reach the interpreter's recursion limit.
MAX_DEPTH: Final = 16
_SLOT_KEY: Final = re.compile(r"^uuid:[^.=]{0,80}?_(\d{1,4})$")
_GENERIC_TYPES: Final = frozenset({"", "ip camera", "ipc", "camera", "ip dome", "unknown"})


@dataclass(frozen=True, slots=True)
class Rpc2Reply:
    """One JSON-RPC reply: ``result``, ``params``, ``session`` and the error code, if any."""

    result: object
    params: Mapping[str, Any]
    session: str | None
    error_code: int | None


def _depth(value: object, limit: int) -> int:
    stack: list[tuple[object, int]] = [(value, 1)]
    deepest = 0
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > limit:
            return deepest
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return deepest


def parse_rpc2_reply(body: bytes) -> Rpc2Reply:
    """A JSON-RPC reply object (raise ``ProbeParseError`` for anything else)."""
    if len(body) > MAX_REPLY_BYTES:
        raise ProbeParseError("RPC2 reply over the size cap")
    # Nesting is checked on the text first: json.loads recurses once per level.
    if body.count(b"[") + body.count(b"{") > 4 * MAX_CHANNELS * 64:
        raise ProbeParseError("RPC2 reply with too many containers")
    try:
        doc = json.loads(body.decode("utf-8", errors="strict"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ProbeParseError(f"not a JSON reply ({type(exc).__name__})") from None
    if not isinstance(doc, dict) or ("result" not in doc and "params" not in doc):
        raise ProbeParseError("not a JSON-RPC reply")
    if _depth(doc, MAX_DEPTH) > MAX_DEPTH:
        raise ProbeParseError("RPC2 reply nested too deep")
    params = doc.get("params")
    error = doc.get("error")
    code = error.get("code") if isinstance(error, dict) else None
    session = doc.get("session")
    return Rpc2Reply(
        result=doc.get("result"),
        params=params if isinstance(params, dict) else {},
        session=str(session)[:128] if isinstance(session, (str, int)) and session != "" else None,
        error_code=code if isinstance(code, int) and not isinstance(code, bool) else None,
    )


def parse_rpc2_challenge(body: bytes) -> tuple[str, str, str, str]:
    """(session, realm, random, encryption) of a step-1 ``global.login`` reply."""
    reply = parse_rpc2_reply(body)
    realm, random = reply.params.get("realm"), reply.params.get("random")
    encryption = reply.params.get("encryption") or "Default"
    if reply.session is None or not isinstance(realm, str) or not isinstance(random, str):
        raise ProbeParseError("no login challenge (session, realm, random) in the reply")
    if not isinstance(encryption, str) or len(realm) > 200 or len(random) > 200:
        raise ProbeParseError("malformed login challenge")
    return reply.session, realm, random, encryption[:40]


def password_hash(username: str, password: str, realm: str, random: str) -> str:
    """Step 2's ``password``: MD5(user:random:MD5(user:realm:password)), upper-case hex."""
    # MD5 because the device's scheme is MD5; it protects nothing of ours.
    inner = hashlib.md5(f"{username}:{realm}:{password}".encode(), usedforsecurity=False)
    outer = f"{username}:{random}:{inner.hexdigest().upper()}".encode()
    return hashlib.md5(outer, usedforsecurity=False).hexdigest().upper()


def _text(value: object) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (str, int)):
        return str(value)[:200] or None
    return None


def parse_rpc2_remote_devices(body: bytes) -> list[ChannelCamera]:
    """The enabled cameras of a ``configManager.getConfig`` RemoteDevice reply."""
    reply = parse_rpc2_reply(body)
    if reply.result is not True:
        raise ProbeParseError(f"getConfig refused (code {reply.error_code})")
    table = reply.params.get("table")
    slots: dict[int, Mapping[str, Any]] = {}
    if isinstance(table, dict):
        for key, fields in list(table.items())[: MAX_CHANNELS * 4]:
            found = _SLOT_KEY.match(str(key)[:120])
            if found is not None and isinstance(fields, dict):
                slots.setdefault(int(found.group(1)), fields)
    elif isinstance(table, list):
        slots = {i: f for i, f in enumerate(table[:MAX_CHANNELS]) if isinstance(f, dict)}
    else:
        raise ProbeParseError("no RemoteDevice table in the reply")
    cameras = []
    for slot in sorted(s for s in slots if s < MAX_CHANNELS):
        fields = slots[slot]
        if fields.get("Enable", True) is not True:
            continue
        model = _text(fields.get("DeviceType"))
        cameras.append(
            ChannelCamera(
                channel=slot + 1,
                address=_text(fields.get("Address")),
                mac=_text(fields.get("Mac")),
                model=None if model is None or model.lower() in _GENERIC_TYPES else model,
                serial=_text(fields.get("SerialNo")),
                name=_text(fields.get("Name")),
                dahua_protocol=_text(fields.get("ProtocolType")),
            )
        )
    return cameras


@dataclass(frozen=True, slots=True)
class _Posted:
    body: bytes
    size: int
    status: int
    truncated: bool


class DahuaRpc2Probe:
    """RPC2 challenge login, then the recorder's RemoteDevice channel cameras."""

    info: ClassVar[ProbeInfo] = ProbeInfo(
        name="dahua_rpc2",
        summary="Dahua RPC2 (JSON) recorder channels with the challenge login (--credentials)",
        kind="host",
        transport="tcp",
        ports=(PORT,),
        rarity=1,
        fields=(
            "channel.model",
            "channel.serial",
            "channel.mac",
            "channel.address",
            "channel.name",
            "channel.dahua_protocol",
            "auth.required",
            "auth.rejected",
            "auth.accepted",
        ),
    )

    def endpoints(self, host: IPv4Address, leads: Sequence[Observation]) -> list[Endpoint]:
        """Port 80, plus the web ports SADP/DHIP announced for the host."""
        return web_endpoints(host, leads, RPC_PATH, PORT)

    async def probe(self, host: IPv4Address, ctx: ProbeContext) -> ProbeResult:
        """The default endpoint (port 80)."""
        return await self.probe_endpoint(Endpoint(host=host, port=PORT, path=RPC_PATH), ctx)

    async def _post(
        self, ctx: ProbeContext, host: IPv4Address, port: int, path: str, call: dict[str, Any]
    ) -> _Posted:
        payload = json.dumps(call, separators=(",", ":")).encode()
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
            "Content-Type: application/json\r\nAccept: application/json\r\n"
            f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n"
        ).encode("ascii")
        raw = await ctx.tcp_exchange(
            host, port, head + payload, max_bytes=MAX_REPLY_BYTES, complete=message_complete
        )
        reply = parse_reply(raw.data)
        chunked = any("chunked" in v.lower() for v in reply.header("Transfer-Encoding"))
        body = dechunk(reply.body) if chunked else reply.body
        return _Posted(body, len(raw.data), reply.status, raw.truncated)

    async def probe_endpoint(self, endpoint: Endpoint, ctx: ProbeContext) -> ProbeResult:
        """Log in with each login in scope until one is accepted, then read RemoteDevice."""
        started = time.monotonic()
        host, port = endpoint.host, endpoint.port
        facts = FactSet(self.info.name, host, port)
        store = ctx.settings.credentials
        logins = store.http_logins(host) if store is not None else ()
        try:
            if not logins:
                await self._anonymous(ctx, host, port, facts)
            else:
                await self._with_logins(ctx, host, port, logins, facts)
        except _Oversized:
            facts.errors.append("RPC2 reply over the size cap")
            result = facts.result(started)
            return result.model_copy(update={"status": ProbeStatus.OVERSIZED})
        return facts.result(started)

    async def _checked(
        self,
        ctx: ProbeContext,
        host: IPv4Address,
        port: int,
        path: str,
        call: dict[str, Any],
        facts: FactSet,
    ) -> _Posted:
        posted = await self._post(ctx, host, port, path, call)
        facts.bytes += posted.size
        if posted.truncated:
            raise _Oversized
        return posted

    async def _anonymous(
        self, ctx: ProbeContext, host: IPv4Address, port: int, facts: FactSet
    ) -> None:
        call = {"method": "configManager.getConfig", "params": {"name": "RemoteDevice"}, "id": 1}
        posted = await self._checked(ctx, host, port, RPC_PATH, call, facts)
        if posted.status != 200:
            facts.absent = True
            facts.errors.append(f"RPC2: HTTP {posted.status}")
            return
        try:
            reply = parse_rpc2_reply(posted.body)
        except ProbeParseError as exc:
            facts.absent = not _looks_like_json(posted.body)
            facts.errors.append(f"RPC2: {exc}")
            return
        if reply.result is not True:
            facts.add("auth", "required", f"{self.info.name} RemoteDevice")
            return
        self._cameras(posted.body, facts, authenticated=False)

    async def _with_logins(
        self,
        ctx: ProbeContext,
        host: IPv4Address,
        port: int,
        logins: tuple[Login, ...],
        facts: FactSet,
    ) -> None:
        for login in logins:
            try:
                session = await self._login(ctx, host, port, login, facts)
            except _Broken:
                return  # no RPC2 here, a broken one, or a scheme we do not answer
            if session is None:
                continue  # refused: the next login in scope, never this one again
            facts.add("auth", "accepted", f"{self.info.name} RemoteDevice", authenticated=True)
            call = {
                "method": "configManager.getConfig",
                "params": {"name": "RemoteDevice"},
                "id": 3,
                "session": session,
            }
            try:
                posted = await self._checked(ctx, host, port, RPC_PATH, call, facts)
                self._cameras(posted.body, facts, authenticated=True)
            finally:
                await self._logout(ctx, host, port, session, facts)
            return
        facts.add("auth", "rejected", f"{self.info.name} RemoteDevice")

    async def _login(
        self, ctx: ProbeContext, host: IPv4Address, port: int, login: Login, facts: FactSet
    ) -> str | None:
        """The session of an accepted login, None when refused; ``_Broken`` otherwise."""
        first = {
            "method": "global.login",
            "params": {"userName": login.username, "password": "", "clientType": CLIENT_TYPE},
            "id": 1,
        }
        posted = await self._checked(ctx, host, port, LOGIN_PATH, first, facts)
        if posted.status != 200:
            facts.absent = True
            facts.errors.append(f"RPC2_Login: HTTP {posted.status}")
            raise _Broken
        try:
            session, realm, random, encryption = parse_rpc2_challenge(posted.body)
        except ProbeParseError as exc:
            # HTML where JSON belongs: no RPC2 here. Broken JSON: RPC2, misbehaving.
            facts.absent = not _looks_like_json(posted.body)
            facts.errors.append(f"RPC2_Login: {exc}")
            raise _Broken from None
        if encryption != "Default":
            facts.add("auth", "required", f"{self.info.name} RemoteDevice ({encryption} login)")
            raise _Broken
        second = {
            "method": "global.login",
            "params": {
                "userName": login.username,
                "password": password_hash(
                    login.username, login.password.get_secret_value(), realm, random
                ),
                "clientType": CLIENT_TYPE,
                "realm": realm,
                "random": random,
                "passwordType": "Default",
                "authorityType": "Default",
            },
            "id": 2,
            "session": session,
        }
        answered = await self._checked(ctx, host, port, LOGIN_PATH, second, facts)
        try:
            reply = parse_rpc2_reply(answered.body)
        except ProbeParseError as exc:
            facts.errors.append(f"RPC2_Login: {exc}")
            raise _Broken from None
        if reply.result is not True:
            return None
        return reply.session or session

    async def _logout(
        self, ctx: ProbeContext, host: IPv4Address, port: int, session: str, facts: FactSet
    ) -> None:
        # Recorders allow few concurrent sessions: leave none behind.
        call = {"method": "global.logout", "params": None, "id": 4, "session": session}
        try:
            await self._checked(ctx, host, port, RPC_PATH, call, facts)
        except (ExchangeError, ProbeParseError, _Oversized) as exc:
            facts.errors.append(f"logout: {type(exc).__name__}")

    def _cameras(self, body: bytes, facts: FactSet, *, authenticated: bool) -> None:
        try:
            cameras = parse_rpc2_remote_devices(body)
        except ProbeParseError as exc:
            facts.errors.append(f"RemoteDevice: {exc}")
            return
        for camera in cameras:
            facts.add_camera(camera, authenticated=authenticated)


def _looks_like_json(body: bytes) -> bool:
    return body.lstrip(b"\xef\xbb\xbf \r\n\t")[:1] == b"{"


class _Broken(Exception):
    """The login conversation cannot go on: no RPC2, a broken reply, an unsupported scheme."""


class _Oversized(Exception):
    """A reply hit the byte cap: the rest of the conversation is not trusted."""


PROBE: Final = DahuaRpc2Probe()
