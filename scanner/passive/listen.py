"""``listen``: record what crosses an interface for a bounded time, sending nothing.

The capture is scapy's listening socket (AF_PACKET, receive only) with a deadline and a packet
cap; frames go to a pcap file as they arrive, so an interrupted listen keeps what it heard and
the file can be re-read later with ``ndaa-scan import``.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Final

from scapy.error import Scapy_Exception
from scapy.packet import Packet
from scapy.sendrecv import sniff
from scapy.utils import PcapWriter

__all__ = ["MAX_LISTEN_S", "ListenError", "listen"]

#: A day: long enough to hear every periodic announcement (SSDP NOTIFY, LLDP, DHCP renewals).
MAX_LISTEN_S: Final = 86_400.0
MAX_LISTEN_PACKETS: Final = 2_000_000
#: Headers and the first bytes of payload carry every fact passive mode reads.
SNAPLEN: Final = 4096


class ListenError(Exception):
    """The capture could not start (no such interface, no permission)."""


def listen(
    interface: str,
    duration_s: float,
    out_file: Path,
    *,
    max_packets: int = MAX_LISTEN_PACKETS,
) -> int:
    """Capture on ``interface`` for ``duration_s`` seconds into ``out_file``; return the count."""
    if not 0 < duration_s <= MAX_LISTEN_S:
        raise ListenError(f"duration must be between 0 and {MAX_LISTEN_S:.0f} seconds")
    try:
        # Asks the kernel of this namespace (sysfs would show the namespace it was mounted in).
        socket.if_nametoindex(interface)
    except OSError:
        raise ListenError(f"no interface {interface!r} in this network namespace") from None
    count = 0
    with PcapWriter(str(out_file), linktype=1, sync=True, snaplen=SNAPLEN) as writer:

        def keep(packet: Packet) -> None:
            nonlocal count
            count += 1
            writer.write(packet)

        try:
            # scapy's sniff stops at the timeout or the count, and on Ctrl-C returns what it has.
            sniff(iface=interface, prn=keep, store=False, count=max_packets, timeout=duration_s)
        except (OSError, Scapy_Exception) as exc:
            raise ListenError(f"cannot capture on {interface}: {exc}") from None
    return count
