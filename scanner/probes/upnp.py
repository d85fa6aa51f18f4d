"""UPnP: an SSDP search (UDP 1900), then the root device description its LOCATION points to.

SSDP (UPnP Device Architecture 1.1 §1.3.2): ``M-SEARCH * HTTP/1.1`` with ``MAN:
"ssdp:discover"`` and ``ST: upnp:rootdevice`` goes to 239.255.255.250:1900 (only onto a segment
the scope covers in full, TTL 1) and unicast to every live host, so routed subnets are asked too.
Each answer is an HTTP-style ``200 OK`` whose ``SERVER`` names the stack (``Linux/3.0.8 UPnP/1.0
Huawei-ATP-IGD``) and whose ``LOCATION`` is the description URL. The description (UDA §2.3) is
fetched with one read-only ``GET`` only when LOCATION's host is an in-scope address, capped in
bytes and time, and parsed with :mod:`scanner.safe_xml`; its root ``<device>`` names
manufacturer, modelName, modelNumber, serialNumber, friendlyName and UDN. No action is ever
invoked on the device (no SOAP control request, no event subscription).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address
from typing import ClassVar, Final
from urllib.parse import urlsplit

from scanner.context import Datagram, ExchangeError, ProbeContext
from scanner.errors import ProbeParseError
from scanner.probes.base import ObservationSet, ProbeInfo, collect_and_parse
from scanner.probes.http_banner import HttpReply, dechunk, fetch
from scanner.results import ProbeResult, ProbeStatus
from scanner.safe_xml import Element, local_name, parse_xml

__all__ = [
    "PROBE",
    "SsdpReply",
    "UpnpDescription",
    "UpnpProbe",
    "build_search",
    "description_target",
    "parse_description",
    "parse_reply",
]

PORT: Final = 1900
GROUP: Final = IPv4Address("239.255.255.250")
SEARCH_TARGET: Final = "upnp:rootdevice"
#: An SSDP answer is a few hundred bytes; 8 KiB cuts off anything that is not one.
MAX_SSDP_BYTES: Final = 8192
MAX_HEADERS: Final = 32
#: Root descriptions of cameras and gateways are 2-20 KiB; 64 KiB is the sweep's reply cap too.
MAX_DESCRIPTION_BYTES: Final = 64 * 1024
#: Descriptions fetched at once; each is one short HTTP exchange.
_FETCHES: Final = 16
#: UDA 1.1: MX 1 asks devices to answer within a second, inside the 2 s collection window.
_MX: Final = 1
#: Root-device elements recorded, and the observation field each becomes.
DEVICE_FIELDS: Final = (
    ("manufacturer", "manufacturer"),
    ("modelName", "model"),
    ("modelNumber", "model_number"),
    ("serialNumber", "serial"),
    ("friendlyName", "friendly_name"),
    ("UDN", "udn"),
)


@dataclass(frozen=True, slots=True)
class SsdpReply:
    """A parsed SSDP search answer: status and headers (names upper-cased)."""

    status: int
    headers: tuple[tuple[str, str], ...]

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (case-insensitive), or None."""
        wanted = name.upper()
        return next((value for key, value in self.headers if key == wanted), None)


@dataclass(frozen=True, slots=True)
class UpnpDescription:
    """The root device's identity fields, by observation field name."""

    fields: tuple[tuple[str, str], ...]


def build_search(destination: IPv4Address) -> bytes:
    """M-SEARCH for root devices: multicast form for the group, unicast form for a host."""
    if destination == GROUP:
        host, mx = f"{GROUP}:{PORT}", f"MX: {_MX}\r\n"
    else:
        host, mx = f"{destination}:{PORT}", ""  # UDA 1.1 §1.3.2: unicast searches carry no MX
    return (
        f'M-SEARCH * HTTP/1.1\r\nHOST: {host}\r\nMAN: "ssdp:discover"\r\n{mx}'
        f"ST: {SEARCH_TARGET}\r\nUSER-AGENT: ndaa-scan/0.1 UPnP/1.1 read-only-inventory\r\n\r\n"
    ).encode("ascii")


def parse_reply(data: bytes) -> SsdpReply:
    """Parse an SSDP datagram; raise :class:`ProbeParseError` unless it is an HTTP response."""
    if len(data) > MAX_SSDP_BYTES:
        raise ProbeParseError(f"SSDP reply larger than {MAX_SSDP_BYTES} bytes")
    head = data.split(b"\r\n\r\n", 1)[0].replace(b"\r\n", b"\n").split(b"\n")
    status_line = head[0].strip()
    parts = status_line.split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
        if status_line.startswith((b"NOTIFY ", b"M-SEARCH ")):
            raise ProbeParseError("an SSDP request, not an answer")
        raise ProbeParseError(f"not an SSDP response: {status_line[:60].decode('latin-1')!r}")
    headers: list[tuple[str, str]] = []
    for line in head[1 : MAX_HEADERS + 1]:
        name, colon, value = line.partition(b":")
        if colon and name.strip() and b" " not in name.strip():
            headers.append(
                (name.strip().decode("latin-1").upper(), value.strip().decode("utf-8", "replace"))
            )
    return SsdpReply(status=int(parts[1]), headers=tuple(headers))


