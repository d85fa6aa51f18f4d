"""Signed PDF reports: pyHanko signs, --verify accepts the untouched file and rejects tampering.

The signer is a throwaway self-signed certificate made here with cryptography; trust is given
explicitly with --trust, so nothing is fetched and no system trust store is involved.
"""

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from pypdf import PdfReader

from tests.reports.conftest import CITYHALL_INVENTORY

ROOT = Path(__file__).parents[2]
PASSWORD = "correct horse battery staple"

pytestmark = pytest.mark.timeout(180)


def _cert(tmp: Path, name: str) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "City of Example, IT Security"),
        ]
    )
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp / f"{name}.crt.pem", tmp / f"{name}.key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(PASSWORD.encode()),
        )
    )
    return cert_path, key_path


def ndaa(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "scanner", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=ROOT,
        env={**os.environ, "NDAA_SCAN_DB": "off", **(env or {})},
    )


@pytest.fixture(scope="module")
def signed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sign")
    cert, key = _cert(tmp, "Alex Auditor")
    pdf = tmp / "signed.pdf"
    proc = ndaa(
        "report",
        str(CITYHALL_INVENTORY),
        "-f",
        "pdf",
        "-o",
        str(pdf),
        "--sign-cert",
        str(cert),
        "--sign-key",
        str(key),
        "--sign-key-password-env",
        "SIGN_PW",
        env={"SIGN_PW": PASSWORD},
    )
    assert proc.returncode == 0, proc.stderr
    assert PASSWORD not in proc.stdout + proc.stderr
    return tmp, pdf, cert, key


def test_signature_is_intact_and_valid_per_pyhanko(signed):
    _, pdf, cert, _ = signed
    root = x509.load_pem_x509_certificate(cert.read_bytes())
    from asn1crypto import x509 as asn1_x509

    trust = asn1_x509.Certificate.load(root.public_bytes(serialization.Encoding.DER))
    with pdf.open("rb") as handle:
        reader = PdfFileReader(handle)
        (sig,) = reader.embedded_signatures
        status = validate_pdf_signature(sig, ValidationContext(trust_roots=[trust]))
        assert status.intact
        assert status.valid
        assert status.trusted
        assert status.bottom_line
    text = "\n".join(page.extract_text() for page in PdfReader(pdf).pages)
    assert "Alex Auditor" in text  # the signer's name in the attestation block
    assert "digitally signed (PAdES" in text


def test_verify_accepts_the_signed_file(signed):
    _, pdf, cert, _ = signed
    proc = ndaa("report", str(pdf), "--verify", "--trust", str(cert))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith(f"OK {pdf}: signature intact and valid")
    assert "sha256:" in proc.stdout


def test_verify_without_trust_fails_as_untrusted(signed):
    _, pdf, _, _ = signed
    proc = ndaa("report", str(pdf), "--verify")
    assert proc.returncode == 1
    assert "does not chain to a trusted certificate" in proc.stdout


def test_verify_rejects_another_signers_trust(signed):
    tmp, pdf, _, _ = signed
    other, _ = _cert(tmp, "Mallory")
    proc = ndaa("report", str(pdf), "--verify", "--trust", str(other))
    assert proc.returncode == 1


def test_tampered_bytes_fail_verify(signed):
    tmp, pdf, cert, _ = signed
    data = bytearray(pdf.read_bytes())
    # Change one byte of the signed content (the report title), keeping the file's length.
    at = data.index(b"/Producer")
    data[at + 1] = ord("Q")
    bad = tmp / "tampered.pdf"
    bad.write_bytes(bytes(data))
    proc = ndaa("report", str(bad), "--verify", "--trust", str(cert))
    assert proc.returncode == 1
    assert "not intact" in proc.stdout


def test_appended_revision_fails_verify(signed):
    tmp, pdf, cert, _ = signed
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    with pdf.open("rb") as handle:
        writer = IncrementalPdfFileWriter(handle)
        info = writer.trailer["/Info"].get_object() if "/Info" in writer.trailer else None
        writer.root["/NdaaTamper"] = generic.TextStringObject("changed after signing")
        writer.update_root()
        out = tmp / "appended.pdf"
        with out.open("wb") as sink:
            writer.write(sink)
    del info
    proc = ndaa("report", str(out), "--verify", "--trust", str(cert))
    assert proc.returncode == 1
    assert "FAILED" in proc.stdout


def test_bad_key_password_is_one_line_without_the_secret(signed):
    tmp, _, cert, key = signed
    proc = ndaa(
        "report",
        str(CITYHALL_INVENTORY),
        "-f",
        "pdf",
        "-o",
        str(tmp / "x.pdf"),
        "--sign-cert",
        str(cert),
        "--sign-key",
        str(key),
        "--sign-key-password-env",
        "SIGN_PW",
        env={"SIGN_PW": "wrong-password-123"},
    )
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1
    assert "wrong-password-123" not in proc.stderr


def test_unsigned_pdf_fails_verify(tmp_path):
    pdf = tmp_path / "plain.pdf"
    assert ndaa("report", str(CITYHALL_INVENTORY), "-f", "pdf", "-o", str(pdf)).returncode == 0
    proc = ndaa("report", str(pdf), "--verify")
    assert proc.returncode == 1
    assert "no signature" in proc.stdout
