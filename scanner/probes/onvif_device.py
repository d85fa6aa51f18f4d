"""ONVIF device service (``/onvif/device_service``, SOAP 1.2 over HTTP): maker, model, firmware.

Calls, in order: ``GetSystemDateAndTime`` and ``GetCapabilities`` (pre-auth on most firmware),
``GetDeviceInformation`` and ``GetScopes`` anonymously; if the device refuses and the user gave
credentials (file or environment, never guessed), ``GetDeviceInformation`` again with a
WS-UsernameToken digest whose ``Created`` is taken from the *device's* clock, because cameras
reject tokens more than a few seconds off their own time (peers.md §B.2). A 401 challenge is
itself evidence: Dahua answers ``realm="Login to <serial>"`` (fingerprints.md §3.4).

Request envelopes are built by zeep from the ONVIF WSDLs shipped in the ``onvif-zeep-async``
package, loaded strictly offline: a zeep Transport maps the WS-Addressing URL to the shipped
file and refuses any other http(s) load, and ``Settings(forbid_dtd=True)``. The WSDL files are
used as shipped (their licence forbids modification). Every request goes through the
:class:`ProbeContext` like any other probe's, and replies are parsed by
:mod:`scanner.safe_xml` (defusedxml, byte cap), not by zeep, so a quirky or hostile device
costs a ``protocol_error`` rather than a hang.
"""

from __future__ import annotations

import importlib.util
import logging
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from functools import cache
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any, ClassVar, Final
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict

from scanner.context import ExchangeError, ProbeContext, message_complete
from scanner.errors import ProbeParseError
from scanner.probes.base import Endpoint, ObservationSet, ProbeInfo
from scanner.probes.http_banner import HttpReply, dechunk
from scanner.probes.http_banner import parse_reply as parse_http
from scanner.results import Observation, ProbeResult, ProbeStatus
from scanner.safe_xml import Element, child_text, find_all, find_first, parse_xml

__all__ = [
    "PROBE",
    "DeviceInformation",
    "OnvifDeviceProbe",
    "build_request",
    "endpoint_from_xaddr",
    "parse_device_information",
    "parse_scopes",
    "parse_system_date_and_time",
]

log = logging.getLogger(__name__)

PORT: Final = 80
PATH: Final = "/onvif/device_service"
#: The default endpoint is a guess; a device's WS-Discovery XAddrs say where it really is.
XADDR_LEAD: Final = "wsdiscovery.xaddrs"
#: HTTP statuses that mean "no such service here" from any web server (RFC 9110 §15.5).
_ABSENT_HTTP: Final = frozenset({404, 405, 501})
#: HTTP statuses that mean "here, but not for you" (RFC 9110 §15.5.2, §15.5.4).
_LOCKED_HTTP: Final = frozenset({401, 403})
#: ONVIF Core §5.11.2.2: ``ter:NotAuthorized``; gSOAP firmwares say "Sender not Authorized".
_AUTH_FAULT_WORDS: Final = ("notauthorized", "not authorized", "unauthorized")
DEVICE_BINDING: Final = "{http://www.onvif.org/ver10/device/wsdl}DeviceBinding"
#: GetCapabilities replies run to ~16 KiB on NVRs; 128 KiB bounds a hostile one.
MAX_REPLY_BYTES: Final = 128 * 1024
#: URLs the shipped schemas import, mapped to the shipped copies (lab-feasibility §7).
_OFFLINE_FILES: Final = {
    "http://schemas.xmlsoap.org/ws/2004/08/addressing": "addressing",
    "http://www.w3.org/2005/08/addressing/ws-addr.xsd": "ws-addr.xsd",
    "http://www.w3.org/2006/03/addressing/ws-addr.xsd": "ws-addr.xsd",
    "http://www.w3.org/2003/05/soap-envelope": "envelope",
    "http://www.w3.org/2001/xml.xsd": "xml.xsd",
    "http://www.w3.org/2004/08/xop/include": "include",
    "http://www.w3.org/2005/05/xmlmime": "xmlmime",
}


