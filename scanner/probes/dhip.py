"""Dahua DHIP discovery, UDP 37810: ``DHDiscover.search`` framed in the 32-byte DHIP header.

Sends the framed JSON request to 239.255.255.251:37810 and to the segment broadcast (only onto
a segment the scope covers in full) and unicast to every live host; Dahua firmware and its OEM
builds (Lorex, Amcrest, …) answer ``client.notifyDevInfo`` with model, serial, vendor and MAC.
Frame layout and the fact that unframed JSON gets no answer: rroller/dahua:
custom_components/dahua/discovery.py (measurements), julienblitte/UniversalScanner:
UniversalScanner/Dahua2.cs, Phenomite/AMP-Research (capture); see fingerprints/SOURCES.md.

The header is a scapy layer (binary framing, declared rather than hand-packed); the body is
JSON, decoded after a size cap and checked field by field.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from ipaddress import IPv4Address
from typing import Any, ClassVar, Final

from pydantic import BaseModel, ConfigDict
from scapy.fields import LEIntField, LELongField, StrFixedLenField
from scapy.packet import Packet

from scanner.context import Datagram, ProbeContext
from scanner.errors import ProbeParseError
from scanner.probes.base import ObservationSet, ProbeInfo, collect_and_parse
from scanner.results import ProbeResult, normalize_mac

__all__ = ["PROBE", "DhipHeader", "DhipProbe", "DhipReply", "build_probe", "parse_reply"]

PORT: Final = 37810
GROUP: Final = IPv4Address("239.255.255.251")
HEADER_LEN: Final = 32
MAGIC: Final = b"DHIP"
#: Observed replies are ~800 bytes (fingerprints.md §7.1); 16 KiB bounds a hostile one.
MAX_REPLY_BYTES: Final = 16 * 1024
#: ConfigTool's request; ``uni`` 1 asks for a unicast answer.
SEARCH_BODY: Final = b'{"method":"DHDiscover.search","params":{"mac":"","uni":1}}\n'


class DhipHeader(Packet):
    """The 32-byte DHIP header.

    ::

        0        4        8                16               24               32
        +--------+--------+----------------+----------------+----------------+
        | 0x20   | "DHIP" | session / id   | body length    | body length    |
        | LE u32 |        | LE u64         | LE u64         | LE u64 (again) |
        +--------+--------+----------------+----------------+----------------+
    """

    name = "DHIP"
    fields_desc: ClassVar[list[Any]] = [
        LEIntField("header_len", HEADER_LEN),
        StrFixedLenField("magic", MAGIC, 4),
        LELongField("session", 0),
        LELongField("body_len", 0),
        LELongField("body_len2", 0),
    ]


class DhipReply(BaseModel):
    """The identity fields of a ``client.notifyDevInfo`` reply."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    method: str | None
    mac: str | None
    model: str | None
    device_class: str | None
    serial: str | None
    machine_name: str | None
    vendor: str | None
    manufacturer: str | None
    firmware: str | None
    http_port: str | None = None
    https_port: str | None = None
    raw: str


def build_probe(body: bytes = SEARCH_BODY) -> bytes:
    """Return a framed DHIP datagram carrying ``body``."""
    header = DhipHeader(body_len=len(body), body_len2=len(body))
    return bytes(header) + body


def _text(value: object) -> str | None:
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        text = str(value).strip()
        return text or None
    return None


