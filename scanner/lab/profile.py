"""Lab profiles: simulated hosts as data (TOML), validated before anything is built.

A profile lists hosts with their address, MAC, ground truth (what the device really is, for
tests and demos) and what each answers on each protocol. Adding a device is adding a table.

Text in a profile may hold ``{placeholders}`` that the responder fills per host and per reply
(see :data:`BUILTIN_PLACEHOLDERS` and a host's ``vars``); unknown ``{...}`` text is left as is,
so JSON and JavaScript bodies need no escaping. A ``[templates.X]`` table holds protocol
sections many hosts share; a host names it with ``template = "X"`` and overrides any key.
"""

from __future__ import annotations

import base64
import binascii
import tomllib
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from scanner.errors import LabError
from scanner.lab.daemons import DaemonName, daemon_ports
from scanner.results import normalize_mac
from scanner.scope import LAB_NETWORK

__all__ = [
    "BUILTIN_PLACEHOLDERS",
    "INFRA_NETWORK",
    "BannerService",
    "DhipService",
    "GroundTruth",
    "HttpRoute",
    "HttpService",
    "LabHost",
    "LabProfile",
    "OnvifService",
    "RoutedSubnet",
    "RtspRoute",
    "RtspService",
    "SadpService",
    "ScaleConfig",
    "ScaleMix",
    "SnmpService",
    "TlsCertificate",
    "UpnpService",
    "load_profile",
]

# A profile is a hand-written file; 1 MiB is thousands of hosts.
MAX_PROFILE_BYTES: Final = 1024 * 1024
# The Linux bridge holds at most 1,023 ports (lab-feasibility §2.2); larger labs use scale mode.
MAX_BRIDGED_HOSTS: Final = 1000
# Reserved for the lab's own links (scanner<->farm, root<->scanner); profiles must stay out.
INFRA_NETWORK: Final = IPv4Network("198.18.254.0/23")
# A hostile body may be huge but must stay a stream the responder generates, never a buffer.
MAX_STREAM_BYTES: Final = 4 * 1024**3

BUILTIN_PLACEHOLDERS: Final = (
    "address",  # the host's IPv4 address
    "mac",  # aa:bb:cc:dd:ee:ff
    "mac_dash",  # aa-bb-cc-dd-ee-ff (SADP)
    "mac_hex",  # AABBCCDDEEFF (Axis realm)
    "mac_hex_lower",  # aabbccddeeff (Hikvision endpoint UUID tail)
    "ipv6_ll",  # EUI-64 link-local address derived from the MAC
    "netmask",
    "gateway",  # the scanner's address: the only router the lab has
    "seq",  # scale mode: the host's offset in the prefix, 9 digits
    "seq_hex",  # scale mode: the same offset, 6 upper-case hex digits
    "http_date",  # RFC 7231 date, per reply
    "rtsp_date_hik",  # Hikvision RTSP date ("Thu, May 14 2020 16:45:35 GMT"), per reply
    "content_length",  # length of the body, per reply
    "cseq",  # the request's CSeq, per RTSP reply
    "nonce",  # 32 random hex digits, per reply
)

Behaviour = Literal["normal", "stream", "slowloris", "reset"]


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _check_b64(value: str | None) -> str | None:
    if value is not None:
        try:
            base64.b64decode(value, validate=True)
        except binascii.Error as exc:
            raise ValueError(f"not base64: {exc}") from exc
    return value


class GroundTruth(_Strict):
    """What the simulated device really is: the answer the scanner should reach."""

    #: Left out (None) when the true producer is unknown or not a hardware maker (a Debian VM).
    maker: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9-]*$")
    brand: str | None = None
    model: str | None = None
    covered: bool
    note: str | None = None
    #: What a sweep can honestly conclude, when that is less than ``covered`` says: a device
    #: that shows only its MAC prefix (or no hardware maker at all) ends "undetermined" by
    #: design. Left out, a sweep must call the device covered or not covered as ``covered``.
    expect: Literal["undetermined"] | None = None
    #: Why ``expect`` is less than the truth; required with it, so every exception is argued.
    reason: str | None = None

    @model_validator(mode="after")
    def _expect_needs_a_reason(self) -> GroundTruth:
        if (self.expect is None) != (self.reason is None):
            raise ValueError("truth: `expect` and `reason` go together")
        return self