class OfflineLoadError(Exception):
    """zeep asked for a schema over the network; the scanner never fetches one."""


class DeviceInformation(BaseModel):
    """The fields of a ``GetDeviceInformationResponse``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    manufacturer: str | None
    model: str | None
    firmware: str | None
    serial: str | None
    hardware_id: str | None


def wsdl_dir() -> Path:
    """Return the directory of ONVIF WSDLs shipped by the ``onvif-zeep-async`` package."""
    # The package is a data dependency only: found, not imported (importing it loads its
    # aiohttp client, 0.4 s, which is never used).
    spec = importlib.util.find_spec("onvif")
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError("onvif-zeep-async (the ONVIF WSDLs) is not installed")
    return Path(spec.origin).parent / "wsdl"


_client_lock = threading.Lock()


#: Services whose requests are built here: WSDL file and binding.
_SERVICES: Final = {
    "device": ("devicemgmt.wsdl", DEVICE_BINDING),
    "media": ("media.wsdl", "{http://www.onvif.org/ver10/media/wsdl}MediaBinding"),
}


@cache
def _zeep_client(wsdl: str = "devicemgmt.wsdl") -> Any:  # zeep is untyped
    """Load one shipped WSDL once per process, offline (0.1 s)."""
    import zeep
    from zeep.transports import Transport

    base = wsdl_dir()

    class OfflineTransport(Transport):  # type: ignore[misc,unused-ignore]
        def load(self, url: str) -> bytes:
            mapped = _OFFLINE_FILES.get(url)
            if mapped is not None:
                return (base / mapped).read_bytes()
            if url.startswith(("http://", "https://", "file://")):
                raise OfflineLoadError(f"refusing to load {url} over the network")
            return bytes(super().load(url))

    settings = zeep.Settings(forbid_dtd=True, forbid_entities=True, forbid_external=True)
    return zeep.Client(str(base / wsdl), transport=OfflineTransport(), settings=settings)


def build_request(
    operation: str,
    address: str,
    *,
    username: str | None = None,
    password: str | None = None,
    created: datetime | None = None,
    service_name: str = "device",
) -> bytes:
    """Return the SOAP envelope for ``operation`` of the device (or media) service, optionally
    signed."""
    if (username is None or password is None) and service_name == "device":
        return _plain_request(operation)
    return _zeep_request(operation, address, username, password, created, service_name)


#: The device-service calls made before any login (:meth:`OnvifDeviceProbe.probe_endpoint`).
_ANONYMOUS_OPERATIONS: Final = (
    "GetSystemDateAndTime",
    "GetCapabilities",
    "GetDeviceInformation",
    "GetScopes",
)


@cache
def _plain_request(operation: str) -> bytes:
    """An unsigned device-service envelope, built once per operation.

    The device binding adds no WS-Addressing header, so the envelope does not name the address
    (``test_plain_request_names_no_address``); zeep took ~0.8 ms to build each one, 6.5 s of
    CPU over the four calls per host of a 2,046-host sweep.
    """
    return _zeep_request(operation, "http://198.18.0.1/onvif/device_service", None, None, None)


def _zeep_request(
    operation: str,
    address: str,
    username: str | None,
    password: str | None,
    created: datetime | None,
    service_name: str = "device",
) -> bytes:
    from lxml import etree
    from zeep.wsse.username import UsernameToken

    wsdl, binding = _SERVICES[service_name]
    with _client_lock:  # zeep's Client is not documented as thread-safe
        client = _zeep_client(wsdl)
        service = client.create_service(binding, address)
        envelope = client.create_message(service, operation)
        if username is not None and password is not None:
            token = UsernameToken(
                username,
                password,
                use_digest=True,
                created=None if created is None else created.replace(microsecond=0),
                zulu_timestamp=True,
            )
            envelope, _headers = token.apply(envelope, {})
        data: bytes = etree.tostring(envelope, xml_declaration=True, encoding="utf-8")
    return data


def _soap_body(data: bytes) -> Element:
    root = parse_xml(data, max_bytes=MAX_REPLY_BYTES)
    body = find_first(root, "Body")
    if body is None:
        raise ProbeParseError("no SOAP Body")
    return body


def _fault(body: Element) -> str | None:
    fault = find_first(body, "Fault")
    if fault is None:
        return None
    codes = [(child_text(el, "Value") or "") for el in find_all(fault, "Subcode")] or [
        child_text(fault, "faultcode") or ""
    ]
    reason = child_text(fault, "Text") or child_text(fault, "faultstring") or ""
    return " ".join(part for part in [*codes, reason] if part)[:200] or "SOAP Fault"


def parse_device_information(data: bytes) -> DeviceInformation:
    """Parse a GetDeviceInformation reply body; raise ``ProbeParseError`` (also on a Fault)."""
    body = _soap_body(data)
    if (fault := _fault(body)) is not None:
        raise ProbeParseError(f"fault: {fault}")
    response = find_first(body, "GetDeviceInformationResponse")
    if response is None:
        raise ProbeParseError("no GetDeviceInformationResponse")
    return DeviceInformation(
        manufacturer=child_text(response, "Manufacturer"),
        model=child_text(response, "Model"),
        firmware=child_text(response, "FirmwareVersion"),
        serial=child_text(response, "SerialNumber"),
        hardware_id=child_text(response, "HardwareId"),
    )


def parse_system_date_and_time(data: bytes) -> datetime:
    """Return the device's UTC clock from a GetSystemDateAndTime reply."""
    body = _soap_body(data)
    if (fault := _fault(body)) is not None:
        raise ProbeParseError(f"fault: {fault}")
    utc = find_first(body, "UTCDateTime")
    if utc is None:
        raise ProbeParseError("no UTCDateTime")
    try:
        date, clock = find_first(utc, "Date"), find_first(utc, "Time")
        if date is None or clock is None:
            raise ProbeParseError("UTCDateTime without Date or Time")
        return datetime(
            int(child_text(date, "Year") or ""),
            int(child_text(date, "Month") or ""),
            int(child_text(date, "Day") or ""),
            int(child_text(clock, "Hour") or ""),
            int(child_text(clock, "Minute") or ""),
            int(child_text(clock, "Second") or ""),
            tzinfo=UTC,
        )
    except (ValueError, OverflowError) as exc:
        raise ProbeParseError(f"bad device clock: {exc}") from None


