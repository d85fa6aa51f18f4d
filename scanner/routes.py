"""Refuse a sweep whose packets would leave the lab through a real gateway.

The root namespace of a lab machine has a default route out to the real network. A sweep of the
lab range (198.18.0.0/15) from there would hand every packet to that gateway. The rule: traffic
for the lab range may only use a next hop that is itself in the lab range (or none, on-link).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from ipaddress import IPv4Address, ip_address

from scanner.errors import NetworkSafetyError
from scanner.scope import LAB_NETWORK, Scope

__all__ = ["check_lab_routes", "route_to"]

# `ip route get` answers from the kernel FIB instantly; 5 s only guards a wedged system.
_IP_TIMEOUT_S = 5.0


def route_to(addr: IPv4Address) -> dict[str, str]:
    """Return the kernel's route for ``addr`` (``dev``, ``gateway``, ``prefsrc`` when present)."""
    ip_cmd = shutil.which("ip") or "/usr/sbin/ip"
    try:
        proc = subprocess.run(
            [ip_cmd, "-j", "route", "get", str(addr)],
            capture_output=True,
            text=True,
            timeout=_IP_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise NetworkSafetyError(f"cannot ask the kernel for the route to {addr}: {exc}") from exc
    if proc.returncode != 0:
        # No route at all: nothing can be sent, which is safe; the probes will report it.
        return {}
    try:
        entries = json.loads(proc.stdout)
    except json.JSONDecodeError as exc:
        raise NetworkSafetyError(f"unreadable route for {addr}") from exc
    if not entries:
        return {}
    return {k: str(v) for k, v in entries[0].items() if isinstance(v, str | int)}


def check_lab_routes(scope: Scope) -> None:
    """Raise :class:`NetworkSafetyError` if a lab-range network routes via a non-lab gateway."""
    for net in scope.networks:
        if not net.subnet_of(LAB_NETWORK):
            continue
        route = route_to(net.network_address)
        gateway = route.get("gateway")
        if gateway is None:
            continue
        if ip_address(gateway) not in LAB_NETWORK:
            raise NetworkSafetyError(
                f"{net} would be sent via gateway {gateway} on {route.get('dev', '?')}, out of "
                "this machine. Run the sweep inside the lab's scanner namespace "
                "(ndaa-scan sweep --netns ndl-<lab>-scan, or `ndaa-scan lab status`)."
            )