class _Reply(_Strict):
    """Bytes of one reply: status line, headers in wire order, body, and how to send them."""

    status_line: str
    headers: tuple[tuple[str, str], ...] = ()
    body: str = ""
    body_b64: str | None = Field(
        default=None, description="binary body (favicon, invalid UTF-8); replaces body"
    )
    behaviour: Behaviour = Field(
        default="normal",
        description="stream: headers then stream_bytes generated on the fly; slowloris: one "
        "byte per second; reset: half the reply, then a TCP RST",
    )
    stream_bytes: int = Field(default=0, ge=0, le=MAX_STREAM_BYTES)

    @field_validator("body_b64")
    @classmethod
    def _b64(cls, value: str | None) -> str | None:
        return _check_b64(value)

    def body_bytes(self) -> bytes:
        """The body as bytes (before placeholders, which only apply to text bodies)."""
        if self.body_b64 is not None:
            return base64.b64decode(self.body_b64)
        return self.body.encode("utf-8")


class RouteAuth(_Strict):
    """A login the route asks for, as recorder firmware does (issue 9): the challenge's exact
    bytes, and the one account the simulated device accepts (a lab account, not a secret)."""

    username: str
    password: str
    realm: str = Field(description="digest realm; may use placeholders ('Login to {serial}')")
    basic: bool = Field(default=False, description="also accept Basic (old firmware)")
    challenge: _Reply


class HttpRoute(_Reply):
    """The exact bytes one path answers with.

    ``path`` is an exact path, a prefix ending in ``*`` (``/ISAPI/*``), or ``*`` for every other
    path; ``query``, when given, must equal the request's query string (Dahua CGI actions share
    one path). With ``auth`` the route answers its challenge until a valid login arrives.
    """

    path: str = Field(description="request path, 'PREFIX*', or '*' for every other path")
    query: str | None = None
    auth: RouteAuth | None = None


class TlsCertificate(_Strict):
    """A self-signed certificate made at lab-up time (private keys are never committed)."""

    subject: str = Field(description="RFC 4514 order as devices print it: 'CN=..,OU=..,O=..'")
    days: int = Field(default=3650, ge=1, le=36500)

    @field_validator("subject")
    @classmethod
    def _subject(cls, value: str) -> str:
        for part in value.split(","):
            key, sep, _ = part.partition("=")
            if not sep or key.strip().upper() not in {"CN", "OU", "O", "L", "ST", "C", "E"}:
                raise ValueError(f"subject part {part!r} is not one of CN OU O L ST C E =value")
        return value


class Rpc2Service(_Strict):
    """Dahua RPC2 (JSON POSTs to ``/RPC2_Login`` and ``/RPC2``): the two-step challenge login
    and the read-only calls the scanner makes (see scanner/probes/dahua_rpc2.py for sources)."""

    username: str
    password: str
    realm: str = Field(default="Login to {serial}", description="may use placeholders")
    encryption: str = "Default"
    #: ``configManager.getConfig`` tables by name, as JSON text (``params.table``).
    tables: dict[str, str] = Field(default_factory=dict)


class HttpService(_Strict):
    """An HTTP (or, with ``tls``, HTTPS) server on one port."""

    port: int = Field(default=80, ge=1, le=65535)
    tls: TlsCertificate | None = None
    routes: tuple[HttpRoute, ...] = Field(min_length=1)
    rpc2: Rpc2Service | None = None

    def route_for(self, path: str, query: str | None = None) -> HttpRoute:
        """Return the route for ``path``: exact, then longest prefix, then ``*``, then first.

        An exact path with a matching ``query`` comes before the same path without one.
        """
        if query is not None:
            for route in self.routes:
                if route.path == path and route.query == query:
                    return route
        for route in self.routes:
            if route.path == path and route.query is None:
                return route
        prefixed = [r for r in self.routes if r.path.endswith("*") and path.startswith(r.path[:-1])]
        if prefixed:
            return max(prefixed, key=lambda r: len(r.path))
        return self.routes[0]


