"""Frames for the passive tests, built around captured reply bytes from tests/data/captures."""

from __future__ import annotations

from pathlib import Path

from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.l2 import ARP, Ether
from scapy.packet import Packet, Raw

CAPTURES = Path(__file__).parents[2] / "data" / "captures"
SCANNER_MAC = "02:00:00:00:00:01"
SCANNER = "198.18.0.1"


def capture(name: str) -> bytes:
    return (CAPTURES / name).read_bytes()


def arp_reply(address: str, mac: str) -> Packet:
    return Ether(src=mac, dst=SCANNER_MAC) / ARP(
        op=2, hwsrc=mac, psrc=address, hwdst=SCANNER_MAC, pdst=SCANNER
    )


def tcp_reply(
    address: str, port: int, data: bytes, *, mac: str, segments: int = 1, reverse: bool = False
) -> list[Packet]:
    """A server's SYN-ACK and its reply cut into ``segments`` (optionally sent in reverse)."""
    isn = 1_000_000
    base = Ether(src=mac, dst=SCANNER_MAC) / IP(src=address, dst=SCANNER)
    frames = [base / TCP(sport=port, dport=40000, flags="SA", seq=isn)]
    size = max(1, -(-len(data) // segments))
    pieces = [
        base
        / TCP(sport=port, dport=40000, flags="PA", seq=isn + 1 + offset)
        / Raw(data[offset : offset + size])
        for offset in range(0, len(data), size)
    ]
    frames.extend(reversed(pieces) if reverse else pieces)
    return frames


def udp_from(
    address: str,
    sport: int,
    payload: bytes,
    *,
    dst: str = SCANNER,
    dport: int = 40001,
    mac: str = "02:00:00:00:00:99",
) -> Packet:
    return (
        Ether(src=mac, dst=SCANNER_MAC)
        / IP(src=address, dst=dst)
        / UDP(sport=sport, dport=dport)
        / Raw(payload)
    )
