"""Signed PDF reports (pyHanko, PAdES B-B) and their verification.

A signed report carries three things a later reader can check without ndaa-scan's database:

* a PAdES signature (ETSI.CAdES.detached, SHA-256) over the whole file, by the signer's X.509
  certificate, whose subject is printed in the attestation block;
* the inventory JSON itself, embedded as ``inventory.json`` inside the signed revision;
* the inventory digest, in the signature's /Reason.

:func:`verify_pdf` checks that the signature is intact and covers the entire file (nothing was
appended after signing), that the signer chains to a trust root the caller names (no network
fetches: revocation is not checked, and the result says so), and that the embedded inventory
hashes to the digest the signature states.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from reports.digest import verify_document

__all__ = ["PdfCheck", "SignError", "Signer", "load_signer", "sign_pdf", "verify_pdf"]

EMBEDDED_NAME: Final = "inventory.json"
FIELD_NAME: Final = "ndaa-scan"
_REASON_PREFIX: Final = "ndaa-scan inventory "


class SignError(Exception):
    """The certificate, key or PDF cannot be used (one line, no secret in it)."""


@dataclass(frozen=True)
class Signer:
    """Who signs: what the attestation block prints, and the pyHanko signer that does it."""

    name: str
    organisation: str | None
    subject: str
    fingerprint: str
    signed_at: datetime
    backend: Any


def load_signer(cert: Path, key: Path, password: bytes | None, now: datetime) -> Signer:
    """Load a PEM certificate and private key; the password never appears in an error."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import NameOID
    from pyhanko.sign import signers

    try:
        certificate = x509.load_pem_x509_certificate(cert.read_bytes())
    except (OSError, ValueError) as exc:
        raise SignError(
            f"cannot read the signing certificate {cert}: {type(exc).__name__}"
        ) from exc
    try:
        key_bytes = key.read_bytes()
    except OSError as exc:
        raise SignError(f"cannot read the signing key {key}: {exc.strerror}") from exc
    # Checked with cryptography first: pyHanko logs a traceback for a wrong password, and the
    # CLI promises one line.
    try:
        serialization.load_pem_private_key(key_bytes, password=password)
    except (ValueError, TypeError) as exc:
        raise SignError(
            f"cannot load the signing key {key} (wrong password or not a PEM key?)"
        ) from exc
    try:
        backend = signers.SimpleSigner.load(  # type: ignore[no-untyped-call]
            str(key), str(cert), key_passphrase=password
        )
    except Exception as exc:  # pyHanko/oscrypto raise various types for a wrong key
        raise SignError(
            f"cannot load the signing key {key} (wrong password or not a PEM key?)"
        ) from exc
    if backend is None:
        raise SignError(f"cannot load the signing key {key} (wrong password or not a PEM key?)")

    def attr(oid: Any) -> str | None:
        values = certificate.subject.get_attributes_for_oid(oid)
        return str(values[0].value) if values else None

    subject = certificate.subject.rfc4514_string()
    return Signer(
        name=attr(NameOID.COMMON_NAME) or subject,
        organisation=attr(NameOID.ORGANIZATION_NAME),
        subject=subject,
        fingerprint=certificate.fingerprint(hashes.SHA256()).hex(),
        signed_at=now,
        backend=backend,
    )


def sign_pdf(pdf: bytes, inventory_json: bytes, digest: str, signer: Signer) -> bytes:
    """Embed the inventory and sign the whole PDF (PAdES B-B, SHA-256)."""
    from pyhanko.pdf_utils.embed import EmbeddedFileObject, FileSpec, embed_file
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    embed_file(
        writer,
        FileSpec(
            file_spec_string=EMBEDDED_NAME,
            file_name=EMBEDDED_NAME,
            embedded_data=EmbeddedFileObject.from_file_data(
                writer, data=inventory_json, mime_type="application/json"
            ),
            description=f"ndaa-scan inventory {digest}",
        ),
    )
    meta = signers.PdfSignatureMetadata(
        field_name=FIELD_NAME,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=_REASON_PREFIX + digest,
        name=signer.name,
    )
    out = io.BytesIO()
    signers.PdfSigner(meta, signer=signer.backend).sign_pdf(writer, output=out)
    return out.getvalue()