class RtspRoute(_Reply):
    """The reply to one RTSP method; ``*`` for any other, ``HTTP`` for an HTTP request line."""

    method: str = Field(pattern=r"^([A-Z_]{1,20}|\*)$")


class RtspService(_Strict):
    """An RTSP server (nmap sends OPTIONS and an HTTP GET to it)."""

    port: int = Field(default=554, ge=1, le=65535)
    routes: tuple[RtspRoute, ...] = Field(min_length=1)

    def route_for(self, method: str) -> RtspRoute:
        """Return the route for ``method``, falling back to ``*`` then the first route."""
        for route in self.routes:
            if route.method == method:
                return route
        for route in self.routes:
            if route.method == "*":
                return route
        return self.routes[0]


class OnvifVideoSource(_Strict):
    """One video source of an ONVIF recorder's media service: a channel, as ONVIF shows it."""

    token: str = Field(min_length=1, max_length=64)
    name: str = Field(default="", max_length=64, description="its profile's source config name")
    width: int = Field(default=1920, ge=1, le=16384)
    height: int = Field(default=1080, ge=1, le=16384)


class OnvifService(_Strict):
    """ONVIF: WS-Discovery ProbeMatch on UDP 3702 and the SOAP device service over HTTP."""

    port: int = Field(default=80, ge=1, le=65535)
    path: str = "/onvif/device_service"
    discovery: bool = True
    manufacturer: str
    model: str
    firmware: str
    serial: str
    hardware_id: str = ""
    scopes: tuple[str, ...] = Field(min_length=1)
    types: str = "dn:NetworkVideoTransmitter tds:Device"
    endpoint_uuid: str = Field(
        default="5a7b1c00-0000-1000-8000-{mac_hex_lower}", description="urn:uuid: suffix"
    )
    metadata_version: int = Field(default=10, ge=0)
    prefixes: Literal["gsoap", "wsd"] = Field(
        default="gsoap",
        description="gsoap: env/wsadis/d (Hikvision IPC); wsd: soap/wsa/wsd (Hikvision NVR)",
    )
    username: str | None = None
    password: str | None = None
    timezone: str = "CST-8"
    raw_reply_b64: str | None = Field(default=None, description="hostile: send this instead")
    #: A recorder's channels, answered by GetVideoSources/GetProfiles on ``media_path``.
    video_sources: tuple[OnvifVideoSource, ...] = ()
    media_path: str = "/onvif/media_service"
    #: Operations answered without a token although credentials are set (white-label firmware).
    open_actions: tuple[str, ...] = ()

    @field_validator("raw_reply_b64")
    @classmethod
    def _b64(cls, value: str | None) -> str | None:
        return _check_b64(value)

    @model_validator(mode="after")
    def _credentials(self) -> OnvifService:
        if (self.username is None) != (self.password is None):
            raise ValueError("onvif username and password go together")
        return self


