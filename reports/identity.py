"""Which device a row is, across scans: the key history, remediation and diffs follow.

A device is named within its site by the most durable thing known about it (issue 13 item 6):

1. its **serial**, when the device reported one that is not a placeholder and no other row of the
   same scan carries it (white-label gear ships cloned serials; two such cameras stay two devices);
2. else its **MAC**, which fingerprints sets only when the MAC is the device's own (a MAC seen on
   several addresses is a gateway's and never names a device);
3. else its **address**, for a routed device that told us neither.

Keys never cross sites: two sites on the same private range hold different devices at
``10.0.0.5``. Whether a row seen later is *the same device* as one remembered (the question a
remediation needs answered) is :func:`same_device`: any known identifier that differs says no,
any that agrees says yes, and with neither known only the same maker and model at the same
address count as the same device.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Final

from pydantic import BaseModel, ConfigDict

from reports.inventory import InventoryRecord

__all__ = [
    "DeviceRef",
    "SiteDevices",
    "continues",
    "device_keys",
    "ref_of",
    "same_device",
    "usable_serial",
]

#: Values devices report when no serial was burnt in; never an identity.
_PLACEHOLDER_SERIALS: Final = frozenset(
    {"unknown", "none", "null", "n/a", "na", "default", "serial", "123456789", "0123456789"}
)


class DeviceRef(BaseModel):
    """What identifies one device of one site: the fields compared across scans."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    site: str = ""
    key: str
    serial: str | None = None
    mac: str | None = None
    address: str | None = None
    maker: str | None = None
    model: str | None = None
    #: When the site first showed this device (remembered devices only).
    first_seen: datetime | None = None


def usable_serial(serial: str | None) -> str | None:
    """The serial when it can name a device; None for blanks and placeholders."""
    if serial is None:
        return None
    text = serial.strip()
    if len(text) < 4 or len(set(text.lower())) <= 2 or text.lower() in _PLACEHOLDER_SERIALS:
        return None
    return text


def _address(record: InventoryRecord) -> str | None:
    return record.addresses[0] if record.addresses else None


def _key(record: InventoryRecord, *, serial_ok: bool) -> str:
    serial = usable_serial(record.serial)
    if serial is not None and serial_ok:
        return f"serial:{serial}"
    if record.mac:
        return f"mac:{record.mac.lower()}"
    return f"ip:{_address(record) or record.device_key}"


def device_keys(records: Sequence[InventoryRecord]) -> list[str]:
    """One key per row, in order: serial, else MAC, else address; serials shared by rows skipped.

    Rows that still share a key (two routed devices without serial behind one address cannot
    happen; two rows with the same MAC can, from a hand-edited file) get ``#2``, ``#3`` suffixes
    so no row is dropped.
    """
    serials = Counter(s for r in records if (s := usable_serial(r.serial)) is not None)
    keys = [_key(r, serial_ok=serials[usable_serial(r.serial) or ""] == 1) for r in records]
    seen: Counter[str] = Counter()
    out = []
    for key in keys:
        seen[key] += 1
        out.append(key if seen[key] == 1 else f"{key}#{seen[key]}")
    return out


def ref_of(record: InventoryRecord, key: str, site: str | None) -> DeviceRef:
    """The identifying fields of one row."""
    return DeviceRef(
        site=site or "",
        key=key,
        serial=usable_serial(record.serial),
        mac=record.mac.lower() if record.mac else None,
        address=_address(record),
        maker=record.maker,
        model=record.model,
    )


def same_device(remembered: DeviceRef, seen: DeviceRef) -> bool:
    """Whether ``seen`` is the device ``remembered`` describes (same site required)."""
    if remembered.site != seen.site:
        return False
    pairs = [(remembered.serial, seen.serial), (remembered.mac, seen.mac)]
    known = [(a, b) for a, b in pairs if a is not None and b is not None]
    if known:
        return all(a == b for a, b in known)
    return (
        remembered.address is not None
        and remembered.address == seen.address
        and remembered.maker is not None
        and remembered.model is not None
        and (remembered.maker, remembered.model) == (seen.maker, seen.model)
    )


def continues(remembered: DeviceRef, seen: DeviceRef) -> bool:
    """Whether ``seen`` may carry on the history of ``remembered`` (looser than same_device).

    An identifier known on both sides decides; with none, the device at the address is taken to
    be the one seen there before unless its maker or model says otherwise.
    """
    pairs = [(remembered.serial, seen.serial), (remembered.mac, seen.mac)]
    known = [(a, b) for a, b in pairs if a is not None and b is not None]
    if known:
        return all(a == b for a, b in known)
    details = [(remembered.maker, seen.maker), (remembered.model, seen.model)]
    return all(a == b for a, b in details if a is not None and b is not None)


class SiteDevices:
    """The devices one site has shown, indexed to give each new row the key of its history."""

    def __init__(self, known: Iterable[tuple[DeviceRef, int]]) -> None:
        self._known: dict[str, tuple[DeviceRef, int]] = {ref.key: (ref, n) for ref, n in known}
        self._by: dict[tuple[str, str], list[str]] = defaultdict(list)
        for ref, _ in sorted(self._known.values(), key=lambda item: -item[1]):
            for field in ("serial", "mac", "address"):
                if (value := getattr(ref, field)) is not None:
                    self._by[(field, value)].append(ref.key)
        self._taken: set[str] = set()

    def get(self, key: str) -> DeviceRef | None:
        """The remembered device under ``key``."""
        found = self._known.get(key)
        return found[0] if found else None

    def at_address(self, address: str | None) -> list[DeviceRef]:
        """Remembered devices last seen at ``address``, most recent first."""
        if address is None:
            return []
        return [self._known[k][0] for k in self._by.get(("address", address), [])]

    def resolve(self, key: str, seen: DeviceRef, scan_id: int) -> str:
        """The key under which ``seen`` continues a remembered device, or a fresh one.

        Looked up by its own key, then serial, then MAC, then address (a camera that reports its
        serial only from the second sweep on is still the camera seen there before).
        A key whose remembered device is another one (a compliant camera where a Hikvision was)
        gets a ``~<scan id>`` suffix: the address is the same, the device is new.
        """
        candidates = [key] if key in self._known else []
        for field in ("serial", "mac"):
            if (value := getattr(seen, field)) is not None:
                candidates.extend(self._by.get((field, value), []))
        if seen.address is not None:
            candidates.extend(self._by.get(("address", seen.address), []))
        for candidate in dict.fromkeys(candidates):
            if candidate not in self._taken and continues(self._known[candidate][0], seen):
                self._taken.add(candidate)
                return candidate
        fresh = key if key not in self._known and key not in self._taken else f"{key}~{scan_id}"
        while fresh in self._taken:
            fresh += "+"
        self._taken.add(fresh)
        return fresh
