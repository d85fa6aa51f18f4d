"""SNMP v2c agent for two objects: sysDescr.0 and sysObjectID.0 (GetRequest, GetNextRequest).

A small BER codec, enough for the messages a scanner sends; anything else (v1, v3, SetRequest,
a wrong community, broken BER) gets no reply, as a real agent behaves. Values per maker come
from fingerprints.md §9. An empty ``sysobjectid`` is sent as a zero-length OID, the "empty
sysObjectID" LibreNMS keys Hikvision cameras on (``os_detection/hikvision-cam.yaml``).
"""

from __future__ import annotations

from typing import Final

from scanner.lab.profile import SnmpService
from scanner.lab.responders.common import HostContext

__all__ = ["SYS_DESCR", "SYS_OBJECT_ID", "decode_oid", "encode_oid", "reply", "request"]

SYS_DESCR: Final[tuple[int, ...]] = (1, 3, 6, 1, 2, 1, 1, 1, 0)
SYS_OBJECT_ID: Final[tuple[int, ...]] = (1, 3, 6, 1, 2, 1, 1, 2, 0)
_GET: Final = 0xA0
_GET_NEXT: Final = 0xA1
_RESPONSE: Final = 0xA2
_NO_SUCH_OBJECT: Final = b"\x80\x00"
_END_OF_MIB_VIEW: Final = b"\x82\x00"
_MAX_VARBINDS: Final = 16


class BerError(ValueError):
    """The bytes are not the BER this agent understands."""


def _tlv(data: bytes, pos: int) -> tuple[int, bytes, int]:
    """(tag, value, next position) of the TLV at ``pos``."""
    if pos + 2 > len(data):
        raise BerError("truncated")
    tag, first = data[pos], data[pos + 1]
    pos += 2
    if first & 0x80:
        count = first & 0x7F
        if count == 0 or count > 4 or pos + count > len(data):
            raise BerError("bad length")
        length = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    else:
        length = first
    if pos + length > len(data):
        raise BerError("truncated value")
    return tag, data[pos : pos + length], pos + length


def _items(data: bytes) -> list[tuple[int, bytes]]:
    items, pos = [], 0
    while pos < len(data):
        tag, value, pos = _tlv(data, pos)
        items.append((tag, value))
        if len(items) > _MAX_VARBINDS + 4:
            raise BerError("too many items")
    return items


def _length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def _enc(tag: int, value: bytes) -> bytes:
    return bytes([tag]) + _length(len(value)) + value


def _int(value: int) -> bytes:
    return _enc(0x02, value.to_bytes(max(1, (value.bit_length() + 8) // 8), "big", signed=True))


def encode_oid(oid: tuple[int, ...]) -> bytes:
    """BER body of an OID (``()`` encodes as zero length)."""
    if not oid:
        return b""
    arcs = [oid[0] * 40 + (oid[1] if len(oid) > 1 else 0), *oid[2:]]
    out = bytearray()
    for arc in arcs:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        out += bytes(reversed(chunk))
    return bytes(out)


def decode_oid(body: bytes) -> tuple[int, ...]:
    """An OID from its BER body."""
    if not body:
        return ()
    arcs, value = [], 0
    for byte in body:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(value)
            value = 0
        if len(arcs) > 128:
            raise BerError("OID too long")
    if body[-1] & 0x80:
        raise BerError("OID cut short")
    first = min(arcs[0] // 40, 2)
    return (first, arcs[0] - 40 * first, *arcs[1:])


def request(data: bytes) -> tuple[int, bytes, int, int, list[tuple[int, ...]]]:
    """(version, community, PDU tag, request id, OIDs) of an SNMP message; BerError otherwise."""
    tag, body, _ = _tlv(data, 0)
    if tag != 0x30:
        raise BerError("not a SEQUENCE")
    parts = _items(body)
    if len(parts) != 3 or parts[0][0] != 0x02 or parts[1][0] != 0x04:
        raise BerError("not an SNMP message")
    version = int.from_bytes(parts[0][1], "big", signed=True)
    pdu_tag, pdu = parts[2]
    fields = _items(pdu)
    if len(fields) != 4 or fields[0][0] != 0x02 or fields[3][0] != 0x30:
        raise BerError("not a PDU")
    request_id = int.from_bytes(fields[0][1], "big", signed=True)
    oids = []
    for bind_tag, bind in _items(fields[3][1]):
        pair = _items(bind)
        if bind_tag != 0x30 or not pair or pair[0][0] != 0x06:
            raise BerError("bad varbind")
        oids.append(decode_oid(pair[0][1]))
    return version, parts[1][1], pdu_tag, request_id, oids


def _oid_from_text(text: str) -> tuple[int, ...]:
    return tuple(int(arc) for arc in text.split(".")) if text else ()


def reply(ctx: HostContext, service: SnmpService, data: bytes) -> bytes | None:
    """The GetResponse for a v2c Get/GetNext with the right community, else None."""
    try:
        version, community, pdu_tag, request_id, oids = request(data)
    except (BerError, IndexError):
        return None
    if version != 1 or community != service.community.encode() or pdu_tag not in {_GET, _GET_NEXT}:
        return None
    values = {
        SYS_DESCR: _enc(0x04, ctx.fill(service.sysdescr).encode("utf-8")),
        SYS_OBJECT_ID: _enc(0x06, encode_oid(_oid_from_text(service.sysobjectid))),
    }
    binds = b""
    for oid in oids[:_MAX_VARBINDS]:
        if pdu_tag == _GET:
            name, value = oid, values.get(oid, _NO_SUCH_OBJECT)
        elif oid < SYS_DESCR:
            name, value = SYS_DESCR, values[SYS_DESCR]
        elif oid < SYS_OBJECT_ID:
            name, value = SYS_OBJECT_ID, values[SYS_OBJECT_ID]
        else:
            name, value = oid, _END_OF_MIB_VIEW
        binds += _enc(0x30, _enc(0x06, encode_oid(name)) + value)
    pdu = _int(request_id) + _int(0) + _int(0) + _enc(0x30, binds)
    message = _int(1) + _enc(0x04, community) + _enc(_RESPONSE, pdu)
    return _enc(0x30, message)
