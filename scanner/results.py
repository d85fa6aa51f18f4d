"""The records the discovery stage hands to identification.

An :class:`Observation` is one flat fact a probe saw (``http.server_header = "App-webs/"``).
Probes that see the same thing use the same ``protocol``/``field`` pair, so one fingerprint
rule serves every probe. The vocabulary below is the contract with ``fingerprints``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from enum import StrEnum
from ipaddress import IPv4Address
from typing import Annotated, Final

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "FIELD_VOCABULARY",
    "MAX_VALUE_CHARS",
    "WEB_FIELDS",
    "Observation",
    "ProbeResult",
    "ProbeStatus",
    "normalize_mac",
    "tally_statuses",
    "utc_now",
]

# Device-supplied strings flow into reports; 4 KiB keeps one hostile banner from bloating an
# inventory while leaving room for a full ONVIF scope list.
MAX_VALUE_CHARS: Final = 4096

#: What a web server says about itself; plain HTTP and HTTPS banners use the same names.
WEB_FIELDS: Final = frozenset(
    {
        "status_line",
        "server_header",
        "www_authenticate",
        "title",
        "body",
        "favicon_md5",
        "header_names",
        "location",
        "vendor_path",
    }
)

#: protocol -> fields a probe may emit. ``https`` shares the ``http`` fields.
FIELD_VOCABULARY: Final[dict[str, frozenset[str]]] = {
    "mac": frozenset({"mac"}),
    "http": WEB_FIELDS,
    "https": WEB_FIELDS,
    "tls": frozenset({"cert_subject", "cert_issuer"}),
    "rtsp": frozenset({"server_header", "www_authenticate", "public", "status_line"}),
    "onvif": frozenset(
        {
            "manufacturer",
            "model",
            "firmware",
            "serial",
            "hardware_id",
            "scopes",
            "stream_uri",
            "snapshot_uri",
            "www_authenticate",
            "fault",
        }
    ),
    "wsdiscovery": frozenset({"scopes", "types", "xaddrs", "endpoint_uuid", "fault"}),
    "sadp": frozenset({"raw", "model", "serial", "firmware", "mac", "oem_code", "device_type"}),
    "dhip": frozenset(
        {"raw", "model", "serial", "vendor", "device_type", "mac", "manufacturer", "firmware"}
    ),
    "upnp": frozenset(
        {
            "server_header",
            "manufacturer",
            "model",
            "model_number",
            "serial",
            "friendly_name",
            "udn",
            "location",
            "usn",
        }
    ),
    # Passive capture only (scanner.passive): what a device says of itself without being asked.
    "dhcp": frozenset({"hostname", "vendor_class", "param_list"}),
    "lldp": frozenset({"sysname", "sysdescr"}),
    "cdp": frozenset({"device_id", "platform", "software"}),
    "snmp": frozenset({"sysdescr", "sysobjectid"}),
    "telnet": frozenset({"banner"}),
    "ssh": frozenset({"banner"}),
    "ftp": frozenset({"banner"}),
    "tcp": frozenset({"open_port"}),
    "nmap": frozenset({"service", "product", "version", "extrainfo", "devicetype", "cpe"}),
}


def utc_now() -> datetime:
    """Return the current time, timezone-aware (naive datetimes are banned project-wide)."""
    return datetime.now(UTC)


def normalize_mac(value: str) -> str:
    """Return ``aa:bb:cc:dd:ee:ff`` for the MAC spellings devices use.

    SADP writes ``58-50-ed-1f-e3-85``, SNMP ``3cef8c084e1e``, DHIP ``4c:11:bf:c2:0b:9d``.
    """
    digits = "".join(ch for ch in value if ch not in ":-. ").lower()
    if len(digits) != 12 or any(ch not in "0123456789abcdef" for ch in digits):
        raise ValueError(f"not a MAC address: {value[:40]!r}")
    return ":".join(digits[i : i + 2] for i in range(0, 12, 2))


def _cap(value: str) -> str:
    return value if len(value) <= MAX_VALUE_CHARS else value[:MAX_VALUE_CHARS]


CappedText = Annotated[str, AfterValidator(_cap)]


class ProbeStatus(StrEnum):
    """How one probe against one target ended (one vocabulary for every probe)."""

    SUCCESS = "success"
    NO_REPLY = "no_reply"
    REFUSED = "refused"
    CLOSED = "closed"
    TIMEOUT = "timeout"
    PROTOCOL_ERROR = "protocol_error"
    OVERSIZED = "oversized"
    OUT_OF_SCOPE = "out_of_scope"
    ERROR = "error"


class Observation(BaseModel):
    """One fact a probe saw on the wire, decoded and length-capped."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    host: IPv4Address
    protocol: str
    field: str
    value: CappedText
    mac: str | None = None
    port: int | None = Field(default=None, ge=0, le=65535)
    probe: str | None = None
    observed_at: datetime = Field(default_factory=utc_now)

    @property
    def key(self) -> str:
        """The dotted field key rules match on, e.g. ``http.server_header``."""
        return f"{self.protocol}.{self.field}"

    @field_validator("mac")
    @classmethod
    def _mac(cls, value: str | None) -> str | None:
        return None if value is None else normalize_mac(value)

    @field_validator("observed_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("observed_at must carry a timezone")
        return value


def tally_statuses(results: Iterable[ProbeResult]) -> dict[str, dict[str, int]]:
    """Count results per probe and status (``{"rtsp": {"success": 12, "timeout": 1}}``)."""
    counts: dict[str, dict[str, int]] = {}
    for result in results:
        per_probe = counts.setdefault(result.probe, {})
        per_probe[result.status.value] = per_probe.get(result.status.value, 0) + 1
    return counts


class ProbeResult(BaseModel):
    """The outcome of one probe against one target: a status plus what it observed."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    probe: str
    target: str
    status: ProbeStatus
    started_at: datetime
    elapsed_s: float = Field(ge=0)
    observations: tuple[Observation, ...] = ()
    error: str | None = Field(default=None, max_length=500)
    reply_bytes: int = Field(default=0, ge=0)
