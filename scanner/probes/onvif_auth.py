"""ONVIF identity with a login from ``--credentials``: GetDeviceInformation and
GetNetworkInterfaces (the MAC of a host behind a router, where ARP cannot see it).

Runs only when a credentials file is given, and only against hosts one of its ``[[onvif]]``
(or, failing those, ``[[http]]``) entries names. Each login is tried first as a WS-UsernameToken
digest signed in the *device's* clock (read pre-auth with GetSystemDateAndTime; cameras refuse
tokens off their own time, peers.md §B.2), and when the device answers HTTP 401 with a digest
challenge instead (firmware that protects the SOAP endpoint at the HTTP layer), as RFC 7616
digest on the same POST. Request envelopes and the reply parsers are the device-service probe's
(:mod:`scanner.probes.onvif_device`, owned there); this module adds the logins.

For a recorder (a model of the recorder grammar, :data:`scanner.channel_facts.RECORDER_MODEL`)
that offers nothing but ONVIF, the media service is the only channel list: ``GetCapabilities``
names the media XAddr, ``GetVideoSources`` lists one ``VideoSource`` per channel (attribute
``token``), and ``GetProfiles`` gives each source's ``VideoSourceConfiguration`` (``Name``,
``SourceToken``). Element names are those of ``media.wsdl`` and ``onvif.xsd`` as shipped in the
onvif-zeep-async package (the ONVIF Media Service Specification's schema); requests are built
by zeep from the same WSDL. ONVIF says nothing of the camera on a channel (no maker, model or
address), so such channel cameras are listed with their channel and name only and stay
undetermined: the inventory shows they exist and where, which is what an auditor needs to go
and look.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from ipaddress import IPv4Address
from typing import ClassVar, Final
from urllib.parse import urlsplit

from scanner.channel_facts import MAX_CHANNELS, RECORDER_MODEL, ChannelCamera, FactSet, usable_mac
from scanner.context import ExchangeError, ProbeContext, message_complete
from scanner.credentials import Login
from scanner.errors import ProbeParseError
from scanner.http_login import challenges, digest_authorization, web_endpoints
from scanner.probes.base import Endpoint, ProbeInfo
from scanner.probes.http_banner import HttpReply, dechunk, parse_reply
from scanner.probes.onvif_device import (
    MAX_REPLY_BYTES,
    PATH,
    build_request,
    parse_device_information,
    parse_system_date_and_time,
)
from scanner.results import Observation, ProbeResult
from scanner.safe_xml import Element, child_text, find_all, find_first, parse_xml

__all__ = [
    "PROBE",
    "OnvifAuthProbe",
    "parse_media_xaddr",
    "parse_network_interfaces",
    "parse_profiles",
    "parse_video_sources",
]

PORT: Final = 80
MAX_INTERFACES: Final = 16
MEDIA_PATH: Final = "/onvif/media_service"


def _response(data: bytes, name: str) -> Element:
    root = parse_xml(data, max_bytes=MAX_REPLY_BYTES)
    body = find_first(root, "Body")
    if body is None:
        raise ProbeParseError("no SOAP Body")
    if find_first(body, "Fault") is not None:
        raise ProbeParseError("fault")
    response = find_first(body, name)
    if response is None:
        raise ProbeParseError(f"no {name}")
    return response


def parse_media_xaddr(data: bytes) -> str | None:
    """The media service XAddr of a GetCapabilities reply (None when it names none)."""
    response = _response(data, "GetCapabilitiesResponse")
    media = find_first(response, "Media")
    return child_text(media, "XAddr") if media is not None else None


def parse_video_sources(data: bytes) -> tuple[str, ...]:
    """The ``token`` of each VideoSource of a GetVideoSources reply, in the device's order."""
    response = _response(data, "GetVideoSourcesResponse")
    tokens: list[str] = []
    for source in list(find_all(response, "VideoSources"))[:MAX_CHANNELS]:
        token = (source.get("token") or "").strip()[:64]
        if token and token not in tokens:
            tokens.append(token)
    return tuple(tokens)


