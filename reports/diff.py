"""What changed between two inventories: devices added, removed, and changed verdicts.

Devices are matched by their per-site identity (serial, own MAC, else address), the same key the
history store follows.
"""

from __future__ import annotations

from typing import Final

from pydantic import BaseModel, ConfigDict

from reports.identity import SiteDevices, device_keys, ref_of
from reports.inventory import Inventory, InventoryRecord

__all__ = ["DIFF_FIELDS", "FieldChange", "InventoryDiff", "diff_inventories"]

#: The fields whose change an operator must see.
DIFF_FIELDS: Final = (
    "maker",
    "brand",
    "model",
    "firmware",
    "serial",
    "covered",
    "level",
    "device_class",
    "mac",
    "addresses",
    # A replaced camera answering again is the change an operator most needs to see.
    "flags",
    # 1.2: a device tied to another purchase record (or losing its record) is an audit finding.
    "purchase",
)


class FieldChange(BaseModel):
    """One field of one device that differs between the two scans."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    device_key: str
    field: str
    before: str | None
    after: str | None


class InventoryDiff(BaseModel):
    """New, gone and changed devices."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    added: tuple[InventoryRecord, ...]
    removed: tuple[InventoryRecord, ...]
    changed: tuple[FieldChange, ...]

    @property
    def empty(self) -> bool:
        """True when the two inventories describe the same devices the same way."""
        return not (self.added or self.removed or self.changed)


def _keyed(before: Inventory, after: Inventory) -> tuple[dict[str, InventoryRecord], ...]:
    """Both inventories keyed the way the history store keys them (reports.identity).

    The newer rows take the keys of the older ones they continue, so a device that reported its
    serial only on the second sweep is one device, not one gone and one new. Inventories of two
    different sites share no device.
    """
    before_site, after_site = (inv.scan.site or "" for inv in (before, after))
    old_keys = device_keys(before.devices)
    old = dict(zip(old_keys, before.devices, strict=True))
    remembered = SiteDevices(
        (ref_of(r, k, before_site), 0) for k, r in zip(old_keys, before.devices, strict=True)
    )
    new: dict[str, InventoryRecord] = {}
    for key, record in zip(device_keys(after.devices), after.devices, strict=True):
        if before_site != after_site:
            new[f"{after_site}/{key}"] = record
        else:
            new[remembered.resolve(key, ref_of(record, key, after_site), 1)] = record
    return old, new


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, tuple):
        return ", ".join(str(v) for v in value)
    if isinstance(value, BaseModel):
        return value.model_dump_json(exclude_defaults=True)
    return str(getattr(value, "value", value))


def diff_inventories(before: Inventory, after: Inventory) -> InventoryDiff:
    """Compare two inventories device by device."""
    old, new = _keyed(before, after)
    changed = [
        FieldChange(
            device_key=key,
            field=name,
            before=_text(getattr(old[key], name)),
            after=_text(getattr(new[key], name)),
        )
        for key in sorted(old.keys() & new.keys())
        for name in DIFF_FIELDS
        if _text(getattr(old[key], name)) != _text(getattr(new[key], name))
    ]
    return InventoryDiff(
        added=tuple(new[k] for k in sorted(new.keys() - old.keys())),
        removed=tuple(old[k] for k in sorted(old.keys() - new.keys())),
        changed=tuple(changed),
    )
