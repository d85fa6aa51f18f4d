"""The remediation inventory: what was scanned, how, what was found and what will be done.

This model *is* the published schema: ``reports/schema/inventory.schema.json`` is generated from
:class:`Inventory` (``python -m reports.schema``) and a golden test keeps the two equal, so a
schema change is a reviewed diff and bumps :data:`SCHEMA_VERSION`.

Field choices follow the rules an auditor files against (research/peers.md §C.5): the FAR
52.204-25(d)(2)(i) reporting fields (brand, model, item description, mitigation), the FAR 4.2104
"laydown ... and a phase-out plan" (location, disposition, target date), and the reasonable-inquiry
standard of FAR 4.2101 (scope, probes, limitations).

Device-supplied strings are untrusted. Every free-text field is capped here, once, so every export
format inherits the cap, and URL credentials (``rtsp://user:pass@``) are redacted so secrets never
reach a report.
"""

from __future__ import annotations

import ipaddress
import re
from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime
from enum import StrEnum
from functools import lru_cache
from typing import Annotated, Final

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from fingerprints import ConfidenceLevel, Coverage, CoverageStatus, DeviceIdentity, Evidence
from reports.digest import seal
from reports.limitations import scan_limitations
from reports.purchase import Purchase

__all__ = [
    "MAX_TEXT",
    "SCHEMA_VERSION",
    "Disposition",
    "Inventory",
    "InventoryRecord",
    "Location",
    "Priority",
    "Remediation",
    "RemediationStatus",
    "ScanInfo",
    "Summary",
    "build_inventory",
    "clean_text",
    "priority_for",
]

#: 1.1 adds location, remediation, priority, first/last seen, flags, site and the digest; every
#: new field has a default, so 1.0 files still load.
#: 1.2 adds the optional purchase record per device (``purchase``: contract, supplier UEI/CAGE,
#: award, funding, FCC ID) and the regime findings in ``coverage``.
#: 1.2 adds behind, channel and identity_with_credentials (issue 9), each with a default.
SCHEMA_VERSION: Final = "1.2"

#: The longest device-supplied string any report carries. A model name or banner longer than
#: this is not information, it is an attack on the reader (a 1 MB title freezes a spreadsheet).
MAX_TEXT: Final = 256
_ELLIPSIS: Final = "…"
# C0 controls (except tab/newline) and DEL are invalid in XML 1.0 and confuse terminals.
_CONTROL: Final = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# scheme://user[:password]@host — a stream URI from ONVIF often carries the camera's login.
_URL_USERINFO: Final = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/@\s]+@")


@lru_cache(maxsize=1 << 16)
def clean_text(value: str, limit: int = MAX_TEXT) -> str:
    """Cap length, drop control characters and redact URL credentials in one untrusted string.

    Cached (a pure function): rule sources, descriptions and banners repeat on every device of a
    large inventory, and cleaning each again was a third of building it.
    """
    text = _URL_USERINFO.sub(r"\1***@", _CONTROL.sub("", value[: limit * 4]))
    return text if len(text) <= limit else text[: limit - 1] + _ELLIPSIS


def _clean_optional(value: object) -> object:
    return clean_text(value) if isinstance(value, str) else value


def _clean_tuple(value: object) -> object:
    if isinstance(value, list | tuple):
        return tuple(clean_text(v) if isinstance(v, str) else v for v in value)
    return value


def _clean_evidence(value: object) -> object:
    # Evidence comes from fingerprints already capped (300 chars); here we redact secrets and
    # strip controls, without re-validating the caps fingerprints owns.
    if isinstance(value, list | tuple):
        out = []
        for item in value:
            ev = item if isinstance(item, Evidence) else Evidence.model_validate(item)
            matched = clean_text(ev.matched, 300)
            source = clean_text(ev.source, 1024)
            description = clean_text(ev.description, 1024)
            captures = {k: clean_text(v) for k, v in ev.captures.items()}
            if (matched, source, description, captures) == (
                ev.matched,
                ev.source,
                ev.description,
                ev.captures,
            ):
                out.append(ev)  # already clean: most evidence is; a copy would cost as much
                continue
            update = {
                "matched": matched,
                "source": source,
                "description": description,
                "captures": captures,
            }
            out.append(ev.model_copy(update=update))
        return tuple(out)
    return value


def _clean_coverage(value: object) -> object:
    cov = value if isinstance(value, Coverage) else Coverage.model_validate(value)
    return cov.model_copy(
        update={
            "entity": clean_text(cov.entity) if cov.entity else cov.entity,
            "basis": tuple(clean_text(b, 1024) for b in cov.basis),
            "note": clean_text(cov.note, 1024) if cov.note else cov.note,
            "findings": tuple(
                f.model_copy(update={"note": clean_text(f.note, 1024) if f.note else f.note})
                for f in cov.findings
            ),
        }
    )


