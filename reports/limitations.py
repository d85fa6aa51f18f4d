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


#: Every statement is one report line, capped at 256 characters by the inventory.
_STATEMENT_CHARS: Final = 250


def _chunked(prefix: str, items: Sequence[str], suffix: str) -> list[str]:
    """``prefix + items + suffix`` split into statements that each fit on one report line."""
    statements: list[str] = []
    current: list[str] = []
    for item in items:
        trial = f"{prefix}{', '.join([*current, item])}{suffix}"
        if current and len(trial) > _STATEMENT_CHARS:
            statements.append(f"{prefix}{', '.join(current)}{suffix}")
            current = []
        current.append(item)
    if current:
        statements.append(f"{prefix}{', '.join(current)}{suffix}")
    return statements


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
    notes: list[str] = []
    required = sorted(
        (h for h, kinds in logins.items() if kinds.get("required") and not kinds.get("accepted")),
        key=_ip_order,
    )
    rejected = sorted((h for h, kinds in logins.items() if kinds.get("rejected")), key=_ip_order)
    why = "no credentials file" if credentials_file is None else "no entry names them"
    notes.extend(
        _chunked(f"Examined without credentials ({why}; asked for a login): ", required, ".")
    )
    notes.extend(_chunked("Refused the login from the credentials file: ", rejected, "."))
    notes.extend(
        f"Recorder {label}: its channel cameras (on its internal PoE ports, invisible to the "
        f"network) could not be enumerated; it {reason}."
        for label, reason in unlisted_recorders
    )
    return tuple(notes)


def _ip_order(address: str) -> tuple[int, str]:
    parts = address.split(".")
    if len(parts) == 4 and all(p.isdigit() for p in parts):
        return (0, ".".join(p.zfill(3) for p in parts))
    return (1, address)
