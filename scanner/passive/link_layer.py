"""Link-layer announcements: ARP (address ↔ MAC), LLDP and CDP (what a device says it is).

LLDP (IEEE 802.1AB §8.5) and CDP TLVs are read by hand from the frame bytes: both are plain
type-length-value lists, and a hostile length must end the walk, not raise from a dissector.
"""

from __future__ import annotations

from collections.abc import Iterator
from ipaddress import IPv4Address
from typing import Final

from scapy.layers.l2 import ARP

from scanner.passive.facts import Facts

__all__ = ["CDP_MAC", "LLDP_ETHERTYPE", "dissect_arp", "dissect_cdp", "dissect_lldp"]

LLDP_ETHERTYPE: Final = 0x88CC
CDP_MAC: Final = "01:00:0c:cc:cc:cc"
_MAX_TLVS: Final = 64
_LLDP_FIELDS: Final = {5: "sysname", 6: "sysdescr"}
_CDP_FIELDS: Final = {0x0001: "device_id", 0x0005: "software", 0x0006: "platform"}
_CDP_ADDRESSES: Final = 0x0002
_SNAP_CDP: Final = b"\xaa\xaa\x03\x00\x00\x0c\x20\x00"


def dissect_arp(packet: ARP, facts: Facts, at: float) -> None:
    """Every ARP sender (request or reply) states its address and MAC."""
    sender = str(packet.psrc)
    if sender in {"0.0.0.0", ""}:  # noqa: S104 - an address probe (RFC 5227), no binding yet
        return
    facts.bind(str(packet.hwsrc), IPv4Address(sender), timestamp=at)


def _lldp_tlvs(data: bytes) -> Iterator[tuple[int, bytes]]:
    pos = 0
    for _ in range(_MAX_TLVS):
        if pos + 2 > len(data):
            return
        header = int.from_bytes(data[pos : pos + 2], "big")
        kind, length = header >> 9, header & 0x1FF
        if kind == 0 or pos + 2 + length > len(data):
            return  # End of LLDPDU, or a length running past the frame
        yield kind, data[pos + 2 : pos + 2 + length]
        pos += 2 + length


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "replace").strip("\x00 ")


def dissect_lldp(source_mac: str, data: bytes, facts: Facts, at: float) -> None:
    """System name and description, keyed by the chassis MAC (or the frame's source MAC)."""
    mac = source_mac
    address: IPv4Address | None = None
    found: list[tuple[str, str]] = []
    for kind, value in _lldp_tlvs(data):
        if kind == 1 and len(value) == 7 and value[0] == 4:  # chassis ID, subtype MAC address
            mac = value[1:].hex()
        elif kind in _LLDP_FIELDS:
            found.append((_LLDP_FIELDS[kind], _text(value)))
        elif kind == 8 and len(value) >= 6 and value[0] == 5 and value[1] == 1:
            address = IPv4Address(value[2:6])  # management address, IANA family 1 = IPv4
    if address is not None:
        facts.bind(mac, address, timestamp=at)
    for name, text in found:
        facts.add_for_mac(mac, "lldp", name, text, timestamp=at)


def _cdp_tlvs(data: bytes) -> Iterator[tuple[int, bytes]]:
    pos = 4  # version, TTL, checksum
    for _ in range(_MAX_TLVS):
        if pos + 4 > len(data):
            return
        kind = int.from_bytes(data[pos : pos + 2], "big")
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        if length < 4 or pos + length > len(data):
            return
        yield kind, data[pos + 4 : pos + length]
        pos += length


def _cdp_ipv4(value: bytes) -> IPv4Address | None:
    """The first IPv4 address of a CDP Addresses TLV (NLPID 0xcc)."""
    pos = 4
    if pos + 2 > len(value):
        return None
    proto_len = value[pos + 1]
    start = pos + 2 + proto_len
    if value[pos + 2 : start] != b"\xcc" or start + 2 > len(value):
        return None
    addr_len = int.from_bytes(value[start : start + 2], "big")
    raw = value[start + 2 : start + 2 + addr_len]
    return IPv4Address(raw) if addr_len == 4 and len(raw) == 4 else None


def dissect_cdp(source_mac: str, frame_payload: bytes, facts: Facts, at: float) -> None:
    """Device ID, software version and platform from a CDP frame (802.3 + LLC/SNAP)."""
    if not frame_payload.startswith(_SNAP_CDP):
        return
    data = frame_payload[len(_SNAP_CDP) :]
    found: list[tuple[str, str]] = []
    for kind, value in _cdp_tlvs(data):
        if kind in _CDP_FIELDS:
            found.append((_CDP_FIELDS[kind], _text(value)))
        elif kind == _CDP_ADDRESSES and (address := _cdp_ipv4(value)) is not None:
            facts.bind(source_mac, address, timestamp=at)
    for name, text in found:
        facts.add_for_mac(source_mac, "cdp", name, text, timestamp=at)
