"""A capture in, observations out: the passive stage's one entry point.

Frames are dispatched by what they are (ARP, LLDP, CDP, UDP by service port, TCP into bounded
streams); every dissector failure is counted per protocol and the walk goes on, so one hostile
packet costs one count, never the capture.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from ipaddress import IPv4Address
from pathlib import Path
from typing import Final

from pydantic import BaseModel, ConfigDict
from scapy.layers.dhcp import BOOTP
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.l2 import ARP
from scapy.packet import Packet

from scanner.errors import ProbeParseError
from scanner.passive.capture_file import MAX_PACKETS, CapturedFrame, read_frames
from scanner.passive.datagrams import UDP_DISSECTORS, dissect_dhcp
from scanner.passive.facts import PASSIVE_PROBE, Facts
from scanner.passive.fragments import Reassembler
from scanner.passive.link_layer import (
    CDP_MAC,
    LLDP_ETHERTYPE,
    dissect_arp,
    dissect_cdp,
    dissect_lldp,
)
from scanner.passive.payloads import dissect_stream
from scanner.passive.streams import StreamKey, StreamTable
from scanner.results import ProbeResult, ProbeStatus

__all__ = ["PassiveSummary", "observe_capture"]

#: Service ports devices announce themselves to (SSDP, WS-Discovery, SADP, DHIP).
_ANNOUNCE_PORTS: Final = frozenset({1900, 3702, 37020, 37810})
_DHCP_PORTS: Final = frozenset({67, 68})


class PassiveSummary(BaseModel):
    """What a capture held and what was made of it: the inventory's passive limitations."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    source: str
    frames: int
    first_seen: datetime | None
    last_seen: datetime | None
    recognised: dict[str, int]
    unreadable: dict[str, int]
    tls13_streams: int
    streams_dropped: int
    unplaced_facts: int
    hit_packet_cap: bool
    results: tuple[ProbeResult, ...]

    def limitations(self) -> tuple[str, ...]:
        """Plain statements of what passive evidence can and cannot show, from the counts."""
        window = (
            f"from {self.first_seen:%Y-%m-%d %H:%M:%S} to {self.last_seen:%Y-%m-%d %H:%M:%S} UTC"
            if self.first_seen and self.last_seen
            else "(no frames)"
        )
        lines = [
            f"Passive mode: no packet was sent. Evidence is only what devices announced or "
            f"answered to other hosts in {self.source}: {self.frames} frames {window}.",
            "A device that stayed silent in that window, or whose traffic did not pass this "
            "capture point, is not in this inventory.",
        ]
        seen = ", ".join(f"{name} {count}" for name, count in sorted(self.recognised.items()))
        lines.append(f"Messages read: {seen or 'none'}.")
        if self.unreadable:
            bad = ", ".join(f"{name} {count}" for name, count in sorted(self.unreadable.items()))
            lines.append(f"Messages that could not be parsed (counted, not used): {bad}.")
        if self.tls13_streams:
            lines.append(
                f"{self.tls13_streams} TLS 1.3 sessions: their certificates are encrypted and "
                "were not read."
            )
        if self.streams_dropped:
            lines.append(f"{self.streams_dropped} TCP connections beyond the stream cap not read.")
        if self.unplaced_facts:
            lines.append(
                f"{self.unplaced_facts} facts (DHCP, LLDP, CDP) came from MAC addresses the "
                "capture never tied to an IP address and are not in the inventory."
            )
        if self.hit_packet_cap:
            lines.append(f"The capture was read up to its first {MAX_PACKETS} frames only.")
        return tuple(lines)


