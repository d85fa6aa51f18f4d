"""The responders' codecs and parsers without a lab (no root needed)."""

from __future__ import annotations

import base64
import hashlib
import struct

import pytest

from scanner.lab.profile import DhipService, LabHost, OnvifService, SadpService, SnmpService
from scanner.lab.responders import dhip, onvif, rtsp, sadp, snmp
from scanner.lab.responders.common import HostContext


def ctx(**extra: object) -> HostContext:
    host = LabHost.model_validate(
        {
            "name": "unit",
            "address": "198.18.0.9",
            "mac": "58:50:ed:1f:e3:85",
            "truth": {"maker": "hikvision", "covered": True},
            "vars": {"serial": "S{seq}"},
            **extra,
        }
    )
    return HostContext.build(host, "198.18.0.9", host.mac, "255.255.255.0", "198.18.0.1", seq=7)


def test_placeholders_fill_known_names_only():
    c = ctx()
    assert c.fill('{"a":{mac_dash},"b":{unknown}} {serial}') == (
        '{"a":58-50-ed-1f-e3-85,"b":{unknown}} S000000007'
    )
    assert c.values["ipv6_ll"] == "fe80::5a50:edff:fe1f:e385"  # fingerprints.md §3.2


@pytest.mark.parametrize(
    "oid", [(), (1, 3, 6, 1, 2, 1, 1, 1, 0), (1, 3, 6, 1, 4, 1, 1004849, 3, 2, 10), (2, 999, 1)]
)
def test_oid_round_trip(oid):
    assert snmp.decode_oid(snmp.encode_oid(oid)) == oid


def test_snmp_answers_v2c_only_with_the_community():
    service = SnmpService(sysdescr="Hikvision company products", sysobjectid="")
    binds = snmp._enc(
        0x30, snmp._enc(0x30, snmp._enc(0x06, snmp.encode_oid(snmp.SYS_OBJECT_ID)) + b"\x05\x00")
    )
    body = snmp._int(-5) + snmp._int(0) + snmp._int(0) + binds
    message = snmp._enc(0x30, snmp._int(1) + snmp._enc(0x04, b"public") + snmp._enc(0xA0, body))
    reply = snmp.reply(ctx(), service, message)
    assert reply is not None
    assert snmp.request(reply.replace(b"\xa2", b"\xa0", 1))[3] == -5
    assert reply.endswith(snmp._enc(0x06, snmp.encode_oid(snmp.SYS_OBJECT_ID)) + b"\x06\x00")
    assert snmp.reply(ctx(), service, message.replace(b"public", b"publik")) is None
    assert snmp.reply(ctx(), service, message.replace(b"\x02\x01\x01", b"\x02\x01\x00", 1)) is None
    for cut in range(len(message)):
        assert snmp.reply(ctx(), service, message[:cut]) is None


def test_dhip_needs_the_frame():
    service = DhipService(body='{"SerialNo":"{serial}"}')
    body = b'{"method":"DHDiscover.search","params":{"mac":"","uni":1}}'
    framed = dhip.frame(body)
    reply = dhip.reply(ctx(), service, framed)
    assert reply == dhip.frame(b'{"SerialNo":"S000000007"}')
    assert dhip.reply(ctx(), service, body) is None
    assert dhip.reply(ctx(), service, framed[:40]) is None
    lying = framed[:16] + struct.pack("<QQ", 2**63, 2**63) + body
    assert dhip.reply(ctx(), service, lying) is None


def test_sadp_echoes_the_uuid_and_keeps_field_order():
    service = SadpService(fields=(("DeviceSN", "{serial}"), ("MAC", "{mac_dash}")))
    probe = b"<?xml version='1.0'?><Probe><Uuid>U&amp;1</Uuid><Types>inquiry</Types></Probe>"
    assert sadp.reply(ctx(), service, probe) == (
        b'<?xml version="1.0" encoding="UTF-8"?>\r\n<ProbeMatch>\r\n<Uuid>U&amp;1</Uuid>\r\n'
        b"<Types>inquiry</Types>\r\n<DeviceSN>S000000007</DeviceSN>\r\n"
        b"<MAC>58-50-ed-1f-e3-85</MAC>\r\n</ProbeMatch>\r\n"
    )
    assert sadp.reply(ctx(), service, b"<!DOCTYPE x [<!ENTITY a 'b'>]><Probe>&a;</Probe>") is None


def test_rtsp_cseq_is_echoed_verbatim_or_absent():
    assert rtsp.parse_request(b"OPTIONS / RTSP/1.0\r\nCSeq: 42 OPTIONS\r\n\r\n") == (
        "OPTIONS",
        "42 OPTIONS",
    )
    assert rtsp.parse_request(b"OPTIONS / RTSP/1.0\r\n\r\n") == ("OPTIONS", "")
    assert rtsp.parse_request(b"GET / HTTP/1.0\r\n\r\n") == ("HTTP", "")
    assert rtsp.parse_request(b"\xff\xfe") == ("\xff\xfe", "")


def test_onvif_digest_accepts_zeep_style_created():
    device = OnvifService(
        manufacturer="HIKVISION",
        model="M",
        firmware="F",
        serial="S",
        scopes=("onvif://www.onvif.org/name/x",),
        username="admin",
        password="pw",
    )
    nonce, created = b"n0nce", "2026-01-01T00:00:00Z"
    digest = base64.b64encode(hashlib.sha1(nonce + created.encode() + b"pw").digest()).decode()  # noqa: S324
    envelope = (
        '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Header>'
        '<Security xmlns="urn:x"><UsernameToken><Username>admin</Username>'
        f"<Password>{digest}</Password><Nonce>{base64.b64encode(nonce).decode()}</Nonce>"
        f'<wsu:Created xmlns:wsu="urn:wsu">{created}</wsu:Created></UsernameToken></Security>'
        '</s:Header><s:Body><GetDeviceInformation xmlns="http://www.onvif.org/ver10/device/wsdl"/>'
        "</s:Body></s:Envelope>"
    ).encode()
    status, reply = onvif.soap_reply(ctx(), device, envelope)
    assert status == 200
    assert "<tds:Manufacturer>HIKVISION</tds:Manufacturer>" in reply
    status, reply = onvif.soap_reply(ctx(), device, envelope.replace(b"admin", b"root"))
    assert status == 400
    assert "ter:NotAuthorized" in reply