class SadpService(_Strict):
    """Hikvision SADP on UDP 37020: the ``<ProbeMatch>`` elements after Uuid and Types."""

    fields: tuple[tuple[str, str], ...] = Field(min_length=1)
    raw_reply_b64: str | None = Field(default=None, description="hostile: send this instead")

    @field_validator("raw_reply_b64")
    @classmethod
    def _b64(cls, value: str | None) -> str | None:
        return _check_b64(value)

    @field_validator("fields")
    @classmethod
    def _tags(cls, value: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
        for tag, _ in value:
            if not tag.isalnum():
                raise ValueError(f"SADP tag {tag!r} must be letters and digits")
        return value


class DhipService(_Strict):
    """Dahua DHIP on UDP 37810: the JSON body of ``client.notifyDevInfo`` (framed on send)."""

    body: str = ""
    raw_reply_b64: str | None = Field(default=None, description="hostile: send this instead")

    @field_validator("raw_reply_b64")
    @classmethod
    def _b64(cls, value: str | None) -> str | None:
        return _check_b64(value)


class SnmpService(_Strict):
    """SNMP v2c GetRequest/GetNextRequest for sysDescr.0 and sysObjectID.0."""

    port: int = Field(default=161, ge=1, le=65535)
    community: str = "public"
    sysdescr: str
    sysobjectid: str = Field(
        pattern=r"^(|[0-2](\.\d{1,10}){1,40})$",
        description="dotted OID; empty for devices that answer a zero-length OID (Hikvision IPC)",
    )


class SnmpdService(_Strict):
    """Debian's net-snmp ``snmpd`` in this host's namespace (daemon ``snmpd``).

    It answers on a community and an SNMPv3 user of the site (not ``public``), the system group
    given here, IP-MIB from the namespace's real ARP cache (a router's), and, with ``switch``,
    a BRIDGE-MIB forwarding table built from the profile: every host of the main network on its
    own access port, ``uplink_macs`` on the uplink (scanner.lab.snmp_tables).
    """

    community: str = Field(min_length=1, max_length=64, pattern=r"^[!-~]+$")
    v3_user: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.-]{1,32}$")
    v3_auth_key: str | None = Field(default=None, min_length=8, pattern=r"^[!-~]+$")
    v3_priv_key: str | None = Field(default=None, min_length=8, pattern=r"^[!-~]+$")
    sysname: str = Field(pattern=r"^[A-Za-z0-9._-]{1,64}$")
    sysdescr: str = Field(max_length=255, pattern=r"^[ -~]*$")
    sysobjectid: str = Field(pattern=r"^[0-2](\.\d{1,10}){1,40}$")
    switch: bool = False
    uplink_macs: tuple[str, ...] = ()
    #: Hosts whose LLDP advertisements the switch heard (lldpRemTable rows).
    lldp: tuple[str, ...] = ()


class UpnpService(_Strict):
    """UPnP: SSDP answers on UDP 1900 (+ group 239.255.255.250) and the device description.

    The description is served over HTTP at ``http://{address}:{port}{path}`` (the SSDP
    ``LOCATION``) by its own small server; other paths there answer 404, as libupnp does.
    """

    port: int = Field(default=49152, ge=1, le=65535, description="TCP port of the description")
    path: str = Field(default="/rootDesc.xml", pattern=r"^/[!-~]{0,200}$")
    server: str = Field(
        description="SSDP SERVER and HTTP Server header: 'OS/ver UPnP/1.0 product/ver'"
    )
    device_type: str = "urn:schemas-upnp-org:device:Basic:1"
    friendly_name: str = ""
    manufacturer: str = ""
    manufacturer_url: str = ""
    model_name: str = ""
    model_number: str = ""
    model_description: str = ""
    model_url: str = ""
    serial: str = ""
    udn: str = "uuid:{mac_hex_lower}-0000-1000-8000-{mac_hex_lower}"
    presentation_url: str = ""
    location: str | None = Field(
        default=None, description="LOCATION to announce instead of the description URL (hostile)"
    )
    max_age: int = Field(default=1800, ge=0, le=86400)
    raw_description_b64: str | None = Field(default=None, description="hostile: serve this")

    @field_validator("raw_description_b64")
    @classmethod
    def _b64(cls, value: str | None) -> str | None:
        return _check_b64(value)


class BannerService(_Strict):
    """A TCP port that sends fixed bytes (telnet banner, SDK port frame) or stays silent."""

    port: int = Field(ge=1, le=65535)
    banner: str = ""
    banner_b64: str | None = None
    when: Literal["connect", "first_data", "never"] = "connect"
    behaviour: Literal["normal", "reset"] = "normal"

    @field_validator("banner_b64")
    @classmethod
    def _b64(cls, value: str | None) -> str | None:
        return _check_b64(value)

    def banner_bytes(self) -> bytes:
        """What the port sends."""
        if self.banner_b64 is not None:
            return base64.b64decode(self.banner_b64)
        return self.banner.encode("utf-8")


