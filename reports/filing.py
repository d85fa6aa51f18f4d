"""What the filing reports say, computed once: FAR 52.204-25(d) rows and the phase-out plan.

FAR 52.204-25(d)(2)(i) (FAR Part 40: 52.240-91) wants, within one business day of
identification: contract number, order number(s), supplier name, supplier UEI and CAGE (if
known), brand, model number (OEM number, manufacturer part number or wholesaler number), item
description, and any readily available mitigation; (d)(2)(ii), within ten business days, the
further mitigation and prevention efforts. 52.204-24(d) adds the producing entity and whether it
is the OEM or a distributor. FAR 4.2104 asks for a laydown and a phase-out plan for a waiver.
Sources: research/regulation-2026.md §3a; https://www.acquisition.gov/far/52.204-25.

Business days here skip Saturdays and Sundays only; federal holidays are not known to the tool,
and every report says so.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Final

from pydantic import BaseModel, ConfigDict

from fingerprints import CoverageStatus
from reports.inventory import Disposition, Inventory, InventoryRecord, RemediationStatus

__all__ = [
    "CLAUSES",
    "FAR_COLUMNS",
    "BurnPoint",
    "FarRow",
    "PhaseOutRow",
    "add_business_days",
    "far_rows",
    "phase_out_rows",
    "planned_burndown",
]

#: Both numberings: the codified clause and its FAR overhaul (Part 40) successor.
CLAUSES: Final = "FAR 52.204-25(d)(2) / FAR 52.240-91"
BUSINESS_DAY_NOTE: Final = (
    "due dates count Monday-Friday from the day the device was first identified; "
    "federal holidays are not counted out"
)
REPORT_TO: Final = (
    "DoD contracts: https://dibnet.dod.mil; other contracts: the Contracting Officer, unless the "
    "contract says otherwise (FAR 52.204-25(d)(1))"
)
_DEVICE_CLASS_WORDS: Final = {
    "ip-camera": "IP camera",
    "ptz-camera": "PTZ camera",
    "nvr": "network video recorder",
    "dvr": "digital video recorder",
    "xvr": "hybrid video recorder",
    "cpe": "customer-premises equipment",
    "consumer-router": "consumer router",
    "uas-controller": "drone remote controller",
    "uas-dock": "drone dock",
}


def add_business_days(start: date, days: int) -> date:
    """``start`` plus ``days`` weekdays (Saturday and Sunday skipped)."""
    current = start
    left = days
    while left > 0:
        current += timedelta(days=1)
        if current.weekday() < 5:
            left -= 1
    return current


class FarRow(BaseModel):
    """One covered device as FAR 52.204-25(d)(2)(i) asks for it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    device_key: str
    identified_on: date
    report_due: date
    further_due: date
    contract_number: str
    order_numbers: str
    supplier_name: str
    supplier_uei: str
    supplier_cage: str
    brand: str
    model_number: str
    item_description: str
    producer: str
    oem_or_distributor: str
    covered_entity: str
    regimes: str
    mitigation: str
    award_number: str
    funding_source: str
    address: str
    mac: str
    serial: str
    location: str


#: CSV column order of the FAR report (the clause's order first, then where to find it).
FAR_COLUMNS: Final = tuple(FarRow.model_fields)


def _describe(record: InventoryRecord) -> str:
    kind = _DEVICE_CLASS_WORDS.get(record.device_class or "", record.device_class or "device")
    maker = record.maker_name or record.maker or "unknown maker"
    where = ", ".join(record.addresses)
    return f"{kind} produced by {maker}, seen at {where}"


def _mitigation(record: InventoryRecord) -> str:
    rem = record.remediation
    if rem.disposition is Disposition.UNDECIDED and not rem.note:
        return "none recorded yet (record one with ndaa-scan remediation set)"
    parts = [f"{rem.disposition.value.replace('_', ' ')} ({rem.status.value.replace('_', ' ')})"]
    if rem.target_date:
        parts.append(f"target {rem.target_date.isoformat()}")
    if rem.waiver_ref:
        parts.append(f"waiver {rem.waiver_ref}")
    if rem.note:
        parts.append(rem.note)
    return "; ".join(parts)


def _regimes(record: InventoryRecord) -> str:
    findings = [f for f in record.coverage.findings if f.status is CoverageStatus.COVERED]
    if not findings:
        return "; ".join(record.coverage.basis)
    return "; ".join(f"{f.regime} {f.entry} ({f.date})" for f in findings)


def _when(record: InventoryRecord, fallback: datetime) -> date:
    return (record.first_seen or fallback).astimezone(UTC).date()


