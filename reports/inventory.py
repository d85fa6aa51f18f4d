"""The remediation inventory: what was scanned, how, and what was found (published schema)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from typing import Final

from pydantic import BaseModel, ConfigDict, Field

from fingerprints import ConfidenceLevel, Coverage, CoverageStatus, DeviceIdentity, Evidence

__all__ = [
    "SCHEMA_VERSION",
    "Inventory",
    "InventoryRecord",
    "ScanInfo",
    "Summary",
    "build_inventory",
]

SCHEMA_VERSION: Final = "1.0"


class ScanInfo(BaseModel):
    """How the devices were found: scope, probes, timing, versions and limitations."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    scope: tuple[str, ...]
    exclude: tuple[str, ...] = ()
    started_at: datetime
    finished_at: datetime
    probes: tuple[str, ...]
    #: probe -> status -> count, so an auditor sees what failed and how often.
    status_counts: dict[str, dict[str, int]] = Field(default_factory=dict)
    tool_version: str
    fingerprint_db_version: str
    operator: str | None = None
    limitations: tuple[str, ...] = ()


class InventoryRecord(BaseModel):
    """One device, flattened from its identity for the reports."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    device_key: str
    addresses: tuple[str, ...]
    mac: str | None = None
    maker: str | None = None
    maker_name: str | None = None
    brand: str | None = None
    model: str | None = None
    firmware: str | None = None
    serial: str | None = None
    device_class: str | None = None
    covered: CoverageStatus
    coverage: Coverage
    confidence: float
    level: ConfidenceLevel
    evidence: tuple[Evidence, ...] = ()
    conflicts: tuple[str, ...] = ()

    @classmethod
    def from_identity(cls, identity: DeviceIdentity) -> InventoryRecord:
        """Copy an identification verdict into an inventory row."""
        data = identity.model_dump()
        data["covered"] = identity.coverage.status
        return cls.model_validate(data)


class Summary(BaseModel):
    """Headline counts."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    devices: int
    covered: int
    not_covered: int
    undetermined: int
    by_maker: dict[str, int]


class Inventory(BaseModel):
    """The document an auditor attaches to a filing."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: str = SCHEMA_VERSION
    generated_at: datetime
    scan: ScanInfo
    summary: Summary
    devices: tuple[InventoryRecord, ...]


def _address_key(record: InventoryRecord) -> tuple[int, ...]:
    first = record.addresses[0] if record.addresses else "255.255.255.255"
    return tuple(int(part) for part in first.split("."))


def build_inventory(identities: Iterable[DeviceIdentity], scan: ScanInfo) -> Inventory:
    """Assemble the inventory, devices sorted by address so outputs diff cleanly."""
    records = sorted((InventoryRecord.from_identity(i) for i in identities), key=_address_key)
    statuses = Counter(record.covered for record in records)
    makers = Counter(record.maker or "unknown" for record in records)
    return Inventory(
        generated_at=scan.finished_at,
        scan=scan,
        summary=Summary(
            devices=len(records),
            covered=statuses[CoverageStatus.COVERED],
            not_covered=statuses[CoverageStatus.NOT_COVERED],
            undetermined=statuses[CoverageStatus.UNDETERMINED],
            by_maker=dict(sorted(makers.items())),
        ),
        devices=tuple(records),
    )
