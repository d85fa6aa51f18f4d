"""Hikvision ISAPI (HTTP, port 80, announced web ports): ``deviceInfo`` and recorder channels.

Read-only GETs, unauthenticated first and then with a login from the credentials file when the
device asks for one (digest; nmap-service-probes line 14882 and the
Hikvision ISAPI guide: current firmware puts ISAPI
behind digest realm ``IP Camera(xxxxx)``, recorders behind ``DVRNVRDVS``).

``DeviceInfo`` (namespace ``http://www.hikvision.com/ver20/XMLSchema`` or the older ``ver10``)
carries ``model``, ``serialNumber``, ``macAddress``, ``firmwareVersion`` and ``deviceType``
(``IPCamera``, ``IPDome``, ``NVR``, ``DVR``...). A recorder's IP channels are listed by
``/ISAPI/ContentMgmt/InputProxy/channels``: one ``InputProxyChannel`` per channel with ``id``,
``name`` and a ``sourceInputPortDescriptor`` holding ``proxyProtocol`` (``HIKVISION`` for
Hikvision's own SDK protocol, ``ONVIF``...), ``ipAddress`` and, on current firmware, the camera's
``model``, ``serialNumber`` and ``firmwareVersion``; ``…/channels/status`` adds ``online``.
Element names as read by public clients: a Hikvision NVR gateway's CameraService.list
(``sourceInputPortDescriptor`` model/serialNumber/firmwareVersion), the InputProxyChannel
TypeScript interface of an NVR web client, and the ISAPI mock fixtures of an NVR dashboard test
(search corpus, 2026-12; element names only, no code copied).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace
from ipaddress import IPv4Address
from typing import ClassVar, Final

from scanner.channel_facts import MAX_CHANNELS, ChannelCamera, FactSet
from scanner.context import ExchangeError, ProbeContext
from scanner.credentials import Login
from scanner.errors import ProbeParseError
from scanner.http_login import authenticated_get, web_endpoints
from scanner.probes.base import Endpoint, ProbeInfo
from scanner.results import Observation, ProbeResult
from scanner.safe_xml import Element, child_text, find_all, find_first, local_name, parse_xml

__all__ = ["PROBE", "IsapiProbe", "parse_channel_status", "parse_channels", "parse_device_info"]

PORT: Final = 80
DEVICE_INFO: Final = "/ISAPI/System/deviceInfo"
CHANNELS: Final = "/ISAPI/ContentMgmt/InputProxy/channels"
CHANNEL_STATUS: Final = "/ISAPI/ContentMgmt/InputProxy/channels/status"
MAX_XML_BYTES: Final = 256 * 1024
#: deviceType values of cameras: they have no IP channels to list.
CAMERA_TYPES: Final = frozenset({"ipcamera", "ipdome", "ipzoom", "ipc", "ptz", "thermal"})
_INFO_FIELDS: Final = (
    ("model", "model"),
    ("serialNumber", "serial"),
    ("macAddress", "mac"),
    ("deviceType", "device_type"),
    ("deviceName", "device_name"),
)


def _namespace(root: Element) -> str | None:
    tag = root.tag if isinstance(root.tag, str) else ""
    return tag[1:].split("}", 1)[0] if tag.startswith("{") else None


def parse_device_info(data: bytes) -> dict[str, str]:
    """The ``isapi`` fields of a DeviceInfo document (raise ``ProbeParseError`` if not one)."""
    root = parse_xml(data, max_bytes=MAX_XML_BYTES)
    if local_name(root.tag if isinstance(root.tag, str) else "") != "DeviceInfo":
        raise ProbeParseError("not an ISAPI DeviceInfo document")
    fields = {name: text for tag, name in _INFO_FIELDS if (text := child_text(root, tag))}
    firmware = child_text(root, "firmwareVersion")
    released = child_text(root, "firmwareReleasedDate")
    if firmware:
        # "V4.30.085" + "build 200916" is how the device's own web page prints it.
        fields["firmware"] = f"{firmware} {released}" if released else firmware
    if (namespace := _namespace(root)) is not None:
        fields["namespace"] = namespace
    return fields


def _channel_id(element: Element) -> int | None:
    text = child_text(element, "id")
    try:
        number = int(text or "")
    except ValueError:
        return None
    return number if 0 <= number <= 4096 else None


def parse_channels(data: bytes) -> list[ChannelCamera]:
    """The cameras of an ``InputProxyChannelList``."""
    root = parse_xml(data, max_bytes=MAX_XML_BYTES)
    if local_name(root.tag if isinstance(root.tag, str) else "") != "InputProxyChannelList":
        raise ProbeParseError("not an InputProxyChannelList")
    cameras = []
    for element in list(find_all(root, "InputProxyChannel"))[:MAX_CHANNELS]:
        number = _channel_id(element)
        if number is None:
            continue
        source = find_first(element, "sourceInputPortDescriptor")
        cameras.append(
            ChannelCamera(
                channel=number,
                name=child_text(element, "name"),
                address=child_text(source, "ipAddress") if source is not None else None,
                isapi_protocol=child_text(source, "proxyProtocol") if source is not None else None,
                model=child_text(source, "model") if source is not None else None,
                serial=child_text(source, "serialNumber") if source is not None else None,
                firmware=child_text(source, "firmwareVersion") if source is not None else None,
                mac=child_text(source, "macAddress") if source is not None else None,
            )
        )
    return cameras


def parse_channel_status(data: bytes) -> dict[int, str]:
    """channel id -> ``online`` text of an ``InputProxyChannelStatusList``."""
    root = parse_xml(data, max_bytes=MAX_XML_BYTES)
    status: dict[int, str] = {}
    for element in list(find_all(root, "InputProxyChannelStatus"))[:MAX_CHANNELS]:
        number = _channel_id(element)
        online = child_text(element, "online")
        if number is not None and online:
            status[number] = online
    return status


class IsapiProbe:
    """ISAPI deviceInfo, then the recorder's InputProxy channels."""

    info: ClassVar[ProbeInfo] = ProbeInfo(
        name="isapi",
        summary="Hikvision ISAPI deviceInfo and recorder channels (login from --credentials)",
        kind="host",
        transport="tcp",
        ports=(PORT,),
        rarity=1,
        fields=(
            "isapi.model",
            "isapi.serial",
            "isapi.firmware",
            "isapi.device_type",
            "isapi.device_name",
            "isapi.mac",
            "isapi.namespace",
            "channel.model",
            "channel.serial",
            "channel.firmware",
            "channel.mac",
            "channel.address",
            "channel.name",
            "channel.isapi_protocol",
            "channel.online",
            "auth.required",
            "auth.rejected",
            "auth.accepted",
        ),
    )

    def endpoints(self, host: IPv4Address, leads: Sequence[Observation]) -> list[Endpoint]:
        """Port 80, plus the web ports SADP/DHIP announced (a recorder moved off 80)."""
        return web_endpoints(host, leads, DEVICE_INFO, PORT)

    async def probe(self, host: IPv4Address, ctx: ProbeContext) -> ProbeResult:
        """The default endpoint (port 80)."""
        return await self.probe_endpoint(Endpoint(host=host, port=PORT, path=DEVICE_INFO), ctx)

    async def probe_endpoint(self, endpoint: Endpoint, ctx: ProbeContext) -> ProbeResult:
        """Read the device's identity and, for a recorder, its channel cameras."""
        started = time.monotonic()
        host, port = endpoint.host, endpoint.port
        facts = FactSet(self.info.name, host, port)
        store = ctx.settings.credentials
        logins = store.http_logins(host) if store is not None else ()
        answer = await authenticated_get(ctx, host, port, DEVICE_INFO, logins)
        facts.note_access(DEVICE_INFO, answer)
        device_type: str | None = None
        if answer.ok:
            head = answer.body.lstrip(b"\xef\xbb\xbf \r\n\t")
            if not head.startswith((b"<?xml", b"<DeviceInfo")):
                facts.absent = True  # another server's page answering every path
                facts.errors.append("deviceInfo: not an XML document (no ISAPI here)")
                return facts.result(started)
            try:
                fields = parse_device_info(answer.body)
            except ProbeParseError as exc:
                facts.errors.append(f"deviceInfo: {exc}")
                return facts.result(started)
            for field, value in fields.items():
                facts.add("isapi", field, value, authenticated=answer.authenticated)
            device_type = fields.get("device_type")
        elif answer.reply.status != 401:
            # No ISAPI here (404, a soft 200 elsewhere): nothing to enumerate either.
            facts.absent = True
            facts.errors.append(f"deviceInfo: HTTP {answer.reply.status}")
            return facts.result(started)
        if device_type is not None and device_type.lower() in CAMERA_TYPES:
            return facts.result(started)
        logins = answer.logins_after(logins)
        if answer.reply.status == 401 and not logins:
            return facts.result(started)  # no login to offer: the channel list would 401 too
        await self._channels(ctx, host, port, logins, facts)
        return facts.result(started)

    async def _channels(
        self,
        ctx: ProbeContext,
        host: IPv4Address,
        port: int,
        usable: Sequence[Login],
        facts: FactSet,
    ) -> None:
        try:
            listing = await authenticated_get(ctx, host, port, CHANNELS, usable)
        except (ExchangeError, ProbeParseError) as exc:
            facts.errors.append(f"channels: {exc}")
            return
        facts.note_access(CHANNELS, listing)
        if not listing.ok:
            if listing.reply.status != 401:
                facts.errors.append(f"channels: HTTP {listing.reply.status}")
            return
        try:
            cameras = parse_channels(listing.body)
        except ProbeParseError as exc:
            facts.errors.append(f"channels: {exc}")
            return
        online: dict[int, str] = {}
        try:
            status = await authenticated_get(ctx, host, port, CHANNEL_STATUS, usable)
            facts.bytes += status.size
            if status.ok:
                online = parse_channel_status(status.body)
        except (ExchangeError, ProbeParseError) as exc:
            facts.errors.append(f"channel status: {exc}")
        for camera in cameras:
            if online.get(camera.channel):
                camera = replace(camera, online=online[camera.channel])
            facts.add_camera(camera, authenticated=listing.authenticated)


PROBE: Final = IsapiProbe()
