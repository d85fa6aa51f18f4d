"""The collector every dissector writes to: facts per host, and facts waiting for an address.

Passive capture often knows a MAC before it knows the address behind it (a DHCP Discover, an
LLDP frame). Such facts wait under the MAC and are placed once the capture ties that MAC to an
address (ARP, a DHCP Ack, an LLDP management address); the ones never placed are counted.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from ipaddress import IPv4Address
from typing import Final

from scanner.results import Observation, normalize_mac

__all__ = ["PASSIVE_PROBE", "Facts"]

#: The probe name passive observations carry, so a reader can tell them from a sweep's.
PASSIVE_PROBE: Final = "passive"
#: One chatty host does not get to fill the inventory with variations of its banner.
MAX_FACTS_PER_HOST: Final = 512


def _at(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, tz=UTC)


def _usable(address: IPv4Address) -> bool:
    return not (
        address.is_unspecified or address.is_multicast or address.is_loopback
    ) and address != IPv4Address("255.255.255.255")


@dataclass(frozen=True, slots=True)
class _Waiting:
    protocol: str
    field: str
    value: str
    port: int | None
    timestamp: float


@dataclass(slots=True)
class Facts:
    """Observations per (host, protocol), deduplicated, plus MAC-keyed facts not yet placed."""

    by_host: dict[IPv4Address, dict[str, list[Observation]]] = field(
        default_factory=lambda: defaultdict(dict)
    )
    address_of_mac: dict[str, IPv4Address] = field(default_factory=dict)
    waiting: dict[str, list[_Waiting]] = field(default_factory=lambda: defaultdict(list))
    _seen: set[tuple[IPv4Address, str, str, str]] = field(default_factory=set)

    def add(
        self,
        host: IPv4Address,
        protocol: str,
        name: str,
        value: object | None,
        *,
        timestamp: float,
        port: int | None = None,
        mac: str | None = None,
    ) -> None:
        """Record ``protocol.name = value`` for ``host`` unless empty, duplicate or unusable."""
        if value is None or not _usable(host):
            return
        text = " ".join(str(value).split())
        if not text or (host, protocol, name, text) in self._seen:
            return
        per_protocol = self.by_host[host]
        if sum(len(items) for items in per_protocol.values()) >= MAX_FACTS_PER_HOST:
            return
        self._seen.add((host, protocol, name, text))
        per_protocol.setdefault(protocol, []).append(
            Observation(
                host=host,
                protocol=protocol,
                field=name,
                value=text,
                mac=mac,
                port=port,
                probe=PASSIVE_PROBE,
                observed_at=_at(timestamp),
            )
        )

    def adopt(self, observations: list[Observation], *, timestamp: float) -> None:
        """Take a probe parser's observations as passive ones, stamped with the packet time."""
        for obs in observations:
            self.add(
                obs.host,
                obs.protocol,
                obs.field,
                obs.value,
                timestamp=timestamp,
                port=obs.port,
                mac=obs.mac,
            )

    def bind(self, mac: str, host: IPv4Address, *, timestamp: float) -> None:
        """Tie a MAC to an address (ARP, DHCP Ack): record it and place facts waiting on it."""
        if not _usable(host):
            return
        try:
            mac = normalize_mac(mac)
        except ValueError:
            return
        if mac in {"00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff"}:
            return
        self.address_of_mac.setdefault(mac, host)
        self.add(host, "mac", "mac", mac, timestamp=timestamp, mac=mac)
        for fact in self.waiting.pop(mac, []):
            self.add(
                host,
                fact.protocol,
                fact.field,
                fact.value,
                timestamp=fact.timestamp,
                port=fact.port,
                mac=mac,
            )

    def add_for_mac(
        self,
        mac: str,
        protocol: str,
        name: str,
        value: object | None,
        *,
        timestamp: float,
        port: int | None = None,
    ) -> None:
        """Record a fact about the device with ``mac``, now or once its address is known."""
        try:
            mac = normalize_mac(mac)
        except ValueError:
            return
        if value is None:
            return
        if (host := self.address_of_mac.get(mac)) is not None:
            self.add(host, protocol, name, value, timestamp=timestamp, port=port, mac=mac)
            return
        bucket = self.waiting[mac]
        if len(bucket) < MAX_FACTS_PER_HOST:
            bucket.append(_Waiting(protocol, name, str(value), port, timestamp))

    def unplaced(self) -> int:
        """How many MAC-keyed facts never found an address."""
        return sum(len(items) for items in self.waiting.values())
