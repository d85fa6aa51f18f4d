"""Self-signed device certificates, made when the lab starts (no private key is ever committed).

One RSA-2048 key per responder process signs every host's certificate: generating a key per
host would cost seconds for a 50-host lab and changes nothing a scanner can see except the key
itself. The subject is the device's (e.g. Hikvision's ``CN=www.hikvision.com,OU=DVRNVR,
O=HIKVISION,L=HangZhou,ST=ZheJiang,C=CN``, fingerprints.md §5.1) and the issuer equals it.
"""

from __future__ import annotations

import datetime
import functools
import os
import secrets
import ssl
import tempfile
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from scanner.lab.profile import TlsCertificate

__all__ = ["certificate_pem", "server_context"]

_OIDS = {
    "CN": NameOID.COMMON_NAME,
    "OU": NameOID.ORGANIZATIONAL_UNIT_NAME,
    "O": NameOID.ORGANIZATION_NAME,
    "L": NameOID.LOCALITY_NAME,
    "ST": NameOID.STATE_OR_PROVINCE_NAME,
    "C": NameOID.COUNTRY_NAME,
    "E": NameOID.EMAIL_ADDRESS,
}


@functools.cache
def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _name(subject: str) -> x509.Name:
    # Devices print the subject most-specific first (CN=…,C=CN); X.509 stores it the other way.
    parts = []
    for part in subject.split(","):
        key, _, value = part.partition("=")
        parts.append(x509.NameAttribute(_OIDS[key.strip().upper()], value.strip()))
    return x509.Name(list(reversed(parts)))


def certificate_pem(spec: TlsCertificate) -> bytes:
    """A PEM certificate for ``spec``, self-signed with the process key."""
    name = _name(spec.subject)
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(_key().public_key())
        .serial_number(int.from_bytes(secrets.token_bytes(8), "big") >> 1)
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=spec.days))
        .sign(_key(), hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


def server_context(spec: TlsCertificate) -> ssl.SSLContext:
    """A server SSLContext presenting ``spec``'s certificate.

    ``load_cert_chain`` only reads files, so the PEMs exist for a moment in a private temporary
    directory and are deleted as soon as the context holds them.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    key_pem = _key().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    with tempfile.TemporaryDirectory(prefix="ndl-tls-") as tmp:
        cert_path, key_path = Path(tmp) / "cert.pem", Path(tmp) / "key.pem"
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(key_pem)
        cert_path.write_bytes(certificate_pem(spec))
        context.load_cert_chain(cert_path, key_path)
    return context
