"""Judge a stored inventory against other regimes (``report --policy``), from what it recorded.

Each device keeps its maker, device class and confidence level, so another set of regimes can
be applied later without the network: a Texas agency can read a federal sweep against the Texas
list. A device the verdict engine held undetermined for conflicting evidence stays undetermined:
that doubt is about who made it, which no regime changes. It is recognised as a device whose
default verdict would be decided, yet was recorded undetermined.
"""

from __future__ import annotations

from collections.abc import Sequence

from fingerprints import ConfidenceLevel, CoverageStatus
from fingerprints.coverage import DEFAULT_POLICIES, judge
from reports.inventory import Inventory, InventoryRecord, priority_for, with_devices

__all__ = ["rejudge", "rejudge_record"]

_DECISIVE = frozenset({ConfidenceLevel.CONFIRMED, ConfidenceLevel.LIKELY})


def rejudge_record(record: InventoryRecord, policy_ids: Sequence[str]) -> InventoryRecord:
    """The record with its coverage judged under ``policy_ids``."""
    decisive = record.level in _DECISIVE
    default = judge(record.maker, decisive=decisive, device_class=record.device_class).status
    held = (
        decisive
        and record.coverage.status is CoverageStatus.UNDETERMINED
        and default is not CoverageStatus.UNDETERMINED
    )
    if held:
        coverage = record.coverage.model_copy(update={"policies": tuple(policy_ids)})
    else:
        coverage = judge(
            record.maker,
            decisive=decisive,
            device_class=record.device_class,
            policy_ids=policy_ids,
        )
    updated = record.model_copy(update={"coverage": coverage, "covered": coverage.status})
    return updated.model_copy(update={"priority": priority_for(updated)})


def rejudge(inventory: Inventory, policy_ids: Sequence[str]) -> Inventory:
    """The inventory judged under ``policy_ids``, recounted and resealed.

    The default set returns the inventory unchanged, so ``report`` without ``--policy``
    renders exactly what was recorded (and its digest still verifies).
    """
    if tuple(policy_ids) == DEFAULT_POLICIES:
        return inventory
    return with_devices(inventory, (rejudge_record(r, policy_ids) for r in inventory.devices))
