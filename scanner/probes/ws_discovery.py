"""ONVIF WS-Discovery (SOAP-over-UDP, 3702): who is a NetworkVideoTransmitter, and where.

Sends two typed Probes, ``dn:NetworkVideoTransmitter`` and ``tds:Device`` (some units answer only
one; https://github.com/ZoneMinder/zoneminder/issues/1644), each with a fresh ``MessageID``, to
239.255.255.250:3702
(only onto a segment the scope covers in full) and unicast to every live host, so routed
subnets still answer (peers.md §B.1). A ProbeMatch is accepted only when its ``RelatesTo`` is one
of our MessageIDs and its Types name a video device; a SOAP Fault is itself an ONVIF signal.
Parsed with :mod:`scanner.safe_xml` by local name, because vendors use different prefixes
(gSOAP ``d:``/``wsadis:``, NVR ``wsd:``/``wsa:``; fingerprints.md §3.2).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from ipaddress import IPv4Address
from typing import ClassVar, Final
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel, ConfigDict

from scanner.context import Datagram, ProbeContext
from scanner.errors import ProbeParseError
from scanner.probes.base import ObservationSet, ProbeInfo, collect_and_parse
from scanner.results import ProbeResult
from scanner.safe_xml import Element, child_text, find_all, find_first, parse_xml

__all__ = ["PROBE", "ProbeMatch", "WsDiscoveryProbe", "build_probe", "parse_reply"]

PORT: Final = 3702
GROUP: Final = IPv4Address("239.255.255.250")
MAX_REPLY_BYTES: Final = 64 * 1024
#: The two device types asked for separately (vicmaeg/onvif-discovery#49: one element with both
#: types makes some firmware answer nothing).
PROBE_TYPES: Final = (
    ("dn", "http://www.onvif.org/ver10/network/wsdl", "NetworkVideoTransmitter"),
    ("tds", "http://www.onvif.org/ver10/device/wsdl", "Device"),
)
_VIDEO_TYPES: Final = ("NetworkVideoTransmitter", "Device", "NetworkVideoDisplay")
#: Caps for one device: real replies carry < 20 scopes and 2-3 XAddrs.
MAX_SCOPES: Final = 64


class ProbeMatch(BaseModel):
    """One WS-Discovery ProbeMatch (or a Fault, with ``fault`` set)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    relates_to: str | None
    endpoint: str | None
    types: tuple[str, ...]
    scopes: tuple[str, ...]
    xaddrs: tuple[str, ...]
    fault: str | None = None


