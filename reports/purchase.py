"""Purchase and contract facts for one device: what the filing rules ask besides the network.

FAR 52.204-25(d)(2)(i) (recodified as 52.240-91 by the FAR overhaul) asks, within one business
day, for the contract and order numbers, the supplier's name, UEI and CAGE code, the brand and the
model number (OEM number, manufacturer part number or wholesaler number) and an item description;
52.204-24(d) also asks for the producing entity and whether it is the OEM or a distributor.
2 CFR 200.216 asks whether award funds bought the equipment (award number, funding source). The
FCC Covered List's categorical entries bite only on models authorized after listing, so the FCC
ID (and its grantee code) is kept too (research/regulation-2026.md §1a, §3a, §6).

None of it can be seen on the network: it comes from an organisation's asset register or purchase
records (``ndaa-scan assets import``), and every field is optional.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Final

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

__all__ = ["PURCHASE_FIELDS", "Purchase", "SupplierRole", "grantee_code"]

_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f]")
#: The longest purchase-record string carried: a register cell, not a document.
_MAX: Final = 256


def _clean(value: object) -> object:
    if isinstance(value, str):
        text = " ".join(_CONTROL.sub(" ", value[: _MAX * 4]).split())
        return (text[:_MAX] or None) if text else None
    return value


def _clean_upper(value: object) -> object:
    cleaned = _clean(value)
    return cleaned.upper().replace(" ", "") if isinstance(cleaned, str) else cleaned


def _clean_tuple(value: object) -> object:
    if isinstance(value, str):
        value = re.split(r"[;,]", value)
    if isinstance(value, list | tuple):
        return tuple(c for c in (_clean(v) for v in value) if isinstance(c, str))
    return value


Text = Annotated[str | None, BeforeValidator(_clean)]
Code = Annotated[str | None, BeforeValidator(_clean_upper)]

# Optional upper-cased codes that must match their pattern when present.
Uei = Annotated[
    Annotated[str, Field(pattern=r"^[A-Z0-9]{12}$")] | None, BeforeValidator(_clean_upper)
]
Cage = Annotated[
    Annotated[str, Field(pattern=r"^[A-Z0-9]{5}$")] | None, BeforeValidator(_clean_upper)
]
Currency = Annotated[
    Annotated[str, Field(pattern=r"^[A-Z]{3}$")] | None, BeforeValidator(_clean_upper)
]


class SupplierRole(StrEnum):
    """Whether the producing entity is the original manufacturer or a distributor (52.204-24)."""

    OEM = "oem"
    DISTRIBUTOR = "distributor"


def grantee_code(fcc_id: str) -> str | None:
    """The grantee code of an FCC ID: 3 characters, or 5 when it starts with 2 (since 2013).

    FCC ID 2ADTD-5604SD is grantee 2ADTD (Hikvision); SVNDH-SD2AY is SVN (Dahua).
    """
    text = re.sub(r"[^A-Z0-9]", "", fcc_id.upper())
    if len(text) < 4:
        return None
    return text[:5] if text.startswith("2") else text[:3]


class Purchase(BaseModel):
    """A device's purchase and contract record; all optional, schema 1.2."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    contract_number: Text = None
    order_numbers: Annotated[tuple[str, ...], BeforeValidator(_clean_tuple)] = ()
    supplier_name: Text = None
    #: SAM Unique Entity ID: 12 characters, letters and digits.
    supplier_uei: Uei = None
    #: Commercial and Government Entity code: 5 characters.
    supplier_cage: Cage = None
    #: The entity that produced the equipment (52.204-24(d)(1)(ii)), and whether OEM/distributor.
    producer: Text = None
    supplier_role: SupplierRole | None = None
    #: OEM number, manufacturer part number or wholesaler number (52.204-25(d)(2)(i)).
    part_number: Text = None
    item_description: Text = None
    award_number: Text = None
    funding_source: Text = None
    purchase_date: date | None = None
    cost: Annotated[Decimal | None, Field(ge=0, max_digits=14, decimal_places=2)] = None
    currency: Currency = None
    fcc_id: Code = None
    fcc_grantee_code: Code = None
    asset_tag: Text = None
    #: Where the record came from (``register.csv:14``) and how it was tied to the device.
    record_ref: Text = None
    matched_by: Text = None

    @model_validator(mode="after")
    def _derive_grantee(self) -> Purchase:
        if self.fcc_id and not self.fcc_grantee_code:
            object.__setattr__(self, "fcc_grantee_code", grantee_code(self.fcc_id))
        return self


#: The purchase fields in export order (CSV columns ``purchase_<name>``, XLSX columns).
PURCHASE_FIELDS: Final = tuple(Purchase.model_fields)
