"""The limitations statement: what this inquiry could and could not see, generated from the scan.

A §889 "reasonable inquiry" (FAR 4.2101) is only as good as what it looked at, so the report says
plainly what was not probed and what failed. The statement is derived from the probes that ran and
their status counts, never typed by hand, so it cannot drift from what the scan actually did.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping, Sequence
from ipaddress import IPv4Address, IPv4Network
from typing import Final

from pydantic import BaseModel, ConfigDict

from scanner.results import ABSENT_STATUSES, ANSWERED_STATUSES, ProbeResult, ProbeStatus

__all__ = [
    "LINK_LOCAL_PROBES",
    "MULTICAST_PROBES",
    "LivenessFacts",
    "liveness_facts",
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
#: Statuses that are not failures: an answer, a service simply not offered, a deliberate
#: skip (stated on its own) or a refusal to leave the scope. Anything else, including a status
#: this module does not know, is counted as a failure.
_NOT_FAILED: Final = frozenset(
    s.value
    for s in (*ANSWERED_STATUSES, *ABSENT_STATUSES, ProbeStatus.SKIPPED, ProbeStatus.OUT_OF_SCOPE)
)
#: Discovery probes that are also sent by unicast to every live host.
_UNICAST_DISCOVERY: Final = frozenset({"ws_discovery", "sadp", "dhip"})
_LIVENESS_PORTS: Final = "80/554/443/8000/37777"
_SHOWN_NETWORKS: Final = 8


class LivenessFacts(BaseModel):
    """What the ICMP/TCP liveness probe did, summed from its per-/24 rows."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    targets: int = 0
    icmp_asked: int = 0
    icmp_answered: int = 0
    tcp_checked: int = 0
    tcp_answered: int = 0
    tcp_skipped: int = 0
    live: int = 0
    skipped_networks: tuple[str, ...] = ()


def liveness_facts(results: Iterable[ProbeResult]) -> LivenessFacts:
    """Sum the liveness rows of a sweep (per-host ``success`` rows and per-/24 summaries)."""
    totals: dict[str, int] = {}
    live_hosts: list[str] = []
    summarised: set[IPv4Network] = set()
    skipped: list[str] = []
    for result in results:
        if result.probe != "liveness":
            continue
        if result.status is ProbeStatus.SUCCESS:
            live_hosts.append(result.target.split(":", 1)[0])
        if not result.counts:
            continue
        for key, value in result.counts.items():
            totals[key] = totals.get(key, 0) + value
        with contextlib.suppress(ValueError):
            summarised.add(IPv4Network(result.target))
        if result.counts.get("tcp_skipped"):
            skipped.append(result.target)
    # A /24 whose targets all answered has no summary row: its live hosts are its targets.
    unsummarised = sum(
        1 for host in live_hosts if not any(IPv4Address(host) in net for net in summarised)
    )
    return LivenessFacts(
        targets=totals.get("targets", 0) + unsummarised,
        icmp_asked=totals.get("icmp_asked", 0),
        icmp_answered=totals.get("icmp_answered", 0),
        tcp_checked=totals.get("tcp_checked", 0),
        tcp_answered=totals.get("tcp_answered", 0),
        tcp_skipped=totals.get("tcp_skipped", 0),
        live=len(live_hosts),
        skipped_networks=tuple(skipped),
    )


def _liveness_note(facts: LivenessFacts) -> str:
    if facts.targets == 0:
        return "ICMP/TCP liveness had nothing to ask: ARP covered every target (or none was left)."
    parts = [f"Liveness beyond ARP asked {facts.targets} targets"]
    if facts.icmp_asked:
        parts.append(f"ICMP echo to {facts.icmp_asked}")
    else:
        parts.append("no ICMP echo (it needs root)")
    parts.append(
        f"TCP connects to {_LIVENESS_PORTS} on {facts.tcp_checked} silent targets, decided "
        "per target"
    )
    note = "; ".join(parts) + f"; {facts.live} answered."
    if facts.tcp_skipped:
        shown = ", ".join(facts.skipped_networks[:_SHOWN_NETWORKS])
        more = len(facts.skipped_networks) - _SHOWN_NETWORKS
        note += (
            f" {facts.tcp_skipped} silent targets were not TCP-checked (the fallback is capped) "
            f"and were not probed further: {shown}"
            + (f" and {more} more" if more > 0 else "")
            + "."
        )
    else:
        note += " Targets that answered neither were not probed further."
    return note


def scan_limitations(
    probes: Sequence[str],
    status_counts: Mapping[str, Mapping[str, int]],
    *,
    liveness: LivenessFacts | None = None,
    onvif_credentials: bool = False,
) -> tuple[str, ...]:
    """The limitations statement for a scan that ran ``probes`` with these per-status counts.

    ``liveness`` (from :func:`liveness_facts`) says what the ICMP/TCP liveness probe did; the
    sweep passes it, an import or a hand-built inventory does not know it.
    """
    ran = set(probes)
    notes = []
    if "arp" in ran:
        notes.append(
            "ARP sees only the scanner's own layer-2 segment; devices behind routers show no MAC "
            "address or MAC-prefix evidence."
        )
    else:
        notes.append("ARP not run: no MAC addresses or MAC-prefix evidence were collected.")
    if "liveness" in ran and liveness is not None:
        notes.append(_liveness_note(liveness))
    elif "liveness" not in ran:
        notes.append(
            "ICMP/TCP liveness not run: only hosts that ARP or discovery found were probed."
        )
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
    if ran & _UNICAST_DISCOVERY:
        notes.append(
            f"{', '.join(sorted(ran & _UNICAST_DISCOVERY))} were also sent by unicast to every "
            "live host, so routed subnets were asked; multicast went only onto a segment the "
            "scope covers in full."
        )
    missing = [label for name, label in _NAMED.items() if name not in ran]
    if missing:
        notes.append(f"Not probed: {', '.join(missing)}. Those protocols contributed no evidence.")
    notes.extend(_status_notes(status_counts))
    if onvif_credentials:
        notes.append(
            "ONVIF credentials were supplied for GetDeviceInformation; every other probe was "
            "unauthenticated."
        )
    else:
        notes.append(
            "No credentials were used: devices are identified from unauthenticated replies only, "
            "and components inside a device (e.g. a HiSilicon SoC) are not seen."
        )
    notes.append(
        "A network inquiry cannot see devices that were powered off, offline, outside the scope "
        "or excluded, nor analogue (non-IP) cameras."
    )
    return tuple(notes)


def _status_notes(status_counts: Mapping[str, Mapping[str, int]]) -> list[str]:
    """Real failures per probe, and the endpoints that wanted credentials."""
    notes = []
    for probe in sorted(status_counts):
        if probe == "liveness":
            continue  # its rows are summaries, stated by the liveness note
        counts = status_counts[probe]
        failed = sum(n for status, n in counts.items() if status not in _NOT_FAILED)
        if failed:
            total = sum(counts.values())
            detail = ", ".join(
                f"{n} {status}" for status, n in sorted(counts.items()) if status not in _NOT_FAILED
            )
            notes.append(
                f"{probe}: {failed} of {total} exchanges ended without a usable reply ({detail})."
            )
        locked = counts.get(ProbeStatus.AUTH_REQUIRED.value, 0)
        if locked:
            notes.append(
                f"{probe}: {locked} endpoints refused without credentials (auth_required); only "
                "their challenges and faults are evidence."
            )
    return notes
