"""Reading pcap and pcapng files with bounds: what a capture holds, never more than we can carry."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Final

from scapy.error import Scapy_Exception
from scapy.layers.l2 import Ether
from scapy.packet import Packet
from scapy.utils import PcapNgReader, PcapReader

__all__ = [
    "MAX_CAPTURE_BYTES",
    "MAX_PACKETS",
    "CaptureFormat",
    "CaptureReadError",
    "CapturedFrame",
    "detect_format",
    "read_frames",
]

#: A day of announcements on a busy segment fits; a capture of bulk video does not need to.
MAX_PACKETS: Final = 2_000_000
MAX_CAPTURE_BYTES: Final = 2 * 1024**3

_PCAP_MAGICS: Final = (
    b"\xd4\xc3\xb2\xa1",  # microsecond, little-endian
    b"\xa1\xb2\xc3\xd4",  # microsecond, big-endian
    b"\x4d\x3c\xb2\xa1",  # nanosecond, little-endian
    b"\xa1\xb2\x3c\x4d",  # nanosecond, big-endian
)
_PCAPNG_MAGIC: Final = b"\x0a\x0d\x0d\x0a"  # Section Header Block type


class CaptureFormat(StrEnum):
    """The two capture file formats tcpdump, tshark and Wireshark write."""

    PCAP = "pcap"
    PCAPNG = "pcapng"


class CaptureReadError(Exception):
    """The file is not a capture we can read (the message names why, in one line)."""


@dataclass(frozen=True, slots=True)
class CapturedFrame:
    """One link-layer frame and when it was seen (seconds since the epoch)."""

    packet: Packet
    timestamp: float


def detect_format(head: bytes) -> CaptureFormat | None:
    """Tell a capture by its first bytes (libpcap magic or the pcapng Section Header Block)."""
    if head[:4] in _PCAP_MAGICS:
        return CaptureFormat.PCAP
    if (
        head[:4] == _PCAPNG_MAGIC
        and len(head) >= 12
        and head[8:12]
        in {
            b"\x4d\x3c\x2b\x1a",
            b"\x1a\x2b\x3c\x4d",
        }
    ):
        return CaptureFormat.PCAPNG
    return None


def read_frames(
    path: Path, *, max_packets: int = MAX_PACKETS, max_bytes: int = MAX_CAPTURE_BYTES
) -> Iterator[CapturedFrame]:
    """Yield the Ethernet frames of a capture, up to ``max_packets`` and ``max_bytes``.

    Frames of other link types (Wi-Fi radiotap, Linux cooked capture) are skipped; a capture
    truncated mid-packet ends where it breaks, as tcpdump's own reader does.
    """
    try:
        with path.open("rb") as stream:
            head = stream.read(16)
    except OSError as exc:
        raise CaptureReadError(f"{path}: cannot read: {exc.strerror}") from None
    fmt = detect_format(head)
    if fmt is None:
        raise CaptureReadError(f"{path}: not a pcap or pcapng capture")
    reader_type = PcapReader if fmt is CaptureFormat.PCAP else PcapNgReader
    try:
        reader = reader_type(str(path))
    except (Scapy_Exception, OSError, ValueError, EOFError) as exc:
        raise CaptureReadError(f"{path}: unreadable {fmt} header: {str(exc)[:120]}") from None
    seen_bytes = 0
    with reader:
        for count, packet in enumerate(_packets(reader)):
            if count >= max_packets or seen_bytes >= max_bytes:
                return
            seen_bytes += len(packet)
            if isinstance(packet, Ether):
                yield CapturedFrame(packet, float(packet.time))


def _packets(reader: PcapReader | PcapNgReader) -> Iterator[Packet]:
    while True:
        try:
            packet = reader.read_packet()
        except EOFError:
            return
        # A record cut short, a block with a lying length: the capture ends there.
        except (Scapy_Exception, ValueError, OSError, MemoryError):
            return
        yield packet
