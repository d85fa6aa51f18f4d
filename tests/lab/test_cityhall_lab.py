"""City hall against the facts sheet: the bytes each responder sends, probed with plain sockets
from inside the lab's scanner namespace.

Expected bytes are the nmap 7.93 match lines (``/usr/share/nmap/nmap-service-probes``, line
numbers in the comments) and fingerprints.md sections; the profile cites the same sources.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import struct
import subprocess
import sys
import time

import pytest
from cryptography import x509

from scanner import lab
from scanner.lab.profile import load_profile
from scanner.lab.responders.snmp import _enc, _int, encode_oid
from scanner.lab.topology import lab_links, lab_namespaces
from tests.lab.helpers import ROOT, in_scan_ns, lab_name, tcp, udp, unb64

pytestmark = pytest.mark.lab

PROFILE = ROOT / "examples" / "lab" / "city-hall.toml"
HIK, HIK2, HIK_NVR, EZVIZ = "198.18.0.10", "198.18.0.11", "198.18.0.16", "198.18.0.20"
DAHUA, DAHUA_NVR, LOREX, AMCREST, LTS = (
    "198.18.0.30",
    "198.18.0.35",
    "198.18.0.50",
    "198.18.0.52",
    "198.18.0.56",
)
HW_CORE, ZTE_SW, ZTE_ONT, HANWHA, AVIGILON = (
    "198.18.0.60",
    "198.18.0.62",
    "198.18.0.63",
    "198.18.0.72",
    "198.18.0.74",
)
SADP_PROBE = (
    b'<?xml version="1.0" encoding="utf-8"?><Probe><Uuid>7A1E0B2C-1D3F-4E5A-8B6C-9D0E1F2A3B4C'
    b"</Uuid><Types>inquiry</Types></Probe>"
)
DHIP_BODY = b'{"method":"DHDiscover.search","params":{"mac":"","uni":1}}\n'
DHIP_PROBE = b"\x20\x00\x00\x00DHIP" + b"\0" * 8 + struct.pack("<QQ", 58, 58) + DHIP_BODY
WSD_PROBE = (
    '<?xml version="1.0" encoding="UTF-8"?><e:Envelope '
    'xmlns:e="http://www.w3.org/2003/05/soap-envelope" '
    'xmlns:w="http://schemas.xmlsoap.org/ws/2004/08/addressing" '
    'xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery" '
    'xmlns:dn="http://www.onvif.org/ver10/network/wsdl"><e:Header>'
    "<w:MessageID>uuid:0f5d6c1e-6a53-4c4e-9d6e-2b7f7c9f0a11</w:MessageID>"
    '<w:To e:mustUnderstand="true">urn:schemas-xmlsoap-org:ws:2005:04:discovery</w:To>'
    '<w:Action e:mustUnderstand="true">http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe'
    "</w:Action></e:Header><e:Body><d:Probe><d:Types>{types}</d:Types></d:Probe></e:Body>"
    "</e:Envelope>"
)


@pytest.fixture(scope="module")
def cityhall():
    name = lab_name("ch")
    lab.down(name)
    started = time.monotonic()
    lab.up(PROFILE, name)
    up_s = time.monotonic() - started
    yield name
    started = time.monotonic()
    lab.down(name)
    down_s = time.monotonic() - started
    sys.stderr.write(f"\ncity-hall lab up {up_s:.2f} s, down {down_s:.2f} s\n")
    assert lab_namespaces(name) == []
    assert lab_links(name) == []


def fetch(name: str, *exchanges: dict) -> list[bytes]:
    return [unb64(r["data"]) for r in in_scan_ns(name, list(exchanges))]


# ------------------------------------------------------------------------------ profile


def test_profile_has_the_devices_the_issue_asks_for():
    profile = load_profile(PROFILE)
    hosts = profile.hosts
    assert len(hosts) >= 40
    makers = {h.truth.maker for h in hosts}
    assert {"hikvision", "dahua", "huawei", "zte", "axis", "hanwha", "bosch"} <= makers
    assert {"avigilon", "uniview", "reolink"} <= makers
    brands = {h.truth.brand for h in hosts}
    assert {"EZVIZ", "HiWatch"} <= brands
    maker_ouis = {"44:19:b6", "58:50:ed", "bc:ad:28", "c0:56:e3", "4c:bd:8f", "08:54:11"}
    maker_ouis |= {"e0:ca:3c", "e4:d5:8b", "20:bb:bc", "0c:a6:4c", "24:b1:05"}
    maker_ouis |= {"3c:ef:8c", "4c:11:bf", "e0:50:8b", "90:02:a9", "a0:bd:1d", "bc:32:5f"}
    maker_ouis |= {"a8:ca:87"}
    oem = [
        h
        for h in hosts
        if h.truth.maker in {"hikvision", "dahua"}
        and h.mac[:8] not in maker_ouis
        and h.truth.covered
    ]
    assert len(oem) >= 6, [h.name for h in oem]
    for host in oem:
        # The OEM's brand is in its own strings; the maker shows through a protocol behaviour.
        assert host.sadp or host.dhip, host.name
        assert host.truth.brand not in {"Hikvision", "Dahua"}
    for host in hosts:
        assert host.truth.maker is None or re.fullmatch(r"[a-z0-9-]+", host.truth.maker)
        assert str(host.address).startswith("198.18.")


# ------------------------------------------------------------------------------ HTTP / HTTPS


def test_http_bytes_match_nmap_and_the_facts_sheet(cityhall):
    get = b"GET / HTTP/1.0\r\n\r\n"
    hik, isapi, dahua, cgi, amcrest, zte, favicon = fetch(
        cityhall,
        tcp(HIK, 80, get),
        tcp(HIK, 80, b"GET /ISAPI/System/deviceInfo HTTP/1.1\r\nHost: x\r\n\r\n"),
        tcp(DAHUA, 80, get),
        tcp(DAHUA, 80, b"GET /cgi-bin/magicBox.cgi?action=getSystemInfo HTTP/1.1\r\n\r\n"),
        tcp(AMCREST, 80, get),
        tcp(ZTE_ONT, 80, get),
        tcp(HIK, 80, b"GET /favicon.ico HTTP/1.1\r\n\r\n"),
    )
    # nmap-service-probes 9679: Hikvision IP camera httpd
    assert re.match(rb"^HTTP/1\.0 200 OK\r\nDate: .*\r\nServer: App-webs/\r\n", hik)
    assert b'window.location.href = "/doc/page/login.asp' in hik
    # fingerprints.md §5.1: ISAPI digest realm "IP Camera(xxxxx)", GoAhead 401 wording
    assert re.search(
        rb'\r\nWWW-Authenticate: Digest qop="auth", realm="IP Camera\(C2875\)", '
        rb'nonce="[0-9a-f]{32}", stale="FALSE"\r\n',
        isapi,
    )
    assert b"<title>Document Error: Unauthorized</title>" in isapi
    # nmap-service-probes 10323: Dahua webcam httpd (upper-case headers, P3P, BOM, XHTML Strict)
    assert re.match(
        rb'^HTTP/1\.1 200 OK\r\nCONNECTION: close\r\nDate: .*\r\nLast-Modified: .*\r\nEtag: "\d+:'
        rb'[\da-f]+"\r\nCONTENT-LENGTH: \d+\r\nP3P: CP=CAO PSA OUR\r\nCACHE-CONTROL: max-age=0\r\n'
        rb"CONTENT-TYPE: text/html\r\n\r\n\xef\xbb\xbf"
        rb'<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1\.0 Strict//EN"'
        rb' "http://www\.w3\.org/TR/xhtml1/DTD/xhtml1-strict\.dtd">\r\n<html> *\r\n *'
        rb"<head>\r\n *<title>WEB SERVICE</title>",
        dahua,
    )
    # fingerprints.md §1 fact 4: Dahua digest realm "Login to <serial>"
    assert b'WWW-Authenticate: Digest realm="Login to 1F016E4PAX00330", qop="auth"' in cgi
    # nmap-service-probes 10322: Amcrest IP camera http interface
    assert re.match(
        rb"^HTTP/1\.1 200 OK\r\nCONNECTION: close\r\nDate: .* GMT\r\nLast-Modified: .* GMT\r\n"
        rb'Etag: "\d+:[a-f\d]+"\r\nCONTENT-LENGTH: \d+\r\nCACHE-CONTROL: max-age=0\r\n'
        rb"CONTENT-TYPE: text/html\r\n\r\n"
        rb"<!DOCTYPE html>\r\n<html>\r\n<head>\r\n    <title></title>",
        amcrest,
    )
    # nmap-service-probes 9492: ZTE Mini web server
    assert re.match(rb"^HTTP/1\.0 200 OK\r\nServer: Mini web server 1\.0 ZTE corp 2005\.\r\n", zte)
    head, _, icon = favicon.partition(b"\r\n\r\n")
    assert icon[:4] == b"\0\0\1\0"
    assert f"Content-Length: {len(icon)}".encode() in head


def test_content_length_is_the_body_length_everywhere(cityhall):
    profile = load_profile(PROFILE)
    exchanges = [
        tcp(str(h.address), s.port, b"GET / HTTP/1.0\r\n\r\n")
        for h in profile.hosts
        for s in h.http
        if not s.tls
    ]
    for reply in fetch(cityhall, *exchanges):
        head, _, body = reply.partition(b"\r\n\r\n")
        length = re.search(rb"(?i)\r\ncontent-length: (\d+)\r\n", head + b"\r\n")
        if length:
            assert int(length.group(1)) == len(body), head


def test_https_presents_the_device_certificate(cityhall):
    [result] = in_scan_ns(cityhall, [tcp(HIK, 443, b"GET / HTTP/1.0\r\n\r\n", tls=True)])
    assert result["error"] is None
    assert unb64(result["data"]).startswith(b"HTTP/1.0 200 OK\r\nDate: ")
    cert = x509.load_der_x509_certificate(unb64(result["cert"]))
    subject = "CN=www.hikvision.com,OU=DVRNVR,O=HIKVISION,L=HangZhou,ST=ZheJiang,C=CN"
    assert cert.subject.rfc4514_string() == subject  # fingerprints.md §5.1 (recog)
    assert cert.issuer == cert.subject


# ------------------------------------------------------------------------------ RTSP


def test_rtsp_bytes_match_nmap(cityhall):
    rtsp_probe = b"OPTIONS / RTSP/1.0\r\n\r\n"  # nmap RTSPRequest
    sip_probe = (  # nmap SIPOptions, sent to every port
        b"OPTIONS sip:nm SIP/2.0\r\nVia: SIP/2.0/TCP nm;branch=foo\r\nFrom: <sip:nm@nm>;tag=root"
        b"\r\nTo: <sip:nm2@nm2>\r\nCall-ID: 50000\r\nCSeq: 42 OPTIONS\r\nMax-Forwards: 70\r\n"
        b"Content-Length: 0\r\nContact: <sip:nm@nm>\r\nAccept: application/sdp\r\n\r\n"
    )
    idle = {"idle": 0.4}
    replies = fetch(
        cityhall,
        tcp(HIK, 554, sip_probe, **idle),
        tcp(
            HIK,
            554,
            b"DESCRIBE rtsp://x/Streaming/Channels/101 RTSP/1.0\r\nCSeq: 3\r\n\r\n",
            **idle,
        ),
        tcp(HIK_NVR, 554, rtsp_probe, **idle),
        tcp(HIK_NVR, 554, b"DESCRIBE rtsp://x/ RTSP/1.0\r\n\r\n", **idle),
        tcp(DAHUA, 554, rtsp_probe, **idle),
        tcp(DAHUA, 554, b"GET / HTTP/1.0\r\n\r\n", **idle),
        tcp(LOREX, 554, sip_probe, **idle),
        tcp(HANWHA, 554, rtsp_probe, **idle),
        tcp(AVIGILON, 554, rtsp_probe, **idle),
    )
    hik_sip, hik_describe, nvr_options, nvr_describe, dh_options, dh_get = replies[:6]
    lorex, hanwha, avigilon = replies[6:]
    # 14560: CSeq echoed verbatim; fingerprints.md §4: Date with two spaces, month first
    assert re.fullmatch(
        rb"RTSP/1\.0 200 OK\r\nCSeq: 42 OPTIONS\r\nPublic: OPTIONS, DESCRIBE, PLAY, PAUSE, SETUP, "
        rb"TEARDOWN, SET_PARAMETER, GET_PARAMETER\r\n"
        rb"Date:  [A-Z][a-z]{2}, [A-Z][a-z]{2} \d\d \d{4} \d\d:\d\d:\d\d GMT\r\n\r\n",
        hik_sip,
    )
    assert re.match(
        rb'RTSP/1\.0 401 Unauthorized\r\nCSeq: 3\r\nWWW-Authenticate: Digest realm="IP Camera'
        rb'\(C2875\)", nonce="[0-9a-f]{32}", stale="FALSE"\r\n',
        hik_describe,
    )
    assert (
        nvr_options
        == b"RTSP/1.0 200 OK\r\nPublic: OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN, PAUSE\r\n\r\n"
    )  # 12154
    assert re.fullmatch(  # 12141
        rb'RTSP/1\.0 401 Unauthorized\r\nWWW-Authenticate: Digest realm="Hikvision", nonce="[\da-f]'
        rb'{32}", stale="FALSE"\r\nWWW-Authenticate: Basic realm="/"\r\n\r\n',
        nvr_describe,
    )
    assert dh_options == (  # 12147
        b'RTSP/1.0 401 Unauthorized\r\nWWW-Authenticate: Basic realm="device"\r\n'
        b"Server: Dahua Rtsp Server\r\nContent-Length: 0\r\n\r\n"
    )
    assert dh_get == (  # 11363
        b"RTSP/1.0 405 Method Not Allowed\r\nServer: Dahua Rtsp Server\r\nContent-Length: 0\r\n"
        b"CSeq: 0\r\n\r\n"
    )
    assert re.match(  # 14561: Lorex IP camera rtspd (Dahua OEM)
        rb"^RTSP/1\.0 401 Unauthorized\r\nCSeq: 42 OPTIONS\r\n"
        rb'WWW-Authenticate: Digest realm="Login to 9E02B7APAZ00050", nonce="[a-f\d]{32}"\r\n',
        lorex,
    )
    assert re.match(  # 12128: Samsung Techwin
        rb"^RTSP/1\.0 401 Unauthorized\r\nCSeq: 0\r\nDate: .*\r\nExpires: .*\r\nCache-Control: "
        rb"must-revalidate\r\n"
        rb'WWW-Authenticate: Digest realm="NET-i", nonce="0{24}[0-9A-F]{8}"\r\n\r\n',
        hanwha,
    )
    assert re.match(rb"^RTSP/1\.0 404 Not Found\r\nServer: AvigilonOnvifNvt/[\d.]+\r\n", avigilon)


# ------------------------------------------------------------------------------ SADP / DHIP


def test_sadp_inquiry_gets_a_probematch_from_every_hikvision_firmware_host(cityhall):
    profile = load_profile(PROFILE)
    [result] = in_scan_ns(cityhall, [udp("239.255.255.250", 37020, SADP_PROBE)])
    replies = {src: unb64(data) for src, data in result["replies"]}
    # Multicast stays on the segment: hosts behind the lab's router do not hear it.
    expected = {str(h.address) for h in profile.hosts if h.sadp and not profile.router_of(h)}
    assert set(replies) == expected
    assert all(h.truth.maker == "hikvision" for h in profile.hosts if h.sadp)
    hik = replies[HIK].split(b"\r\n")
    assert hik[:4] == [
        b'<?xml version="1.0" encoding="UTF-8"?>',
        b"<ProbeMatch>",
        b"<Uuid>7A1E0B2C-1D3F-4E5A-8B6C-9D0E1F2A3B4C</Uuid>",
        b"<Types>inquiry</Types>",
    ]
    assert b"<MAC>44-19-b6-4e-1a-20</MAC>" in hik
    assert b"<DeviceSN>DS-2CD2385G1-I20210312AAWRF12345678</DeviceSN>" in hik
    assert b"<HCPlatformEnable>flase</HCPlatformEnable>" in hik
    assert b"<DetailOEMCode>1</DetailOEMCode>" in hik
    assert hik[-2:] == [b"</ProbeMatch>", b""]
    assert b"<DetailOEMCode>10101</DetailOEMCode>" in replies[LTS]  # OEM build (FS §6.2)
    assert b"<EZVIZCode>1</EZVIZCode>" in replies[EZVIZ]
    # Unicast to a non-Hikvision host and a non-inquiry probe: silence.
    [dahua, other] = in_scan_ns(
        cityhall,
        [
            udp(DAHUA, 37020, SADP_PROBE, wait=0.3),
            udp(HIK, 37020, SADP_PROBE.replace(b"inquiry", b"update"), wait=0.3),
        ],
    )
    assert dahua["replies"] == []
    assert other["replies"] == []


def test_dhip_search_gets_notifydevinfo_from_every_dahua_firmware_host(cityhall):
    profile = load_profile(PROFILE)
    [result, bare, swapped] = in_scan_ns(
        cityhall,
        [
            udp("239.255.255.251", 37810, DHIP_PROBE),
            udp("239.255.255.251", 37810, DHIP_BODY, wait=0.3),
            udp("239.255.255.251", 37810, DHIP_PROBE.replace(b"DHIP", b"PIHD"), wait=0.3),
        ],
    )
    assert bare["replies"] == []
    assert swapped["replies"] == []
    replies = {src: unb64(data) for src, data in result["replies"]}
    assert set(replies) == {
        str(h.address) for h in profile.hosts if h.dhip and not profile.router_of(h)
    }
    for src, frame in replies.items():
        assert frame[:8] == b"\x20\x00\x00\x00DHIP"
        assert frame[8:16] == b"\0" * 8
        (length, again) = struct.unpack_from("<QQ", frame, 16)
        assert length == again == len(frame) - 32
        info = json.loads(frame[32:])
        assert info["method"] == "client.notifyDevInfo"
        assert info["params"]["deviceInfo"]["IPv4Address"]["IPAddress"] == src
        assert re.fullmatch(
            r"[0-9A-Z]{7}[PZ]A[0-9A-Z]{6}", info["params"]["deviceInfo"]["SerialNo"]
        )
    lorex = json.loads(replies[LOREX][32:])["params"]["deviceInfo"]
    assert (lorex["Vendor"], lorex["Port"]) == ("Lorex", 35000)
    assert rb"\/64" in replies[DAHUA]  # Dahua's escaped slashes
    assert json.loads(replies[DAHUA][32:])["mac"] == "3c:ef:8c:08:4e:1e"


# ------------------------------------------------------------------------------ ONVIF


def test_ws_discovery_typed_probe(cityhall):
    profile = load_profile(PROFILE)
    nvt = WSD_PROBE.format(types="dn:NetworkVideoTransmitter").encode()
    printer = (
        WSD_PROBE.format(types="wsdp:Printer")
        .encode()
        .replace(
            b'xmlns:dn="http://www.onvif.org/ver10/network/wsdl"',
            b'xmlns:wsdp="http://schemas.xmlsoap.org/ws/2006/02/devprof"',
        )
    )
    [result, none] = in_scan_ns(
        cityhall,
        [udp("239.255.255.250", 3702, nvt, wait=1.0), udp("239.255.255.250", 3702, printer, 0.3)],
    )
    assert none["replies"] == []
    replies = {src: unb64(data) for src, data in result["replies"]}
    expected = {
        str(h.address)
        for h in profile.hosts
        if h.onvif and h.onvif.discovery and not profile.router_of(h)
    }
    assert set(replies) == expected
    hik = replies[HIK].decode()
    assert "<wsadis:RelatesTo>uuid:0f5d6c1e-6a53-4c4e-9d6e-2b7f7c9f0a11</wsadis:RelatesTo>" in hik
    assert "<wsadis:Address>urn:uuid:aa85c000-6324-11b3-819e-4419b64e1a20</wsadis:Address>" in hik
    assert "<d:Types>dn:NetworkVideoTransmitter tds:Device</d:Types>" in hik
    assert "onvif://www.onvif.org/MAC/44:19:b6:4e:1a:20" in hik
    assert "onvif://www.onvif.org/name/HIKVISION%20DS-2CD2385G1-I" in hik
    assert (
        "<d:XAddrs>http://198.18.0.10/onvif/device_service "
        "http://[fe80::4619:b6ff:fe4e:1a20]/onvif/device_service</d:XAddrs>"
    ) in hik
    assert "<wsd:ProbeMatch>" in replies[HIK_NVR].decode()  # soap/wsa/wsd style
    dahua = replies[DAHUA].decode()
    assert "onvif://www.onvif.org/type/Network_Video_Transmitter" in dahua
    assert "onvif://www.onvif.org/extension/unique_identifier/1" in dahua


def soap(action: str, token: str = "") -> bytes:
    body = (
        '<?xml version="1.0" encoding="utf-8"?><soap-env:Envelope '
        'xmlns:soap-env="http://www.w3.org/2003/05/soap-envelope"><soap-env:Header>'
        f"{token}</soap-env:Header><soap-env:Body>"
        f'<ns0:{action} xmlns:ns0="http://www.onvif.org/ver10/device/wsdl"/>'
        "</soap-env:Body></soap-env:Envelope>"
    ).encode()
    head = (
        "POST /onvif/device_service HTTP/1.1\r\nHost: x\r\n"
        'Content-Type: application/soap+xml; charset=utf-8; action="x"\r\n'
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    return head + body


def username_token(user: str, password: str) -> str:
    """Written the way zeep writes it: xmlns on the Created element itself."""
    nonce = b"0123456789abcdef"
    created = "2026-11-22T12:00:00Z"
    raw = nonce + created.encode() + password.encode()
    digest = base64.b64encode(hashlib.sha1(raw).digest())  # noqa: S324 - WS-Security says SHA-1
    wsse = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
    wsu = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
    return (
        f'<wsse:Security xmlns:wsse="{wsse}"><wsse:UsernameToken>'
        f"<wsse:Username>{user}</wsse:Username>"
        f'<wsse:Password Type="...#PasswordDigest">{digest.decode()}</wsse:Password>'
        f"<wsse:Nonce>{base64.b64encode(nonce).decode()}</wsse:Nonce>"
        f'<wsu:Created xmlns:wsu="{wsu}">{created}</wsu:Created>'
        "</wsse:UsernameToken></wsse:Security>"
    )


def test_onvif_device_service_with_usernametoken_digest(cityhall):
    bomb = soap("GetScopes").replace(
        b'<?xml version="1.0" encoding="utf-8"?>',
        b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]>',
    )
    replies = fetch(
        cityhall,
        tcp(HIK, 80, soap("GetSystemDateAndTime")),
        tcp(HIK, 80, soap("GetDeviceInformation")),
        tcp(HIK, 80, soap("GetDeviceInformation", username_token("admin", "wrong"))),
        tcp(HIK, 80, soap("GetDeviceInformation", username_token("admin", "Lab12345"))),
        tcp(HIK, 80, soap("GetScopes", username_token("admin", "Lab12345"))),
        tcp(HIK, 80, soap("GetNetworkInterfaces", username_token("admin", "Lab12345"))),
        tcp(HIK, 80, soap("GetCapabilities")),
        tcp(HIK2, 80, soap("GetDeviceInformation")),  # no credentials in the profile
        tcp(HIK, 80, bomb),
    )
    clock, anonymous, wrong, info, scopes, nics, caps, open_info, bombed = replies
    assert clock.startswith(b"HTTP/1.1 200 OK\r\nServer: App-webs/\r\n")
    assert b"<tt:UTCDateTime><tt:Time><tt:Hour>" in clock
    for refused in (anonymous, wrong):
        assert refused.startswith(b"HTTP/1.1 400 Bad Request\r\n")
        assert b"<env:Value>ter:NotAuthorized</env:Value>" in refused
        assert b"Sender not Authorized" in refused
    assert info.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"<tds:Manufacturer>HIKVISION</tds:Manufacturer>" in info
    assert b"<tds:SerialNumber>DS-2CD2385G1-I20210312AAWRF12345678</tds:SerialNumber>" in info
    assert b"<tds:FirmwareVersion>V5.6.2 build 190701</tds:FirmwareVersion>" in info
    assert b"<tt:ScopeItem>onvif://www.onvif.org/location/city/hangzhou</tt:ScopeItem>" in scopes
    assert b"<tt:HwAddress>44:19:b6:4e:1a:20</tt:HwAddress>" in nics
    assert b"<tt:XAddr>http://198.18.0.10/onvif/device_service</tt:XAddr>" in caps
    assert b"<tds:Model>DS-2CD2143G2-I</tds:Model>" in open_info
    assert bombed.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert b"ter:WellFormed" in bombed


def test_zeep_reads_device_information_offline(cityhall):
    code = (
        "import os, onvif, zeep\n"
        "from zeep.wsse.username import UsernameToken\n"
        "w = os.path.join(os.path.dirname(onvif.__file__), 'wsdl', 'devicemgmt.wsdl')\n"
        "c = zeep.Client(w, wsse=UsernameToken('admin', 'Lab12345', use_digest=True))\n"
        "b = '{http://www.onvif.org/ver10/device/wsdl}DeviceBinding'\n"
        "for h in ('198.18.0.10', '198.18.0.30'):\n"
        "    s = c.create_service(b, f'http://{h}/onvif/device_service')\n"
        "    i = s.GetDeviceInformation()\n"
        "    print(i.Manufacturer, i.Model, i.SerialNumber)\n"
    )
    pytest.importorskip("onvif")
    proc = subprocess.run(
        ["ip", "netns", "exec", f"ndl-{cityhall}-scan", sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-800:]
    assert proc.stdout.splitlines() == [
        "HIKVISION DS-2CD2385G1-I DS-2CD2385G1-I20210312AAWRF12345678",
        "Dahua IPC-HDW5421S 1F016E4PAX00330",
    ]


# ------------------------------------------------------------------------------ SNMP / TCP


def snmp_request(oids, pdu=0xA0, community=b"public"):
    binds = b"".join(_enc(0x30, _enc(0x06, encode_oid(o)) + b"\x05\x00") for o in oids)
    body = _int(0x1234) + _int(0) + _int(0) + _enc(0x30, binds)
    return _enc(0x30, _int(1) + _enc(0x04, community) + _enc(pdu, body))


def test_snmp_sysdescr_and_sysobjectid(cityhall):
    descr, objid = (1, 3, 6, 1, 2, 1, 1, 1, 0), (1, 3, 6, 1, 2, 1, 1, 2, 0)
    results = in_scan_ns(
        cityhall,
        [
            udp(HIK_NVR, 161, snmp_request([descr, objid]), wait=0.5),
            udp(ZTE_SW, 161, snmp_request([(1, 3, 6, 1, 2, 1, 1)], pdu=0xA1), wait=0.5),
            udp(DAHUA_NVR, 161, snmp_request([objid]), wait=0.5),
            udp(HIK_NVR, 161, snmp_request([descr], community=b"private"), wait=0.3),
            udp(HIK_NVR, 161, b"\x30\x84\xff\xff\xff\xff garbage", wait=0.3),
        ],
    )
    [[src, hik]] = results[0]["replies"]
    assert src == HIK_NVR
    text = b"Hikvision company products"
    assert unb64(hik) == _enc(
        0x30,
        _int(1)
        + _enc(0x04, b"public")
        + _enc(
            0xA2,
            _int(0x1234)
            + _int(0)
            + _int(0)
            + _enc(
                0x30,
                _enc(0x30, _enc(0x06, encode_oid(descr)) + _enc(0x04, text))
                + _enc(
                    0x30,
                    _enc(0x06, encode_oid(objid))
                    + _enc(0x06, encode_oid((1, 3, 6, 1, 4, 1, 50001))),
                ),
            ),
        ),
    )
    zte = unb64(results[1]["replies"][0][1])
    assert b"ZTE Ethernet Switch  ZXR10 5250-52TM-H, Version: V2.05.11B23" in zte
    assert encode_oid((1, 3, 6, 1, 4, 1, 1004849, 3, 2, 10)) in unb64(results[2]["replies"][0][1])
    assert results[3]["replies"] == []
    assert results[4]["replies"] == []


def test_tcp_banners_and_idle_ports(cityhall):
    results = in_scan_ns(
        cityhall,
        [
            tcp(HIK, 8000, idle=0.5),
            tcp(HW_CORE, 23, idle=0.5),
            tcp(ZTE_SW, 23, idle=0.5),
            tcp(DAHUA, 37777, idle=2.0),
        ],
    )
    hik8000, huawei, zte, sdk = (unb64(r["data"]) for r in results)
    assert hik8000 == b"\0\0\0\x10\0\0\0\x1e\0\0\0\x1e\0\0\0\0"  # nmap-service-probes 1801
    assert (
        b"Warning: Telnet is not a secure protocol, and it is recommended to use Stelnet." in huawei
    )
    assert zte.endswith(b"ZXR10 5250-52TM-H\r\n******************************\r\nLogin:")
    # 37777 is open and silent, and still open after 2 s (idle ports are held for 30 s).
    assert results[3]["error"] is None
    assert sdk == b""


def test_hostile_requests_do_not_take_the_lab_down(cityhall):
    junk = bytes(range(256)) * 16
    exchanges = [
        tcp(HIK, 80, junk, idle=0.3),
        tcp(HIK, 554, junk, idle=0.3),
        tcp(HIK, 80, b"POST /onvif/device_service HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n"),
        tcp(HIK, 443, junk, idle=0.3),
        udp(HIK, 37020, junk, wait=0.2),
        udp(DAHUA, 37810, b"\x20\x00\x00\x00DHIP" + b"\xff" * 24 + junk, wait=0.2),
        udp(
            DAHUA,
            37810,
            b"\x20\x00\x00\x00DHIP" + b"\0" * 8 + struct.pack("<QQ", 9, 9) + b"[" * 9,
            0.2,
        ),
        udp(HIK, 3702, b"<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'b'>]><x>&a;</x>", wait=0.2),
        udp(HIK_NVR, 161, junk, wait=0.2),
    ]
    results = in_scan_ns(cityhall, exchanges)
    assert unb64(results[2]["data"]).startswith(b"HTTP/1.1 413 ")
    after = fetch(cityhall, tcp(HIK, 80, b"GET / HTTP/1.0\r\n\r\n"))[0]
    assert after.startswith(b"HTTP/1.0 200 OK\r\n")
    assert lab.status(cityhall).responder_pids  # type: ignore[union-attr]