@dataclass(frozen=True)
class PdfCheck:
    """What :func:`verify_pdf` found; ``ok`` only when everything holds."""

    signed: bool
    intact: bool
    entire_file: bool
    trusted: bool
    digest_ok: bool
    signer: str | None
    digest: str | None
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        """Signed, intact over the whole file, trusted, and the embedded inventory verifies."""
        return self.signed and self.intact and self.entire_file and self.trusted and self.digest_ok


def _resolve(value: Any) -> Any:
    return value.get_object() if hasattr(value, "get_object") else value


def _embedded_inventory(reader: Any) -> bytes | None:
    """The bytes of the embedded ``inventory.json`` (flat /EmbeddedFiles name tree), if any."""
    try:
        names = _resolve(reader.root.get("/Names"))
        files = _resolve(names.get("/EmbeddedFiles")) if names is not None else None
        entries = list(_resolve(files.get("/Names", ()))) if files is not None else []
        for label, spec in zip(entries[::2], entries[1::2], strict=False):
            if str(_resolve(label)) == EMBEDDED_NAME:
                stream = _resolve(_resolve(_resolve(spec)["/EF"])["/F"])
                return bytes(stream.data)
    except (KeyError, TypeError, AttributeError, ValueError):
        return None
    return None


def verify_pdf(data: bytes, trust: list[bytes]) -> PdfCheck:
    """Check a signed report (see the module docstring); never fetches anything."""
    from asn1crypto import pem, x509
    from pyhanko.pdf_utils.misc import PdfReadError
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.errors import SignatureValidationError
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext

    problems: list[str] = []
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        signatures = reader.embedded_signatures
    except (PdfReadError, ValueError, KeyError, TypeError) as exc:
        raise SignError(f"not a readable PDF: {type(exc).__name__}") from exc
    if not signatures:
        return PdfCheck(False, False, False, False, False, None, None, ("no signature",))
    signature = signatures[0]
    roots = []
    for blob in trust:
        der = pem.unarmor(blob)[2] if pem.detect(blob) else blob
        roots.append(x509.Certificate.load(der))
    context = ValidationContext(
        trust_roots=roots, allow_fetching=False, revocation_mode="soft-fail"
    )
    try:
        status = validate_pdf_signature(signature, context)
        intact = bool(status.intact and status.valid)
        trusted = bool(status.trusted)
        entire = status.coverage is SignatureCoverageLevel.ENTIRE_FILE
        signer = status.signing_cert.subject.human_friendly if status.signing_cert else None
    except (SignatureValidationError, ValueError, KeyError) as exc:
        intact, trusted, entire, signer = False, False, False, None
        problems.append(f"signature does not validate: {type(exc).__name__}")
    if not intact:
        problems.append("signature is not intact: the file changed after signing")
    if intact and not entire:
        problems.append("the file has content appended after the signature")
    if intact and not trusted:
        problems.append("the signer does not chain to a trusted certificate (pass --trust CERT)")
    reason = str(signature.sig_object.get("/Reason", ""))
    stated = reason.removeprefix(_REASON_PREFIX) if reason.startswith(_REASON_PREFIX) else None
    embedded = _embedded_inventory(reader)
    digest_ok = False
    if embedded is None:
        problems.append("no embedded inventory.json")
    else:
        try:
            check = verify_document(json.loads(embedded))
            digest_ok = check.ok and check.actual == stated
        except (ValueError, TypeError):
            check = None
        if not digest_ok:
            problems.append("the embedded inventory does not hash to the signed digest")
    return PdfCheck(True, intact, entire, trusted, digest_ok, signer, stated, tuple(problems))