def parse_reply(data: bytes) -> DhipReply:
    """Parse one DHIP datagram; raise :class:`ProbeParseError` if it is not a device reply."""
    if len(data) > MAX_REPLY_BYTES:
        raise ProbeParseError("DHIP reply larger than 16 KiB")
    if len(data) < HEADER_LEN:
        raise ProbeParseError("shorter than the 32-byte DHIP header")
    header = DhipHeader(data[:HEADER_LEN])
    # Check magic and lengths before trusting anything the dissector produced (aesthetics §6.11).
    if header.magic != MAGIC or header.header_len != HEADER_LEN:
        raise ProbeParseError("no DHIP magic")
    if header.body_len != header.body_len2:
        raise ProbeParseError("the two DHIP body lengths differ")
    body = data[HEADER_LEN:]
    if header.body_len > len(body) or header.body_len > MAX_REPLY_BYTES:
        raise ProbeParseError("DHIP body shorter than its declared length")
    # Replies end in "\n" and sometimes "\n\0" (fingerprints.md §7.1).
    text = body[: header.body_len].rstrip(b"\x00\r\n ")
    try:
        document = json.loads(text.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ProbeParseError(f"DHIP body is not JSON: {str(exc)[:80]}") from None
    if not isinstance(document, dict):
        raise ProbeParseError("DHIP body is not a JSON object")
    params = document.get("params")
    info = params.get("deviceInfo") if isinstance(params, dict) else None
    if not isinstance(info, dict):
        raise ProbeParseError("DHIP reply without params.deviceInfo")
    mac: str | None = None
    if (raw_mac := _text(document.get("mac"))) is not None:
        try:
            mac = normalize_mac(raw_mac)
        except ValueError:
            mac = None
    return DhipReply(
        method=_text(document.get("method")),
        mac=mac,
        model=_text(info.get("DeviceType")),
        device_class=_text(info.get("DeviceClass")),
        serial=_text(info.get("SerialNo")),
        machine_name=_text(info.get("MachineName")),
        vendor=_text(info.get("Vendor")),
        manufacturer=_text(info.get("Manufacturer")),
        firmware=_text(info.get("Version")),
        http_port=_text(info.get("HttpPort")),
        https_port=_text(info.get("HttpsPort")),
        raw=text.decode("utf-8", errors="replace"),
    )


def observations_from(reply: DhipReply, host: IPv4Address) -> ObservationSet:
    """Flatten a reply into the shared ``dhip.*`` vocabulary."""
    obs = ObservationSet("dhip", host, port=PORT, mac=reply.mac)
    obs.add("dhip", "raw", reply.raw)
    obs.add("dhip", "model", reply.model)
    obs.add("dhip", "serial", reply.serial or reply.machine_name)
    obs.add("dhip", "vendor", reply.vendor)
    obs.add("dhip", "manufacturer", reply.manufacturer)
    obs.add("dhip", "device_type", reply.device_class)
    obs.add("dhip", "mac", reply.mac)
    obs.add("dhip", "firmware", reply.firmware)
    # The web ports the device announces (fingerprints.md §7.1 ``"HttpPort" : 80``): the
    # sweeper sends the HTTP and TLS banner probes there too.
    obs.add("dhip", "http_port", reply.http_port)
    obs.add("dhip", "https_port", reply.https_port)
    return obs


class DhipProbe:
    """DHIP ``DHDiscover.search`` by multicast, broadcast and unicast."""

    info: ClassVar[ProbeInfo] = ProbeInfo(
        name="dhip",
        summary="Dahua DHIP discovery (UDP 37810): model, serial, vendor, class, MAC",
        kind="network",
        transport="udp",
        ports=(PORT,),
        rarity=8,
        fields=(
            "dhip.raw",
            "dhip.model",
            "dhip.serial",
            "dhip.vendor",
            "dhip.manufacturer",
            "dhip.device_type",
            "dhip.mac",
            "dhip.firmware",
            "dhip.http_port",
            "dhip.https_port",
        ),
        after_liveness=True,
    )

    async def discover(
        self, targets: Sequence[IPv4Address], ctx: ProbeContext
    ) -> list[ProbeResult]:
        """Ask the segment and every live host; keep device-information replies."""

        def observe(datagram: Datagram) -> ObservationSet | None:
            if datagram.data == build_probe():
                return None  # our own request echoed by a peer
            reply = parse_reply(datagram.data)
            # DHIP has no request id: a notifyDevInfo sent to our port answers our search.
            return observations_from(reply, datagram.source)

        return await collect_and_parse(
            self.info.name,
            ctx,
            port=PORT,
            payload=build_probe(),
            targets=targets,
            group=GROUP,
            broadcast=True,
            observe=observe,
        )


PROBE: Final = DhipProbe()
