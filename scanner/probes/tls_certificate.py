"""HTTPS on 443/8443: the device's certificate subject and issuer, and the HTTP banner over TLS.

Self-signed device certificates carry the maker (Hikvision's default
``CN=www.hikvision.com,OU=DVRNVR,O=HIKVISION,L=HangZhou,ST=ZheJiang,C=CN``, fingerprints.md
§5.1). The handshake uses :data:`scanner.context.CERTIFICATE_READER`, the one context that does not
verify the peer, because the point is to *read* the certificate; nothing is trusted or sent.
The DER is decoded here with a small, bounded reader of the X.509 Name structure (RFC 5280
§4.1.2.4), because the standard library only decodes verified certificates.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address
from typing import ClassVar, Final

from scanner.context import ExchangeError, ProbeContext
from scanner.errors import ProbeParseError
from scanner.probes.base import Endpoint, ObservationSet, ProbeInfo, more_telling
from scanner.probes.http_banner import announced_ports, fetch, http_observations
from scanner.results import WEB_FIELDS, Observation, ProbeResult, ProbeStatus

__all__ = ["PROBE", "CertificateNames", "TlsCertificateProbe", "parse_certificate"]

#: HTTPS ports of cameras and recorders: 443, 8443 (fingerprints.md §5) and 7443 (the HTTPS
#: port of several recorder and VMS firmwares); all three are in nmap's ``sslports`` for the
#: GetRequest probe (nmap-service-probes, Debian nmap 7.93, line 6350).
TLS_PORTS: Final = (443, 7443, 8443)
#: The announcements that name an HTTPS port (DHIP ``HttpsPort``).
HTTPS_PORT_LEADS: Final = frozenset({"dhip.https_port"})
#: Device certificates are 0.5-2 KiB; 32 KiB bounds a hostile chain element.
MAX_CERT_BYTES: Final = 32 * 1024
# RFC 4514 short names for the attribute OIDs devices use.
_ATTRIBUTE_NAMES: Final = {
    "2.5.4.3": "CN",
    "2.5.4.6": "C",
    "2.5.4.7": "L",
    "2.5.4.8": "ST",
    "2.5.4.10": "O",
    "2.5.4.11": "OU",
    "2.5.4.5": "serialNumber",
    "1.2.840.113549.1.9.1": "emailAddress",
}
_STRING_TAGS: Final = {0x0C, 0x13, 0x14, 0x16, 0x1A, 0x1E, 0x1C}


@dataclass(frozen=True, slots=True)
class CertificateNames:
    """Subject and issuer written RFC 4514 style (``CN=…,OU=…,O=…,C=…``)."""

    subject: str
    issuer: str


def _read(data: bytes, pos: int, end: int) -> tuple[int, int, int]:
    """Return (tag, content start, content end) of the DER element at ``pos``."""
    if pos + 2 > end:
        raise ProbeParseError("truncated DER element")
    tag = data[pos]
    length = data[pos + 1]
    pos += 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 4 or pos + count > end:
            raise ProbeParseError("bad DER length")
        length = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    if pos + length > end:
        raise ProbeParseError("DER element runs past its parent")
    return tag, pos, pos + length


def _oid(raw: bytes) -> str:
    if not raw:
        raise ProbeParseError("empty OID")
    parts = [raw[0] // 40, raw[0] % 40]
    value = 0
    for byte in raw[1:]:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            parts.append(value)
            value = 0
    return ".".join(str(p) for p in parts)


def _decode_string(tag: int, raw: bytes) -> str:
    if tag == 0x1E:
        return raw.decode("utf-16-be", errors="replace")
    if tag == 0x1C:
        return raw.decode("utf-32-be", errors="replace")
    return raw.decode("utf-8" if tag == 0x0C else "latin-1", errors="replace")


def _name(data: bytes, start: int, end: int) -> str:
    parts: list[str] = []
    pos = start
    while pos < end and len(parts) < 32:
        tag, set_start, set_end = _read(data, pos, end)
        if tag != 0x31:
            raise ProbeParseError("Name element is not a SET")
        inner = set_start
        while inner < set_end:
            tag, seq_start, seq_end = _read(data, inner, set_end)
            if tag != 0x30:
                raise ProbeParseError("attribute is not a SEQUENCE")
            oid_tag, oid_start, oid_end = _read(data, seq_start, seq_end)
            if oid_tag != 0x06:
                raise ProbeParseError("attribute without an OID")
            value_tag, value_start, value_end = _read(data, oid_end, seq_end)
            oid = _oid(data[oid_start:oid_end])
            label = _ATTRIBUTE_NAMES.get(oid, oid)
            if value_tag in _STRING_TAGS:
                parts.append(f"{label}={_decode_string(value_tag, data[value_start:value_end])}")
            inner = seq_end
        pos = set_end
    # RFC 4514 writes the most specific RDN first (CN=…,…,C=CN), the reverse of the DER order.
    return ",".join(reversed(parts))


def parse_certificate(der: bytes) -> CertificateNames:
    """Return the subject and issuer of a DER certificate; raise ``ProbeParseError`` if broken."""
    if len(der) > MAX_CERT_BYTES:
        raise ProbeParseError("certificate larger than 32 KiB")
    tag, cert_start, cert_end = _read(der, 0, len(der))
    if tag != 0x30:
        raise ProbeParseError("certificate is not a SEQUENCE")
    tag, tbs_start, tbs_end = _read(der, cert_start, cert_end)
    if tag != 0x30:
        raise ProbeParseError("tbsCertificate is not a SEQUENCE")
    fields: list[tuple[int, int, int]] = []
    pos = tbs_start
    while pos < tbs_end and len(fields) < 6:
        element = _read(der, pos, tbs_end)
        fields.append(element)
        pos = element[2]
    if fields and fields[0][0] == 0xA0:  # explicit [0] version
        fields = fields[1:]
    # serialNumber, signature, issuer, validity, subject
    if len(fields) < 5 or fields[2][0] != 0x30 or fields[4][0] != 0x30:
        raise ProbeParseError("tbsCertificate lacks issuer or subject")
    issuer = _name(der, fields[2][1], fields[2][2])
    subject = _name(der, fields[4][1], fields[4][2])
    return CertificateNames(subject=subject, issuer=issuer)


class TlsCertificateProbe:
    """TLS handshake on every HTTPS port: certificate subject/issuer, then ``GET /`` inside TLS."""

    info: ClassVar[ProbeInfo] = ProbeInfo(
        name="tls_certificate",
        summary="HTTPS (TCP 443/7443/8443): certificate subject and issuer, HTTP banner over TLS",
        kind="host",
        transport="tcp",
        ports=TLS_PORTS,
        rarity=1,
        fields=(
            "tls.cert_subject",
            "tls.cert_issuer",
            *(f"https.{name}" for name in sorted(WEB_FIELDS)),
        ),
    )

    def endpoints(self, host: IPv4Address, leads: Sequence[Observation]) -> list[Endpoint]:
        """Every port of :data:`TLS_PORTS`, plus the HTTPS ports the device announced."""
        out = [Endpoint(host=host, port=port, tls=True) for port in self.info.ports]
        out.extend(
            Endpoint(host=host, port=port, tls=True, via="announced HttpsPort")
            for port in announced_ports(leads, HTTPS_PORT_LEADS)
            if port not in self.info.ports
        )
        return out

    async def probe_endpoint(self, endpoint: Endpoint, ctx: ProbeContext) -> ProbeResult:
        """Read the certificate of one TLS port, then the banner inside TLS."""
        started = time.monotonic()
        host, port = endpoint.host, endpoint.port
        obs = ObservationSet(self.info.name, host, port=port)
        error: str | None = None
        try:
            raw, reply = await fetch(ctx, host, port, "/", tls=True)
        except ProbeParseError as exc:
            # TLS worked but the payload is not HTTP: the certificate is still evidence.
            raw, reply = None, None
            error = str(exc)
        total = 0
        cert = raw.peer_certificate if raw is not None else None
        if raw is None:
            try:
                bare = await ctx.tcp_exchange(host, port, b"", tls=True)
                cert = bare.peer_certificate
            except ExchangeError:
                cert = None
        if cert:
            try:
                names = parse_certificate(cert)
                obs.add("tls", "cert_subject", names.subject)
                obs.add("tls", "cert_issuer", names.issuer)
            except ProbeParseError as exc:
                error = f"certificate: {exc}"
        if raw is not None and reply is not None:
            total = len(raw.data)
            total += await http_observations(ctx, host, port, "https", reply, obs, tls=True)
        status = ProbeStatus.SUCCESS if obs.items else ProbeStatus.PROTOCOL_ERROR
        return obs.result(endpoint.target, started, status=status, reply_bytes=total, error=error)

    async def probe(self, host: IPv4Address, ctx: ProbeContext) -> ProbeResult:
        """The first TLS port that answers (the sweeper asks every port, one result each)."""
        last_error: ExchangeError | None = None
        for endpoint in self.endpoints(host, ()):
            try:
                return await self.probe_endpoint(endpoint, ctx)
            except ExchangeError as exc:
                last_error = more_telling(last_error, exc)
        assert last_error is not None  # noqa: S101 - ports is never empty
        raise last_error


PROBE: Final = TlsCertificateProbe()
