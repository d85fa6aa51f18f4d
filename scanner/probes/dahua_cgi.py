"""Dahua HTTP CGI (port 80, announced web ports): ``magicBox.cgi`` and ``RemoteDevice``.

Read-only GETs, unauthenticated first (some firmware answers ``magicBox`` without a login) and
then with a digest login from the credentials file (realm ``Login to <serial>``,
rroller/dahua:custom_components/dahua/client.py).

Bodies are ``key=value`` lines (CRLF): ``getSystemInfo`` answers ``deviceType``,
``hardwareVersion``, ``serialNumber``, ``updateSerial``...; ``getVendor`` ``vendor=``;
``getDeviceType`` ``type=``; ``getSoftwareVersion`` ``version=2.800.0000000.13.R,build:…``
(tchellomello/python-amcrest src/amcrest/system.py; rroller/dahua
custom_components/dahua/client.py). ``configManager.cgi?action=getConfig&name=RemoteDevice``
lists a recorder's IP channels as ``table.RemoteDevice.uuid:System_CONFIG_NETCAMERA_INFO_<slot>.
<Key>=<value>`` (or ``table.RemoteDevice[<slot>].<Key>``), slot 0-based = channel slot+1,
unused slots ``Enable=false`` with ``Address=192.168.0.0`` and ``Mac=ff:ff:ff:ff:ff:ff``; keys
``Address``, ``DeviceType``, ``Mac``, ``Name``, ``ProtocolType`` (``Private`` = Dahua's own
protocol, ``Onvif``...), ``SerialNo`` (rroller/dahua custom_components/dahua/__init__.py
remote_device_model / remote_device_protocol docstrings, measured on a DHI-NVR5464-16P-EI and a
Lorex N843A8; a public NVR-import module's docstring for the slot numbering). ``DeviceType``
values that name a class (``IPC``, ``IP Camera``) are not models and are dropped, as rroller/dahua
does.
"""

from __future__ import annotations

import re
import time
from collections import defaultdict
from collections.abc import Sequence
from ipaddress import IPv4Address
from typing import ClassVar, Final

from scanner.channel_facts import MAX_CHANNELS, ChannelCamera, FactSet
from scanner.context import ExchangeError, ProbeContext
from scanner.credentials import Login
from scanner.errors import ProbeParseError
from scanner.http_login import WebReply, authenticated_get, web_endpoints
from scanner.probes.base import Endpoint, ProbeInfo
from scanner.results import Observation, ProbeResult

__all__ = ["PROBE", "DahuaCgiProbe", "parse_key_values", "parse_remote_devices"]

PORT: Final = 80
MAGICBOX: Final = "/cgi-bin/magicBox.cgi?action="
REMOTE_DEVICE: Final = "/cgi-bin/configManager.cgi?action=getConfig&name=RemoteDevice"
#: magicBox action -> (reply key, observation field)
_ACTIONS: Final = (
    ("getSystemInfo", None),
    ("getVendor", ("vendor", "vendor")),
    ("getDeviceType", ("type", "device_type")),
    ("getSoftwareVersion", ("version", "firmware")),
)
_SYSTEM_INFO: Final = (
    ("deviceType", "device_type"),
    ("serialNumber", "serial"),
    ("hardwareVersion", "hardware_version"),
    ("updateSerial", "update_serial"),
)
MAX_LINES: Final = 20_000
_SLOT: Final = re.compile(
    r"^table\.RemoteDevice(?:\[(\d{1,4})\]|\.uuid:[^.=]{0,80}?_(\d{1,4}))\.([A-Za-z0-9_]{1,40})$"
)
_GENERIC_TYPES: Final = frozenset({"", "ip camera", "ipc", "camera", "ip dome", "unknown"})


def parse_key_values(body: bytes) -> dict[str, str]:
    """``key=value`` lines into a dict; raise ``ProbeParseError`` when there are none."""
    text = body.decode("utf-8", errors="replace")
    values: dict[str, str] = {}
    for line in text.splitlines()[:MAX_LINES]:
        key, sep, value = line.partition("=")
        key = key.strip()
        if sep and key and " " not in key and "<" not in key:
            values.setdefault(key, value.strip())
    if not values:
        raise ProbeParseError("not a key=value reply")
    return values


def parse_remote_devices(body: bytes) -> list[ChannelCamera]:
    """The enabled cameras of a RemoteDevice table."""
    slots: dict[int, dict[str, str]] = defaultdict(dict)
    for key, value in parse_key_values(body).items():
        found = _SLOT.match(key)
        if found is None:
            continue
        slot = int(found.group(1) or found.group(2))
        if slot < MAX_CHANNELS:
            slots[slot][found.group(3)] = value
    cameras = []
    for slot in sorted(slots):
        fields = slots[slot]
        if fields.get("Enable", "true").lower() != "true":
            continue
        model = fields.get("DeviceType")
        cameras.append(
            ChannelCamera(
                channel=slot + 1,
                address=fields.get("Address"),
                mac=fields.get("Mac"),
                model=None if model is None or model.lower() in _GENERIC_TYPES else model,
                serial=fields.get("SerialNo"),
                name=fields.get("Name") or None,
                dahua_protocol=fields.get("ProtocolType"),
            )
        )
    return cameras