def parse_scopes(data: bytes) -> tuple[str, ...]:
    """Return the ScopeItem values of a GetScopes reply."""
    body = _soap_body(data)
    if (fault := _fault(body)) is not None:
        raise ProbeParseError(f"fault: {fault}")
    items = list(find_all(body, "ScopeItem"))
    return tuple(
        ("".join(el.itertext()).strip()) for el in items[:64] if "".join(el.itertext()).strip()
    )


def endpoint_from_xaddr(xaddr: str) -> Endpoint | None:
    """The device-service endpoint an XAddr URL names (IPv4 http/https only), else ``None``."""
    try:
        parts = urlsplit(xaddr.strip())
        host = IPv4Address(parts.hostname or "")
        port = parts.port
    except ValueError:
        return None  # IPv6 link-local, a host name, a garbled URL: nothing to follow
    if parts.scheme not in {"http", "https"}:
        return None
    tls = parts.scheme == "https"
    path = parts.path or "/"
    try:
        return Endpoint(
            host=host, port=port or (443 if tls else 80), path=path, tls=tls, via=XADDR_LEAD
        )
    except ValueError:
        return None


def _auth_refusal(reply: HttpReply, fault: str | None) -> bool:
    if reply.status in _LOCKED_HTTP:
        return True
    return fault is not None and any(word in fault.lower() for word in _AUTH_FAULT_WORDS)