class ChannelTruth(_Strict):
    """A camera on a recorder's internal subnet, reachable only through the recorder's API
    (issue 9): where it sits and what it really is. The bytes that describe it are the
    recorder's own routes; this is the answer the scanner should reach."""

    channel: int = Field(ge=1, le=256)
    address: IPv4Address = Field(description="internal (PoE switch) address; never routed")
    mac: str | None = None
    truth: GroundTruth


class RoutedSubnet(_Strict):
    """A subnet behind a router host: the scanner reaches it only through that router.

    Its hosts hang off a second bridge the router is the only way into; with
    ``drop_icmp_echo`` each of them drops ICMP echo requests (nftables), as ping-filtered
    cameras do, so only a TCP fallback finds them.
    """

    network: IPv4Network
    router: str = Field(description="name of a host on the main network that routes here")
    router_address: IPv4Address = Field(description="the router's address on this subnet")
    drop_icmp_echo: bool = True


class LabHost(_Strict):
    """One simulated device."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,30}$")
    address: IPv4Address
    mac: str
    truth: GroundTruth
    template: str | None = Field(default=None, description="already merged; kept for reports")
    vars: dict[str, str] = Field(default_factory=dict)
    http: tuple[HttpService, ...] = ()
    rtsp: RtspService | None = None
    onvif: OnvifService | None = None
    sadp: SadpService | None = None
    dhip: DhipService | None = None
    snmp: SnmpService | None = None
    upnp: UpnpService | None = None
    tcp: tuple[BannerService, ...] = ()
    #: Cameras behind this recorder (ground truth only; see :class:`ChannelTruth`).
    channels: tuple[ChannelTruth, ...] = ()
    #: Real Debian daemons started in this host's namespace (scanner.lab.daemons).
    daemons: tuple[DaemonName, ...] = ()
    #: Settings of the ``snmpd`` daemon, when the host names it.
    snmpd: SnmpdService | None = None
    behind: str | None = Field(
        default=None,
        description="name of a router host this host sits behind; for a main-network address "
        "the router answers ARP for it with its own MAC (proxy ARP)",
    )

    @field_validator("mac")
    @classmethod
    def _mac(cls, value: str) -> str:
        mac = normalize_mac(value)
        if int(mac[:2], 16) & 1:
            raise ValueError("a host MAC must be unicast (first octet even)")
        return mac

    @model_validator(mode="after")
    def _ports(self) -> LabHost:
        tcp = [s.port for s in self.http] + [s.port for s in self.tcp]
        if self.rtsp:
            tcp.append(self.rtsp.port)
        if self.upnp:
            tcp.append(self.upnp.port)
        if self.onvif and self.upnp and self.onvif.port == self.upnp.port:
            raise ValueError(f"host {self.name}: onvif and the UPnP description share a port")
        if len(set(tcp)) != len(tcp):
            raise ValueError(f"host {self.name}: two TCP services on one port")
        if self.onvif and self.onvif.port in {s.port for s in self.tcp}:
            raise ValueError(f"host {self.name}: onvif port {self.onvif.port} is a banner port")
        if self.onvif and any(s.port == self.onvif.port and s.tls for s in self.http):
            raise ValueError(f"host {self.name}: onvif is served over plain HTTP only")
        self._daemon_ports_free()
        return self

    def _daemon_ports_free(self) -> None:
        if ("snmpd" in self.daemons) != (self.snmpd is not None):
            raise ValueError(f"host {self.name}: daemon snmpd and [snmpd] settings go together")
        if len(set(self.daemons)) != len(self.daemons):
            raise ValueError(f"host {self.name}: a daemon is named twice")
        taken = {("tcp", port) for port in self.tcp_ports()}
        taken |= {("udp", port) for port in self.udp_ports()}
        clash = sorted(set(daemon_ports(self.daemons)) & taken)
        if clash:
            shown = ", ".join(f"{proto}/{port}" for proto, port in clash)
            raise ValueError(f"host {self.name}: daemons and responders both use {shown}")

    def tcp_ports(self) -> list[int]:
        """Every TCP port the host listens on."""
        ports = {s.port for s in self.http} | {s.port for s in self.tcp}
        if self.rtsp:
            ports.add(self.rtsp.port)
        if self.onvif:
            ports.add(self.onvif.port)
        if self.upnp:
            ports.add(self.upnp.port)
        return sorted(ports)

    def udp_ports(self) -> list[int]:
        """Every UDP port the host's responders answer on."""
        ports = {1900} if self.upnp else set()
        if self.onvif and self.onvif.discovery:
            ports.add(3702)
        if self.sadp:
            ports.add(37020)
        if self.dhip:
            ports.add(37810)
        if self.snmp:
            ports.add(self.snmp.port)
        return sorted(ports)


