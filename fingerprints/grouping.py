"""Which observations belong to one device.

Every observation hangs on a *node* (:func:`device_node`: today the address it was seen at).
Nodes are joined into one device by identity fields the device reports about itself: a serial
number, or a MAC inside a vendor payload (SADP, DHIP, the node of a Hikvision WS-Discovery
UUID). An NVR seen via SADP on one address and via ONVIF on another is one device.

Link-layer MACs (ARP, the frame a reply came in) are treated with suspicion:

- a MAC seen on more than one address belongs to a gateway (proxy ARP, NAT, a bridge): it never
  joins addresses, is no device's MAC, and lends no MAC-prefix lead (``gateway_macs``);
- a MAC seen on one address only is that device's (*unshared*). Two nodes with different
  unshared MACs are two devices, whatever serial they report: cloned and placeholder serials
  are common on white-label gear. Both devices then carry a note on the duplicate serial.
"""

from __future__ import annotations

import ipaddress
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

from fingerprints.identity import Evidence
from fingerprints.oui import oui_lead
from scanner.results import Observation, normalize_mac

__all__ = [
    "MAX_ADDRESSES_PER_SERIAL",
    "MIN_SERIAL_CHARS",
    "DeviceGroup",
    "address_order",
    "device_node",
    "group_devices",
    "link_macs",
    "payload_macs",
    "shared_link_macs",
    "uuid_mac",
]

#: Serial numbers shorter than this ("0", "1234") are too common to tie addresses together.
MIN_SERIAL_CHARS: Final = 8
#: A serial reported on more addresses than this is a placeholder, not one device's.
MAX_ADDRESSES_PER_SERIAL: Final = 8
#: ``channel.mac`` (a recorder's report of its camera) and ``onvif.mac`` (GetNetworkInterfaces)
#: are MACs a device reports, not the frame's source: payload MACs too (issue 9).
_PAYLOAD_MAC_KEYS: Final = frozenset(
    {"sadp.mac", "dhip.mac", "isapi.mac", "channel.mac", "onvif.mac"}
)
_UUID_NODE: Final = re.compile(
    r"^(?:urn:uuid:)?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-([0-9a-f]{12})$", re.I
)


def device_node(obs: Observation) -> str:
    """The node an observation hangs on before nodes are joined into devices.

    The one place that says where an observation belongs: a camera listed through an NVR will
    hang on its channel behind the NVR's address rather than on the address itself.
    """
    if obs.behind is not None and obs.channel is not None:
        return f"channel:{obs.behind}#{obs.channel}"
    return f"host:{obs.host_text}"


@lru_cache(maxsize=1 << 17)
def address_order(address: str) -> tuple[int, int]:
    """Sort key for addresses: numeric, IPv4 before IPv6, anything unparsable last.

    Cached: a large scan sorts the same few thousand addresses many times over (device keys,
    address lists, the final order), and parsing them again is most of the sort's cost.
    """
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return (9, 0)
    return (parsed.version, int(parsed))


def _mac(value: str) -> str | None:
    try:
        return normalize_mac(value[:40])
    except ValueError:
        return None


def uuid_mac(value: str) -> str | None:
    """The MAC Hikvision firmware puts in the node part of its WS-Discovery endpoint UUID.

    Only trusted when the prefix is a registered block that says something (a random UUID node
    rarely hits one), facts sheet §2.2 and §3.2.
    """
    found = _UUID_NODE.match(value.strip()[:64])
    if found is None:
        return None
    mac = _mac(found.group(1))
    if mac is None:
        return None
    lead = oui_lead(mac)
    return mac if lead is not None and lead.maker is not None else None


def link_macs(obs: Observation) -> list[str]:
    """MACs the network showed for the address (the ARP answer, a reply's frame source)."""
    found = [obs.mac] if obs.mac else []
    if (
        obs.protocol == "mac"
        and obs.field == "mac"
        and (mac := _mac(obs.value))
        and mac not in found
    ):
        found.append(mac)
    return found


def payload_macs(obs: Observation, evidence: Sequence[Evidence]) -> list[str]:
    """MACs the device reports about itself inside a vendor payload."""
    found: list[str] = []
    key = obs.key
    if key in _PAYLOAD_MAC_KEYS:
        mac = _mac(obs.value)
    else:
        mac = uuid_mac(obs.value) if key == "wsdiscovery.endpoint_uuid" else None
    if mac:
        found.append(mac)
    captured = (_mac(item.captures["mac"]) for item in evidence if "mac" in item.captures)
    found.extend(mac for mac in captured if mac)
    return list(dict.fromkeys(found)) if len(found) > 1 else found