class OnvifDeviceProbe:
    """The ONVIF device service: anonymous calls first, then a digest with the device's clock."""

    info: ClassVar[ProbeInfo] = ProbeInfo(
        name="onvif_device",
        summary="ONVIF device service: GetDeviceInformation (maker, model, firmware, serial)",
        kind="host",
        transport="tcp",
        ports=(PORT,),
        rarity=1,
        fields=(
            "onvif.manufacturer",
            "onvif.model",
            "onvif.firmware",
            "onvif.serial",
            "onvif.hardware_id",
            "onvif.scopes",
            "onvif.www_authenticate",
            "onvif.fault",
        ),
    )

    def prepare(self) -> None:
        """Load the WSDL and build the anonymous envelopes before the first host needs them.

        The sweeper calls this in a thread while liveness runs: zeep's WSDL load (~0.5 s of
        CPU) would otherwise stall the event loop, and every other probe with it.
        """
        for operation in _ANONYMOUS_OPERATIONS:
            _plain_request(operation)

    def endpoints(self, host: IPv4Address, leads: Sequence[Observation]) -> list[Endpoint]:
        """The XAddrs the device announced, or the default port 80 path when it announced none.

        An XAddr may name another address (a recorder's device service on its own IP); the
        context refuses it unless it is in scope.
        """
        announced: dict[tuple[IPv4Address, int, str, bool], Endpoint] = {}
        for lead in leads:
            if lead.key == XADDR_LEAD and (endpoint := endpoint_from_xaddr(lead.value)):
                announced.setdefault(endpoint.key, endpoint)
        return list(announced.values()) or [Endpoint(host=host, port=PORT, path=PATH)]

    async def _call(
        self, ctx: ProbeContext, endpoint: Endpoint, envelope: bytes
    ) -> tuple[HttpReply, bytes, int]:
        request = (
            f"POST {endpoint.path} HTTP/1.1\r\nHost: {endpoint.host}:{endpoint.port}\r\n"
            "Content-Type: application/soap+xml; charset=utf-8\r\n"
            f"Content-Length: {len(envelope)}\r\nConnection: close\r\n\r\n"
        ).encode("ascii") + envelope
        raw = await ctx.tcp_exchange(
            endpoint.host,
            endpoint.port,
            request,
            max_bytes=MAX_REPLY_BYTES,
            tls=endpoint.tls,
            complete=message_complete,
        )
        reply = parse_http(raw.data)
        chunked = any("chunked" in v.lower() for v in reply.header("Transfer-Encoding"))
        body = dechunk(reply.body) if chunked else reply.body
        return reply, body, len(raw.data)

    async def probe(self, host: IPv4Address, ctx: ProbeContext) -> ProbeResult:
        """Ask the default device service (port 80) who made this device."""
        return await self.probe_endpoint(Endpoint(host=host, port=PORT, path=PATH), ctx)

    async def probe_endpoint(self, endpoint: Endpoint, ctx: ProbeContext) -> ProbeResult:
        """Ask the device service at ``endpoint`` who made this device."""
        started = time.monotonic()
        host, target = endpoint.host, endpoint.target
        obs = ObservationSet(self.info.name, host, port=endpoint.port)
        scheme = "https" if endpoint.tls else "http"
        address = f"{scheme}://{host}:{endpoint.port}{endpoint.path}"
        total = 0
        # 1. The device's clock, pre-auth: the digest must be signed in its time, not ours.
        try:
            reply, body, size = await self._call(
                ctx, endpoint, build_request("GetSystemDateAndTime", address)
            )
        except ProbeParseError as exc:
            return obs.result(target, started, status=ProbeStatus.PROTOCOL_ERROR, error=str(exc))
        total += size
        if reply.status in _ABSENT_HTTP:
            return obs.result(
                target,
                started,
                status=ProbeStatus.NOT_FOUND,
                reply_bytes=total,
                error=f"no ONVIF device service at {endpoint.path} (HTTP {reply.status})",
            )
        errors: list[str] = []
        soap_seen = b"Envelope" in body[:4096]
        locked = reply.status in _LOCKED_HTTP
        device_clock: datetime | None = None
        clock_read_at = time.monotonic()
        try:
            device_clock = parse_system_date_and_time(body)
        except ProbeParseError as exc:
            errors.append(f"GetSystemDateAndTime: {exc}")
        # 2. GetCapabilities, pre-auth on most firmware: proves an ONVIF stack answers.
        try:
            reply, body, size = await self._call(
                ctx, endpoint, build_request("GetCapabilities", address)
            )
            total += size
            soap_seen = soap_seen or b"Envelope" in body[:4096]
            locked = locked or reply.status in _LOCKED_HTTP
            _soap_body(body)
        except (ExchangeError, ProbeParseError) as exc:
            errors.append(f"GetCapabilities: {exc}")
        # 3. GetDeviceInformation, anonymous first.
        info: DeviceInformation | None = None
        try:
            reply, body, size = await self._call(
                ctx, endpoint, build_request("GetDeviceInformation", address)
            )
            total += size
            soap_seen = soap_seen or b"Envelope" in body[:4096]
            obs.extend("onvif", "www_authenticate", reply.header("WWW-Authenticate"))
            fault = _fault_of(body)
            locked = locked or _auth_refusal(reply, fault)
            info = parse_device_information(body)
        except (ExchangeError, ProbeParseError) as exc:
            errors.append(f"GetDeviceInformation: {exc}")
            if isinstance(exc, ProbeParseError) and str(exc).startswith("fault:"):
                obs.add("onvif", "fault", str(exc).removeprefix("fault: "))
        settings = ctx.settings
        if info is None and settings.onvif_username and settings.onvif_password is not None:
            elapsed = timedelta(seconds=time.monotonic() - clock_read_at)
            created = (device_clock + elapsed) if device_clock is not None else None
            envelope = build_request(
                "GetDeviceInformation",
                address,
                username=settings.onvif_username,
                password=settings.onvif_password.get_secret_value(),
                created=created,
            )
            try:
                reply, body, size = await self._call(ctx, endpoint, envelope)
                total += size
                info = parse_device_information(body)
            except (ExchangeError, ProbeParseError) as exc:
                # The message names the failure, never the request (which holds the token).
                errors.append(f"GetDeviceInformation with credentials: {str(exc)[:120]}")
        if info is not None:
            obs.add("onvif", "manufacturer", info.manufacturer)
            obs.add("onvif", "model", info.model)
            obs.add("onvif", "firmware", info.firmware)
            obs.add("onvif", "serial", info.serial)
            obs.add("onvif", "hardware_id", info.hardware_id)
        # 4. GetScopes (the same hardware/name scopes WS-Discovery carries, for routed hosts).
        scopes: tuple[str, ...] = ()
        try:
            reply, body, size = await self._call(ctx, endpoint, build_request("GetScopes", address))
            total += size
            locked = locked or _auth_refusal(reply, _fault_of(body))
            scopes = parse_scopes(body)
            obs.extend("onvif", "scopes", scopes)
        except (ExchangeError, ProbeParseError) as exc:
            errors.append(f"GetScopes: {exc}")
        error = "; ".join(errors) or None
        if info is not None or scopes:
            status = ProbeStatus.SUCCESS
        elif locked:
            # There, but every identity call wanted credentials: the challenge is the evidence.
            status = ProbeStatus.AUTH_REQUIRED
        elif not soap_seen:
            status = ProbeStatus.NOT_FOUND
            error = f"no ONVIF device service at {endpoint.path} (HTTP reply is not SOAP)"
        elif device_clock is not None:
            status = ProbeStatus.SUCCESS  # an ONVIF stack that tells only its clock
        else:
            status = ProbeStatus.PROTOCOL_ERROR
        return obs.result(target, started, status=status, reply_bytes=total, error=error or None)


def _fault_of(body: bytes) -> str | None:
    """The SOAP fault text of ``body``, or ``None`` (also when it is not SOAP at all)."""
    try:
        return _fault(_soap_body(body))
    except ProbeParseError:
        return None


PROBE: Final = OnvifDeviceProbe()
