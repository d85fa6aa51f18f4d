import asyncio
import contextlib
import shutil
import ssl
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scanner.errors import ProbeParseError
from scanner.probes.base import run_host_probe
from scanner.probes.tls_certificate import PROBE, parse_certificate

from .loopback import fresh_address, http_response, loopback_ctx, tcp_server

DER = (
    Path(__file__).parents[2] / "data" / "captures" / "tls_certificate" / "hikvision-default.der"
).read_bytes()
HIK_SUBJECT = "CN=www.hikvision.com,OU=DVRNVR,O=HIKVISION,L=HangZhou,ST=ZheJiang,C=CN"


def test_hikvision_default_subject_in_rfc4514_order():
    names = parse_certificate(DER)
    assert names.subject == HIK_SUBJECT  # the recog x509_subjects.xml spelling
    assert names.issuer == HIK_SUBJECT  # self-signed


@pytest.mark.parametrize(
    "data",
    [b"", b"\x30", b"\x30\x84\xff\xff\xff\xff", b"\x31\x00", DER[:100], b"\x30\x03\x30\x01\x00"],
)
def test_broken_der(data):
    with pytest.raises(ProbeParseError):
        parse_certificate(data)


@given(st.binary(max_size=1500))
@settings(max_examples=300, deadline=None)
def test_fuzz_parse_certificate(data):
    with contextlib.suppress(ProbeParseError):
        parse_certificate(data)


@given(st.integers(min_value=0, max_value=len(DER) - 1), st.integers(min_value=0, max_value=255))
@settings(max_examples=300, deadline=None)
def test_fuzz_parse_certificate_one_byte_flipped(pos, value):
    data = bytearray(DER)
    data[pos] = value
    with contextlib.suppress(ProbeParseError):
        parse_certificate(bytes(data))


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory):
    if shutil.which("openssl") is None:
        pytest.skip("openssl CLI not installed")
    work = tmp_path_factory.mktemp("tls")
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-keyout",
            str(work / "k.pem"),
            "-out",
            str(work / "c.pem"),
            "-subj",
            "/C=CN/ST=ZheJiang/L=HangZhou/O=HIKVISION/OU=DVRNVR/CN=www.hikvision.com",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(work / "c.pem", work / "k.pem")
    return context


@pytest.mark.loopback
async def test_reads_the_self_signed_certificate_and_the_banner(self_signed):
    host = fresh_address()

    async def handler(reader, writer):
        await reader.readuntil(b"\r\n\r\n")
        writer.write(http_response("200 OK", [("Server", "App-webs/")], b"<title>login</title>"))
        await writer.drain()
        writer.close()

    async with tcp_server(host, 443, handler, ssl=self_signed):
        result = await run_host_probe(PROBE, host, loopback_ctx())
    assert result.status == "success", result.error
    seen = {(o.protocol, o.field): o.value for o in result.observations}
    assert seen[("tls", "cert_subject")] == HIK_SUBJECT
    assert seen[("https", "server_header")] == "App-webs/"
    assert seen[("https", "title")] == "login"


@pytest.mark.loopback
async def test_plain_tcp_on_443_is_not_a_crash():
    host = fresh_address()

    async def handler(reader, writer):
        await reader.read(10)
        writer.write(b"SSH-2.0-dropbear\r\n")
        await writer.drain()
        await asyncio.sleep(5)

    async with tcp_server(host, 443, handler):
        result = await run_host_probe(PROBE, host, loopback_ctx())
    assert result.status in {"protocol_error", "timeout", "closed", "refused"}