class ScaleMix(_Strict):
    """One kind of device in the scale farm: a template, its share and its MAC prefix."""

    template: str
    weight: int = Field(default=1, ge=1, le=1000)
    oui: str = Field(pattern=r"^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){2}$")
    truth: GroundTruth
    vars: dict[str, str] = Field(default_factory=dict)


class ScaleConfig(_Strict):
    """Scale mode: one farm namespace answers for every address of ``prefix``."""

    prefix: IPv4Network
    mix: tuple[ScaleMix, ...] = Field(min_length=1)
    multicast_cap: int = Field(
        default=4096, ge=0, le=65536, description="most farm hosts answering one multicast probe"
    )


def _deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


class LabProfile(_Strict):
    """A whole simulated site."""

    schema_version: int = Field(ge=1, le=1)
    name: str = Field(pattern=r"^[a-z0-9]{1,12}$")
    description: str = ""
    network: IPv4Network
    scanner_address: IPv4Address
    templates: dict[str, dict[str, Any]] = Field(default_factory=dict)
    hosts: tuple[LabHost, ...] = Field(default=(), max_length=MAX_BRIDGED_HOSTS)
    scale: ScaleConfig | None = None
    routed: tuple[RoutedSubnet, ...] = ()

    def subnet_of(self, host: LabHost) -> RoutedSubnet | None:
        """The routed subnet ``host`` lives in, or ``None`` for the main network."""
        return next((r for r in self.routed if host.address in r.network), None)

    def router_of(self, host: LabHost) -> str | None:
        """The name of the router ``host`` sits behind (its subnet's, or ``behind``)."""
        subnet = self.subnet_of(host)
        return subnet.router if subnet is not None else host.behind

    def segment_of(self, host: LabHost) -> tuple[IPv4Network, IPv4Address]:
        """The network and gateway ``host`` is configured with."""
        subnet = self.subnet_of(host)
        if subnet is not None:
            return subnet.network, subnet.router_address
        return self.network, self.scanner_address

    def networks(self) -> tuple[IPv4Network, ...]:
        """Every network the lab's hosts live in: the main one, then the routed ones."""
        return (self.network, *(r.network for r in self.routed))

    @model_validator(mode="before")
    @classmethod
    def _apply_templates(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        templates = data.get("templates") or {}
        hosts = data.get("hosts")
        if not isinstance(templates, dict) or not isinstance(hosts, list):
            return data
        merged = []
        for host in hosts:
            name = host.get("template") if isinstance(host, dict) else None
            if isinstance(name, str):
                if name not in templates or not isinstance(templates[name], dict):
                    raise ValueError(f"host {host.get('name')!r}: no template named {name!r}")
                host = _deep_merge(templates[name], host)
            merged.append(host)
        return {**data, "hosts": merged}

    @model_validator(mode="after")
    def _consistent(self) -> LabProfile:
        if not self.hosts and self.scale is None:
            raise ValueError("a profile needs hosts, a [scale] section, or both")
        for net in (self.network, *((self.scale.prefix,) if self.scale else ())):
            if not net.subnet_of(LAB_NETWORK):
                raise ValueError(f"lab network {net} must be inside {LAB_NETWORK}")
            if net.overlaps(INFRA_NETWORK):
                raise ValueError(f"{net} overlaps {INFRA_NETWORK}, reserved for the lab's links")
        if self.scale and self.scale.prefix.overlaps(self.network):
            raise ValueError("the scale prefix must not overlap the bridged network")
        if self.scale:
            for mix in self.scale.mix:
                if mix.template not in self.templates:
                    raise ValueError(f"scale mix names unknown template {mix.template!r}")
        self._check_routed()
        addresses = [self.scanner_address, *(h.address for h in self.hosts)]
        for addr in addresses:
            net = next((n for n in self.networks() if addr in n), self.network)
            if addr not in net or addr in {net.network_address, net.broadcast_address}:
                raise ValueError(f"{addr} is not a host address of {self.network}")
        addresses += [r.router_address for r in self.routed]
        if len(set(addresses)) != len(addresses):
            raise ValueError("two hosts (or a host and the scanner) share an address")
        names = [h.name for h in self.hosts]
        if len(set(names)) != len(names):
            raise ValueError("two hosts share a name")
        macs = [h.mac for h in self.hosts]
        if len(set(macs)) != len(macs):
            raise ValueError("two hosts share a MAC")
        return self

    def _check_routed(self) -> None:
        main_hosts = {h.name: h for h in self.hosts if h.address in self.network}
        for subnet in self.routed:
            net = subnet.network
            if not net.subnet_of(LAB_NETWORK) or net.overlaps(INFRA_NETWORK):
                raise ValueError(f"routed subnet {net} must be inside {LAB_NETWORK}, off the infra")
            if net.overlaps(self.network) or (self.scale and net.overlaps(self.scale.prefix)):
                raise ValueError(f"routed subnet {net} overlaps the main network or scale prefix")
            router = main_hosts.get(subnet.router)
            if router is None or router.behind is not None:
                raise ValueError(
                    f"routed subnet {net}: router {subnet.router!r} is not a host of "
                    "the main network"
                )
            if subnet.router_address not in net:
                raise ValueError(f"routed subnet {net}: router_address outside it")
        nets = [r.network for r in self.routed]
        for index, net in enumerate(nets):
            if any(net.overlaps(other) for other in nets[index + 1 :]):
                raise ValueError(f"routed subnets overlap at {net}")
        for host in self.hosts:
            if host.behind is not None and (
                host.behind not in main_hosts or main_hosts[host.behind].behind is not None
            ):
                raise ValueError(f"host {host.name}: behind names no router on the main network")
            if host.behind is not None and self.subnet_of(host) is not None:
                raise ValueError(f"host {host.name}: a routed subnet's host needs no behind")

    def scale_hosts(self) -> list[LabHost]:
        """One validated host per scale mix entry (address and MAC are per-address later)."""
        if self.scale is None:
            return []
        first = self.scale.prefix.network_address + 1
        hosts = []
        for index, mix in enumerate(self.scale.mix):
            data = _deep_merge(
                self.templates[mix.template],
                {
                    "name": f"farm-{index}",
                    "address": str(first),
                    "mac": f"{mix.oui}:00:00:00",
                    "truth": mix.truth.model_dump(),
                    "template": mix.template,
                    "vars": mix.vars,
                },
            )
            hosts.append(LabHost.model_validate(data))
        return hosts


def load_profile(path: Path) -> LabProfile:
    """Read and validate a profile file; every problem becomes one clear :class:`LabError`."""
    try:
        if path.stat().st_size > MAX_PROFILE_BYTES:
            raise LabError(f"{path}: profile larger than 1 MiB")
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise LabError(f"{path}: cannot read profile: {exc.strerror}") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise LabError(f"{path}: not valid TOML: {exc}") from exc
    try:
        profile = LabProfile.model_validate(data)
        profile.scale_hosts()
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "profile"
        message = str(first["msg"]).removeprefix("Value error, ")
        raise LabError(f"{path}: {where}: {message}") from exc
    return profile
