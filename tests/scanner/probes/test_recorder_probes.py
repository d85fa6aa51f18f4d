"""ISAPI and Dahua CGI identity and channel probes, with logins, against real bytes.

The login side is tested against lighttpd's mod_auth (Debian's lighttpd, a third-party RFC 7616
digest implementation), started once per module on a loopback address: our digest (httpx's
DigestAuth driven over the ProbeContext) must satisfy a server we did not write.
"""

import asyncio
import hashlib
import shutil
import subprocess
import time
from ipaddress import IPv4Address
from pathlib import Path

import pytest

from scanner.context import ProbeSettings
from scanner.credentials import CredentialStore, parse_credentials
from scanner.errors import ProbeParseError
from scanner.limits import Limits
from scanner.probes.base import run_host_probe
from scanner.probes.dahua_cgi import PROBE as DAHUA
from scanner.probes.dahua_cgi import parse_key_values, parse_remote_devices
from scanner.probes.http_auth import Access, authenticated_get
from scanner.probes.isapi import PROBE as ISAPI
from scanner.probes.isapi import parse_channel_status, parse_channels, parse_device_info

from .loopback import fresh_address, http_response, loopback_ctx, tcp_server

DATA = Path(__file__).parents[2] / "data" / "captures" / "recorder"
DEVICE_INFO = (DATA / "isapi-device-info-nvr.xml").read_bytes()
CHANNELS = (DATA / "isapi-input-proxy-channels.xml").read_bytes()
STATUS = (DATA / "isapi-input-proxy-status.xml").read_bytes()
REMOTE = (DATA / "dahua-remote-device.txt").read_bytes()
SYSTEM_INFO = (DATA / "dahua-system-info.txt").read_bytes()
USER, PASSWORD, REALM = "auditor", "pw-Lighttpd-9f3", "DVRNVRDVS"


def creds(host: IPv4Address, password: str = PASSWORD, scheme: str = "digest") -> ProbeSettings:
    text = (
        f'[[http]]\nmatch = "{host}"\nusername = "{USER}"\npassword = "{password}"\n'
        f'scheme = "{scheme}"\n'
    )
    return ProbeSettings(credentials=CredentialStore(entries=parse_credentials(text)))


# ------------------------------------------------------------------------------ parsers


def test_device_info_fields():
    fields = parse_device_info(DEVICE_INFO)
    assert fields == {
        "model": "DS-7616NXI-I2/16P",
        "serial": "DS-7616NXI-I2/16P1620220118CCRRJ40012345WCVU",
        "mac": "c0:56:e3:a1:00:42",
        "device_type": "NVR",
        "device_name": "Network Video Recorder",
        "firmware": "V4.51.105 build 220418",
        "namespace": "http://www.hikvision.com/ver20/XMLSchema",
    }


def test_channels_and_status():
    cameras = parse_channels(CHANNELS)
    assert [c.channel for c in cameras] == [1, 2]  # the channel with id "x" is skipped
    first = cameras[0]
    assert (first.address, first.isapi_protocol, first.model) == (
        "192.168.254.2",
        "HIKVISION",
        "DS-2CD2386G2-IU",
    )
    assert first.firmware == "V5.7.13 build 230530"
    assert cameras[1].model is None
    assert cameras[1].isapi_protocol == "ONVIF"
    assert parse_channel_status(STATUS) == {1: "true", 2: "false"}


def test_remote_device_table_both_key_spellings_and_placeholders():
    cameras = parse_remote_devices(REMOTE)
    assert [c.channel for c in cameras] == [1, 2, 4]  # slot 2 disabled; slot = channel - 1
    assert cameras[0].model == "IPC-HDW2431T-AS-S2"
    assert cameras[0].serial == "7J0A3B2PAZ5C1D9"
    assert cameras[0].dahua_protocol == "Private"
    assert cameras[1].model is None  # "IP Camera" names a class, not a model
    assert cameras[2].model == "DH-SD49425XB-HNR"


def test_key_values_and_hostile_bodies():
    assert parse_key_values(SYSTEM_INFO)["deviceType"] == "DHI-NVR5216-16P-4KS2E"
    with pytest.raises(ProbeParseError):
        parse_key_values(b"<html><body>404</body></html>")
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;">]><InputProxyChannelList>&b;</InputProxyChannelList>'
    )
    for parse in (parse_channels, parse_device_info, parse_channel_status):
        with pytest.raises(ProbeParseError):
            parse(bomb)
    with pytest.raises(ProbeParseError):
        parse_device_info(b"<html><title>login</title></html>")


