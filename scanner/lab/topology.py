"""Builds and removes the lab's namespaces, bridge and veths with ``ip -batch``.

Layout (lab-feasibility.md §9.1): a switch namespace ``ndl-<lab>-sw`` holds the bridge; the
scanner namespace ``ndl-<lab>-scan`` and one namespace per host hang off it by veth pairs. The
bridge lives in its own namespace, so deleting the namespaces removes every link. Every name
carries the ``ndl-<lab>-`` prefix so a crashed lab's leftovers can always be found and removed.

Scale mode adds ``ndl-<lab>-farm`` (§9.2, routed flavour): a /30 link from the scanner
namespace, and a local route that makes the whole scale prefix the farm's own addresses.

Routed subnets (``[[routed]]``) and hosts ``behind`` a router hang off a second bridge per
router, ``bri<n>``, which only the router's ``eth1`` joins: the router forwards, answers ARP on
the main segment for the main-network addresses behind it (proxy ARP, so several addresses
answer with the router's MAC), and the scanner routes each routed subnet via the router. Hosts
of an ICMP-filtered subnet drop echo requests with nftables.

Only on request (``root_link``) does the root namespace get one interface, ``ndl-<lab>-r``: a
veth into the scanner namespace with a /30 from 198.18.255.0/24, a distinct /30 per lab. Its
connected route covers those four addresses and nothing else, and the root's default route is
never touched, so the root can reach the scanner namespace while lab traffic stays in the lab
(the scanner namespace does not forward).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path
from typing import Final

from scanner.errors import LabError
from scanner.lab.profile import INFRA_NETWORK, LabHost, LabProfile
from scanner.netns import NETNS_DIR

__all__ = [
    "FARM_LINK",
    "PREFIX",
    "ROOT_LINK_POOL",
    "build",
    "farm_namespace",
    "host_namespace",
    "lab_links",
    "lab_namespaces",
    "remove_links",
    "remove_namespaces",
    "root_link_name",
    "scan_namespace",
    "switch_namespace",
]

PREFIX: Final = "ndl-"
# Building 50 namespaces takes 0.2 s (lab-feasibility §2.1); 120 s covers a 1,000-host lab.
_IP_TIMEOUT_S: Final = 120.0
_SCANNER_MAC: Final = "02:00:00:00:00:01"
# Both inside INFRA_NETWORK, which profiles may not use. The farm link lives only inside the
# lab's namespaces, so every lab can use the same /30; root links need one /30 per lab.
FARM_LINK: Final = IPv4Network("198.18.254.0/30")
ROOT_LINK_POOL: Final = IPv4Network("198.18.255.0/24")
assert FARM_LINK.subnet_of(INFRA_NETWORK)  # noqa: S101
assert ROOT_LINK_POOL.subnet_of(INFRA_NETWORK)  # noqa: S101
_SYS_NET: Final = Path("/sys/class/net")
# Ping-filtered cameras: echo requests dropped at the host, everything else answered.
_DROP_ECHO: Final = (
    "table inet ndl {\n chain input {\n  type filter hook input priority 0; policy accept;\n"
    "  icmp type echo-request drop\n }\n}\n"
)
# The router: forward, answer ARP for what it routes (at once, not after the default random
# delay of up to 0.8 s), and give up on an absent neighbour after one 100 ms try instead of
# three 1 s ones, so a sweep of a sparse routed /24 costs seconds in the lab (a real router
# costs about 3 s per absent address, which the liveness fallback pays in parallel).
_ROUTER_SYSCTLS: Final = (
    "net.ipv4.ip_forward=1",
    "net.ipv4.conf.eth0.proxy_arp=1",
    "net.ipv4.conf.eth1.proxy_arp=1",
    "net.ipv4.neigh.eth0.proxy_delay=0",
    "net.ipv4.neigh.eth1.proxy_delay=0",
    "net.ipv4.neigh.eth1.mcast_solicit=1",
    "net.ipv4.neigh.eth1.retrans_time_ms=100",
    # Host-unreachable errors for absent neighbours are rate-limited per destination by
    # default (one a second): unlimited, so each absent address costs a 100 ms ARP, not 2 s.
    "net.ipv4.icmp_ratelimit=0",
)
_IFNAMSIZ: Final = 15


def switch_namespace(lab: str) -> str:
    """Name of the namespace holding the lab's bridge."""
    return f"{PREFIX}{lab}-sw"


def scan_namespace(lab: str) -> str:
    """Name of the namespace the scanner runs in."""
    return f"{PREFIX}{lab}-scan"


