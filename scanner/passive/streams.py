"""Bounded TCP reassembly: the first bytes each side of a connection sent, in sequence order.

Only the head of a stream carries what identifies a server (an HTTP or RTSP status line and
headers, a TLS Certificate message), so each direction keeps its first ``MAX_STREAM_BYTES`` and
the table keeps at most ``MAX_STREAMS`` directions; the rest is counted, not stored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Address
from typing import Final

__all__ = ["MAX_STREAMS", "MAX_STREAM_BYTES", "StreamKey", "StreamTable", "TcpStream"]

MAX_STREAM_BYTES: Final = 64 * 1024
MAX_STREAMS: Final = 20_000
#: Segments held out of order before the gap is given up (a lost segment in the capture).
MAX_PENDING_SEGMENTS: Final = 64


@dataclass(frozen=True, slots=True)
class StreamKey:
    """One direction of one connection: who sent these bytes, to whom."""

    source: IPv4Address
    source_port: int
    destination: IPv4Address
    destination_port: int


@dataclass(slots=True)
class TcpStream:
    """The contiguous head of one direction, assembled from its segments."""

    first_seen: float
    next_seq: int | None = None
    data: bytearray = field(default_factory=bytearray)
    pending: dict[int, bytes] = field(default_factory=dict)
    full: bool = False

    def add(self, seq: int, payload: bytes, *, syn: bool) -> None:
        """Place one segment; bytes before the stream's start or beyond its cap are dropped."""
        if syn:
            self.next_seq = (seq + 1) & 0xFFFFFFFF
            return
        if not payload or self.full:
            return
        if self.next_seq is None:  # capture started mid-connection: take the first segment seen
            self.next_seq = seq
        offset = (seq - self.next_seq) & 0xFFFFFFFF
        if offset >= 0x80000000:  # a retransmission of bytes already placed
            overlap = (self.next_seq - seq) & 0xFFFFFFFF
            if overlap >= len(payload):
                return
            payload, seq, offset = payload[overlap:], self.next_seq, 0
        if offset:
            if len(self.pending) < MAX_PENDING_SEGMENTS:
                self.pending.setdefault(seq, payload)
            return
        self._append(payload)
        while self.next_seq in self.pending and not self.full:
            self._append(self.pending.pop(self.next_seq))

    def _append(self, payload: bytes) -> None:
        room = MAX_STREAM_BYTES - len(self.data)
        self.data.extend(payload[:room])
        self.next_seq = ((self.next_seq or 0) + len(payload)) & 0xFFFFFFFF
        if len(self.data) >= MAX_STREAM_BYTES:
            self.full = True
            self.pending.clear()


@dataclass(slots=True)
class StreamTable:
    """Every direction seen, up to ``MAX_STREAMS``; later ones are counted as dropped."""

    streams: dict[StreamKey, TcpStream] = field(default_factory=dict)
    dropped: int = 0

    def add(self, key: StreamKey, seq: int, payload: bytes, *, syn: bool, at: float) -> None:
        """Feed one segment of direction ``key``."""
        stream = self.streams.get(key)
        if stream is None:
            if not payload and not syn:
                return  # a bare ACK opens nothing worth keeping
            if len(self.streams) >= MAX_STREAMS:
                self.dropped += 1
                return
            stream = self.streams[key] = TcpStream(first_seen=at)
        stream.add(seq, payload, syn=syn)
