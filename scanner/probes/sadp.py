"""Hikvision SADP (Search Active Device Protocol), XML flavour, UDP 37020.

Sends ``<Probe><Uuid>…</Uuid><Types>inquiry</Types></Probe>`` to 239.255.255.250:37020 (only
onto a segment the scope covers in full) and unicast to every live host; Hikvision firmware,
including OEM builds sold under other brands, answers with a ``<ProbeMatch>`` describing the
device. Replies are paired to our request by ``<Uuid>``. Layout and field names:
julienblitte/UniversalScanner:UniversalScanner/Hikvision.cs and Hikvision.selftest,
MatrixEditor/hiktools:hiktools/sadp/client.py (bibliography keys in fingerprints/SOURCES.md). The
legacy
layer-2 flavour (EtherType 0x8033) is not sent: only old firmware relies on it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from ipaddress import IPv4Address
from typing import ClassVar, Final

from pydantic import BaseModel, ConfigDict

from scanner.context import Datagram, ProbeContext
from scanner.errors import ProbeParseError
from scanner.probes.base import ObservationSet, ProbeInfo, collect_and_parse
from scanner.results import ProbeResult, normalize_mac
from scanner.safe_xml import child_text, local_name, parse_xml

__all__ = ["PROBE", "SadpProbe", "SadpReply", "build_probe", "parse_reply"]

PORT: Final = 37020
GROUP: Final = IPv4Address("239.255.255.250")
#: A ProbeMatch is about 1.5 KiB; 16 KiB bounds a hostile one.
MAX_REPLY_BYTES: Final = 16 * 1024


class SadpReply(BaseModel):
    """The identity fields of a SADP ``ProbeMatch`` (or unsolicited ``Hello``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: str
    uuid: str | None
    types: str | None
    device_type: str | None
    model: str | None
    serial: str | None
    mac: str | None
    ipv4: str | None
    firmware: str | None
    dsp_version: str | None
    oem_code: str | None
    activated: str | None
    http_port: str | None = None
    raw: str


def build_probe(request_id: str) -> bytes:
    """Return the inquiry datagram carrying ``request_id`` as its Uuid."""
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f"<Probe><Uuid>{request_id}</Uuid><Types>inquiry</Types></Probe>"
    ).encode("ascii")


def parse_reply(data: bytes) -> SadpReply:
    """Parse a SADP reply datagram; raise :class:`ProbeParseError` if it is not one."""
    root = parse_xml(data, max_bytes=MAX_REPLY_BYTES)
    kind = local_name(root.tag) if isinstance(root.tag, str) else ""
    if kind not in {"ProbeMatch", "Hello"}:
        raise ProbeParseError(f"not a SADP reply (root element {kind[:40]!r})")
    mac: str | None = None
    if (raw_mac := child_text(root, "MAC")) is not None:
        try:
            mac = normalize_mac(raw_mac)
        except ValueError:
            mac = None  # a garbled MAC loses only that field
    return SadpReply(
        kind=kind,
        uuid=child_text(root, "Uuid"),
        types=child_text(root, "Types"),
        device_type=child_text(root, "DeviceType"),
        model=child_text(root, "DeviceDescription"),
        serial=child_text(root, "DeviceSN"),
        mac=mac,
        ipv4=child_text(root, "IPv4Address"),
        firmware=child_text(root, "SoftwareVersion"),
        dsp_version=child_text(root, "DSPVersion"),
        oem_code=child_text(root, "DetailOEMCode"),
        activated=child_text(root, "Activated"),
        http_port=child_text(root, "HttpPort"),
        raw=data.decode("utf-8", errors="replace"),
    )


def observations_from(reply: SadpReply, host: IPv4Address) -> ObservationSet:
    """Flatten a reply into the shared ``sadp.*`` vocabulary."""
    obs = ObservationSet("sadp", host, port=PORT, mac=reply.mac)
    obs.add("sadp", "raw", reply.raw)
    obs.add("sadp", "model", reply.model)
    obs.add("sadp", "serial", reply.serial)
    obs.add("sadp", "firmware", reply.firmware)
    obs.add("sadp", "mac", reply.mac)
    obs.add("sadp", "oem_code", reply.oem_code)
    obs.add("sadp", "device_type", reply.device_type)
    # Where the web UI listens (fingerprints.md §6.1 ``<HttpPort>80</HttpPort>``): the sweeper
    # sends the HTTP banner probe there too.
    obs.add("sadp", "http_port", reply.http_port)
    return obs


class SadpProbe:
    """SADP inquiry by multicast and unicast; one result per answering Hikvision-family host."""

    info: ClassVar[ProbeInfo] = ProbeInfo(
        name="sadp",
        summary="Hikvision SADP inquiry (UDP 37020): model, serial, firmware, MAC, OEM code",
        kind="network",
        transport="udp",
        ports=(PORT,),
        rarity=8,
        fields=(
            "sadp.raw",
            "sadp.model",
            "sadp.serial",
            "sadp.firmware",
            "sadp.mac",
            "sadp.oem_code",
            "sadp.device_type",
            "sadp.http_port",
        ),
        after_liveness=True,
    )

    async def discover(
        self, targets: Sequence[IPv4Address], ctx: ProbeContext
    ) -> list[ProbeResult]:
        """Ask the segment and every live host; keep replies that carry our Uuid."""
        request_id = str(uuid.uuid4()).upper()

        def observe(datagram: Datagram) -> ObservationSet | None:
            reply = parse_reply(datagram.data)
            if reply.kind != "ProbeMatch" or (reply.uuid or "").upper() != request_id:
                return None  # an announcement or another scanner's answer
            return observations_from(reply, datagram.source)

        return await collect_and_parse(
            self.info.name,
            ctx,
            port=PORT,
            payload=build_probe(request_id),
            targets=targets,
            group=GROUP,
            broadcast=True,
            observe=observe,
        )


PROBE: Final = SadpProbe()
