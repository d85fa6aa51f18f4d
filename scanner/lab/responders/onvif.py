"""ONVIF: WS-Discovery ProbeMatch (UDP 3702) and the SOAP device service.

Layout of the ProbeMatch follows the Hikvision IPC capture in fingerprints.md §3.2 (gSOAP
prefixes ``env``/``wsadis``/``d``, MAC-suffixed endpoint UUID, IPv4 then link-local XAddr); the
``wsd`` style uses the ``soap``/``wsa``/``wsd`` prefixes a Hikvision NVR sends (same section).

The device service answers GetSystemDateAndTime and GetCapabilities before authentication and
GetDeviceInformation, GetScopes and GetNetworkInterfaces only with a valid WS-UsernameToken
digest when the profile sets credentials (fingerprints.md §3.4). The digest is
``b64(sha1(b64decode(Nonce) + Created + password))`` (lab-feasibility §7). Elements are found by
local name, whatever their prefix: zeep writes ``<wsu:Created xmlns:wsu="…">``.

Incoming XML is parsed with defusedxml (:mod:`scanner.safe_xml`): a DTD, an entity or a
billion-laughs body is answered with a SOAP fault.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
import uuid
from typing import Final

from scanner.errors import ProbeParseError
from scanner.lab.profile import OnvifService
from scanner.lab.responders.common import HostContext, xml_escape
from scanner.safe_xml import Element, parse_xml

__all__ = ["PRE_AUTH_ACTIONS", "probe_match", "soap_http_reply"]

MAX_DATAGRAM: Final = 65507
PRE_AUTH_ACTIONS: Final = frozenset({"GetSystemDateAndTime", "GetCapabilities", "GetServices"})
_SOAP_ENV: Final = "http://www.w3.org/2003/05/soap-envelope"
_NS: Final = (
    'xmlns:env="http://www.w3.org/2003/05/soap-envelope" '
    'xmlns:tds="http://www.onvif.org/ver10/device/wsdl" '
    'xmlns:tt="http://www.onvif.org/ver10/schema" '
    'xmlns:ter="http://www.onvif.org/ver10/error" '
    'xmlns:trt="http://www.onvif.org/ver10/media/wsdl"'
)
_PREFIXES: Final = {"gsoap": ("env", "wsadis", "d"), "wsd": ("soap", "wsa", "wsd")}


def _local(tag: object) -> str:
    return str(tag).rsplit("}", 1)[-1]


def _find(root: Element, name: str) -> Element | None:
    for element in root.iter():
        if _local(element.tag) == name:
            return element
    return None


def _parse(data: bytes) -> Element | None:
    try:
        return parse_xml(data)
    except ProbeParseError:
        return None


def _xaddr(ctx: HostContext, device: OnvifService, path: str, *, ipv6: bool = False) -> str:
    host = f"[{ctx.values['ipv6_ll']}]" if ipv6 else ctx.address
    port = "" if device.port == 80 else f":{device.port}"
    return f"http://{host}{port}{path}"


def probe_match(ctx: HostContext, device: OnvifService, data: bytes) -> bytes | None:
    """The ProbeMatches reply to a WS-Discovery Probe, or None (not a probe, other types)."""
    root = _parse(data[:MAX_DATAGRAM])
    if root is None or (probe := _find(root, "Probe")) is None:
        return None
    types_el = _find(probe, "Types")
    wanted = (types_el.text or "").split() if types_el is not None else []
    if wanted and not {t.rsplit(":", 1)[-1] for t in wanted} & {
        "NetworkVideoTransmitter",
        "Device",
    }:
        return None
    message_id_el = _find(root, "MessageID")
    relates = xml_escape((message_id_el.text or "").strip()) if message_id_el is not None else ""
    env, wsa, d = _PREFIXES[device.prefixes]
    scopes = " ".join(ctx.fill(s) for s in device.scopes)
    xaddrs = f"{_xaddr(ctx, device, device.path)} {_xaddr(ctx, device, device.path, ipv6=True)}"
    endpoint = ctx.fill(device.endpoint_uuid)
    text = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<{env}:Envelope xmlns:{env}="http://www.w3.org/2003/05/soap-envelope" '
        f'xmlns:{wsa}="http://schemas.xmlsoap.org/ws/2004/08/addressing" '
        f'xmlns:{d}="http://schemas.xmlsoap.org/ws/2005/04/discovery" '
        'xmlns:dn="http://www.onvif.org/ver10/network/wsdl" '
        'xmlns:tds="http://www.onvif.org/ver10/device/wsdl">'
        f"<{env}:Header>"
        f"<{wsa}:MessageID>urn:uuid:{uuid.uuid4()}</{wsa}:MessageID>"
        f"<{wsa}:RelatesTo>{relates}</{wsa}:RelatesTo>"
        f'<{wsa}:To {env}:mustUnderstand="true">'
        f"http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</{wsa}:To>"
        f'<{wsa}:Action {env}:mustUnderstand="true">'
        f"http://schemas.xmlsoap.org/ws/2005/04/discovery/ProbeMatches</{wsa}:Action>"
        f'<{d}:AppSequence InstanceId="{int(time.time()) % 100000}" MessageNumber="1"/>'
        f"</{env}:Header>"
        f"<{env}:Body><{d}:ProbeMatches><{d}:ProbeMatch>"
        f"<{wsa}:EndpointReference><{wsa}:Address>urn:uuid:{xml_escape(endpoint)}"
        f"</{wsa}:Address></{wsa}:EndpointReference>"
        f"<{d}:Types>{xml_escape(device.types)}</{d}:Types>"
        f"<{d}:Scopes>{xml_escape(scopes)}</{d}:Scopes>"
        f"<{d}:XAddrs>{xaddrs}</{d}:XAddrs>"
        f"<{d}:MetadataVersion>{device.metadata_version}</{d}:MetadataVersion>"
        f"</{d}:ProbeMatch></{d}:ProbeMatches></{env}:Body></{env}:Envelope>"
    )
    return text.encode("utf-8")


def _digest_ok(root: Element, device: OnvifService) -> bool:
    token = _find(root, "UsernameToken")
    if token is None or device.password is None:
        return False
    parts = {name: _find(token, name) for name in ("Username", "Password", "Nonce", "Created")}
    if any(el is None or el.text is None for el in parts.values()):
        return False
    texts = {name: (el.text or "").strip() for name, el in parts.items() if el is not None}
    if texts["Username"] != device.username:
        return False
    try:
        nonce = base64.b64decode(texts["Nonce"], validate=True)
    except (binascii.Error, ValueError):
        return False
    expected = base64.b64encode(
        hashlib.sha1(  # noqa: S324 - WS-Security UsernameToken digest is SHA-1 by definition
            nonce + texts["Created"].encode() + device.password.encode()
        ).digest()
    ).decode()
    return hmac.compare_digest(expected, texts["Password"])


def _envelope(body: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<env:Envelope {_NS}><env:Body>{body}</env:Body></env:Envelope>"
    )


def _fault(code: str, subcode: str, reason: str) -> str:
    return _envelope(
        f"<env:Fault><env:Code><env:Value>env:{code}</env:Value><env:Subcode>"
        f"<env:Value>ter:{subcode}</env:Value></env:Subcode></env:Code>"
        f'<env:Reason><env:Text xml:lang="en">{reason}</env:Text></env:Reason></env:Fault>'
    )


def _action_body(ctx: HostContext, device: OnvifService, action: str) -> str | None:
    e = xml_escape
    if action == "GetSystemDateAndTime":
        t = time.gmtime()
        return (
            "<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime>"
            "<tt:DateTimeType>Manual</tt:DateTimeType><tt:DaylightSavings>false</tt:DaylightSavings>"
            f"<tt:TimeZone><tt:TZ>{e(device.timezone)}</tt:TZ></tt:TimeZone><tt:UTCDateTime>"
            f"<tt:Time><tt:Hour>{t.tm_hour}</tt:Hour><tt:Minute>{t.tm_min}</tt:Minute>"
            f"<tt:Second>{t.tm_sec}</tt:Second></tt:Time><tt:Date><tt:Year>{t.tm_year}</tt:Year>"
            f"<tt:Month>{t.tm_mon}</tt:Month><tt:Day>{t.tm_mday}</tt:Day></tt:Date>"
            "</tt:UTCDateTime></tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse>"
        )
    if action == "GetDeviceInformation":
        return (
            "<tds:GetDeviceInformationResponse>"
            f"<tds:Manufacturer>{e(ctx.fill(device.manufacturer))}</tds:Manufacturer>"
            f"<tds:Model>{e(ctx.fill(device.model))}</tds:Model>"
            f"<tds:FirmwareVersion>{e(ctx.fill(device.firmware))}</tds:FirmwareVersion>"
            f"<tds:SerialNumber>{e(ctx.fill(device.serial))}</tds:SerialNumber>"
            f"<tds:HardwareId>{e(ctx.fill(device.hardware_id))}</tds:HardwareId>"
            "</tds:GetDeviceInformationResponse>"
        )
    if action == "GetScopes":
        items = "".join(
            f"<tds:Scopes><tt:ScopeDef>Fixed</tt:ScopeDef><tt:ScopeItem>{e(ctx.fill(s))}"
            "</tt:ScopeItem></tds:Scopes>"
            for s in device.scopes
        )
        return f"<tds:GetScopesResponse>{items}</tds:GetScopesResponse>"
    if action == "GetNetworkInterfaces":
        prefix = bin(int.from_bytes(bytes(int(o) for o in ctx.values["netmask"].split(".")))).count(
            "1"
        )
        return (
            '<tds:GetNetworkInterfacesResponse><tds:NetworkInterfaces token="eth0">'
            "<tt:Enabled>true</tt:Enabled><tt:Info><tt:Name>eth0</tt:Name>"
            f"<tt:HwAddress>{ctx.mac}</tt:HwAddress><tt:MTU>1500</tt:MTU></tt:Info>"
            "<tt:IPv4><tt:Enabled>true</tt:Enabled><tt:Config><tt:Manual>"
            f"<tt:Address>{ctx.address}</tt:Address><tt:PrefixLength>{prefix}</tt:PrefixLength>"
            "</tt:Manual><tt:DHCP>false</tt:DHCP></tt:Config></tt:IPv4>"
            "</tds:NetworkInterfaces></tds:GetNetworkInterfacesResponse>"
        )
    if action == "GetVideoSources" and device.video_sources:
        # Element names as media.wsdl / onvif.xsd (tt:VideoSource) of the shipped WSDLs define.
        items = "".join(
            f'<trt:VideoSources token="{e(v.token)}"><tt:Framerate>25</tt:Framerate>'
            f"<tt:Resolution><tt:Width>{v.width}</tt:Width><tt:Height>{v.height}</tt:Height>"
            "</tt:Resolution></trt:VideoSources>"
            for v in device.video_sources
        )
        return f"<trt:GetVideoSourcesResponse>{items}</trt:GetVideoSourcesResponse>"
    if action == "GetProfiles" and device.video_sources:
        items = "".join(
            f'<trt:Profiles token="Profile_{i + 1}01" fixed="true"><tt:Name>{e(v.name)}</tt:Name>'
            f'<tt:VideoSourceConfiguration token="VideoSourceConfig_{i + 1}">'
            f"<tt:Name>{e(v.name)}</tt:Name><tt:UseCount>2</tt:UseCount>"
            f"<tt:SourceToken>{e(v.token)}</tt:SourceToken>"
            f'<tt:Bounds x="0" y="0" width="{v.width}" height="{v.height}"/>'
            "</tt:VideoSourceConfiguration></trt:Profiles>"
            for i, v in enumerate(device.video_sources)
        )
        return f"<trt:GetProfilesResponse>{items}</trt:GetProfilesResponse>"
    if action == "GetCapabilities":
        return (
            "<tds:GetCapabilitiesResponse><tds:Capabilities>"
            f"<tt:Device><tt:XAddr>{_xaddr(ctx, device, device.path)}</tt:XAddr></tt:Device>"
            f"<tt:Media><tt:XAddr>{_xaddr(ctx, device, device.media_path)}</tt:XAddr>"
            "<tt:StreamingCapabilities><tt:RTPMulticast>true</tt:RTPMulticast>"
            "<tt:RTP_TCP>true</tt:RTP_TCP><tt:RTP_RTSP_TCP>true</tt:RTP_RTSP_TCP>"
            "</tt:StreamingCapabilities></tt:Media>"
            "</tds:Capabilities></tds:GetCapabilitiesResponse>"
        )
    return None


def soap_reply(ctx: HostContext, device: OnvifService, body: bytes) -> tuple[int, str]:
    """HTTP status and SOAP envelope for one device-service request."""
    root = _parse(body)
    if root is None or _local(root.tag) != "Envelope":
        return 400, _fault("Sender", "WellFormed", "the xml format error")
    soap_body = next((el for el in root if _local(el.tag) == "Body"), None)
    operation = next(iter(soap_body), None) if soap_body is not None else None
    if operation is None:
        return 400, _fault("Sender", "WellFormed", "the xml format error")
    action = _local(operation.tag)
    if (
        device.password is not None
        and action not in PRE_AUTH_ACTIONS
        and action not in device.open_actions
        and not _digest_ok(root, device)
    ):
        return 400, _fault("Sender", "NotAuthorized", "Sender not Authorized")
    answer = _action_body(ctx, device, action)
    if answer is None:
        return 400, _fault("Receiver", "ActionNotSupported", "Optional Action Not Implemented")
    return 200, _envelope(answer)


def soap_http_reply(
    ctx: HostContext, device: OnvifService, body: bytes, server: str | None
) -> bytes:
    """The whole HTTP response for one device-service request."""
    if device.raw_reply_b64 is not None:
        return base64.b64decode(device.raw_reply_b64)
    status, envelope = soap_reply(ctx, device, body)
    payload = envelope.encode("utf-8")
    reason = {200: "OK", 400: "Bad Request"}[status]
    lines = [f"HTTP/1.1 {status} {reason}"]
    if server:
        lines.append(f"Server: {ctx.fill(server)}")
    lines += [
        "Content-Type: application/soap+xml; charset=utf-8",
        f"Content-Length: {len(payload)}",
        "Connection: close",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", errors="replace") + payload