Text = Annotated[str, BeforeValidator(_clean_optional)]
OptText = Annotated[str | None, BeforeValidator(_clean_optional)]
TextTuple = Annotated[tuple[str, ...], BeforeValidator(_clean_tuple)]


class Disposition(StrEnum):
    """The planned action for a device (FAR 4.2104 phase-out plan)."""

    UNDECIDED = "undecided"
    REPLACE = "replace"
    ISOLATE = "isolate"
    DECOMMISSION = "decommission"
    #: Kept in service under a waiver or documented exception; ``waiver_ref`` says which.
    EXCEPTION = "accepted_exception"
    #: Reviewed and found not to need action (e.g. a false lead checked by hand).
    NO_ACTION = "no_action"


class RemediationStatus(StrEnum):
    """How far the planned action has got."""

    OPEN = "open"
    IN_PROGRESS = "in_progress"
    DONE = "done"


class Priority(StrEnum):
    """Order of work: covered and confirmed first, hand-checks of leads next."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    NONE = "none"


class Location(BaseModel):
    """Where the device sits: what a laydown of the presences (FAR 4.2104) needs."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    site: OptText = None
    #: The scanned network (CIDR) the address belongs to.
    network: str | None = None
    switch_port: OptText = None
    description: OptText = None


class Remediation(BaseModel):
    """The disposition recorded for a device; kept in the history store across re-scans."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    disposition: Disposition = Disposition.UNDECIDED
    status: RemediationStatus = RemediationStatus.OPEN
    #: Waiver or exception reference; required in spirit when disposition is accepted_exception.
    waiver_ref: OptText = None
    target_date: date | None = None
    note: OptText = None
    updated_at: datetime | None = None
    updated_by: OptText = None


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
    operator: OptText = None
    site: OptText = None
    limitations: TextTuple = ()


class InventoryRecord(BaseModel):
    """One device, flattened from its identity, with location, disposition and dates."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    device_key: Text
    addresses: TextTuple
    mac: OptText = None
    maker: OptText = None
    maker_name: OptText = None
    brand: OptText = None
    model: OptText = None
    firmware: OptText = None
    serial: OptText = None
    device_class: OptText = None
    covered: CoverageStatus
    coverage: Annotated[Coverage, BeforeValidator(_clean_coverage)]
    confidence: float
    level: ConfidenceLevel
    evidence: Annotated[tuple[Evidence, ...], BeforeValidator(_clean_evidence)] = ()
    conflicts: TextTuple = ()
    location: Location = Location()
    remediation: Remediation = Remediation()
    priority: Priority = Priority.NONE
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    #: Warnings an operator must act on, e.g. ``reappeared_after_remediation``.
    flags: tuple[str, ...] = ()
    #: 1.2: purchase and contract record from the asset register (``ndaa-scan assets import``).
    purchase: Purchase | None = None
    # 1.2, behind the recorder (issue 9), kept together: the recorder's device key and channel
    # for a camera listed by a recorder, and whether identity needed a login.
    behind: OptText = None
    channel: int | None = Field(default=None, ge=0, le=4096)
    identity_with_credentials: bool = False

    @classmethod
    def from_identity(cls, identity: DeviceIdentity) -> InventoryRecord:
        """Copy an identification verdict into an inventory row."""
        # Only the fields both models share: fingerprints may add fields to DeviceIdentity.
        # The values themselves, not a dump: the nested models (evidence above all) are
        # taken as they are instead of rebuilt from dicts, which was most of the cost.
        shared = cls.model_fields.keys() & type(identity).model_fields.keys()
        data = {name: getattr(identity, name) for name in shared}
        data["covered"] = identity.coverage.status
        record = cls.model_validate(data)
        return record.model_copy(update={"priority": priority_for(record)})


#: Flag set on a device the history says was replaced or decommissioned, seen again: the same
#: device (serial or MAC match; same maker and model at the address when neither is known).
REAPPEARED: Final = "reappeared_after_remediation"
#: Flag set on a *different* device answering at the address of one replaced or decommissioned:
#: most likely the replacement itself, worth a look, not an alarm.
REPLACEMENT_SEEN: Final = "replacement_seen"


def priority_for(record: InventoryRecord) -> Priority:
    """Covered and well-evidenced first; leads to check by hand next; the rest last."""
    if REAPPEARED in record.flags:
        return Priority.HIGH
    own = _own_priority(record)
    if REPLACEMENT_SEEN in record.flags and own is Priority.NONE:
        return Priority.LOW
    return own