def build_probe(message_id: str, prefix: str, namespace: str, type_name: str) -> bytes:
    """Return a SOAP 1.2 / WS-Addressing 2004/08 Probe for one device type."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
        'xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" '
        'xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery" '
        f'xmlns:{prefix}="{namespace}">'
        "<s:Header>"
        "<a:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe</a:Action>"
        f"<a:MessageID>{message_id}</a:MessageID>"
        "<a:To>urn:schemas-xmlsoap-org:ws:2005:04:discovery</a:To>"
        "</s:Header>"
        f"<s:Body><d:Probe><d:Types>{prefix}:{type_name}</d:Types></d:Probe></s:Body>"
        "</s:Envelope>"
    ).encode()


def parse_reply(data: bytes) -> ProbeMatch:
    """Parse a WS-Discovery reply; raise :class:`ProbeParseError` unless it is a match or Fault."""
    root = _envelope(data)
    relates_to = child_text(root, "RelatesTo")
    fault = find_first(root, "Fault")
    if fault is not None:
        reason = child_text(fault, "Text") or child_text(fault, "faultstring") or "SOAP Fault"
        return ProbeMatch(
            relates_to=relates_to, endpoint=None, types=(), scopes=(), xaddrs=(), fault=reason
        )
    match = find_first(root, "ProbeMatch")
    if match is None:
        raise ProbeParseError("no ProbeMatch in the reply")
    endpoint = None
    reference = find_first(match, "EndpointReference")
    if reference is not None:
        endpoint = child_text(reference, "Address")
    return ProbeMatch(
        relates_to=relates_to,
        endpoint=endpoint,
        types=tuple((child_text(match, "Types") or "").split()[:MAX_SCOPES]),
        scopes=tuple((child_text(match, "Scopes") or "").split()[:MAX_SCOPES]),
        xaddrs=tuple((child_text(match, "XAddrs") or "").split()[:MAX_SCOPES]),
    )


def _envelope(data: bytes) -> Element:
    root = parse_xml(data, max_bytes=MAX_REPLY_BYTES)
    if next(find_all(root, "Envelope"), None) is None:
        raise ProbeParseError("not a SOAP envelope")
    return root


def _is_video(match: ProbeMatch) -> bool:
    return any(t.rsplit(":", 1)[-1] in _VIDEO_TYPES for t in match.types)


def _endpoint_uuid(endpoint: str | None) -> str | None:
    if not endpoint:
        return None
    return endpoint.removeprefix("urn:uuid:") if endpoint.startswith("urn:uuid:") else endpoint


def observations_from(match: ProbeMatch, host: IPv4Address) -> ObservationSet:
    """Flatten a match into the shared ``wsdiscovery.*`` vocabulary."""
    obs = ObservationSet("ws_discovery", host, port=PORT)
    if match.fault is not None:
        obs.add("wsdiscovery", "fault", match.fault)
        return obs
    obs.add("wsdiscovery", "endpoint_uuid", _endpoint_uuid(match.endpoint))
    obs.add("wsdiscovery", "types", " ".join(match.types))
    # Scopes are percent-encoded (name/HIKVISION%20DS-2CD2385G1-I); rules read decoded text.
    obs.extend("wsdiscovery", "scopes", (unquote(scope) for scope in match.scopes))
    for xaddr in match.xaddrs:
        parts = urlsplit(xaddr)
        if parts.scheme in {"http", "https"} and parts.hostname:
            obs.add("wsdiscovery", "xaddrs", xaddr)
    return obs


class WsDiscoveryProbe:
    """Two typed WS-Discovery Probes by multicast and unicast; ONVIF devices answer."""

    info: ClassVar[ProbeInfo] = ProbeInfo(
        name="ws_discovery",
        summary="ONVIF WS-Discovery (UDP 3702): types, scopes, XAddrs, endpoint UUID",
        kind="network",
        transport="udp",
        ports=(PORT,),
        rarity=1,
        fields=(
            "wsdiscovery.scopes",
            "wsdiscovery.types",
            "wsdiscovery.xaddrs",
            "wsdiscovery.endpoint_uuid",
            "wsdiscovery.fault",
        ),
        after_liveness=True,
    )

    async def discover(
        self, targets: Sequence[IPv4Address], ctx: ProbeContext
    ) -> list[ProbeResult]:
        """Send both typed probes; keep matches that relate to one of our MessageIDs."""
        results: dict[str, ProbeResult] = {}

        async def round_for(prefix: str, namespace: str, type_name: str) -> list[ProbeResult]:
            message_id = f"urn:uuid:{uuid.uuid4()}"

            def observe(datagram: Datagram) -> ObservationSet | None:
                match = parse_reply(datagram.data)
                if match.relates_to is not None and match.relates_to != message_id:
                    return None  # another client's answer, or a reply to our other probe
                if match.fault is None and not _is_video(match):
                    return None  # printers and Windows hosts answer WS-Discovery too
                return observations_from(match, datagram.source)

            return await collect_and_parse(
                self.info.name,
                ctx,
                port=PORT,
                payload=build_probe(message_id, prefix, namespace, type_name),
                targets=targets,
                group=GROUP,
                observe=observe,
            )

        # Both typed probes at once, each on its own socket with its own MessageID.
        rounds = await asyncio.gather(*(round_for(*spec) for spec in PROBE_TYPES))
        for round_results in rounds:
            for result in round_results:
                known = results.get(result.target)
                if known is None or (known.status != "success" and result.status == "success"):
                    results[result.target] = result
                elif result.status == "success" and known.status == "success":
                    merged = {
                        (o.field, o.value): o for o in (*known.observations, *result.observations)
                    }
                    results[result.target] = known.model_copy(
                        update={"observations": tuple(merged.values())}
                    )
        if len(results) > 1:
            results.pop("*", None)
        return [results[key] for key in sorted(results, key=_order)]


def _order(target: str) -> tuple[int, int]:
    try:
        return (0, int(IPv4Address(target.split(":", 1)[0])))
    except ValueError:
        return (1, 0)


PROBE: Final = WsDiscoveryProbe()
