import contextlib
from ipaddress import IPv4Address
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scanner.errors import ProbeParseError
from scanner.probes.http_banner import extract_title, observations_from, parse_reply

CAPTURES = Path(__file__).parents[2] / "data" / "captures" / "http_banner"
HOST = IPv4Address("198.18.0.10")


def fields(data: bytes) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for obs in observations_from(parse_reply(data), HOST, 80, "http"):
        out.setdefault(obs.field, []).append(obs.value)
    return out


def test_hikvision_app_webs_capture():
    seen = fields((CAPTURES / "lab-hikvision-app-webs.bin").read_bytes())
    assert seen["status_line"] == ["HTTP/1.0 200 OK"]
    assert seen["server_header"] == ["App-webs/"]
    assert seen["header_names"] == ["Date,Server,Connection,Content-Length,Content-Type"]
    assert "www_authenticate" not in seen


def test_axis_401_capture():
    seen = fields((CAPTURES / "lab-axis-401.bin").read_bytes())
    assert seen["status_line"] == ["HTTP/1.1 401 Unauthorized"]
    assert seen["www_authenticate"][0].startswith('Digest realm="AXIS_ACCC8E3A0A8F"')
    assert seen["title"] == ["401 Unauthorized"]


def test_dahua_upper_case_header_names_are_kept():
    # Reconstructed from nmap-service-probes 7.93 lines 10443-10447 (Dahua webcam httpd).
    data = (
        b"HTTP/1.1 200 OK\r\nCONNECTION: close\r\nCONTENT-LENGTH: 58\r\n"
        b"CACHE-CONTROL: max-age=0\r\nCONTENT-TYPE: text/html\r\n\r\n"
        b"\xef\xbb\xbf<!DOCTYPE html><title>WEB SERVICE</title></html>"
    )
    seen = fields(data)
    assert seen["header_names"] == ["CONNECTION,CONTENT-LENGTH,CACHE-CONTROL,CONTENT-TYPE"]
    assert seen["title"] == ["WEB SERVICE"]


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"SSH-2.0-dropbear\r\n",
        b"\x00\x00\x00\x10\x00\x00\x00\x1e",
        b"RTSP/1.0 200 OK\r\n\r\n",
        b"HTTP/1.1 2000 OK\r\n\r\n",
        b"X" * 20000,
    ],
)
def test_non_http_is_a_parse_error(data):
    with pytest.raises(ProbeParseError):
        parse_reply(data)


def test_header_flood_is_capped():
    data = b"HTTP/1.0 200 OK\r\n" + b"".join(b"X-%d: y\r\n" % i for i in range(1000)) + b"\r\n"
    assert len(parse_reply(data).headers) == 64


def test_invalid_utf8_survives_as_text():
    reply = parse_reply(b"HTTP/1.0 200 OK\r\nServer: \xff\xfe\xc3(\r\n\r\n")
    assert reply.header("server") == ["\xff\xfe\xc3("]


def test_title_is_whitespace_folded_and_unescaped():
    assert extract_title(b"<html><title>\n  Network &amp; Camera\n</title>") == "Network & Camera"
    assert extract_title(b"<html><body>no title</body>") is None


@settings(max_examples=300, deadline=500)
@given(st.binary(max_size=4096))
def test_parser_never_raises_anything_but_parse_error(data):
    try:
        reply = parse_reply(b"HTTP/1.1 200 OK\r\n" + data)
    except ProbeParseError:
        return
    observations_from(reply, HOST, 80, "http")


@settings(max_examples=300, deadline=500)
@given(st.binary(max_size=4096))
def test_arbitrary_bytes(data):
    with contextlib.suppress(ProbeParseError):
        parse_reply(data)


def test_every_web_port_plus_the_announced_ones():
    from scanner.probes.http_banner import PROBE, WEB_PORTS
    from scanner.probes.tls_certificate import PROBE as TLS
    from scanner.probes.tls_certificate import TLS_PORTS
    from scanner.results import Observation

    def lead(key, value):
        protocol, field = key.split(".")
        return Observation(host=HOST, protocol=protocol, field=field, value=value)

    leads = [
        lead("sadp.http_port", "8080"),
        lead("dhip.http_port", "8181"),
        lead("dhip.http_port", "junk"),
        lead("dhip.https_port", "9443"),
    ]
    assert [e.port for e in PROBE.endpoints(HOST, leads)] == [*WEB_PORTS, 8181]
    assert [e.port for e in TLS.endpoints(HOST, leads)] == [*TLS_PORTS, 9443]
    assert all(e.tls for e in TLS.endpoints(HOST, leads))


@pytest.mark.loopback
async def test_a_port_that_speaks_another_protocol_is_not_found_at_once():
    import time

    from scanner.probes.base import Endpoint, run_host_probe
    from scanner.probes.http_banner import PROBE

    from .loopback import fresh_address, loopback_ctx, tcp_server

    host = fresh_address()

    async def sdk_frame(reader, writer):
        writer.write(bytes.fromhex("000000100000001e0000001e00000000"))  # Hikvision port 8000
        await writer.drain()
        await reader.read(1024)

    started = time.monotonic()
    async with tcp_server(host, 8000, sdk_frame):
        result = await run_host_probe(PROBE, host, loopback_ctx(), Endpoint(host=host, port=8000))
    assert result.status == "not_found"
    assert result.target == f"{host}:8000"
    assert time.monotonic() - started < 0.5  # no idle timeout waited out