def description_target(location: str) -> tuple[IPv4Address, int, str] | None:
    """(host, port, path) of an ``http://<IPv4>[:port]/path`` LOCATION, else None.

    Only literal IPv4 addresses qualify: a name would need a DNS lookup, and its answer could
    point anywhere.
    """
    try:
        parts = urlsplit(location.strip())
        port = parts.port or 80
    except ValueError:
        return None
    if parts.scheme != "http" or not parts.hostname:
        return None
    try:
        host = IPv4Address(parts.hostname)
    except ValueError:
        return None
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    if not path.startswith("/") or any(ch in path for ch in "\r\n "):
        return None
    return host, port, path


def _child(element: Element, name: str) -> Element | None:
    return next((c for c in element if isinstance(c.tag, str) and local_name(c.tag) == name), None)


def parse_description(data: bytes) -> UpnpDescription:
    """Parse a root device description; raise :class:`ProbeParseError` unless it is one.

    Only the root ``<device>``'s own children count: embedded devices (a gateway's WAN device)
    describe parts, not the box.
    """
    root = parse_xml(data, max_bytes=MAX_DESCRIPTION_BYTES)
    if local_name(root.tag) != "root":
        raise ProbeParseError(f"not a UPnP description (root element {local_name(root.tag)!r})")
    device = _child(root, "device")
    if device is None:
        raise ProbeParseError("UPnP description without a <device>")
    fields: list[tuple[str, str]] = []
    for tag, field in DEVICE_FIELDS:
        element = _child(device, tag)
        if element is not None:
            text = " ".join("".join(element.itertext()).split())
            if text:
                fields.append((field, text))
    return UpnpDescription(fields=tuple(fields))


def _observe(datagram: Datagram) -> ObservationSet | None:
    if datagram.data.startswith((b"NOTIFY ", b"M-SEARCH ")):
        return None  # another host's announcement or search, not an answer to ours
    reply = parse_reply(datagram.data)
    if reply.status != 200:
        return None
    obs = ObservationSet("upnp", datagram.source, port=PORT)
    obs.add("upnp", "server_header", reply.header("SERVER"))
    obs.add("upnp", "location", reply.header("LOCATION"))
    obs.add("upnp", "usn", reply.header("USN"))
    return obs


def _description_of(reply: HttpReply) -> UpnpDescription:
    if reply.status != 200:
        raise ProbeParseError(f"description fetch answered {reply.status}")
    chunked = any("chunked" in v.lower() for v in reply.header("Transfer-Encoding"))
    return parse_description(dechunk(reply.body) if chunked else reply.body)


async def _describe(ctx: ProbeContext, result: ProbeResult) -> ProbeResult:
    """Fetch and add the description LOCATION names; on failure keep SSDP's answer and say why."""
    location = next((o.value for o in result.observations if o.field == "location"), None)
    if location is None:
        return result
    target = description_target(location)
    if target is None:
        return result.model_copy(update={"error": "LOCATION is not an http://IPv4 URL"})
    host, port, path = target
    if not ctx.scope.contains(host):
        return result.model_copy(
            update={"error": f"LOCATION host {host} is out of scope: description not fetched"}
        )
    started = time.monotonic()
    answered = result.observations[0].host
    obs = ObservationSet("upnp", answered, port=port)
    try:
        raw, reply = await fetch(ctx, host, port, path)
        description = _description_of(reply)
    except (ExchangeError, ProbeParseError) as exc:
        return result.model_copy(update={"error": f"description {location}: {exc}"[:500]})
    announced = {o.value for o in result.observations if o.field == "server_header"}
    obs.extend("upnp", "server_header", (v for v in reply.header("Server") if v not in announced))
    for field, value in description.fields:
        obs.add("upnp", field, value)
    status = ProbeStatus.OVERSIZED if raw.truncated else result.status
    return result.model_copy(
        update={
            "observations": (*result.observations, *obs.items),
            "reply_bytes": result.reply_bytes + len(raw.data),
            "elapsed_s": result.elapsed_s + (time.monotonic() - started),
            "status": status,
        }
    )


class UpnpProbe:
    """SSDP M-SEARCH by multicast and unicast, then each in-scope root device description."""

    info: ClassVar[ProbeInfo] = ProbeInfo(
        name="upnp",
        summary="UPnP SSDP search (UDP 1900) and the device description: maker, model, serial",
        kind="network",
        transport="udp",
        ports=(PORT,),
        rarity=1,
        fields=(
            "upnp.server_header",
            "upnp.location",
            "upnp.usn",
            *(f"upnp.{field}" for _, field in DEVICE_FIELDS),
        ),
        after_liveness=True,
    )

    async def discover(
        self, targets: Sequence[IPv4Address], ctx: ProbeContext
    ) -> list[ProbeResult]:
        """Search, then fetch the descriptions (a few at a time)."""
        found = await collect_and_parse(
            self.info.name,
            ctx,
            port=PORT,
            payload=build_search,
            targets=targets,
            group=GROUP,
            observe=_observe,
            # UDA 1.1 §1.3.3: a device may wait up to MX seconds before it answers.
            min_quiet_s=_MX + 0.2,
        )
        gate = asyncio.Semaphore(_FETCHES)

        async def one(result: ProbeResult) -> ProbeResult:
            if result.status is not ProbeStatus.SUCCESS:
                return result
            async with gate:
                return await _describe(ctx, result)

        return list(await asyncio.gather(*(one(result) for result in found)))


PROBE: Final = UpnpProbe()
