"""Passive discovery: what devices announce or answer to others, read from a capture, never sent.

A capture (a pcap/pcapng file, or one recorded for a bounded time by ``ndaa-scan listen``) is
read packet by packet and each recognised announcement or reply becomes the same observations a
sweep's probes would have produced, so identification, inventory and exports need nothing new:

* link layer: ARP (address → MAC), LLDP and CDP (system name, description, platform);
* UDP: SADP, DHIP, WS-Discovery (Hello and ProbeMatch), SSDP (NOTIFY and M-SEARCH replies),
  DHCP (options 12, 55 and 60), SNMP responses (sysDescr, sysObjectID);
* TCP: HTTP and RTSP response heads and TLS ≤ 1.2 certificates from reassembled, bounded streams.
"""

from scanner.passive.capture_file import CaptureFormat, CaptureReadError, detect_format
from scanner.passive.observe import PassiveSummary, observe_capture

__all__ = [
    "CaptureFormat",
    "CaptureReadError",
    "PassiveSummary",
    "detect_format",
    "observe_capture",
]
