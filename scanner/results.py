"""The records the discovery stage hands to identification.

An :class:`Observation` is one flat fact a probe saw (``http.server_header = "App-webs/"``).
Probes that see the same thing use the same ``protocol``/``field`` pair, so one fingerprint
rule serves every probe. The vocabulary below is the contract with ``fingerprints``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from enum import StrEnum
from functools import lru_cache
from ipaddress import IPv4Address
from typing import Annotated, Final

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "ABSENT_STATUSES",
    "ANSWERED_STATUSES",
    "FAILURE_STATUSES",
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
            "mac",  # GetNetworkInterfaces HwAddress: the MAC of a routed host (issue 9)
        }
    ),
    "wsdiscovery": frozenset({"scopes", "types", "xaddrs", "endpoint_uuid", "fault"}),
    # ``http_port``/``https_port``: the web ports a device announces, which the sweeper follows.
    "sadp": frozenset(
        {"raw", "model", "serial", "firmware", "mac", "oem_code", "device_type", "http_port"}
    ),
    "dhip": frozenset(
        {
            "raw",
            "model",
            "serial",
            "vendor",
            "device_type",
            "mac",
            "manufacturer",
            "firmware",
            "http_port",
            "https_port",
        }
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
    "lldp": frozenset({"sysname", "sysdescr", "chassis_id"}),
    "cdp": frozenset({"device_id", "platform", "software"}),
    "snmp": frozenset(
        {
            "sysdescr",
            "sysobjectid",
            "sysname",
            "enterprise",
            "entity.mfg_name",
            "entity.model_name",
            "entity.serial",
            "entity.software_rev",
            "entity.descr",
            "vendor_value",
            # A switch's forwarding table: "<switch sysName>/<ifName>" of the host's MAC.
            "switch_port",
        }
    ),
    "telnet": frozenset({"banner"}),
    "ssh": frozenset({"banner"}),
    "ftp": frozenset({"banner"}),
    "tcp": frozenset({"open_port"}),
    "nmap": frozenset({"service", "product", "version", "extrainfo", "devicetype", "cpe"}),
    # Behind the recorder (issue 9): identity read with a login, and the cameras a recorder lists.
    "isapi": frozenset(
        {"model", "serial", "firmware", "device_type", "device_name", "mac", "namespace"}
    ),
    "dahua_cgi": frozenset(
        {"device_type", "serial", "vendor", "hardware_version", "firmware", "update_serial"}
    ),
    #: What a recorder reports about the camera on one of its channels (``behind``/``channel``).
    "channel": frozenset(
        {
            "manufacturer",
            "model",
            "serial",
            "firmware",
            "mac",
            "address",
            "name",
            "isapi_protocol",
            "dahua_protocol",
            "online",
        }
    ),
    #: A device asked for a login: ``required`` (no entry in scope), ``rejected`` (refused).
    "auth": frozenset({"required", "rejected", "accepted"}),
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
    """How one probe against one endpoint ended: one vocabulary, applied the same way by every
    probe, so an auditor can tell "nothing there" from "there but locked" from "broken".

    A probe asks a service for one thing (a banner, a device description, a discovery reply);
    the status says whether it got that thing:

    * ``success``: the service answered and the probe read what it asked for (a banner is read
      whatever its HTTP status: a 401 page *is* the banner). ``oversized``: the same, but the
      reply hit the byte cap and was cut.
    * ``not_found``: the host answered, but not with this service (a web server's 404 on the
      ONVIF path, HTML where SOAP belongs).
    * ``auth_required``: the service is there but refused every request that carries the
      identity without credentials (ONVIF ``NotAuthorized``, HTTP 401 on the service path).
      Challenges and faults it sent are still recorded as observations.
    * ``refused``: TCP RST on connect (port closed). ``closed``: accepted, then closed or reset
      before any reply.
    * ``no_reply``: nothing came back (UDP silence, unreachable host).
    * ``timeout``: a connection or reply started but did not finish before its deadline.
    * ``protocol_error``: a reply came that this protocol cannot parse (garbage, XML bomb).
    * ``skipped``: not tried on purpose (a cap, the sweep budget); the row says what and why.
    * ``out_of_scope``: not sent, because the endpoint is outside the scope.
    * ``error``: a local fault (a bug, a socket the OS refused); never the device's doing.
    """

    SUCCESS = "success"
    NOT_FOUND = "not_found"
    AUTH_REQUIRED = "auth_required"
    NO_REPLY = "no_reply"
    REFUSED = "refused"
    CLOSED = "closed"
    TIMEOUT = "timeout"
    PROTOCOL_ERROR = "protocol_error"
    OVERSIZED = "oversized"
    SKIPPED = "skipped"
    OUT_OF_SCOPE = "out_of_scope"
    ERROR = "error"


#: The host answered and something was read (maybe only a challenge).
ANSWERED_STATUSES: Final = frozenset(
    {ProbeStatus.SUCCESS, ProbeStatus.OVERSIZED, ProbeStatus.AUTH_REQUIRED}
)
#: The service is simply not offered there: an answer about the network, not a failure.
ABSENT_STATUSES: Final = frozenset(
    {ProbeStatus.NOT_FOUND, ProbeStatus.REFUSED, ProbeStatus.CLOSED, ProbeStatus.NO_REPLY}
)
#: An exchange that should have worked and did not: what the limitations count as failures.
FAILURE_STATUSES: Final = frozenset(
    {ProbeStatus.TIMEOUT, ProbeStatus.PROTOCOL_ERROR, ProbeStatus.ERROR}
)


# Identification formats the same few thousand addresses a hundred times each; the stdlib
# builds the dotted quad afresh every time.
@lru_cache(maxsize=1 << 17)
def _address_text(address: IPv4Address) -> str:
    return str(address)


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
    # Behind the recorder (issue 9), kept together: the fact is about the camera on ``channel`` of
    # the recorder at ``behind`` (the address it was read from), not about ``host`` itself; and
    # ``authenticated`` says the device answered only after a login from the credentials file.
    behind: str | None = Field(default=None, max_length=64)
    channel: int | None = Field(default=None, ge=0, le=4096)
    authenticated: bool = False
    #: A fact another device reported about ``host`` (a router's ARP cache, a switch's
    #: forwarding table, an LLDP neighbour): the reporting agent's address.
    origin: str | None = Field(default=None, max_length=64)

    @property
    def key(self) -> str:
        """The dotted field key rules match on, e.g. ``http.server_header``."""
        return f"{self.protocol}.{self.field}"

    @property
    def host_text(self) -> str:
        """``host`` as text, e.g. for a device key or an evidence origin."""
        return _address_text(self.host)

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
    #: A row about many targets at once (liveness per /24): what was asked of how many, e.g.
    #: ``{"targets": 254, "icmp_answered": 0, "tcp_checked": 254, "tcp_skipped": 0}``.
    counts: dict[str, int] = Field(default_factory=dict)
