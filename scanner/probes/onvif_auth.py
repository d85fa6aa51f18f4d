"""ONVIF identity with a login from ``--credentials``: GetDeviceInformation and
GetNetworkInterfaces (the MAC of a host behind a router, where ARP cannot see it).

Runs only when a credentials file is given, and only against hosts one of its ``[[onvif]]``
(or, failing those, ``[[http]]``) entries names. Each login is tried first as a WS-UsernameToken
digest signed in the *device's* clock (read pre-auth with GetSystemDateAndTime; cameras refuse
tokens off their own time, peers.md §B.2), and when the device answers HTTP 401 with a digest
challenge instead (firmware that protects the SOAP endpoint at the HTTP layer), as RFC 7616
digest on the same POST. Request envelopes and the reply parsers are the device-service probe's
(:mod:`scanner.probes.onvif_device`, owned there); this module adds the logins.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from ipaddress import IPv4Address
from typing import ClassVar, Final

from scanner.channel_facts import FactSet, usable_mac
from scanner.context import ExchangeError, ProbeContext, message_complete
from scanner.credentials import Login
from scanner.errors import ProbeParseError
from scanner.http_login import challenges, digest_authorization
from scanner.probes.base import ProbeInfo
from scanner.probes.http_banner import HttpReply, dechunk, parse_reply
from scanner.probes.onvif_device import (
    MAX_REPLY_BYTES,
    PATH,
    build_request,
    parse_device_information,
    parse_system_date_and_time,
)
from scanner.results import ProbeResult
from scanner.safe_xml import child_text, find_all, find_first, parse_xml

__all__ = ["PROBE", "OnvifAuthProbe", "parse_network_interfaces"]

PORT: Final = 80
MAX_INTERFACES: Final = 16


def parse_network_interfaces(data: bytes) -> tuple[str, ...]:
    """The ``HwAddress`` of each interface in a GetNetworkInterfaces reply."""
    root = parse_xml(data, max_bytes=MAX_REPLY_BYTES)
    body = find_first(root, "Body")
    if body is None:
        raise ProbeParseError("no SOAP Body")
    if find_first(body, "Fault") is not None:
        raise ProbeParseError("fault")
    response = find_first(body, "GetNetworkInterfacesResponse")
    if response is None:
        raise ProbeParseError("no GetNetworkInterfacesResponse")
    macs = []
    for interface in list(find_all(response, "NetworkInterfaces"))[:MAX_INTERFACES]:
        info = find_first(interface, "Info")
        value = child_text(info, "HwAddress") if info is not None else None
        if value:
            macs.append(value)
    return tuple(macs)


@dataclass(frozen=True, slots=True)
class _Answer:
    reply: HttpReply
    body: bytes
    size: int


class OnvifAuthProbe:
    """GetDeviceInformation and GetNetworkInterfaces with a WS-UsernameToken or HTTP digest."""

    info: ClassVar[ProbeInfo] = ProbeInfo(
        name="onvif_auth",
        summary="ONVIF identity and MAC with a login from --credentials (UsernameToken, digest)",
        kind="host",
        transport="tcp",
        ports=(PORT,),
        rarity=1,
        fields=(
            "onvif.manufacturer",
            "onvif.model",
            "onvif.firmware",
            "onvif.serial",
            "onvif.hardware_id",
            "onvif.mac",
            "auth.accepted",
            "auth.rejected",
        ),
        # Enabled by --credentials: without a login there is nothing for it to add.
        optional=True,
    )

    async def _post(
        self, ctx: ProbeContext, host: IPv4Address, envelope: bytes, authorization: str | None
    ) -> _Answer:
        head = [
            f"POST {PATH} HTTP/1.1",
            f"Host: {host}",
            "Content-Type: application/soap+xml; charset=utf-8",
            f"Content-Length: {len(envelope)}",
        ]
        if authorization is not None:
            head.append(f"Authorization: {authorization}")
        head.append("Connection: close")
        request = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + envelope
        raw = await ctx.tcp_exchange(
            host, PORT, request, max_bytes=MAX_REPLY_BYTES, complete=message_complete
        )
        reply = parse_reply(raw.data)
        chunked = any("chunked" in v.lower() for v in reply.header("Transfer-Encoding"))
        return _Answer(reply, dechunk(reply.body) if chunked else reply.body, len(raw.data))

    async def _call(
        self,
        ctx: ProbeContext,
        host: IPv4Address,
        operation: str,
        login: Login,
        created: datetime | None,
    ) -> _Answer:
        """One operation with a UsernameToken; on an HTTP digest challenge, digest instead."""
        address = f"http://{host}{PATH}"
        signed = build_request(
            operation,
            address,
            username=login.username,
            password=login.password.get_secret_value(),
            created=created,
        )
        answer = await self._post(ctx, host, signed, None)
        digest, _ = challenges(answer.reply)
        if answer.reply.status != 401 or digest is None:
            return answer
        authorization = digest_authorization(host, PORT, PATH, digest, login, method="POST")
        if authorization is None:
            return answer
        plain = build_request(operation, address)
        retried = await self._post(ctx, host, plain, authorization)
        return _Answer(retried.reply, retried.body, answer.size + retried.size)

    async def probe(self, host: IPv4Address, ctx: ProbeContext) -> ProbeResult:
        """Read identity and MACs with the first login the device accepts."""
        started = time.monotonic()
        facts = FactSet(self.info.name, host, PORT)
        store = ctx.settings.credentials
        logins = store.onvif_logins(host) if store is not None else ()
        if not logins:
            return facts.result(started, nothing_to_ask=True)  # no login names this host
        clock = await self._device_clock(ctx, host, facts)
        for login in logins:
            created = (
                None if clock is None else clock[0] + timedelta(seconds=time.monotonic() - clock[1])
            )
            try:
                answer = await self._call(ctx, host, "GetDeviceInformation", login, created)
                facts.bytes += answer.size
                info = parse_device_information(answer.body)
            except (ExchangeError, ProbeParseError) as exc:
                # The message names the failure, never the request (which holds the token).
                facts.errors.append(f"GetDeviceInformation: {str(exc)[:120]}")
                continue
            facts.add(
                "auth", "accepted", f"{self.info.name} GetDeviceInformation", authenticated=True
            )
            for field in ("manufacturer", "model", "firmware", "serial", "hardware_id"):
                facts.add("onvif", field, getattr(info, field), authenticated=True)
            await self._interfaces(ctx, host, login, created, facts)
            return facts.result(started)
        facts.add("auth", "rejected", f"{self.info.name} GetDeviceInformation")
        return facts.result(started)

    async def _device_clock(
        self, ctx: ProbeContext, host: IPv4Address, facts: FactSet
    ) -> tuple[datetime, float] | None:
        try:
            answer = await self._post(
                ctx, host, build_request("GetSystemDateAndTime", f"http://{host}{PATH}"), None
            )
            facts.bytes += answer.size
            return parse_system_date_and_time(answer.body), time.monotonic()
        except (ExchangeError, ProbeParseError) as exc:
            facts.errors.append(f"GetSystemDateAndTime: {exc}")
            return None

    async def _interfaces(
        self,
        ctx: ProbeContext,
        host: IPv4Address,
        login: Login,
        created: datetime | None,
        facts: FactSet,
    ) -> None:
        try:
            answer = await self._call(ctx, host, "GetNetworkInterfaces", login, created)
            facts.bytes += answer.size
            macs = parse_network_interfaces(answer.body)
        except (ExchangeError, ProbeParseError) as exc:
            facts.errors.append(f"GetNetworkInterfaces: {str(exc)[:120]}")
            return
        for value in macs:
            mac = usable_mac(value)
            facts.add("onvif", "mac", mac, authenticated=True)


PROBE: Final = OnvifAuthProbe()