def _own_priority(record: InventoryRecord) -> Priority:
    if record.remediation.status is RemediationStatus.DONE or record.remediation.disposition in {
        Disposition.EXCEPTION,
        Disposition.NO_ACTION,
    }:
        return Priority.LOW if record.covered is CoverageStatus.COVERED else Priority.NONE
    if record.covered is CoverageStatus.COVERED:
        strong = record.level in {ConfidenceLevel.CONFIRMED, ConfidenceLevel.LIKELY}
        return Priority.HIGH if strong else Priority.MEDIUM
    if record.covered is CoverageStatus.UNDETERMINED:
        return Priority.MEDIUM if record.coverage.entity else Priority.LOW
    return Priority.NONE


class Summary(BaseModel):
    """Headline counts."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    devices: int
    covered: int
    not_covered: int
    undetermined: int
    by_maker: dict[str, int]
    #: maker -> coverage status -> count: the data behind the report's chart.
    by_maker_status: dict[str, dict[str, int]] = Field(default_factory=dict)
    by_priority: dict[str, int] = Field(default_factory=dict)
    by_disposition: dict[str, int] = Field(default_factory=dict)
    flagged: int = 0


class Inventory(BaseModel):
    """The document an auditor attaches to a filing."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: str = SCHEMA_VERSION
    generated_at: datetime
    scan: ScanInfo
    summary: Summary
    devices: tuple[InventoryRecord, ...]
    #: ``sha256:<hex>`` of the canonical JSON of this document without this field; see
    #: :func:`reports.digest.inventory_digest`. Lets a filing be checked later.
    digest: str | None = Field(default=None, pattern=r"^sha256:[0-9a-f]{64}$")


def _address_key(record: InventoryRecord) -> tuple[int, int, str]:
    first = record.addresses[0] if record.addresses else ""
    try:
        ip = ipaddress.ip_address(first)
    except ValueError:
        return (9, 0, first)
    return (ip.version, int(ip), first)


def summarise(records: Iterable[InventoryRecord]) -> Summary:
    """Count devices by status, maker, priority and disposition."""
    rows = list(records)
    statuses = Counter(r.covered for r in rows)
    makers = Counter(r.maker or "unknown" for r in rows)
    by_maker_status: dict[str, dict[str, int]] = {}
    for r in rows:
        per = by_maker_status.setdefault(r.maker or "unknown", {})
        per[r.covered.value] = per.get(r.covered.value, 0) + 1
    return Summary(
        devices=len(rows),
        covered=statuses[CoverageStatus.COVERED],
        not_covered=statuses[CoverageStatus.NOT_COVERED],
        undetermined=statuses[CoverageStatus.UNDETERMINED],
        by_maker=dict(sorted(makers.items())),
        by_maker_status={k: dict(sorted(v.items())) for k, v in sorted(by_maker_status.items())},
        by_priority=dict(sorted(Counter(r.priority.value for r in rows).items())),
        by_disposition=dict(sorted(Counter(r.remediation.disposition.value for r in rows).items())),
        flagged=sum(1 for r in rows if r.flags),
    )


def _network_for(address: str, scope: tuple[str, ...]) -> str | None:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    for cidr in scope:
        try:
            if ip in ipaddress.ip_network(cidr, strict=False):
                return cidr
        except ValueError:
            continue
    return None


def build_inventory(identities: Iterable[DeviceIdentity], scan: ScanInfo) -> Inventory:
    """Assemble and seal the inventory, devices sorted by address so outputs diff cleanly.

    Every device is first and last seen in this scan; the history store widens those dates.
    When the caller gave no limitations, they are generated from the probes and their counts.
    """
    if not scan.limitations:
        scan = scan.model_copy(
            update={"limitations": scan_limitations(scan.probes, scan.status_counts)}
        )
    records = []
    for identity in identities:
        record = InventoryRecord.from_identity(identity)
        network = _network_for(record.addresses[0], scan.scope) if record.addresses else None
        records.append(
            record.model_copy(
                update={
                    "location": Location(
                        site=scan.site, network=network, switch_port=identity.switch_port
                    ),
                    "first_seen": scan.finished_at,
                    "last_seen": scan.finished_at,
                }
            )
        )
    records.sort(key=_address_key)
    return seal(
        Inventory(
            generated_at=scan.finished_at,
            scan=scan,
            summary=summarise(records),
            devices=tuple(records),
        )
    )


def with_devices(inventory: Inventory, records: Iterable[InventoryRecord]) -> Inventory:
    """The same inventory with updated device rows, recounted and resealed."""
    rows = tuple(sorted(records, key=_address_key))
    return seal(inventory.model_copy(update={"devices": rows, "summary": summarise(rows)}))