class _Walk:
    """The state of one pass over a capture."""

    def __init__(self) -> None:
        self.facts = Facts()
        self.streams = StreamTable()
        self.fragments = Reassembler()
        self.recognised: Counter[str] = Counter()
        self.unreadable: Counter[str] = Counter()
        self.frames = 0
        self.first: float | None = None
        self.last: float | None = None

    def frame(self, captured: CapturedFrame) -> None:
        self.frames += 1
        at = captured.timestamp
        self.first = at if self.first is None else min(self.first, at)
        self.last = at if self.last is None else max(self.last, at)
        packet = captured.packet
        try:
            self._dispatch(packet, at)
        # scapy builds layers lazily; a hostile frame can raise from any attribute access.
        except Exception:  # noqa: BLE001
            self.unreadable["frame"] += 1

    def _dispatch(self, packet: Packet, at: float) -> None:
        if packet.haslayer(ARP):
            dissect_arp(packet[ARP], self.facts, at)
            self.recognised["arp"] += 1
        elif packet.type == LLDP_ETHERTYPE:
            dissect_lldp(str(packet.src), bytes(packet.payload), self.facts, at)
            self.recognised["lldp"] += 1
        elif str(packet.dst).lower() == CDP_MAC:
            dissect_cdp(str(packet.src), bytes(packet.payload), self.facts, at)
            self.recognised["cdp"] += 1
        elif packet.haslayer(IP):
            whole = self.fragments.feed(packet[IP])
            if whole is not None:
                self._ip(whole, at)

    def _ip(self, ip: IP, at: float) -> None:
        if ip.haslayer(UDP):
            self._udp(ip, ip[UDP], at)
        elif ip.haslayer(TCP):
            segment = ip[TCP]
            key = StreamKey(
                IPv4Address(ip.src), int(segment.sport), IPv4Address(ip.dst), int(segment.dport)
            )
            self.streams.add(
                key, int(segment.seq), bytes(segment.payload), syn=bool(segment.flags.S), at=at
            )

    def _udp(self, ip: IP, datagram: UDP, at: float) -> None:
        sport, dport = int(datagram.sport), int(datagram.dport)
        if sport in _DHCP_PORTS and dport in _DHCP_PORTS and datagram.haslayer(BOOTP):
            dissect_dhcp(datagram[BOOTP], self.facts, at)
            self.recognised["dhcp"] += 1
            return
        port = sport if sport in UDP_DISSECTORS else None
        if port is None and dport in _ANNOUNCE_PORTS:
            # Announcements (multicast, broadcast) go to the service port from any source port;
            # the dissectors ignore a client's own questions sent there.
            port = dport
        if port is None:
            return
        name = UDP_DISSECTORS[port].__name__.lstrip("_")
        try:
            UDP_DISSECTORS[port](bytes(datagram.payload), IPv4Address(ip.src), self.facts, at)
        except ProbeParseError:
            self.unreadable[name] += 1
            return
        self.recognised[name] += 1

    def finish_streams(self) -> int:
        tls13 = 0
        for key, stream in self.streams.streams.items():
            if not stream.data:
                continue
            try:
                outcome = dissect_stream(
                    bytes(stream.data), key.source, key.source_port, self.facts, stream.first_seen
                )
            except ProbeParseError:
                self.unreadable["tcp stream"] += 1
                continue
            if outcome.protocol:
                self.recognised[outcome.protocol] += 1
            tls13 += outcome.tls13
        return tls13


def _when(timestamp: float | None) -> datetime | None:
    return None if timestamp is None else datetime.fromtimestamp(timestamp, tz=UTC)


def observe_capture(path: Path, *, max_packets: int = MAX_PACKETS) -> PassiveSummary:
    """Read a pcap/pcapng file into one success result per host that said anything.

    Raises :class:`~scanner.passive.capture_file.CaptureReadError` if it is not a capture.
    """
    walk = _Walk()
    for captured in read_frames(path, max_packets=max_packets):
        walk.frame(captured)
    tls13 = walk.finish_streams()
    results = []
    for host in sorted(walk.facts.by_host):
        observations = tuple(obs for items in walk.facts.by_host[host].values() for obs in items)
        results.append(
            ProbeResult(
                probe=PASSIVE_PROBE,
                target=str(host),
                status=ProbeStatus.SUCCESS,
                started_at=min(obs.observed_at for obs in observations),
                elapsed_s=0.0,
                observations=observations,
            )
        )
    return PassiveSummary(
        source=path.name,
        frames=walk.frames,
        first_seen=_when(walk.first),
        last_seen=_when(walk.last),
        recognised=dict(walk.recognised),
        unreadable=dict(walk.unreadable),
        tls13_streams=tls13,
        streams_dropped=walk.streams.dropped,
        unplaced_facts=walk.facts.unplaced(),
        hit_packet_cap=walk.frames >= max_packets,
        results=tuple(results),
    )
