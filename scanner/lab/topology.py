"""Builds and removes the lab's namespaces, bridge and veths with ``ip -batch``.

Layout (lab-feasibility.md §9.1): a switch namespace ``ndl-<lab>-sw`` holds the bridge; the
scanner namespace ``ndl-<lab>-scan`` and one namespace per host hang off it by veth pairs. The
bridge lives in its own namespace, so deleting the namespaces removes every link: the root
namespace never receives a lab interface. Every name carries the ``ndl-<lab>-`` prefix so a
crashed lab's leftovers can always be found and removed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Final

from scanner.errors import LabError
from scanner.lab.profile import LabProfile
from scanner.netns import NETNS_DIR

__all__ = [
    "PREFIX",
    "build",
    "host_namespace",
    "lab_namespaces",
    "remove_namespaces",
    "scan_namespace",
    "switch_namespace",
]

PREFIX: Final = "ndl-"
# Building 50 namespaces takes 0.2 s (lab-feasibility §2.1); 120 s covers a 1,000-host lab.
_IP_TIMEOUT_S: Final = 120.0
_SCANNER_MAC: Final = "02:00:00:00:00:01"


def switch_namespace(lab: str) -> str:
    """Name of the namespace holding the lab's bridge."""
    return f"{PREFIX}{lab}-sw"


def scan_namespace(lab: str) -> str:
    """Name of the namespace the scanner runs in."""
    return f"{PREFIX}{lab}-scan"


def host_namespace(lab: str, index: int) -> str:
    """Name of the namespace of the ``index``-th host of the profile."""
    return f"{PREFIX}{lab}-h{index}"


def lab_namespaces(lab: str | None = None) -> list[str]:
    """Return the existing lab namespaces (of one lab, or of every lab)."""
    prefix = f"{PREFIX}{lab}-" if lab else PREFIX
    if not NETNS_DIR.is_dir():
        return []
    return sorted(p.name for p in NETNS_DIR.iterdir() if p.name.startswith(prefix))


def _ip(*args: str, batch: str | None = None) -> None:
    ip_cmd = shutil.which("ip") or "/usr/sbin/ip"
    argv = [ip_cmd, *args]
    path: str | None = None
    try:
        if batch is not None:
            with tempfile.NamedTemporaryFile("w", suffix=".ip", delete=False) as handle:
                handle.write(batch)
                path = handle.name
            argv += ["-batch", path]
        proc = subprocess.run(
            argv, capture_output=True, text=True, timeout=_IP_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise LabError(f"`ip {' '.join(args)}` failed to run: {exc}") from exc
    finally:
        if path:
            Path(path).unlink(missing_ok=True)
    if proc.returncode != 0:
        raise LabError(f"`ip {' '.join(args)}` failed: {proc.stderr.strip()[:400]}")


def remove_namespaces(names: list[str]) -> None:
    """Delete namespaces (their links and addresses go with them)."""
    if names:
        _ip(batch="".join(f"netns del {name}\n" for name in names))


def build(profile: LabProfile, lab: str) -> None:
    """Create every namespace, the bridge and the veths for ``profile``."""
    if os.geteuid() != 0:
        raise LabError("building the lab needs root (network namespaces)")
    leftovers = lab_namespaces(lab)
    if leftovers:
        raise LabError(
            f"lab {lab!r} already exists ({len(leftovers)} namespaces); "
            f"run `ndaa-scan lab down {lab}`"
        )
    sw, scan = switch_namespace(lab), scan_namespace(lab)
    hosts = [host_namespace(lab, i) for i in range(len(profile.hosts))]
    _ip(batch="".join(f"netns add {name}\n" for name in [sw, scan, *hosts]))
    prefix = profile.network.prefixlen
    try:
        # mcast_snooping 0: a dumb switch, so multicast discovery does not depend on IGMP timing.
        sw_batch = [
            "link set lo up",
            "link add br0 type bridge mcast_snooping 0",
            "link set br0 up",
            f"link add p-scan type veth peer name scan0 netns {scan} address {_SCANNER_MAC}",
            "link set p-scan master br0 up",
        ]
        for index, (host, ns) in enumerate(zip(profile.hosts, hosts, strict=True)):
            sw_batch.append(
                f"link add p{index} type veth peer name eth0 netns {ns} address {host.mac}"
            )
            sw_batch.append(f"link set p{index} master br0 up")
        _ip("-n", sw, batch="\n".join(sw_batch) + "\n")
        # addrgenmode none: no IPv6 autoconf noise on fresh links (it loses ARP replies).
        _ip(
            "-n",
            scan,
            batch=(
                "link set lo up\nlink set scan0 addrgenmode none\n"
                f"addr add {profile.scanner_address}/{prefix} dev scan0\nlink set scan0 up\n"
                # The scanner's only default route leads into the lab: nothing it sends can leave.
                "route add default dev scan0\n"
            ),
        )
        for host, ns in zip(profile.hosts, hosts, strict=True):
            _ip(
                "-n",
                ns,
                batch=(
                    "link set lo up\nlink set eth0 addrgenmode none\n"
                    f"addr add {host.address}/{prefix} dev eth0\nlink set eth0 up\n"
                ),
            )
    except LabError:
        remove_namespaces(lab_namespaces(lab))
        raise