def parse_profiles(data: bytes) -> dict[str, str]:
    """source token -> the name of the first profile's VideoSourceConfiguration using it."""
    response = _response(data, "GetProfilesResponse")
    names: dict[str, str] = {}
    for profile in list(find_all(response, "Profiles"))[: MAX_CHANNELS * 4]:
        config = find_first(profile, "VideoSourceConfiguration")
        if config is None:
            continue
        token = (child_text(config, "SourceToken") or "").strip()[:64]
        name = child_text(config, "Name") or child_text(profile, "Name")
        if token and name and token not in names:
            names[token] = name[:128]
    return names


def _not_authorized(body: bytes) -> bool:
    """Whether a SOAP fault says the token was refused (ONVIF Core ``ter:NotAuthorized``)."""
    text = body[:8192].lower()
    return b"notauthorized" in text or b"not authorized" in text


def _media_path(xaddr: str | None, host: IPv4Address, port: int = PORT) -> str:
    """The path of a media XAddr on this host and port; the usual path otherwise."""
    if not xaddr:
        return MEDIA_PATH
    parts = urlsplit(xaddr.strip())
    same_host = parts.hostname == str(host) and (parts.port or 80) == port
    path = parts.path
    if parts.scheme == "http" and same_host and path.startswith("/") and len(path) < 256:
        return path if path.isprintable() and " " not in path else MEDIA_PATH
    return MEDIA_PATH


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
            "channel.name",
            "auth.accepted",
            "auth.rejected",
        ),
        # Enabled by --credentials: without a login there is nothing for it to add.
        optional=True,
    )

    async def _post(
        self,
        ctx: ProbeContext,
        host: IPv4Address,
        port: int,
        envelope: bytes,
        authorization: str | None,
        path: str = PATH,
    ) -> _Answer:
        head = [
            f"POST {path} HTTP/1.1",
            f"Host: {host}" if port == PORT else f"Host: {host}:{port}",
            "Content-Type: application/soap+xml; charset=utf-8",
            f"Content-Length: {len(envelope)}",
        ]
        if authorization is not None:
            head.append(f"Authorization: {authorization}")
        head.append("Connection: close")
        request = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + envelope
        raw = await ctx.tcp_exchange(
            host, port, request, max_bytes=MAX_REPLY_BYTES, complete=message_complete
        )
        reply = parse_reply(raw.data)
        chunked = any("chunked" in v.lower() for v in reply.header("Transfer-Encoding"))
        return _Answer(reply, dechunk(reply.body) if chunked else reply.body, len(raw.data))

    async def _call(
        self,
        ctx: ProbeContext,
        host: IPv4Address,
        port: int,
        operation: str,
        login: Login,
        created: datetime | None,
        path: str = PATH,
        service: str = "device",
    ) -> _Answer:
        """One operation with a UsernameToken; on an HTTP digest challenge, digest instead."""
        address = f"http://{host}{path}" if port == PORT else f"http://{host}:{port}{path}"
        signed = build_request(
            operation,
            address,
            username=login.username,
            password=login.password.get_secret_value(),
            created=created,
            service_name=service,
        )
        answer = await self._post(ctx, host, port, signed, None, path)
        digest, _ = challenges(answer.reply)
        if answer.reply.status != 401 or digest is None:
            return answer
        authorization = digest_authorization(host, port, path, digest, login, method="POST")
        if authorization is None:
            return answer
        plain = build_request(operation, address, service_name=service)
        retried = await self._post(ctx, host, port, plain, authorization, path)
        return _Answer(retried.reply, retried.body, answer.size + retried.size)

    def endpoints(self, host: IPv4Address, leads: Sequence[Observation]) -> list[Endpoint]:
        """Port 80, plus the web ports SADP/DHIP announced (the device service moves with them)."""
        return web_endpoints(host, leads, PATH, PORT)

    async def probe(self, host: IPv4Address, ctx: ProbeContext) -> ProbeResult:
        """The default endpoint (port 80)."""
        return await self.probe_endpoint(Endpoint(host=host, port=PORT, path=PATH), ctx)

    async def probe_endpoint(self, endpoint: Endpoint, ctx: ProbeContext) -> ProbeResult:
        """Read identity and MACs with the first login the device accepts."""
        started = time.monotonic()
        host, port = endpoint.host, endpoint.port
        facts = FactSet(self.info.name, host, port)
        store = ctx.settings.credentials
        logins = store.onvif_logins(host) if store is not None else ()
        if not logins:
            return facts.result(started, nothing_to_ask=True)  # no login names this host
        clock = await self._device_clock(ctx, host, port, facts)
        unreachable: ExchangeError | None = None
        replied = False
        for login in logins:
            created = (
                None if clock is None else clock[0] + timedelta(seconds=time.monotonic() - clock[1])
            )
            try:
                answer = await self._call(ctx, host, port, "GetDeviceInformation", login, created)
                facts.bytes += answer.size
                info = parse_device_information(answer.body)
            except ExchangeError as exc:
                # No reply is no refusal: the login was never judged.
                unreachable = exc
                facts.errors.append(f"GetDeviceInformation: {str(exc)[:120]}")
                continue
            except ProbeParseError as exc:
                # The message names the failure, never the request (which holds the token).
                replied = True
                facts.errors.append(f"GetDeviceInformation: {str(exc)[:120]}")
                continue
            facts.add(
                "auth", "accepted", f"{self.info.name} GetDeviceInformation", authenticated=True
            )
            for field in ("manufacturer", "model", "firmware", "serial", "hardware_id"):
                facts.add("onvif", field, getattr(info, field), authenticated=True)
            await self._interfaces(ctx, host, port, login, created, facts)
            if info.model and RECORDER_MODEL.match(info.model):
                await self._media_channels(ctx, host, port, login, created, facts)
            return facts.result(started)
        if unreachable is not None and not replied:
            raise unreachable  # recorded as refused / timeout by run_host_probe
        facts.add("auth", "rejected", f"{self.info.name} GetDeviceInformation")
        return facts.result(started)

    async def _device_clock(
        self, ctx: ProbeContext, host: IPv4Address, port: int, facts: FactSet
    ) -> tuple[datetime, float] | None:
        try:
            answer = await self._post(
                ctx,
                host,
                port,
                build_request("GetSystemDateAndTime", f"http://{host}:{port}{PATH}"),
                None,
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
        port: int,
        login: Login,
        created: datetime | None,
        facts: FactSet,
    ) -> None:
        try:
            answer = await self._call(ctx, host, port, "GetNetworkInterfaces", login, created)
            facts.bytes += answer.size
            macs = parse_network_interfaces(answer.body)
        except (ExchangeError, ProbeParseError) as exc:
            facts.errors.append(f"GetNetworkInterfaces: {str(exc)[:120]}")
            return
        for value in macs:
            mac = usable_mac(value)
            facts.add("onvif", "mac", mac, authenticated=True)

    async def _media_channels(
        self,
        ctx: ProbeContext,
        host: IPv4Address,
        port: int,
        login: Login,
        created: datetime | None,
        facts: FactSet,
    ) -> None:
        """A recorder's channels as its ONVIF media service lists them (video sources)."""
        try:
            answer = await self._call(ctx, host, port, "GetCapabilities", login, created)
            facts.bytes += answer.size
            path = _media_path(parse_media_xaddr(answer.body), host, port)
        except (ExchangeError, ProbeParseError) as exc:
            facts.errors.append(f"GetCapabilities: {str(exc)[:120]}")
            path = MEDIA_PATH
        try:
            sources = await self._call(
                ctx, host, port, "GetVideoSources", login, created, path, service="media"
            )
        except (ExchangeError, ProbeParseError) as exc:
            facts.errors.append(f"GetVideoSources: {str(exc)[:120]}")
            return
        facts.bytes += sources.size
        try:
            tokens = parse_video_sources(sources.body)
        except ProbeParseError as exc:
            facts.errors.append(f"GetVideoSources: {str(exc)[:120]}")
            if sources.reply.status == 401 or _not_authorized(sources.body):
                # Identity may be open on such firmware; the channel list is not, for this login.
                facts.add("auth", "rejected", f"{self.info.name} GetVideoSources")
            return
        names: dict[str, str] = {}
        try:
            answer = await self._call(ctx, host, port, "GetProfiles", login, created, path, "media")
            facts.bytes += answer.size
            names = parse_profiles(answer.body)
        except (ExchangeError, ProbeParseError) as exc:
            facts.errors.append(f"GetProfiles: {str(exc)[:120]}")
        # The device's order of video sources is its channel order (ONVIF numbers nothing).
        for number, token in enumerate(tokens, start=1):
            camera = ChannelCamera(channel=number, name=names.get(token) or token)
            facts.add_camera(camera, authenticated=True)


PROBE: Final = OnvifAuthProbe()