# ------------------------------------------------------------------------------ lighttpd


def _lighttpd_config(root: Path, host: IPv4Address) -> Path:
    docs = root / "docs"
    docs.mkdir()
    (docs / "deviceInfo.xml").write_bytes(DEVICE_INFO)
    (docs / "channels.xml").write_bytes(CHANNELS)
    (docs / "status.xml").write_bytes(STATUS)
    (docs / "sysinfo.txt").write_bytes(SYSTEM_INFO)
    (docs / "remote.txt").write_bytes(REMOTE)
    (docs / "vendor.txt").write_bytes(b"vendor=Dahua\r\n")
    ha1 = hashlib.md5(f"{USER}:{REALM}:{PASSWORD}".encode()).hexdigest()  # noqa: S324 - RFC 7616
    (root / "htdigest").write_text(f"{USER}:{REALM}:{ha1}\n")
    config = root / "lighttpd.conf"
    config.write_text(
        f"""
server.modules = ("mod_rewrite", "mod_auth", "mod_authn_file")
server.document-root = "{docs}"
server.bind = "{host}"
server.port = 80
server.errorlog = "{root}/error.log"
mimetype.assign = (".xml" => "application/xml", ".txt" => "text/plain")
url.rewrite-once = (
  "^/ISAPI/System/deviceInfo$" => "/deviceInfo.xml",
  "^/ISAPI/ContentMgmt/InputProxy/channels$" => "/channels.xml",
  "^/ISAPI/ContentMgmt/InputProxy/channels/status$" => "/status.xml",
  "^/cgi-bin/magicBox\\.cgi\\?action=getSystemInfo$" => "/sysinfo.txt",
  "^/cgi-bin/magicBox\\.cgi\\?action=getVendor$" => "/vendor.txt",
  "^/cgi-bin/configManager\\.cgi\\?action=getConfig&name=RemoteDevice$" => "/remote.txt",
)
auth.backend = "htdigest"
auth.backend.htdigest.userfile = "{root}/htdigest"
auth.require = ("" => ("method" => "digest", "realm" => "{REALM}", "require" => "valid-user"))
"""
    )
    return config


@pytest.fixture(scope="module")
def lighttpd(tmp_path_factory):
    binary = shutil.which("lighttpd") or "/usr/sbin/lighttpd"
    if not Path(binary).exists():
        pytest.fail("lighttpd is missing: scripts/bootstrap.sh installs it (APT_PACKAGES)")
    host = fresh_address()
    config = _lighttpd_config(tmp_path_factory.mktemp("lighttpd"), host)
    log = config.with_name("stderr.log")
    with log.open("wb") as stderr:
        proc = subprocess.Popen([binary, "-D", "-f", str(config)], stderr=stderr)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            probe = subprocess.run(
                ["ss", "-ltnH", f"src {host}:80"], capture_output=True, text=True, check=False
            )
            if probe.stdout.strip():
                break
            if proc.poll() is not None:
                pytest.fail(f"lighttpd did not start: {log.read_text()[:500]}")
            time.sleep(0.1)
        yield host
    finally:
        proc.terminate()
        proc.wait(timeout=10)


async def test_digest_against_lighttpd(lighttpd):
    ctx = loopback_ctx()
    path = "/ISAPI/System/deviceInfo"
    missing = await authenticated_get(ctx, lighttpd, 80, path, ())
    assert (missing.access, missing.reply.status) == (Access.MISSING, 401)
    login = creds(lighttpd).credentials.http_logins(lighttpd)
    accepted = await authenticated_get(ctx, lighttpd, 80, path, login)
    assert accepted.access is Access.ACCEPTED
    assert accepted.reply.status == 200
    assert accepted.body == DEVICE_INFO
    wrong = creds(lighttpd, "not-the-password").credentials.http_logins(lighttpd)
    # lighttpd, like recorder firmware, holds back its answer to a wrong login for a while.
    patient = loopback_ctx(Limits(connect_timeout_s=1, read_timeout_s=5, exchange_timeout_s=8))
    refused = await authenticated_get(patient, lighttpd, 80, path, wrong)
    assert refused.access is Access.REJECTED
    # A basic-only entry is never sent to a server that offers digest only.
    basic = creds(lighttpd, scheme="basic").credentials.http_logins(lighttpd)
    assert (await authenticated_get(ctx, lighttpd, 80, path, basic)).access is Access.UNSUPPORTED


