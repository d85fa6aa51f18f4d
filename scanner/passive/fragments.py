"""Bounded IPv4 reassembly (RFC 791 §3.2): discovery replies larger than the MTU arrive in pieces.

A SADP or WS-Discovery reply of 2–4 KiB is fragmented on a 1500-byte segment; only the first
fragment carries the UDP header, so without reassembly the reply is unreadable. Datagrams stay
open until their last fragment arrives, at most ``MAX_OPEN`` at once and ``MAX_DATAGRAM`` bytes
each; the rest is counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from scapy.layers.inet import IP

__all__ = ["Reassembler"]

MAX_OPEN: Final = 4096
MAX_DATAGRAM: Final = 64 * 1024

_Key = tuple[str, str, int, int]


@dataclass(slots=True)
class _Pieces:
    header: IP | None = None
    parts: dict[int, bytes] = field(default_factory=dict)
    total: int | None = None

    def complete(self) -> bytes | None:
        if self.total is None or self.header is None:
            return None
        data = bytearray()
        for offset in sorted(self.parts):
            if offset > len(data):
                return None  # a hole: wait for the missing fragment
            data[offset:] = self.parts[offset]
        return bytes(data) if len(data) >= self.total else None


@dataclass(slots=True)
class Reassembler:
    """Feed every IPv4 packet; get back whole datagrams (unfragmented ones pass through)."""

    open: dict[_Key, _Pieces] = field(default_factory=dict)
    dropped: int = 0

    def feed(self, packet: IP) -> IP | None:
        """The whole datagram once it is complete, else None."""
        offset = int(packet.frag) * 8
        more = bool(packet.flags.MF)
        if not more and offset == 0:
            return packet
        key = (str(packet.src), str(packet.dst), int(packet.id), int(packet.proto))
        pieces = self.open.get(key)
        if pieces is None:
            if len(self.open) >= MAX_OPEN:
                self.dropped += 1
                return None
            pieces = self.open[key] = _Pieces()
        payload = bytes(packet.payload)[: max(0, MAX_DATAGRAM - offset)]
        pieces.parts.setdefault(offset, payload)
        if offset == 0:
            pieces.header = packet
        if not more:
            pieces.total = offset + len(payload)
        whole = pieces.complete()
        if whole is None:
            return None
        del self.open[key]
        header = pieces.header
        if header is None:  # complete() returned data, so a first fragment exists
            return None
        rebuilt = header.copy()
        rebuilt.remove_payload()
        rebuilt.flags = 0
        rebuilt.frag = 0
        rebuilt.len = None
        rebuilt.chksum = None
        return IP(bytes(rebuilt / whole))