def farm_namespace(lab: str) -> str:
    """Name of the scale-mode namespace that answers for a whole prefix."""
    return f"{PREFIX}{lab}-farm"


def root_link_name(lab: str) -> str:
    """Root-namespace end of the optional root<->scanner veth."""
    return f"{PREFIX}{lab}-r"


def lab_links(lab: str | None = None) -> list[str]:
    """Lab interfaces in the root namespace (only root links, normally none)."""
    prefix = f"{PREFIX}{lab}-" if lab else PREFIX
    if not _SYS_NET.is_dir():
        return []
    return sorted(p.name for p in _SYS_NET.iterdir() if p.name.startswith(prefix))


def remove_links(names: list[str]) -> None:
    """Delete root-namespace lab links (the veth peer goes with each)."""
    if names:
        _ip("-force", batch="".join(f"link del {name}\n" for name in names))


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
        # -force: keep deleting after one failure, so a half-removed lab is still removed.
        _ip("-force", batch="".join(f"netns del {name}\n" for name in names))


def _used_root_slots() -> set[int]:
    proc = subprocess.run(
        [shutil.which("ip") or "/usr/sbin/ip", "-o", "-4", "addr", "show"],
        capture_output=True,
        text=True,
        timeout=_IP_TIMEOUT_S,
        check=False,
    )
    used = set()
    for line in proc.stdout.splitlines():
        for word in line.split():
            address = word.split("/", 1)[0]
            if address.startswith("198.18.255."):
                used.add(int(address.rsplit(".", 1)[1]) // 4)
    return used


def _add_root_link(lab: str, scan: str) -> str:
    name = root_link_name(lab)
    if len(name) > _IFNAMSIZ:
        raise LabError(
            f"--root-link needs a lab name of at most 9 characters ({name!r} is too long)"
        )
    free = [
        slot for slot in range(ROOT_LINK_POOL.num_addresses // 4) if slot not in _used_root_slots()
    ]
    if not free:
        raise LabError("no free /30 in 198.18.255.0/24 for another root link")
    base = int(ROOT_LINK_POOL.network_address) + 4 * free[0]
    root_addr, scan_addr = IPv4Address(base + 1), IPv4Address(base + 2)
    _ip(
        batch=(
            f"link add {name} type veth peer name root0 netns {scan}\n"
            f"link set {name} addrgenmode none\n"
            f"addr add {root_addr}/30 dev {name}\n"
            f"link set {name} up\n"
        )
    )
    _ip(
        "-n",
        scan,
        batch=(
            "link set root0 addrgenmode none\n"
            f"addr add {scan_addr}/30 dev root0\nlink set root0 up\n"
        ),
    )
    return str(scan_addr)


def _netns_run(ns: str, argv: Sequence[str], stdin: str | None = None) -> None:
    ip_cmd = shutil.which("ip") or "/usr/sbin/ip"
    try:
        proc = subprocess.run(
            [ip_cmd, "netns", "exec", ns, *argv],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=_IP_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise LabError(f"`{argv[0]}` in {ns} failed to run: {exc}") from exc
    if proc.returncode != 0:
        raise LabError(f"`{' '.join(argv)}` in {ns} failed: {proc.stderr.strip()[:400]}")


def _routers(profile: LabProfile) -> list[str]:
    """The names of the hosts that route for others, in profile order."""
    wanted = {profile.router_of(h) for h in profile.hosts} - {None}
    return [h.name for h in profile.hosts if h.name in wanted]


def _host_batch(profile: LabProfile, host: LabHost) -> str:
    network, gateway = profile.segment_of(host)
    lines = [
        "link set lo up",
        "link set eth0 addrgenmode none",
        f"addr add {host.address}/{network.prefixlen} dev eth0",
        "link set eth0 up",
    ]
    if profile.router_of(host) is not None:
        # Behind a router the scanner is off-link (routed subnet) or reached by proxy ARP.
        lines.append(
            f"route add default via {gateway}"
            if profile.subnet_of(host) is not None
            else "route add default dev eth0"
        )
    return "\n".join(lines) + "\n"


def _configure_router(profile: LabProfile, router: LabHost, ns: str) -> None:
    batch = ["link set eth1 addrgenmode none"]
    batch.extend(
        f"addr add {subnet.router_address}/{subnet.network.prefixlen} dev eth1"
        for subnet in profile.routed
        if subnet.router == router.name
    )
    batch.append("link set eth1 up")
    batch.extend(
        f"route add {host.address}/32 dev eth1"
        for host in profile.hosts
        if host.behind == router.name
    )
    _ip("-n", ns, batch="\n".join(batch) + "\n")
    _netns_run(ns, ["sysctl", "-q", "-w", *_ROUTER_SYSCTLS])


def build(profile: LabProfile, lab: str, *, root_link: bool = False) -> str | None:
    """Create every namespace, the bridge and the veths for ``profile``.

    Return the scanner namespace's address on the root link, when one was asked for.
    """
    if os.geteuid() != 0:
        raise LabError("building the lab needs root (network namespaces)")
    leftovers = lab_namespaces(lab) + lab_links(lab)
    if leftovers:
        raise LabError(
            f"lab {lab!r} already exists ({len(leftovers)} namespaces/links); "
            f"run `ndaa-scan lab down {lab}`"
        )
    if root_link and len(root_link_name(lab)) > _IFNAMSIZ:
        raise LabError("--root-link needs a lab name of at most 9 characters")
    sw, scan = switch_namespace(lab), scan_namespace(lab)
    hosts = [host_namespace(lab, i) for i in range(len(profile.hosts))]
    farm = [farm_namespace(lab)] if profile.scale else []
    _ip(batch="".join(f"netns add {name}\n" for name in [sw, scan, *hosts, *farm]))
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
        routers = _routers(profile)
        by_name = {h.name: i for i, h in enumerate(profile.hosts)}
        for number, name in enumerate(routers):
            sw_batch += [
                f"link add bri{number} type bridge mcast_snooping 0",
                f"link set bri{number} up",
                f"link add q{number} type veth peer name eth1 netns {hosts[by_name[name]]}",
                f"link set q{number} master bri{number} up",
            ]
        for index, (host, ns) in enumerate(zip(profile.hosts, hosts, strict=True)):
            router = profile.router_of(host)
            bridge = "br0" if router is None else f"bri{routers.index(router)}"
            sw_batch.append(
                f"link add p{index} type veth peer name eth0 netns {ns} address {host.mac}"
            )
            sw_batch.append(f"link set p{index} master {bridge} up")
        _ip("-n", sw, batch="\n".join(sw_batch) + "\n")
        # addrgenmode none: no IPv6 autoconf noise on fresh links (it loses ARP replies).
        # The scanner's only default route leads into the lab: nothing it sends can leave.
        default_dev = "scan0" if profile.hosts else "fscan0"
        scan_batch = [
            "link set lo up",
            "link set scan0 addrgenmode none",
            f"addr add {profile.scanner_address}/{prefix} dev scan0",
            "link set scan0 up",
        ]
        if profile.scale:
            farm_ns = farm[0]
            near, far = FARM_LINK.network_address + 1, FARM_LINK.network_address + 2
            scan_batch += [
                f"link add fscan0 type veth peer name eth0 netns {farm_ns}",
                "link set fscan0 addrgenmode none",
                f"addr add {near}/30 dev fscan0",
                "link set fscan0 up",
                f"route add {profile.scale.prefix} via {far} dev fscan0",
            ]
        for subnet in profile.routed:
            gateway = profile.hosts[by_name[subnet.router]].address
            scan_batch.append(f"route add {subnet.network} via {gateway} dev scan0")
        scan_batch.append(f"route add default dev {default_dev}")
        _ip("-n", scan, batch="\n".join(scan_batch) + "\n")
        if profile.scale:
            _ip(
                "-n",
                farm[0],
                batch=(
                    "link set lo up\nlink set eth0 addrgenmode none\n"
                    f"addr add {far}/30 dev eth0\nlink set eth0 up\n"
                    # The local route makes every address of the prefix this namespace's own.
                    f"route add local {profile.scale.prefix} dev lo\n"
                    f"route add default via {near} dev eth0\n"
                ),
            )
        for host, ns in zip(profile.hosts, hosts, strict=True):
            _ip("-n", ns, batch=_host_batch(profile, host))
            home = profile.subnet_of(host)
            if home is not None and home.drop_icmp_echo:
                _netns_run(ns, ["nft", "-f", "-"], stdin=_DROP_ECHO)
        for name in routers:
            _configure_router(profile, profile.hosts[by_name[name]], hosts[by_name[name]])
        return _add_root_link(lab, scan) if root_link else None
    except LabError:
        remove_links(lab_links(lab))
        remove_namespaces(lab_namespaces(lab))
        raise