async def test_isapi_probe_lists_the_channels_with_a_login(lighttpd):
    result = await run_host_probe(ISAPI, lighttpd, loopback_ctx(settings=creds(lighttpd)))
    assert result.status == "success", result.error
    facts = {(o.key, o.channel): o for o in result.observations}
    assert facts[("isapi.model", None)].value == "DS-7616NXI-I2/16P"
    assert facts[("isapi.model", None)].authenticated
    camera = facts[("channel.model", 1)]
    assert (camera.value, camera.behind, camera.authenticated) == (
        "DS-2CD2386G2-IU",
        str(lighttpd),
        True,
    )
    assert facts[("channel.online", 1)].value == "true"
    assert facts[("channel.isapi_protocol", 2)].value == "ONVIF"
    assert ("auth.accepted", None) in facts
    assert PASSWORD not in result.model_dump_json()


async def test_isapi_probe_without_a_login_records_that_it_was_asked(lighttpd):
    result = await run_host_probe(ISAPI, lighttpd, loopback_ctx())
    keys = {o.key for o in result.observations}
    assert keys == {"auth.required"}
    assert not any(o.channel for o in result.observations)


async def test_dahua_cgi_probe_with_a_login(lighttpd):
    result = await run_host_probe(DAHUA, lighttpd, loopback_ctx(settings=creds(lighttpd)))
    facts = {(o.key, o.channel): o.value for o in result.observations}
    assert facts[("dahua_cgi.device_type", None)] == "DHI-NVR5216-16P-4KS2E"
    assert facts[("dahua_cgi.serial", None)] == "5F0A1B2PAZ3C4D5"
    assert facts[("dahua_cgi.vendor", None)] == "Dahua"
    assert facts[("channel.model", 1)] == "IPC-HDW2431T-AS-S2"
    assert facts[("channel.mac", 1)] == "e0:50:8b:12:34:56"
    assert ("channel.mac", 2) not in facts  # ff:ff:ff:ff:ff:ff is a placeholder
    assert facts[("channel.dahua_protocol", 4)] == "Private"
    assert all(o.authenticated for o in result.observations if o.protocol != "auth")


# ------------------------------------------------------------------------------ loopback devices


async def test_dahua_that_answers_without_a_login_is_read_unauthenticated():
    host = fresh_address()
    bodies = {
        b"getSystemInfo": SYSTEM_INFO,
        b"getVendor": b"vendor=Lorex\r\n",
        b"getDeviceType": b"type=DHI-NVR5216-16P-4KS2E\r\n",
        b"name=RemoteDevice": REMOTE,
    }

    async def handler(reader, writer):
        request = await reader.read(4096)
        line = request.split(b"\r\n", 1)[0]
        body = next((b for key, b in bodies.items() if key in line), None)
        if body is None:
            writer.write(http_response("404 Not Found", [("Connection", "close")]))
        else:
            writer.write(http_response("200 OK", [("Connection", "close")], body))
        await writer.drain()

    async with tcp_server(host, 80, handler):
        result = await run_host_probe(DAHUA, host, loopback_ctx())
    facts = {(o.key, o.channel): o for o in result.observations}
    assert facts[("dahua_cgi.vendor", None)].value == "Lorex"
    assert not facts[("dahua_cgi.vendor", None)].authenticated
    assert facts[("channel.serial", 1)].value == "7J0A3B2PAZ5C1D9"


async def test_servers_without_these_apis_cost_a_protocol_error_not_a_crash():
    host = fresh_address()

    async def handler(reader, writer):
        await reader.read(4096)
        writer.write(http_response("200 OK", [("Connection", "close")], b"<html>login</html>"))
        await writer.drain()

    async with tcp_server(host, 80, handler):
        isapi = await run_host_probe(ISAPI, host, loopback_ctx())
        dahua = await run_host_probe(DAHUA, host, loopback_ctx())
    assert isapi.status == "protocol_error"
    assert not isapi.observations
    assert dahua.status == "protocol_error"
    assert not dahua.observations


async def test_a_device_that_never_answers_times_out_within_the_limits():
    host = fresh_address()

    async def handler(reader, writer):
        await asyncio.sleep(30)

    async with tcp_server(host, 80, handler):
        started = time.monotonic()
        result = await run_host_probe(ISAPI, host, loopback_ctx(settings=creds(host)))
    assert time.monotonic() - started < 10
    assert result.status in {"timeout", "protocol_error"}
