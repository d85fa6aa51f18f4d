"""The limitations statement: what this inquiry could and could not see, generated from the scan.

A §889 "reasonable inquiry" (FAR 4.2101) is only as good as what it looked at, so the report says
plainly what was not probed and what failed. The statement is derived from the probes that ran and
their status counts, never typed by hand, so it cannot drift from what the scan actually did.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

__all__ = [
    "LINK_LOCAL_PROBES",
    "MULTICAST_PROBES",
    "behind_recorder_limitations",
    "scan_limitations",
]

#: Probes that see only the scanner's own layer-2 segment (ARP, broadcast).
LINK_LOCAL_PROBES: Final = frozenset({"arp", "sadp", "dhip"})
#: Probes that rely on multicast discovery, which routers do not forward by default.
MULTICAST_PROBES: Final = frozenset({"ws_discovery", "upnp", "ssdp", "mdns"})
#: Protocols worth naming when absent: each carries maker evidence the others may miss.
_NAMED: Final = {
    "ws_discovery": "WS-Discovery (ONVIF multicast)",
    "onvif_device": "ONVIF GetDeviceInformation",
    "rtsp": "RTSP",
    "tls_certificate": "TLS certificates",
    "sadp": "Hikvision SADP",
    "dhip": "Dahua DHIP",
    "snmp": "SNMP",
    "nmap_service": "nmap service detection",
}
_OK: Final = frozenset({"success", "refused"})


def scan_limitations(
    probes: Sequence[str],
    status_counts: Mapping[str, Mapping[str, int]],
    *,
    credentials_used: bool = False,
) -> tuple[str, ...]:
    """The limitations statement for a scan that ran ``probes`` with these per-status counts."""
    ran = set(probes)
    notes = []
    if "arp" in ran:
        notes.append(
            "ARP sees only the scanner's own layer-2 segment; devices behind routers show no MAC "
            "address or MAC-prefix evidence."
        )
    else:
        notes.append("ARP not run: no MAC addresses or MAC-prefix evidence were collected.")
    multicast = sorted(ran & MULTICAST_PROBES)
    if multicast:
        notes.append(
            f"Multicast discovery ({', '.join(multicast)}) reaches only the scanner's own "
            "segment: multicast was not probed across routed subnets."
        )
    else:
        notes.append(
            "Multicast discovery (WS-Discovery) not run: devices that announce themselves only "
            "by multicast were found by unicast probes alone."
        )
    missing = [label for name, label in _NAMED.items() if name not in ran]
    if missing:
        notes.append(f"Not probed: {', '.join(missing)}. Those protocols contributed no evidence.")
    for probe in sorted(status_counts):
        counts = status_counts[probe]
        failed = sum(n for status, n in counts.items() if status not in _OK)
        if failed:
            total = sum(counts.values())
            detail = ", ".join(
                f"{n} {status}" for status, n in sorted(counts.items()) if status not in _OK
            )
            notes.append(
                f"{probe}: {failed} of {total} exchanges ended without a usable reply ({detail})."
            )
    if credentials_used:
        notes.append(
            "Credentials from the operator's file were used only where a device asked for a "
            "login and an entry named it; components inside a device (e.g. a HiSilicon SoC) "
            "are not seen."
        )
    else:
        notes.append(
            "No credentials were used: devices are identified from unauthenticated replies only, "
            "cameras behind recorders are not listed, and components inside a device (e.g. a "
            "HiSilicon SoC) are not seen."
        )
    notes.append(
        "A network inquiry cannot see devices that were powered off, offline, outside the scope "
        "or excluded, nor analogue (non-IP) cameras."
    )
    return tuple(notes)


#: Addresses named per statement; the rest are counted, so one statement stays readable.
_MAX_NAMED: Final = 40


def _named(items: Sequence[str]) -> str:
    shown = ", ".join(items[:_MAX_NAMED])
    extra = len(items) - _MAX_NAMED
    return shown + (f" and {extra} more" if extra > 0 else "")


def behind_recorder_limitations(
    logins: Mapping[str, Mapping[str, Sequence[str]]],
    unlisted_recorders: Sequence[tuple[str, str]],
    *,
    credentials_file: object | None = None,
) -> tuple[str, ...]:
    """Hosts examined without a login they asked for, and recorders whose cameras stay unseen.

    ``logins`` maps a host to ``required`` / ``rejected`` -> what asked; ``unlisted_recorders``
    holds (recorder, why) pairs. Only addresses and paths are named, never a credential.
    """
    notes = []
    required = sorted(
        (h for h, kinds in logins.items() if kinds.get("required") and not kinds.get("accepted")),
        key=_ip_order,
    )
    rejected = sorted((h for h, kinds in logins.items() if kinds.get("rejected")), key=_ip_order)
    source = (
        "no credentials file was given"
        if credentials_file is None
        else ("no entry of the credentials file names them")
    )
    if required:
        notes.append(
            f"Examined without credentials ({source}): {_named(required)} asked for a login, so "
            "their identity rests on unauthenticated replies."
        )
    if rejected:
        notes.append(f"Refused the login from the credentials file: {_named(rejected)}.")
    if unlisted_recorders:
        listed = [f"{label}: {why}" for label, why in unlisted_recorders]
        notes.append(
            "Recorders whose channel cameras could not be enumerated (cameras on a recorder's "
            f"internal PoE ports are invisible to the network): {'; '.join(listed[:_MAX_NAMED])}."
        )
    return tuple(notes)


def _ip_order(address: str) -> tuple[int, str]:
    parts = address.split(".")
    if len(parts) == 4 and all(p.isdigit() for p in parts):
        return (0, ".".join(p.zfill(3) for p in parts))
    return (1, address)
