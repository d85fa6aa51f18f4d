"""The simulated device lab: real namespaces, real responders, devices described as data.

``up`` builds the topology and starts the responder process; ``down`` removes everything a lab
made, also after ``up`` crashed or was killed (names carry the ``ndl-<lab>-`` prefix, the
responder is found by its command line, and removal continues past anything already gone);
``status`` lists what exists.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Final

from pydantic import BaseModel, ConfigDict

from scanner.errors import LabError
from scanner.lab.daemons import start_daemons, stop_daemons
from scanner.lab.profile import LabHost, LabProfile, load_profile
from scanner.lab.snmp_tables import switch_rows, write_tables
from scanner.lab.topology import (
    PREFIX,
    build,
    host_namespace,
    lab_links,
    lab_namespaces,
    remove_links,
    remove_namespaces,
    scan_namespace,
)

__all__ = ["LabStatus", "down", "load_profile", "status", "up"]

STATE_ROOT: Final = Path("/run/ndaa-scan/labs")
_LAB_NAME: Final = re.compile(r"[a-z0-9]{1,12}")
_HOST_NS: Final = re.compile(rf"{PREFIX}[a-z0-9]{{1,12}}-h[0-9]+")
_READY_TIMEOUT_S: Final = 20.0
_STOP_TIMEOUT_S: Final = 5.0


class LabStatus(BaseModel):
    """What exists of one lab."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    lab: str
    namespaces: int
    scan_namespace: str
    responder_pids: tuple[int, ...]
    profile: str | None
    hosts: int | None
    network: str | None
    scale_prefix: str | None = None
    root_link_address: str | None = None


def _state_dir(lab: str) -> Path:
    return STATE_ROOT / lab


