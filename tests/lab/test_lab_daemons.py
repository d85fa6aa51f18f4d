"""Real Debian daemons in lab hosts: configured as data, listening, and gone after `lab down`."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from scanner import lab
from scanner.errors import LabError
from scanner.lab.daemons import DAEMONS, namespace_pids
from scanner.lab.profile import load_profile
from scanner.lab.topology import lab_namespaces
from tests.lab.helpers import ROOT, in_scan_ns, lab_name, tcp, unb64

BOOTSTRAP = ROOT / "scripts" / "bootstrap.sh"
PROFILE = """schema_version = 1
name = "x"
network = "198.18.0.0/24"
scanner_address = "198.18.0.1"

[[hosts]]
name = "one"
address = "198.18.0.100"
mac = "52:54:00:00:00:64"
truth = { covered = false }
daemons = [DAEMONS]
"""


def _profile(tmp_path: Path, daemons: str, extra: str = "") -> Path:
    path = tmp_path / "daemons.toml"
    path.write_text(PROFILE.replace("DAEMONS", daemons) + extra)
    return path


def test_every_daemon_package_is_in_the_bootstrap():
    text = BOOTSTRAP.read_text()
    listed = re.search(r"APT_PACKAGES=\(([^)]*)\)", text, re.DOTALL)
    assert listed is not None
    packages = set(listed.group(1).split())
    assert {d.package for d in DAEMONS.values()} <= packages
    assert "inetutils-inetd" in packages  # telnetd runs under it


def test_daemon_and_responder_on_one_port_is_refused(tmp_path):
    path = _profile(
        tmp_path, '"nginx"', '\n[[hosts.http]]\nroutes = [{ path = "*", status_line = "x" }]\n'
    )
    with pytest.raises(LabError, match="daemons and responders both use tcp/80"):
        load_profile(path)


@pytest.mark.parametrize("daemons", ['"apache"', '"sshd", "sshd"'])
def test_unknown_or_repeated_daemon_is_refused(tmp_path, daemons):
    with pytest.raises(LabError, match="daemons"):
        load_profile(_profile(tmp_path, daemons))


@pytest.mark.lab
def test_daemons_listen_in_their_host_and_down_removes_them(tmp_path):
    name = lab_name("dmn")
    path = _profile(tmp_path, '"sshd", "ftpd", "nginx", "telnetd"')
    lab.down(name)
    try:
        lab.up(path, name)
        hosts = [ns for ns in lab_namespaces(name) if ns.endswith("-h0")]
        pids = namespace_pids(hosts)
        assert len(pids) >= 4
        ssh, ftp = in_scan_ns(
            name, [tcp("198.18.0.100", 22, idle=0.5), tcp("198.18.0.100", 21, idle=0.5)]
        )
        assert unb64(ssh["data"]).startswith(b"SSH-2.0-OpenSSH_")
        assert unb64(ftp["data"]).startswith(b"220 (vsFTPd ")
        # Nothing of the daemons listens in the root namespace.
        root_listeners = subprocess.run(
            ["ss", "-Hltn"], capture_output=True, text=True, timeout=10, check=True
        ).stdout
        assert "198.18.0.100" not in root_listeners
    finally:
        lab.down(name)
    assert lab_namespaces(name) == []
    assert not [pid for pid in pids if Path(f"/proc/{pid}").exists() and not _zombie(pid)]
    assert not Path(f"/run/ndaa-scan/labs/{name}").exists()


def _zombie(pid: int) -> bool:
    try:
        return " Z " in Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True


@pytest.mark.lab
def test_down_after_kill_9_of_up_ends_the_daemons(tmp_path):
    name = lab_name("dmk")
    path = _profile(tmp_path, '"sshd", "nginx"')
    lab.down(name)
    up = subprocess.Popen(
        [sys.executable, "-m", "scanner", "lab", "up", "--profile", str(path), "--name", name],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    pids: list[int] = []
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(pids) < 2:
            pids = namespace_pids([ns for ns in lab_namespaces(name) if ns.endswith("-h0")])
            time.sleep(0.05)
        assert len(pids) >= 2, "the daemons never started"
        os.kill(up.pid, signal.SIGKILL)
        up.wait(timeout=10)
    finally:
        if up.poll() is None:
            up.kill()
            up.wait(timeout=10)
        removed = lab.down(name)
    assert name in removed
    assert lab_namespaces(name) == []
    assert not [pid for pid in pids if Path(f"/proc/{pid}").exists() and not _zombie(pid)]