class DahuaCgiProbe:
    """magicBox identity, then a recorder's RemoteDevice channel cameras."""

    info: ClassVar[ProbeInfo] = ProbeInfo(
        name="dahua_cgi",
        summary="Dahua CGI magicBox identity and recorder channels (login from --credentials)",
        kind="host",
        transport="tcp",
        ports=(PORT,),
        rarity=1,
        fields=(
            "dahua_cgi.device_type",
            "dahua_cgi.serial",
            "dahua_cgi.vendor",
            "dahua_cgi.hardware_version",
            "dahua_cgi.firmware",
            "dahua_cgi.update_serial",
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
        """Port 80, plus the web ports SADP/DHIP announced (a recorder moved off 80)."""
        return web_endpoints(host, leads, "/cgi-bin/magicBox.cgi", PORT)

    async def probe(self, host: IPv4Address, ctx: ProbeContext) -> ProbeResult:
        """The default endpoint (port 80)."""
        return await self.probe_endpoint(
            Endpoint(host=host, port=PORT, path="/cgi-bin/magicBox.cgi"), ctx
        )

    async def probe_endpoint(self, endpoint: Endpoint, ctx: ProbeContext) -> ProbeResult:
        """Read magicBox; when it answers (or asks for a login), read RemoteDevice too."""
        started = time.monotonic()
        host, port = endpoint.host, endpoint.port
        facts = FactSet(self.info.name, host, port)
        store = ctx.settings.credentials
        logins = store.http_logins(host) if store is not None else ()
        first = await authenticated_get(ctx, host, port, MAGICBOX + "getSystemInfo", logins)
        facts.note_access(MAGICBOX + "getSystemInfo", first)
        if not first.ok and first.reply.status != 401:
            facts.absent = True
            facts.errors.append(f"magicBox: HTTP {first.reply.status}")
            return facts.result(started)
        if first.ok and not self._system_info(first, facts):
            return facts.result(started)  # a soft 200 that is not the CGI
        logins = first.logins_after(logins)
        if first.reply.status == 401 and not logins:
            return facts.result(started)  # refused, or no login to offer: ask nothing more
        if first.ok:
            for action, mapping in _ACTIONS[1:]:
                await self._one_value(ctx, host, port, logins, action, mapping, facts)
        await self._remote_devices(ctx, host, port, logins, facts)
        return facts.result(started)

    @staticmethod
    def _system_info(answer: WebReply, facts: FactSet) -> bool:
        try:
            values = parse_key_values(answer.body)
        except ProbeParseError as exc:
            facts.absent = True  # a page, not the CGI: no magicBox on this server
            facts.errors.append(f"getSystemInfo: {exc}")
            return False
        found = False
        for key, field in _SYSTEM_INFO:
            if values.get(key):
                found = True
                facts.add("dahua_cgi", field, values[key], authenticated=answer.authenticated)
        return found

    @staticmethod
    async def _one_value(
        ctx: ProbeContext,
        host: IPv4Address,
        port: int,
        logins: Sequence[Login],
        action: str,
        mapping: tuple[str, str] | None,
        facts: FactSet,
    ) -> None:
        if mapping is None:
            return
        key, field = mapping
        try:
            answer = await authenticated_get(ctx, host, port, MAGICBOX + action, logins)
            facts.bytes += answer.size
            if answer.ok:
                value = parse_key_values(answer.body).get(key)
                facts.add("dahua_cgi", field, value, authenticated=answer.authenticated)
        except (ExchangeError, ProbeParseError) as exc:
            facts.errors.append(f"{action}: {exc}")

    @staticmethod
    async def _remote_devices(
        ctx: ProbeContext, host: IPv4Address, port: int, logins: Sequence[Login], facts: FactSet
    ) -> None:
        try:
            answer = await authenticated_get(ctx, host, port, REMOTE_DEVICE, logins)
        except (ExchangeError, ProbeParseError) as exc:
            facts.errors.append(f"RemoteDevice: {exc}")
            return
        facts.note_access(REMOTE_DEVICE, answer)
        if not answer.ok:
            if answer.reply.status != 401:
                facts.errors.append(f"RemoteDevice: HTTP {answer.reply.status}")
            return
        try:
            cameras = parse_remote_devices(answer.body)
        except ProbeParseError as exc:
            facts.errors.append(f"RemoteDevice: {exc}")
            return
        for camera in cameras:
            facts.add_camera(camera, authenticated=answer.authenticated)


PROBE: Final = DahuaCgiProbe()
