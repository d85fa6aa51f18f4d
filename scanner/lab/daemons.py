"""Real third-party daemons from Debian inside lab hosts: negatives and interop checks.

The lab's own responders were written from the same notes as the rules, so they agree with the
probes by construction. These daemons were not: OpenSSH, GNU inetutils telnetd, vsftpd, nginx,
wsdd and MiniDLNA answer the way they answer on real networks, and a sweep must handle them
without a crash, a hang or a false "covered". net-snmp's snmpd is the lab's SNMP agent
for the router and the switch: a site community and v3 user (never ``public``), the namespace's
real ARP cache, and a switch's forwarding table served over pass_persist
(:mod:`scanner.lab.snmp_tables`). A profile host names them (``daemons = ["sshd",
"nginx"]``); ``lab up`` starts each inside that host's namespace with a configuration written
to the lab's run directory, and ``lab down`` ends every process left in the lab's namespaces,
which also covers a ``lab up`` killed with ``-9`` (no state file is needed to find them).

Nothing is written outside the run directory except ``/run/sshd``, the privilege-separation
directory OpenSSH is compiled to require (Debian's systemd unit normally creates it). No daemon
accepts a login: sshd denies every user, vsftpd's user list is empty, the telnet "login" is a
script that prints a prompt and never checks anything; snmpd answers reads only (rocommunity,
rouser), and only to the site's community or v3 user.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final, Literal, get_args

from scanner.errors import LabError

if TYPE_CHECKING:
    from scanner.lab.profile import LabHost

__all__ = [
    "DAEMONS",
    "Daemon",
    "DaemonName",
    "daemon_ports",
    "missing_binaries",
    "namespace_pids",
    "start_daemons",
    "stop_daemons",
]

DaemonName = Literal["sshd", "telnetd", "ftpd", "nginx", "wsdd", "minidlna", "snmpd"]
Proto = Literal["tcp", "udp"]
#: sshd, telnetd and vsftpd start in well under a second; MiniDLNA builds its database first.
_READY_TIMEOUT_S: Final = 15.0
_STOP_TIMEOUT_S: Final = 5.0
_SSHD_PRIVSEP: Final = Path("/run/sshd")
_LISTEN: Final[dict[Proto, str]] = {
    "tcp": "0A",
    "udp": "07",
}  # socket states in /proc/net/{tcp,udp}
#: Daemons this process started and still holds: ``stop_daemons`` reaps them (no zombies, no
#: "still running" warnings when a Popen is dropped); ones an earlier process started init reaps.
_CHILDREN: Final[dict[int, subprocess.Popen[bytes]]] = {}


@dataclass(frozen=True, slots=True)
class Daemon:
    """How to run one Debian daemon in the foreground, bound to one lab host."""

    name: DaemonName
    package: str  # the Debian package (scripts/bootstrap.sh installs it)
    binary: str
    ports: tuple[tuple[Proto, int], ...]
    configure: Callable[[Path, LabHost], list[str]]  # writes config into a dir, returns argv


def _write(path: Path, text: str, mode: int = 0o644) -> Path:
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path


def _sshd(run: Path, host: LabHost) -> list[str]:
    _SSHD_PRIVSEP.mkdir(mode=0o755, exist_ok=True)
    key = run / "ssh_host_ed25519_key"
    if not key.exists():
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", host.name, "-f", str(key)],
            check=True,
            capture_output=True,
            timeout=30,
        )
    config = _write(
        run / "sshd_config",
        f"ListenAddress {host.address}:22\n"
        f"HostKey {key}\n"
        f"PidFile {run / 'sshd.pid'}\n"
        # Nobody can log in: every user denied, no password, no keyboard-interactive, no keys.
        "DenyUsers *\nPermitRootLogin no\nPasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\nPubkeyAuthentication no\nAuthorizedKeysFile none\n"
        "UsePAM no\nMaxStartups 200:30:400\nLogLevel ERROR\n",
        0o600,
    )
    return ["/usr/sbin/sshd", "-D", "-e", "-f", str(config)]


def _telnetd(run: Path, host: LabHost) -> list[str]:
    # telnetd shows its host banner, then runs this instead of /bin/login: a prompt, nothing more.
    login = _write(
        run / "lab-login",
        "#!/bin/sh\nprintf 'login: '\nexec /usr/bin/timeout 20 /usr/bin/head -n 1 >/dev/null\n",
        0o755,
    )
    config = _write(
        run / "inetd.conf",
        f"{host.address}:telnet stream tcp nowait root /usr/sbin/telnetd telnetd -E {login}\n",
    )
    return ["/usr/sbin/inetutils-inetd", "-d", "--pidfile", str(run / "inetd.pid"), str(config)]


def _ftpd(run: Path, host: LabHost) -> list[str]:
    empty = run / "empty"
    empty.mkdir(mode=0o755, exist_ok=True)
    users = _write(run / "user_list", "")
    config = _write(
        run / "vsftpd.conf",
        "listen=YES\nlisten_ipv6=NO\nbackground=NO\n"
        f"listen_address={host.address}\nlisten_port=21\n"
        # Local users only, and only those in an empty allow-list: everyone is refused at USER.
        "anonymous_enable=NO\nlocal_enable=YES\nwrite_enable=NO\n"
        f"userlist_enable=YES\nuserlist_deny=NO\nuserlist_file={users}\n"
        f"secure_chroot_dir={empty}\nnopriv_user=nobody\n"
        f"xferlog_enable=NO\nvsftpd_log_file={run / 'vsftpd.log'}\n"
        "pasv_enable=NO\nport_enable=NO\nseccomp_sandbox=NO\nisolate_network=NO\n",
        0o600,
    )
    return ["/usr/sbin/vsftpd", str(config)]


def _nginx(run: Path, host: LabHost) -> list[str]:
    www = run / "www"
    temp = run / "temp"
    for directory in (www, temp):
        directory.mkdir(mode=0o755, exist_ok=True)
    _write(
        www / "index.html",
        f"<!DOCTYPE html><html><head><title>{host.name}</title></head>"
        "<body><p>lab web server</p></body></html>\n",
    )
    temp_paths = "".join(
        f"    {kind}_temp_path {temp / kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    config = _write(
        run / "nginx.conf",
        "daemon off;\nworker_processes 1;\nuser nobody nogroup;\n"
        f"pid {run / 'nginx.pid'};\nerror_log {run / 'error.log'} warn;\n"
        "events { worker_connections 128; }\n"
        "http {\n    access_log off;\n    default_type text/html;\n"
        + temp_paths
        + f"    server {{\n        listen {host.address}:80;\n        root {www};\n"
        # SSI processing drops Content-Length, so every page is sent chunked (HTTP/1.1).
        "        ssi on;\n        location / { index index.html; }\n    }\n}\n",
    )
    return ["/usr/sbin/nginx", "-e", str(run / "error.log"), "-p", str(run), "-c", str(config)]


def _wsdd(run: Path, host: LabHost) -> list[str]:
    # Debian's interpreter, which the package depends on, not whichever python3 is first on PATH.
    return ["/usr/bin/python3", "/usr/sbin/wsdd", "-4", "-i", "eth0", "-n", host.name, "-s"]


def _minidlna(run: Path, host: LabHost) -> list[str]:
    for sub in ("media", "db"):
        (run / sub).mkdir(mode=0o755, exist_ok=True)
    config = _write(
        run / "minidlna.conf",
        "network_interface=eth0\nport=8200\n"
        f"media_dir={run / 'media'}\ndb_dir={run / 'db'}\nlog_dir={run}\n"
        f"friendly_name={host.name}\ninotify=no\nnotify_interval=900\n",
    )
    return ["/usr/sbin/minidlnad", "-S", "-f", str(config), "-P", str(run / "minidlna.pid")]


def _snmpd(run: Path, host: LabHost) -> list[str]:
    settings = host.snmpd
    if settings is None:
        raise OSError("snmpd needs [hosts.snmpd] settings")
    lines = [
        f"agentaddress udp:{host.address}:161",
        # The site's read-only community, from any source: never the default "public".
        f"rocommunity {settings.community} default",
        f"sysName {settings.sysname}",
        f"sysDescr {settings.sysdescr}",
        f"sysObjectID .{settings.sysobjectid}",
        "sysServices 6",
    ]
    if settings.v3_user and settings.v3_auth_key and settings.v3_priv_key:
        auth, priv = settings.v3_auth_key, settings.v3_priv_key
        lines.append(f'createUser {settings.v3_user} SHA "{auth}" AES "{priv}"')
        lines.append(f"rouser {settings.v3_user} priv")
    tables = run / "tables.json"
    if tables.exists():
        from scanner.lab import snmp_tables

        # Run as a plain file with -I (no site, no package import): snmpd waits only briefly
        # for the script's first PONG, and importing the scanner package would take longer.
        script = Path(snmp_tables.__file__)
        for root in snmp_tables.ROOTS:
            dotted = ".".join(map(str, root))
            lines.append(f"pass_persist .{dotted} {sys.executable} -I {script} {tables} {dotted}")
    config = _write(run / "snmpd.conf", "\n".join(lines) + "\n", 0o600)
    # -C: only this file; -I -…: the host-resources and interface scans a namespace has no use
    # for; ifXTable is left to the switch tables script when there is one.
    skip = "hrSystem,hrStorage,hrDevice,hrSWRun,hrSWInstalled"
    if tables.exists():
        skip += ",ifXTable"
    # snmpd keeps engine boots and localised v3 keys in its persistent directory: the run dir,
    # not /var/lib/snmp (net-snmp reads SNMP_PERSISTENT_DIR, snmp_config(5)).
    return [
        "/usr/bin/env",
        f"SNMP_PERSISTENT_DIR={run / 'persist'}",
        "/usr/sbin/snmpd",
        "-f",
        "-Lo",
        "-C",
        "-c",
        str(config),
        "-I",
        f"-{skip}",
        "-p",
        str(run / "snmpd.pid"),
    ]


DAEMONS: Final[dict[str, Daemon]] = {
    d.name: d
    for d in (
        Daemon("sshd", "openssh-server", "/usr/sbin/sshd", (("tcp", 22),), _sshd),
        Daemon("telnetd", "inetutils-telnetd", "/usr/sbin/telnetd", (("tcp", 23),), _telnetd),
        Daemon("ftpd", "vsftpd", "/usr/sbin/vsftpd", (("tcp", 21),), _ftpd),
        Daemon("nginx", "nginx", "/usr/sbin/nginx", (("tcp", 80),), _nginx),
        Daemon("wsdd", "wsdd", "/usr/sbin/wsdd", (("udp", 3702), ("tcp", 5357)), _wsdd),
        Daemon(
            "minidlna", "minidlna", "/usr/sbin/minidlnad", (("tcp", 8200), ("udp", 1900)), _minidlna
        ),
        Daemon("snmpd", "snmpd", "/usr/sbin/snmpd", (("udp", 161),), _snmpd),
    )
}
assert set(DAEMONS) == set(get_args(DaemonName))  # noqa: S101 - one list, checked at import


def daemon_ports(names: Sequence[str]) -> list[tuple[str, int]]:
    """The (protocol, port) pairs the named daemons listen on."""
    return [port for name in names for port in DAEMONS[name].ports]


def missing_binaries(names: Sequence[str]) -> list[str]:
    """Debian packages whose daemon binary is not installed, for a clear error."""
    return sorted({DAEMONS[n].package for n in names if not Path(DAEMONS[n].binary).exists()})


def _listening(pid: int, wanted: set[tuple[Proto, int]]) -> set[tuple[Proto, int]]:
    """Which of ``wanted`` the namespace of ``pid`` listens on (read from its /proc/net)."""
    found: set[tuple[Proto, int]] = set()
    for proto in {p for p, _ in wanted}:
        try:
            lines = Path(f"/proc/{pid}/net/{proto}").read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 3 and fields[3] == _LISTEN[proto]:
                found.add((proto, int(fields[1].rsplit(":", 1)[1], 16)))
    return found & wanted


@dataclass
class _Started:
    host: str
    daemon: Daemon
    process: subprocess.Popen[bytes]
    log: Path


def _spawn(namespace: str, host: LabHost, daemon: Daemon, run: Path) -> _Started:
    run.mkdir(mode=0o755, parents=True, exist_ok=True)
    try:
        argv = daemon.configure(run, host)
    except (OSError, subprocess.SubprocessError) as exc:
        raise LabError(f"{host.name}: cannot configure {daemon.name}: {exc}") from exc
    log = run / f"{daemon.name}.log"
    with log.open("ab") as out:
        process = subprocess.Popen(
            [shutil.which("ip") or "/usr/sbin/ip", "netns", "exec", namespace, *argv],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # outlives `lab up`, like the responder
        )
    _CHILDREN[process.pid] = process
    return _Started(host.name, daemon, process, log)


def start_daemons(hosts: Sequence[tuple[str, LabHost]], run_dir: Path) -> list[int]:
    """Start every daemon each host names, in its namespace; wait until all listen.

    ``hosts`` pairs each host with its namespace. Returns the daemon pids. A daemon that exits
    or does not listen in time raises :class:`LabError` (the caller tears the lab down).
    """
    wanted = [(ns, h, DAEMONS[name]) for ns, h in hosts for name in getattr(h, "daemons", ())]
    if not wanted:
        return []
    missing = missing_binaries([d.name for _, _, d in wanted])
    if missing:
        raise LabError(
            f"lab daemons need Debian packages {', '.join(missing)} (scripts/bootstrap.sh)"
        )
    started = [_spawn(ns, h, d, run_dir / "daemons" / h.name / d.name) for ns, h, d in wanted]
    deadline = time.monotonic() + _READY_TIMEOUT_S
    pending = list(started)
    while pending:
        for item in list(pending):
            if item.process.poll() is not None:
                tail = item.log.read_text(errors="replace")[-400:].strip()
                raise LabError(f"{item.host}: {item.daemon.name} exited at start: {tail}")
            ports = set(item.daemon.ports)
            if _listening(item.process.pid, ports) == ports:
                pending.remove(item)
        if pending and time.monotonic() > deadline:
            names = ", ".join(f"{i.host}/{i.daemon.name}" for i in pending)
            raise LabError(f"lab daemons not listening after {_READY_TIMEOUT_S:.0f} s: {names}")
        if pending:
            time.sleep(0.05)
    return [item.process.pid for item in started]


def namespace_pids(namespaces: Sequence[str]) -> list[int]:
    """Every process inside the given namespaces (``ip netns pids``), whoever started it."""
    ip_cmd = shutil.which("ip") or "/usr/sbin/ip"
    pids: set[int] = set()
    for namespace in namespaces:
        try:
            proc = subprocess.run(
                [ip_cmd, "netns", "pids", namespace],
                capture_output=True,
                text=True,
                timeout=10,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            continue
        pids |= {int(word) for word in proc.stdout.split() if word.isdigit()}
    pids.discard(os.getpid())
    return sorted(pids)


def _alive(pid: int) -> bool:
    try:
        return " Z " not in Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False


def _reap(pid: int) -> None:
    child = _CHILDREN.get(pid)
    if child is not None and child.poll() is not None:
        del _CHILDREN[pid]


def stop_daemons(namespaces: Sequence[str]) -> int:
    """End every process in ``namespaces``: SIGTERM, then SIGKILL after 5 s; return the count."""
    pids = namespace_pids(namespaces)
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            continue
    deadline = time.monotonic() + _STOP_TIMEOUT_S
    left = list(pids)
    while left and time.monotonic() < deadline:
        for pid in left:
            _reap(pid)
        left = [pid for pid in left if _alive(pid)]
        if left:
            time.sleep(0.05)
    for pid in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            continue
        _reap(pid)
    return len(pids)
