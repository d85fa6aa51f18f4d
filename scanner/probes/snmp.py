"""SNMP v2c GET of sysDescr.0 and sysObjectID.0 (UDP 161), with a configurable community.

One GetRequest per live host, all from one socket, paired to its host by request id. sysDescr
names Hikvision NVRs (``Hikvision company products``), Dahua NVRs (the bare ``DH-…`` model),
Huawei VRP and ZTE ZXR10; sysObjectID carries the enterprise number (Hikvision 50001/39165,
Dahua 1004849) (librenms/librenms:tests/snmpsim/*.snmprec). SNMP is usually off on cameras:
opportunistic.
Encoding and decoding use scapy's SNMP layer (``scapy.layers.snmp``). The community is the
user's (``--snmp-community``, default ``public``), held as a secret and never logged.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address
from typing import ClassVar, Final

from scapy.asn1.asn1 import ASN1_OID
from scapy.layers.snmp import SNMP, SNMPget, SNMPresponse, SNMPvarbind

from scanner.context import ExchangeError, ProbeContext
from scanner.errors import ProbeParseError, ScopeViolation
from scanner.probes.base import ObservationSet, ProbeInfo, failed_result
from scanner.results import ProbeResult, ProbeStatus

__all__ = ["PROBE", "SnmpProbe", "SnmpReply", "build_request", "parse_reply"]

PORT: Final = 161
SYS_DESCR: Final = "1.3.6.1.2.1.1.1.0"
SYS_OBJECT_ID: Final = "1.3.6.1.2.1.1.2.0"
#: A two-varbind response is < 512 bytes; 8 KiB bounds a hostile one.
MAX_REPLY_BYTES: Final = 8 * 1024
#: Agents answer in milliseconds; unanswered hosts cost this once for the whole batch.
WAIT_S: Final = 2.0


@dataclass(frozen=True, slots=True)
class SnmpReply:
    """The values of one GetResponse."""

    request_id: int
    community: bytes
    values: tuple[tuple[str, str], ...]


def build_request(community: str, request_id: int) -> bytes:
    """Return a v2c GetRequest for sysDescr.0 and sysObjectID.0."""
    packet = SNMP(
        version=1,  # 1 = v2c on the wire
        community=community,
        PDU=SNMPget(
            id=request_id,
            varbindlist=[
                SNMPvarbind(oid=ASN1_OID(SYS_DESCR)),
                SNMPvarbind(oid=ASN1_OID(SYS_OBJECT_ID)),
            ],
        ),
    )
    return bytes(packet)


def _value_text(value: object) -> str | None:
    raw = getattr(value, "val", None)
    if isinstance(raw, bytes):
        return raw.decode("utf-8", errors="replace")
    if isinstance(raw, str | int):
        return str(raw)
    return None


def parse_reply(data: bytes) -> SnmpReply:
    """Parse an SNMP GetResponse; raise :class:`ProbeParseError` for anything else."""
    if len(data) > MAX_REPLY_BYTES:
        raise ProbeParseError("SNMP reply larger than 8 KiB")
    if not data.startswith(b"\x30"):
        raise ProbeParseError("not a BER SEQUENCE")
    try:
        packet = SNMP(data)
        pdu = packet.PDU
        is_response = isinstance(pdu, SNMPresponse)
        values: list[tuple[str, str]] = []
        for varbind in pdu.varbindlist[:16]:
            oid = str(varbind.oid.val)
            text = _value_text(varbind.value)
            if text is not None:
                values.append((oid, text))
        request_id = int(pdu.id.val)
        community = bytes(packet.community.val)
    # scapy's BER decoder raises a dozen unrelated types on hostile input (BER_Decoding_Error,
    # ValueError, IndexError, AttributeError, struct.error, …): all of them mean "not SNMP".
    except Exception as exc:  # noqa: BLE001
        raise ProbeParseError(f"undecodable SNMP: {type(exc).__name__}") from None
    if not is_response:
        raise ProbeParseError("not a GetResponse")
    return SnmpReply(request_id=request_id, community=community, values=tuple(values))


class SnmpProbe:
    """v2c GET sysDescr/sysObjectID to every live host at once."""

    info: ClassVar[ProbeInfo] = ProbeInfo(
        name="snmp",
        summary="SNMP v2c GET sysDescr.0 / sysObjectID.0 (UDP 161), configurable community",
        kind="network",
        transport="udp",
        ports=(PORT,),
        rarity=5,
        fields=(
            "snmp.sysdescr",
            "snmp.sysobjectid",
            "snmp.sysname",
            "snmp.enterprise",
            "snmp.entity.mfg_name",
            "snmp.entity.model_name",
            "snmp.entity.serial",
            "snmp.entity.software_rev",
            "snmp.entity.descr",
            "snmp.vendor_value",
        ),
        after_liveness=True,
    )

    async def discover(
        self, targets: Sequence[IPv4Address], ctx: ProbeContext
    ) -> list[ProbeResult]:
        """Send one GetRequest per target; one result per host that answered."""
        started = time.monotonic()
        community = ctx.settings.snmp_community.get_secret_value()
        ids = {addr: secrets.randbelow(2**31 - 1) + 1 for addr in targets}
        try:
            collected = await ctx.udp_collect(
                PORT,
                lambda addr: build_request(community, ids[addr]),
                unicast=targets,
                wait_s=WAIT_S,
                max_replies=len(targets) * 2 + 16,
                max_bytes=MAX_REPLY_BYTES,
            )
        except ScopeViolation as exc:
            return [failed_result("snmp", "*", ProbeStatus.OUT_OF_SCOPE, str(exc), started)]
        except (ExchangeError, OSError) as exc:
            return [failed_result("snmp", "*", ProbeStatus.ERROR, str(exc)[:200], started)]
        results: dict[IPv4Address, ProbeResult] = {}
        for datagram in collected.datagrams:
            if datagram.source in results or datagram.source not in ids:
                continue
            target = f"{datagram.source}:{PORT}"
            try:
                reply = parse_reply(datagram.data)
            except ProbeParseError as exc:
                results[datagram.source] = failed_result(
                    "snmp", target, ProbeStatus.PROTOCOL_ERROR, str(exc), started
                )
                continue
            if reply.request_id != ids[datagram.source]:
                continue  # not the answer to our request
            obs = ObservationSet("snmp", datagram.source, port=PORT)
            for oid, value in reply.values:
                if oid == SYS_DESCR:
                    obs.add("snmp", "sysdescr", value)
                elif oid == SYS_OBJECT_ID:
                    obs.add("snmp", "sysobjectid", value)
            results[datagram.source] = obs.result(target, started, reply_bytes=len(datagram.data))
        if not results:
            return [
                failed_result(
                    "snmp",
                    "*",
                    ProbeStatus.NO_REPLY,
                    f"no reply from {collected.sent} hosts",
                    started,
                )
            ]
        return [results[addr] for addr in sorted(results)]


PROBE: Final = SnmpProbe()
