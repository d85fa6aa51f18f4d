"""UDP announcements and replies a device sends anyway, read into observations.

Each dissector takes one datagram's payload and the sender's address; a payload that is not what
its port suggests raises :class:`ProbeParseError` and is counted by the caller, never fatal.
Parsing reuses the active probes' parsers so a fact reads the same however it was seen.
"""

from __future__ import annotations

from collections.abc import Callable
from ipaddress import IPv4Address
from typing import Final

from scapy.layers.dhcp import BOOTP, DHCP
from scapy.layers.snmp import SNMP, SNMPresponse

from scanner.errors import ProbeParseError
from scanner.passive.facts import Facts
from scanner.probes import dhip, sadp, ws_discovery
from scanner.probes.ws_discovery import ProbeMatch
from scanner.safe_xml import child_text, find_first, parse_xml

__all__ = ["UDP_DISSECTORS", "dissect_dhcp"]

_SYS_DESCR: Final = "1.3.6.1.2.1.1.1.0"
_SYS_OBJECT_ID: Final = "1.3.6.1.2.1.1.2.0"
_MAX_SSDP_BYTES: Final = 8 * 1024
_MAX_SNMP_BYTES: Final = 16 * 1024
_SSDP_FIELDS: Final = {"server": "server_header", "location": "location", "usn": "usn"}

Dissector = Callable[[bytes, IPv4Address, Facts, float], None]


def _sadp(payload: bytes, host: IPv4Address, facts: Facts, at: float) -> None:
    if b"<Probe>" in payload[:256]:
        return  # another SADP client's inquiry, not a device
    reply = sadp.parse_reply(payload)
    facts.adopt(sadp.observations_from(reply, host).items, timestamp=at)
    if reply.mac:
        facts.bind(reply.mac, host, timestamp=at)


def _dhip(payload: bytes, host: IPv4Address, facts: Facts, at: float) -> None:
    if b"DHDiscover.search" in payload[:512]:
        return  # another client's search request
    reply = dhip.parse_reply(payload)
    facts.adopt(dhip.observations_from(reply, host).items, timestamp=at)
    if reply.mac:
        facts.bind(reply.mac, host, timestamp=at)


def _hello(payload: bytes) -> ProbeMatch:
    """A WS-Discovery Hello carries what a ProbeMatch does (WS-Discovery 2005/04 §4.1)."""
    root = parse_xml(payload, max_bytes=ws_discovery.MAX_REPLY_BYTES)
    hello = find_first(root, "Hello")
    if hello is None:
        raise ProbeParseError("neither a ProbeMatch nor a Hello")
    reference = find_first(hello, "EndpointReference")
    return ProbeMatch(
        relates_to=None,
        endpoint=child_text(reference, "Address") if reference is not None else None,
        types=tuple((child_text(hello, "Types") or "").split()[:64]),
        scopes=tuple((child_text(hello, "Scopes") or "").split()[:64]),
        xaddrs=tuple((child_text(hello, "XAddrs") or "").split()[:64]),
    )


def _ws_discovery(payload: bytes, host: IPv4Address, facts: Facts, at: float) -> None:
    if b"ProbeMatch" in payload:
        match = ws_discovery.parse_reply(payload)
    elif b"Hello" in payload:
        match = _hello(payload)
    else:
        return  # a Probe or Bye from someone: nothing about a device
    facts.adopt(ws_discovery.observations_from(match, host).items, timestamp=at)


def _ssdp(payload: bytes, host: IPv4Address, facts: Facts, at: float) -> None:
    if len(payload) > _MAX_SSDP_BYTES:
        raise ProbeParseError("SSDP message larger than 8 KiB")
    lines = payload.decode("latin-1").replace("\r\n", "\n").split("\n")
    start = lines[0].strip().upper()
    if start.startswith("M-SEARCH"):
        return  # a control point's question
    if not start.startswith(("NOTIFY", "HTTP/1.")):
        raise ProbeParseError(f"not an SSDP message: {lines[0][:40]!r}")
    if "ssdp:byebye" in payload.decode("latin-1").lower():
        return
    for line in lines[1:64]:
        name, colon, value = line.partition(":")
        target = _SSDP_FIELDS.get(name.strip().lower())
        if colon and target:
            facts.add(host, "upnp", target, value.strip(), timestamp=at, port=1900)


def _snmp(payload: bytes, host: IPv4Address, facts: Facts, at: float) -> None:
    """sysDescr and sysObjectID from a response to someone else's GET; the community is dropped."""
    if len(payload) > _MAX_SNMP_BYTES or not payload.startswith(b"\x30"):
        raise ProbeParseError("not a BER SEQUENCE")
    try:
        pdu = SNMP(payload).PDU
        if not isinstance(pdu, SNMPresponse):
            return
        varbinds = [(str(vb.oid.val), vb.value.val) for vb in pdu.varbindlist[:64]]
    # scapy's BER decoder raises many unrelated types on hostile input; all mean "not SNMP".
    except Exception as exc:  # noqa: BLE001
        raise ProbeParseError(f"undecodable SNMP: {type(exc).__name__}") from None
    for oid, value in varbinds:
        text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
        if oid == _SYS_DESCR:
            facts.add(host, "snmp", "sysdescr", text, timestamp=at, port=161)
        elif oid == _SYS_OBJECT_ID:
            facts.add(host, "snmp", "sysobjectid", text, timestamp=at, port=161)


def _option(options: list[object], name: str) -> object | None:
    for item in options:
        if isinstance(item, tuple) and item and item[0] == name and len(item) > 1:
            value: object = item[1]
            return value
    return None


def _text(value: object | None) -> str | None:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return None if value is None else str(value)


def dissect_dhcp(packet: BOOTP, facts: Facts, at: float) -> None:
    """Options 12 (host name), 55 (parameter list) and 60 (vendor class) of a DHCP client.

    The client has no address yet, so facts wait under its hardware address (chaddr) until an
    Ack, a requested address (option 50) or ARP ties it to one.
    """
    if not packet.haslayer(DHCP):
        return
    mac = bytes(packet.chaddr[:6]).hex()
    options = list(packet[DHCP].options)
    kind = _option(options, "message-type")
    if packet.op == 2 and kind == 5 and packet.yiaddr != "0.0.0.0":  # noqa: S104 - DHCPACK
        facts.bind(mac, IPv4Address(packet.yiaddr), timestamp=at)
        return
    if packet.op != 1:
        return
    requested = _option(options, "requested_addr")
    if isinstance(requested, str):
        facts.bind(mac, IPv4Address(requested), timestamp=at)
    elif packet.ciaddr != "0.0.0.0":  # noqa: S104
        facts.bind(mac, IPv4Address(packet.ciaddr), timestamp=at)
    for option, name in (("hostname", "hostname"), ("vendor_class_id", "vendor_class")):
        facts.add_for_mac(mac, "dhcp", name, _text(_option(options, option)), timestamp=at)
    params = _option(options, "param_req_list")
    facts.add_for_mac(mac, "dhcp", "param_list", _text(params), timestamp=at)


#: UDP source port → dissector (a device answers from its service port).
UDP_DISSECTORS: Final[dict[int, Dissector]] = {
    sadp.PORT: _sadp,
    dhip.PORT: _dhip,
    ws_discovery.PORT: _ws_discovery,
    1900: _ssdp,
    161: _snmp,
}
