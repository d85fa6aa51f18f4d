"""SNMP exchanges on pysnmp 7 (asyncio), sent only through a scope-checked, bounded transport.

pysnmp owns the protocol (BER, v1/v2c communities, the SNMPv3 USM engine-id discovery, keys,
HMAC and privacy); this module owns what the scanner promises about every packet:

* a datagram goes only to an address the scope holds. :class:`_ScopedUdp` checks every
  destination in ``send_message`` itself, the one door pysnmp sends through, so neither a
  resolved name nor a queued message can reach an address the :class:`Scope` refuses;
* every wait is bounded: pysnmp's own timeout and retries per request, plus an asyncio deadline
  around every call, plus the sweep's global budget;
* the sweep's rate limiter and packet counter see every request;
* secrets stay secret: an :class:`SnmpAuth` prints as ``v2c community #2`` or ``v3 user
  auditor``, never the community or a key, and pysnmp's error texts (which never carry the
  community) are the only ones passed on.

Values come back as plain Python (:data:`Value`), so the parsers in
:mod:`scanner.probes.snmp` never see a pysnmp object and can be fuzzed on their own.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address
from typing import Any, Final, Literal

from pyasn1.type import univ
from pydantic import SecretStr
from pysnmp.carrier.asyncio.dgram import udp
from pysnmp.hlapi.v3arch.asyncio import (
    CommunityData,
    ContextData,
    ObjectIdentity,
    ObjectType,
    SnmpEngine,
    UdpTransportTarget,
    UsmUserData,
    bulk_cmd,
    get_cmd,
)
from pysnmp.hlapi.v3arch.asyncio import auth as usm
from pysnmp.proto import rfc1902, rfc1905

from scanner.context import ExchangeError, ProbeContext
from scanner.credentials import SnmpV3User
from scanner.errors import ScopeViolation
from scanner.results import ProbeStatus
from scanner.scope import Scope

__all__ = [
    "MAX_BULK_REPETITIONS",
    "Oid",
    "SnmpAuth",
    "SnmpSession",
    "Value",
    "Varbind",
    "scoped_target_class",
]

log = logging.getLogger(__name__)

Oid = tuple[int, ...]
#: OCTET STRING -> bytes, INTEGER/Counter/Gauge/TimeTicks -> int, OID -> tuple, IpAddress -> str.
Value = bytes | int | Oid | str | None
Varbind = tuple[Oid, Value]

PORT: Final = 161
#: Rows asked per GETBULK; 25 keeps a reply well under one 1,500-byte frame on most tables.
MAX_BULK_REPETITIONS: Final = 25

_AUTH_PROTOCOLS: Final = {
    "md5": usm.USM_AUTH_HMAC96_MD5,
    "sha": usm.USM_AUTH_HMAC96_SHA,
    "sha224": usm.USM_AUTH_HMAC128_SHA224,
    "sha256": usm.USM_AUTH_HMAC192_SHA256,
    "sha384": usm.USM_AUTH_HMAC256_SHA384,
    "sha512": usm.USM_AUTH_HMAC384_SHA512,
}
_PRIV_PROTOCOLS: Final = {
    "des": usm.USM_PRIV_CBC56_DES,
    "3des": usm.USM_PRIV_CBC168_3DES,
    "aes": usm.USM_PRIV_CFB128_AES,
    "aes192": usm.USM_PRIV_CFB192_AES,
    "aes256": usm.USM_PRIV_CFB256_AES,
}
#: pysnmp error indications that mean "the agent refused who we said we were" (RFC 3414 §3.2).
_AUTH_ERRORS: Final = (
    "unknownusername",
    "digest",
    "unsupportedsecuritylevel",
    "decryptionerror",
    "unknownengineid",
    "authorizationerror",
)


@dataclass(frozen=True, slots=True)
class SnmpAuth:
    """One way to ask an agent: a v1/v2c community or a v3 user. Prints without secrets."""

    version: Literal["1", "2c", "3"]
    community: SecretStr | None = None
    user: SnmpV3User | None = None
    #: Position of the community in the list tried (for messages: "community #2").
    index: int = 1

    def __str__(self) -> str:
        if self.user is not None:
            return f"v3 user {self.user.username}"
        return f"v{self.version} community #{self.index}"

    __repr__ = __str__

    def pysnmp_auth(self) -> CommunityData | UsmUserData:
        """The pysnmp credential object (built only when sending, never stored or logged)."""
        if self.user is None:
            secret = self.community.get_secret_value() if self.community else ""
            return CommunityData(secret, mpModel=0 if self.version == "1" else 1)
        user = self.user
        kwargs: dict[str, Any] = {}
        if user.auth_key is not None and user.auth_protocol is not None:
            kwargs["authKey"] = user.auth_key.get_secret_value()
            kwargs["authProtocol"] = _AUTH_PROTOCOLS[user.auth_protocol]
            if user.priv_key is not None and user.priv_protocol is not None:
                kwargs["privKey"] = user.priv_key.get_secret_value()
                kwargs["privProtocol"] = _PRIV_PROTOCOLS[user.priv_protocol]
        # noAuthNoPriv/authNoPriv only when the operator's file says so: the agent decides.
        return UsmUserData(user.username, **kwargs)  # noqa: S509


def scoped_target_class(scope: Scope) -> type[UdpTransportTarget]:
    """A pysnmp transport target whose transport sends only to addresses ``scope`` holds."""

    class _ScopedUdp(udp.UdpAsyncioTransport):  # type: ignore[misc]
        # Every datagram pysnmp sends, queued or not, passes through here first.
        def send_message(self, outgoingMessage: Any, transportAddress: Any) -> None:
            scope.check(str(transportAddress[0]))
            super().send_message(outgoingMessage, transportAddress)

    class _ScopedTarget(UdpTransportTarget):  # type: ignore[misc]
        PROTO_TRANSPORT = _ScopedUdp

        async def _resolve_address(self, transportAddr: tuple[Any, ...]) -> tuple[str, int]:
            # No name resolution at all: a target is an address the scope already checked.
            addr = scope.check(str(transportAddr[0]))
            return str(addr), int(transportAddr[1])

    return _ScopedTarget


def _plain(value: Any) -> Value:
    """A pysnmp value as plain Python; exceptions (noSuchObject, endOfMibView) become None."""
    if isinstance(value, rfc1905.NoSuchObject | rfc1905.NoSuchInstance | rfc1905.EndOfMibView):
        return None
    if isinstance(value, rfc1902.IpAddress):
        return ".".join(str(b) for b in value.asOctets())
    if isinstance(value, rfc1902.OctetString):
        return bytes(value.asOctets())
    if isinstance(value, univ.ObjectIdentifier):
        return tuple(int(part) for part in value)
    if isinstance(value, rfc1902.Integer | rfc1902.Integer32 | rfc1902.Unsigned32):
        return int(value)
    if isinstance(value, rfc1902.Counter32 | rfc1902.Counter64 | rfc1902.TimeTicks):
        return int(value)
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _varbinds(found: Sequence[Any]) -> list[Varbind]:
    out: list[Varbind] = []
    for item in found:
        oid = tuple(int(part) for part in item[0])
        out.append((oid, _plain(item[1])))
    return out


class SnmpSession:
    """Requests to one agent with one credential, under one deadline."""

    def __init__(
        self,
        ctx: ProbeContext,
        engine: SnmpEngine,
        host: IPv4Address,
        auth: SnmpAuth,
        *,
        timeout_s: float = 1.0,
        retries: int = 1,
        port: int = PORT,
    ) -> None:
        self.ctx = ctx
        self.engine = engine
        self.host = ctx.scope.check(host)  # before any object that could send exists
        self.auth = auth
        self.timeout_s = timeout_s
        self.retries = retries
        self.port = port
        self.requests = 0
        self._target: UdpTransportTarget | None = None
        self._target_class = scoped_target_class(ctx.scope)

    async def _transport(self) -> UdpTransportTarget:
        if self._target is None:
            self._target = await self._target_class.create(
                (str(self.host), self.port), timeout=self.timeout_s, retries=self.retries
            )
        return self._target

    def _deadline(self) -> float:
        # pysnmp's own timer plus slack; never beyond the sweep's budget.
        per_request = self.timeout_s * (self.retries + 1) + 1.0
        if self.auth.user is not None:
            per_request *= 2  # USM engine-id discovery is one more round trip
        remaining = self.ctx.remaining_s()
        if remaining <= 0:
            raise ExchangeError(ProbeStatus.TIMEOUT, "sweep budget exhausted")
        return min(per_request, remaining)

    async def _call(self, request: str, *args: Any) -> list[Varbind]:
        self.ctx.check(self.host)
        target = await self._transport()
        await self.ctx.rate.acquire()
        self.ctx.packets_sent += 1
        self.requests += 1
        options = {"lookupMib": False}
        try:
            async with asyncio.timeout(self._deadline()):
                if request == "get":
                    result = await get_cmd(
                        self.engine,
                        self.auth.pysnmp_auth(),
                        target,
                        ContextData(),
                        *args,
                        **options,
                    )
                else:
                    result = await bulk_cmd(
                        self.engine,
                        self.auth.pysnmp_auth(),
                        target,
                        ContextData(),
                        *args,
                        **options,
                    )
        except TimeoutError:
            raise ExchangeError(ProbeStatus.NO_REPLY, f"no SNMP reply ({self.auth})") from None
        except ScopeViolation:
            raise
        # pysnmp raises PySnmpError, pyasn1 errors and more on hostile input: all are "not SNMP".
        except Exception as exc:  # noqa: BLE001
            raise ExchangeError(
                ProbeStatus.PROTOCOL_ERROR, f"SNMP {request} failed: {type(exc).__name__}"
            ) from None
        error_indication, error_status, _index, found = result
        if error_indication:
            text = str(error_indication)
            folded = text.replace(" ", "").lower()
            if "timeout" in folded or "noresponse" in folded:
                raise ExchangeError(ProbeStatus.NO_REPLY, f"no SNMP reply ({self.auth})")
            if any(word in folded for word in _AUTH_ERRORS):
                raise ExchangeError(ProbeStatus.AUTH_REQUIRED, f"{self.auth}: {text[:120]}")
            raise ExchangeError(ProbeStatus.PROTOCOL_ERROR, f"{self.auth}: {text[:120]}")
        if error_status and int(error_status) != 2:  # noSuchName (v1) just means "not there"
            raise ExchangeError(
                ProbeStatus.PROTOCOL_ERROR, f"{self.auth}: agent error {error_status.prettyPrint()}"
            )
        return _varbinds(found)

    async def get(self, oids: Sequence[Oid]) -> list[Varbind]:
        """GET ``oids`` in one request; values the agent lacks come back as ``None``."""
        return await self._call(
            "get", *(ObjectType(ObjectIdentity(".".join(map(str, oid)))) for oid in oids)
        )

    async def walk(self, prefix: Oid, max_rows: int) -> tuple[list[Varbind], bool]:
        """GETBULK under ``prefix``: at most ``max_rows`` rows; True when the cap cut it short.

        A v1 agent has no GETBULK; its walks are skipped (the system group is read by GET).
        """
        if self.auth.version == "1":
            return [], False
        rows: list[Varbind] = []
        cursor = prefix
        while len(rows) < max_rows:
            batch = await self._call(
                "bulk",
                0,
                min(MAX_BULK_REPETITIONS, max_rows - len(rows)),
                ObjectType(ObjectIdentity(".".join(map(str, cursor)))),
            )
            progressed = False
            for oid, value in batch:
                if oid[: len(prefix)] != prefix or value is None:
                    return rows, False
                if oid <= cursor:  # an agent that does not move forward would loop for ever
                    return rows, False
                rows.append((oid, value))
                cursor = oid
                progressed = True
                if len(rows) >= max_rows:
                    return rows, True
            if not progressed:
                return rows, False
        return rows, True