def _responder_pids(lab: str | None = None) -> list[int]:
    """Find responder processes by command line (works without any state file)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"scanner.lab.responder" not in argv:
            continue
        if lab is None or (
            b"--lab" in argv
            and argv[argv.index(b"--lab") + 1 : argv.index(b"--lab") + 2] == [lab.encode()]
        ):
            pids.append(int(entry.name))
    return sorted(pids)


def _stop(pids: list[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            continue
    deadline = time.monotonic() + _STOP_TIMEOUT_S
    while pids and time.monotonic() < deadline:
        pids = [pid for pid in pids if Path(f"/proc/{pid}").exists() and not _zombie(pid)]
        time.sleep(0.05)
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            continue


def _zombie(pid: int) -> bool:
    try:
        return " Z " in Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True


def _start_responder(lab: str, profile_path: Path, ready: Path, log_path: Path) -> int:
    """Start the detached responder and wait until it listens; return its pid."""
    spawned = subprocess.run(
        [
            sys.executable,
            "-m",
            "scanner.lab.responder",
            "--lab",
            lab,
            "--profile",
            str(profile_path.resolve()),
            "--ready",
            str(ready),
            "--daemonize",
            str(log_path),
        ],
        capture_output=True,
        text=True,
        timeout=_READY_TIMEOUT_S,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    if spawned.returncode != 0 or not spawned.stdout.strip().isdigit():
        raise LabError(f"lab responder failed to start: {spawned.stderr.strip()[-600:]}")
    pid = int(spawned.stdout.strip())
    deadline = time.monotonic() + _READY_TIMEOUT_S
    while not ready.exists():
        if not Path(f"/proc/{pid}").exists() or _zombie(pid):
            tail = log_path.read_text(errors="replace")[-600:]
            raise LabError(f"lab responder exited before it was ready: {tail}")
        if time.monotonic() > deadline:
            raise LabError("lab responder did not become ready within 20 s")
        time.sleep(0.05)
    return pid


def switch_ports(profile: LabProfile) -> list[LabHost]:
    """The hosts a lab switch learns on its access ports: the main network's, in profile order.

    Hosts in a routed subnet or behind a router's proxy ARP sit on the far side of that router,
    so the switch sees only the router's MAC for them; the switch itself is not on a port.
    """
    return [
        h
        for h in profile.hosts
        if profile.router_of(h) is None and not (h.snmpd is not None and h.snmpd.switch)
    ]


def _write_switch_tables(profile: LabProfile, state: Path) -> None:
    by_name = {h.name: h for h in profile.hosts}
    for host in profile.hosts:
        if host.snmpd is None or not host.snmpd.switch:
            continue
        run = state / "daemons" / host.name / "snmpd"
        run.mkdir(mode=0o755, parents=True, exist_ok=True)
        neighbours = [by_name[n] for n in host.snmpd.lldp if n in by_name]
        rows = switch_rows(
            host.snmpd.sysname, switch_ports(profile), host.snmpd.uplink_macs, neighbours
        )
        write_tables(run / "tables.json", rows)


def _prime_router_arp(profile: LabProfile, lab: str) -> None:
    """Let each router with snmpd resolve its routed hosts, as traffic through it would.

    One UDP datagram (discard port) per host from the router's own namespace: the ARP exchange
    the kernel runs to send it is what fills the neighbour table snmpd then reports.
    """
    index = {h.name: i for i, h in enumerate(profile.hosts)}
    knock = (
        "import socket,sys,time\n"
        "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
        "[s.sendto(b'',(a,9)) for a in sys.argv[1:]]\n"
        "time.sleep(1.0)\n"
    )
    for host in profile.hosts:
        if host.snmpd is None or host.name not in {r.router for r in profile.routed}:
            continue
        namespace = host_namespace(lab, index[host.name])
        behind = [
            str(o.address)
            for o in profile.hosts
            if profile.subnet_of(o) is not None and profile.router_of(o) == host.name
        ]
        if behind:
            subprocess.run(
                [
                    shutil.which("ip") or "/usr/sbin/ip",
                    "netns",
                    "exec",
                    namespace,
                    sys.executable,
                    "-c",
                    knock,
                    *behind,
                ],
                capture_output=True,
                timeout=10,
                check=False,
            )


def up(profile_path: Path, lab: str | None = None, *, root_link: bool = False) -> LabStatus:
    """Build the lab described by ``profile_path`` and start its responders.

    ``root_link`` also gives the root namespace a veth into the scanner namespace (see
    :mod:`scanner.lab.topology`); off by default, so the root namespace stays untouched.
    """
    profile = load_profile(profile_path)
    name = lab or profile.name
    if not _LAB_NAME.fullmatch(name):
        raise LabError(f"lab name {name!r} must be 1-12 lower-case letters or digits")
    state = _state_dir(name)
    try:
        root_address = build(profile, name, root_link=root_link)
    except LabError:
        _stop(_responder_pids(name))
        raise
    try:
        state.mkdir(parents=True, exist_ok=True)
        ready = state / "ready"
        ready.unlink(missing_ok=True)
        log_path = state / "responder.log"
        pid = _start_responder(name, profile_path, ready, log_path)
        _write_switch_tables(profile, state)
        daemon_pids = start_daemons(
            [(host_namespace(name, i), host) for i, host in enumerate(profile.hosts)], state
        )
        _prime_router_arp(profile, name)
        (state / "state.json").write_text(
            json.dumps(
                {
                    "lab": name,
                    "pid": pid,
                    "daemon_pids": daemon_pids,
                    "profile": str(profile_path.resolve()),
                    "hosts": len(profile.hosts),
                    "network": str(profile.network),
                    "scale_prefix": str(profile.scale.prefix) if profile.scale else None,
                    "root_link_address": root_address,
                }
            ),
            encoding="utf-8",
        )
    except (LabError, OSError, subprocess.SubprocessError) as exc:
        down(name)
        if isinstance(exc, LabError):
            raise
        raise LabError(str(exc)) from exc
    return _status_of(name)


def down(lab: str | None = None) -> list[str]:
    """Remove one lab (or every lab when ``lab`` is None); return the labs removed."""
    labs = {lab} if lab else _known_labs()
    for name in sorted(labs):
        _stop(_responder_pids(name))
        # Third-party daemons live inside the lab's namespaces, so the namespaces find them
        # even when `lab up` died before writing any state.
        stop_daemons([ns for ns in lab_namespaces(name) if _HOST_NS.fullmatch(ns)])
        remove_links(lab_links(name))
        remove_namespaces(lab_namespaces(name))
        shutil.rmtree(_state_dir(name), ignore_errors=True)
    return sorted(labs)


def _known_labs() -> set[str]:
    names = {ns[len(PREFIX) :].rsplit("-", 1)[0] for ns in lab_namespaces() + lab_links()}
    names |= {argv_lab for pid in _responder_pids() if (argv_lab := _lab_of(pid)) is not None}
    if STATE_ROOT.exists():
        names |= {p.name for p in STATE_ROOT.iterdir() if p.is_dir()}
    return names


def _lab_of(pid: int) -> str | None:
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return None
    if b"--lab" in argv and argv.index(b"--lab") + 1 < len(argv):
        return argv[argv.index(b"--lab") + 1].decode(errors="replace")
    return None


def status(lab: str | None = None) -> LabStatus | list[LabStatus]:
    """Describe one lab, or every lab that exists."""
    if lab is None:
        return [_status_of(name) for name in sorted(_known_labs())]
    return _status_of(lab)


def _status_of(lab: str) -> LabStatus:
    state_file = _state_dir(lab) / "state.json"
    info: dict[str, object] = {}
    if state_file.exists():
        try:
            info = json.loads(state_file.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            info = {}
    hosts = info.get("hosts")
    return LabStatus(
        lab=lab,
        namespaces=len(lab_namespaces(lab)),
        scan_namespace=scan_namespace(lab),
        responder_pids=tuple(_responder_pids(lab)),
        profile=str(info["profile"]) if "profile" in info else None,
        hosts=hosts if isinstance(hosts, int) else None,
        network=str(info["network"]) if "network" in info else None,
        scale_prefix=str(info["scale_prefix"]) if info.get("scale_prefix") else None,
        root_link_address=(
            str(info["root_link_address"]) if info.get("root_link_address") else None
        ),
    )


def describe(profile: LabProfile) -> str:
    """One line about a profile, for the CLI."""
    return f"{profile.name}: {len(profile.hosts)} hosts on {profile.network}"