def serials_of(evidence: Sequence[Evidence]) -> list[str]:
    """Serial numbers long enough to tie addresses together."""
    return list(
        dict.fromkeys(
            item.captures["serial"].upper()
            for item in evidence
            if len(item.captures.get("serial", "")) >= MIN_SERIAL_CHARS
        )
    )


def shared_link_macs(observations: Sequence[Observation]) -> frozenset[str]:
    """Link-layer MACs seen on more than one address: gateways, proxies, bridges."""
    addresses: dict[str, set[str]] = defaultdict(set)
    for obs in observations:
        for mac in link_macs(obs):
            addresses[mac].add(obs.host_text)
    return frozenset(mac for mac, hosts in addresses.items() if len(hosts) > 1)


@dataclass(frozen=True, slots=True)
class DeviceGroup:
    """The observations of one device, with what grouping learnt about it."""

    indices: tuple[int, ...]
    #: Link-layer MACs of this device's addresses that other addresses share too.
    gateway_macs: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


class _Nodes:
    """Union-find over nodes that refuses a join when two different unshared MACs meet."""

    def __init__(self, own_macs: dict[str, set[str]]) -> None:
        self.parent: dict[str, str] = {}
        self.macs = {node: set(macs) for node, macs in own_macs.items()}

    def find(self, node: str) -> str:
        self.parent.setdefault(node, node)
        while self.parent[node] != node:
            self.parent[node] = self.parent[self.parent[node]]
            node = self.parent[node]
        return node

    def join(self, first: str, other: str) -> bool:
        """Join two nodes' devices; False when their unshared MACs disagree."""
        a, b = self.find(first), self.find(other)
        if a == b:
            return True
        macs = self.macs.get(a, set()) | self.macs.get(b, set())
        if len(macs) > 1:
            return False
        self.parent[b] = a
        self.macs[a] = macs
        return True


def group_devices(
    observations: Sequence[Observation],
    evidence: Sequence[Sequence[Evidence]],
    shared: frozenset[str] | None = None,
) -> list[DeviceGroup]:
    """Group observation indices into devices (see the module docstring for the rules).

    Linear in the observations: each observation's node is computed once, and the refused joins
    are indexed by node so every device looks up only its own. ``shared`` is the caller's
    :func:`shared_link_macs` of the same observations, when it already has them.
    """
    if shared is None:
        shared = shared_link_macs(observations)
    node_of = [device_node(obs) for obs in observations]
    own_macs: dict[str, set[str]] = defaultdict(set)
    gateways: dict[str, set[str]] = defaultdict(set)
    keys: dict[str, set[str]] = defaultdict(set)
    for index, obs in enumerate(observations):
        node = node_of[index]
        for mac in link_macs(obs):
            (gateways if mac in shared else own_macs)[node].add(mac)
        for mac in payload_macs(obs, evidence[index]):
            if mac not in shared:
                keys[f"mac:{mac}"].add(node)
        for serial in serials_of(evidence[index]):
            keys[f"serial:{serial}"].add(node)
    # An unshared link MAC ties its node to payloads that report the same MAC elsewhere.
    for node, macs in own_macs.items():
        for mac in macs:
            if f"mac:{mac}" in keys:
                keys[f"mac:{mac}"].add(node)

    nodes = _Nodes(own_macs)
    for node in node_of:
        nodes.find(node)
    refused: dict[str, set[str]] = defaultdict(set)
    for key in sorted(keys):
        holders = sorted(keys[key])
        if len(holders) < 2 or (
            key.startswith("serial:") and len(holders) > MAX_ADDRESSES_PER_SERIAL
        ):
            continue
        first, *rest = holders
        for other in rest:
            if not nodes.join(first, other):
                refused[key].update({first, other})
    refused_at: dict[str, set[str]] = defaultdict(set)
    for key, involved in refused.items():
        for node in involved:
            refused_at[node].add(key)

    by_root: dict[str, list[int]] = defaultdict(list)
    for index, node in enumerate(node_of):
        by_root[nodes.find(node)].append(index)
    groups: list[DeviceGroup] = []
    for indices in by_root.values():
        members = {node_of[i] for i in indices}
        notes = [
            f"{kind} {value} is also reported by another device with a different MAC address: "
            "kept as separate devices (a cloned or placeholder identity)"
            for kind, _, value in (
                key.partition(":")
                for key in sorted({key for node in members for key in refused_at.get(node, ())})
            )
        ]
        gateway = sorted({mac for node in members for mac in gateways.get(node, ())})
        notes.extend(
            f"MAC {mac} answers for several addresses (a gateway, proxy ARP, NAT or bridge): "
            "not this device's; not used to group devices or as a MAC-prefix lead"
            for mac in gateway
        )
        groups.append(DeviceGroup(tuple(indices), tuple(gateway), tuple(notes)))
    return groups