def far_rows(inventory: Inventory) -> tuple[FarRow, ...]:
    """One row per covered device, in address order."""
    rows = []
    for record in inventory.devices:
        if record.covered is not CoverageStatus.COVERED:
            continue
        p = record.purchase
        identified = _when(record, inventory.generated_at)
        loc = record.location
        rows.append(
            FarRow(
                device_key=record.device_key,
                identified_on=identified,
                report_due=add_business_days(identified, 1),
                further_due=add_business_days(identified, 10),
                contract_number=(p.contract_number if p else None) or "",
                order_numbers="; ".join(p.order_numbers) if p else "",
                supplier_name=(p.supplier_name if p else None) or "",
                supplier_uei=(p.supplier_uei if p else None) or "",
                supplier_cage=(p.supplier_cage if p else None) or "",
                brand=record.brand or record.maker_name or record.maker or "",
                model_number=(p.part_number if p and p.part_number else None) or record.model or "",
                item_description=(p.item_description if p else None) or _describe(record),
                producer=(p.producer if p and p.producer else None)
                or record.maker_name
                or record.maker
                or "",
                oem_or_distributor=(p.supplier_role.value if p and p.supplier_role else ""),
                covered_entity=record.coverage.entity or "",
                regimes=_regimes(record),
                mitigation=_mitigation(record),
                award_number=(p.award_number if p else None) or "",
                funding_source=(p.funding_source if p else None) or "",
                address=", ".join(record.addresses),
                mac=record.mac or "",
                serial=record.serial or "",
                location=" / ".join(
                    v for v in (loc.site, loc.network, loc.switch_port, loc.description) if v
                ),
            )
        )
    return tuple(rows)


class PhaseOutRow(BaseModel):
    """One presence in the laydown (FAR 4.2104): where it is and what will be done by when."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    device_key: str
    address: str
    maker: str
    model: str
    covered: str
    site: str
    network: str
    switch_port: str
    disposition: str
    status: str
    target_date: date | None
    waiver_ref: str
    overdue: bool
    note: str


def phase_out_rows(inventory: Inventory, today: date) -> tuple[PhaseOutRow, ...]:
    """Every covered or undetermined device (the laydown), soonest target first, then address."""
    rows = []
    for index, record in enumerate(inventory.devices):
        if record.covered is CoverageStatus.NOT_COVERED and not record.flags:
            continue
        rem = record.remediation
        rows.append(
            (
                (rem.target_date or date.max, index),
                PhaseOutRow(
                    device_key=record.device_key,
                    address=", ".join(record.addresses),
                    maker=record.maker_name or record.maker or "unknown",
                    model=record.model or "",
                    covered=record.covered.value,
                    site=record.location.site or "",
                    network=record.location.network or "",
                    switch_port=record.location.switch_port or "",
                    disposition=rem.disposition.value,
                    status=rem.status.value,
                    target_date=rem.target_date,
                    waiver_ref=rem.waiver_ref or "",
                    overdue=bool(
                        rem.target_date
                        and rem.target_date < today
                        and rem.status is not RemediationStatus.DONE
                    ),
                    note=rem.note or "",
                ),
            )
        )
    return tuple(row for _, row in sorted(rows, key=lambda item: item[0]))


@dataclass(frozen=True, slots=True)
class BurnPoint:
    """One point of the burn-down: covered devices seen (actual) or still planned (plan)."""

    day: date
    covered: int
    label: str


def planned_burndown(rows: Iterable[PhaseOutRow], start: date) -> tuple[BurnPoint, ...]:
    """Covered devices left, stepping down at each target date of an open removal."""
    covered = [r for r in rows if r.covered == CoverageStatus.COVERED.value]
    remaining = sum(1 for r in covered if r.status != RemediationStatus.DONE.value)
    points = [BurnPoint(start, remaining, "now")]
    by_day: dict[date, int] = {}
    for r in covered:
        if (
            r.target_date
            and r.status != RemediationStatus.DONE.value
            and r.disposition
            in {
                Disposition.REPLACE.value,
                Disposition.DECOMMISSION.value,
            }
        ):
            day = max(r.target_date, start)
            by_day[day] = by_day.get(day, 0) + 1
    for day in sorted(by_day):
        remaining -= by_day[day]
        points.append(BurnPoint(day, remaining, "plan"))
    return tuple(points)


def actual_burndown(history: Sequence[tuple[datetime, int]]) -> tuple[BurnPoint, ...]:
    """Covered devices each stored scan saw, oldest first."""
    return tuple(
        BurnPoint(when.astimezone(UTC).date(), count, "scan")
        for when, count in sorted(history, key=lambda item: item[0])
    )
