"""What the identity-with-login probes share: a fact collector that marks authenticated facts,
the camera a recorder lists on one channel, and the ``auth.*`` notes a refused login leaves.

A channel camera's facts are recorded on the recorder's address (that is where they were read)
with ``behind`` = that address and ``channel`` = the recorder's channel number, so
identification groups them into a device of their own and never into the recorder.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from ipaddress import IPv4Address
from typing import Final

from scanner.http_login import Access, WebReply
from scanner.results import Observation, ProbeResult, ProbeStatus, normalize_mac, utc_now

__all__ = ["MAX_CHANNELS", "RECORDER_MODEL", "ChannelCamera", "FactSet", "usable_mac"]

#: The largest recorders have 256 channels; anything beyond is a hostile list.
MAX_CHANNELS: Final = 256
#: Model names of recorders: Hikvision DS-7xxx/8xxx/9xxx (NVR, DVR, hybrid), iDS-7/9 (AcuSense
#: recorders), and the NVR/XVR/DVR/HCVR/HVR/NVD families of Dahua and their OEM lines
#: (Achelics/mutil_device_recongition:model_name_rules/name_rules.md).
RECORDER_MODEL: Final = re.compile(r"(?i)^(?:i?DS-[789]\d{3}|.*(?:NVR|XVR|DVR|HCVR|HVR|NVD))")


def usable_mac(value: str | None) -> str | None:
    """A MAC worth recording: parseable, unicast, not the all-zero or all-ones placeholder.

    Dahua recorders fill unknown MACs with ``ff:ff:ff:ff:ff:ff`` (RemoteDevice capture in
    rroller/dahua custom_components/dahua/__init__.py docstrings and lab-free public dumps).
    """
    if not value:
        return None
    try:
        mac = normalize_mac(value.strip()[:40])
    except ValueError:
        return None
    if mac in {"00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff"} or int(mac[:2], 16) & 1:
        return None
    return mac


@dataclass(frozen=True, slots=True)
class ChannelCamera:
    """One camera as its recorder reports it (every field as the recorder wrote it)."""

    channel: int
    address: str | None = None
    mac: str | None = None
    manufacturer: str | None = None
    model: str | None = None
    serial: str | None = None
    firmware: str | None = None
    name: str | None = None
    isapi_protocol: str | None = None
    dahua_protocol: str | None = None
    online: str | None = None

    def fields(self) -> Iterable[tuple[str, str | None]]:
        """(field, value) pairs in the ``channel`` vocabulary."""
        yield "manufacturer", self.manufacturer
        yield "model", self.model
        yield "serial", self.serial
        yield "firmware", self.firmware
        yield "mac", self.mac
        yield "address", self.address
        yield "name", self.name
        yield "isapi_protocol", self.isapi_protocol
        yield "dahua_protocol", self.dahua_protocol
        yield "online", self.online


class FactSet:
    """One probe's observations of one host, with the authenticated flag and channel tags."""

    def __init__(self, probe: str, host: IPv4Address, port: int, *, at: datetime | None = None):
        self.probe = probe
        self.host = host
        self.port = port
        self.at = at or utc_now()
        self.items: list[Observation] = []
        self.bytes = 0
        self.errors: list[str] = []
        #: Set when the host simply does not offer this API (404, another server's page).
        self.absent = False
        self._seen: set[tuple[str, str, str, int | None]] = set()

    def add(
        self,
        protocol: str,
        field: str,
        value: object | None,
        *,
        authenticated: bool = False,
        channel: int | None = None,
        mac: str | None = None,
    ) -> None:
        """Record one fact (empty and duplicate values are dropped)."""
        if value is None:
            return
        text = " ".join(str(value).split())
        if not text or (protocol, field, text, channel) in self._seen:
            return
        self._seen.add((protocol, field, text, channel))
        self.items.append(
            Observation(
                host=self.host,
                protocol=protocol,
                field=field,
                value=text,
                mac=mac,
                port=self.port,
                probe=self.probe,
                observed_at=self.at,
                behind=None if channel is None else str(self.host),
                channel=channel,
                authenticated=authenticated,
            )
        )

    def add_camera(self, camera: ChannelCamera, *, authenticated: bool) -> None:
        """Record what the recorder says about the camera on one channel."""
        # The camera's MAC is a value the recorder reports (channel.mac), never the frame's
        # source: ``Observation.mac`` stays the link layer's.
        mac = usable_mac(camera.mac)
        for field, value in camera.fields():
            self.add(
                "channel",
                field,
                mac if field == "mac" else value,
                authenticated=authenticated,
                channel=camera.channel,
            )

    def note_access(self, what: str, answer: WebReply) -> None:
        """Leave an ``auth.*`` fact when ``what`` needed a login (the path, never a secret)."""
        self.bytes += answer.size
        if answer.access is Access.MISSING or answer.access is Access.UNSUPPORTED:
            self.add("auth", "required", f"{self.probe} {what}")
        elif answer.access is Access.REJECTED:
            self.add("auth", "rejected", f"{self.probe} {what}")
        elif answer.access is Access.ACCEPTED:
            self.add("auth", "accepted", f"{self.probe} {what}", authenticated=True)

    def result(self, started: float, *, nothing_to_ask: bool = False) -> ProbeResult:
        """The probe result: success when a fact was read (or nothing was asked at all)."""
        identity = [o for o in self.items if o.protocol != "auth"]
        if identity or nothing_to_ask:
            status = ProbeStatus.SUCCESS
        elif any(o.key in {"auth.required", "auth.rejected"} for o in self.items):
            status = ProbeStatus.AUTH_REQUIRED  # only the challenge was read
        elif self.items:
            status = ProbeStatus.SUCCESS
        elif self.absent:
            status = ProbeStatus.NOT_FOUND
        else:
            status = ProbeStatus.PROTOCOL_ERROR
        return ProbeResult(
            probe=self.probe,
            target=f"{self.host}:{self.port}",
            status=status,
            started_at=self.at,
            elapsed_s=max(0.0, time.monotonic() - started),
            observations=tuple(self.items),
            error="; ".join(self.errors)[:500] or None,
            reply_bytes=self.bytes,
        )
