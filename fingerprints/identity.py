"""The verdict types identification hands to the reports stage."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "ConfidenceLevel",
    "Coverage",
    "CoverageStatus",
    "DeviceIdentity",
    "Evidence",
    "RegimeFinding",
]


class CoverageStatus(StrEnum):
    """Whether the device is covered equipment under the rules in ``covered_entities.toml``."""

    COVERED = "covered"
    NOT_COVERED = "not_covered"
    UNDETERMINED = "undetermined"


class ConfidenceLevel(StrEnum):
    """A readable bucket for the numeric confidence."""

    CONFIRMED = "confirmed"  # >= 0.9: several independent strong signals
    LIKELY = "likely"  # >= 0.6: enough to act on
    LEAD = "lead"  # > 0: one weak clue (a MAC prefix, a generic banner); verify by hand
    NONE = "none"


class Evidence(BaseModel):
    """One rule that matched one observation."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rule_id: str
    field: str
    matched: str = Field(max_length=300)
    captures: dict[str, str] = Field(default_factory=dict)
    asserts: dict[str, str] = Field(default_factory=dict)
    certainty: float = Field(ge=0, le=1)
    source: str
    description: str = ""
    port: int | None = None
    #: A generic clue that may break a tie but never decides a verdict on its own.
    lead: bool = False
    #: ``identifying`` (names the maker or carries its token) or ``shape`` (a grammar, a generic
    #: banner): shapes decide only when two independent sources agree.
    clue: Literal["identifying", "shape"] = "identifying"
    #: The independent source this came from: one probe's reply (``sadp@198.18.0.5:37020``), a
    #: MAC prefix (``oui:5850ED``) or a brand's sourcing history (``brand:Lorex``). Clues from one
    #: source count once, as the strongest of them.
    origin: str = ""


class RegimeFinding(BaseModel):
    """What one regime (``reference/policies/<id>.toml``) says about a device, and which entry."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    regime: str
    entry: str
    status: CoverageStatus
    #: The entry's date of inclusion (ISO date), e.g. the Covered List's 2025-12-22 UAS entry.
    date: str | None = None
    title: str
    source: str
    note: str | None = None


class Coverage(BaseModel):
    """The coverage verdict and the legal basis it rests on."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    status: CoverageStatus
    entity: str | None = None
    basis: tuple[str, ...] = ()
    note: str | None = None
    #: The regimes judged (``policies``) and each entry that matched the device.
    policies: tuple[str, ...] = ()
    findings: tuple[RegimeFinding, ...] = ()


class DeviceIdentity(BaseModel):
    """Who produced a device, what it is sold as, and whether it is covered — with evidence."""

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
    coverage: Coverage
    confidence: float = Field(ge=0, le=1)
    level: ConfidenceLevel
    evidence: tuple[Evidence, ...] = ()
    conflicts: tuple[str, ...] = ()
    #: Hikvision SADP DetailOEMCode (1 = baseline build, other values = an OEM customer build).
    oem_code: str | None = None
    #: Every MAC address tied to the device (ARP, SADP/DHIP payloads, WS-Discovery UUID); never a
    #: MAC that answers for several addresses (that one is :attr:`gateway_mac`).
    macs: tuple[str, ...] = ()
    #: A MAC seen on this device's address that also answers for other addresses: a gateway's,
    #: proxy ARP's, NAT's or bridge's. Not the device's identity, not a MAC-prefix lead.
    gateway_mac: str | None = None
    #: Plain-language remarks an auditor should read (traps avoided, review flags, OEM builds).
    notes: tuple[str, ...] = ()
    # Behind the recorder (issue 9), kept together: the recorder's device key and channel for a
    # camera known from a recorder's channel list, and whether the verdict's evidence needed a
    # login from the credentials file.
    behind: str | None = None
    channel: int | None = None
    identity_with_credentials: bool = False
    #: ``<switch>/<port>`` where the device's MAC was learnt, from a switch's forwarding table
    #: (``snmp.switch_port``); the inventory's ``location.switch_port``.
    switch_port: str | None = None
