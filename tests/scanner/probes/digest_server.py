"""A third-party HTTP digest server for the credentialed-probe tests: Debian's lighttpd
(mod_auth, RFC 7616), started on a loopback address with the recorder documents of
tests/data/captures/recorder behind one digest login."""

import hashlib
import shutil
import subprocess
import time
from ipaddress import IPv4Address
from pathlib import Path

import pytest

from scanner.context import ProbeSettings
from scanner.credentials import CredentialStore, parse_credentials

from .loopback import fresh_address

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
    """The lighttpd server's loopback address (one server per test module)."""
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
