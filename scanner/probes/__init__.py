"""Probe registry: every module in this package that exports ``PROBE`` is a probe.

Adding a protocol is one new module here; nothing else needs editing.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from scanner.probes.base import HostProbe, NetworkProbe, ProbeInfo

__all__ = ["HostProbe", "NetworkProbe", "ProbeInfo", "all_probes", "emitted_fields", "get_probe"]


@cache
def all_probes() -> dict[str, NetworkProbe | HostProbe]:
    """Return every registered probe by name, in a stable order."""
    found: dict[str, NetworkProbe | HostProbe] = {}
    for module_info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if module_info.name == "base":
            continue
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        probe = getattr(module, "PROBE", None)
        if probe is None:
            continue
        name = probe.info.name
        if name in found:
            raise RuntimeError(f"two probes are named {name!r}")
        found[name] = probe
    return found


def get_probe(name: str) -> NetworkProbe | HostProbe:
    """Return the probe called ``name`` (``KeyError`` if none)."""
    return all_probes()[name]


def emitted_fields() -> frozenset[str]:
    """Every ``protocol.field`` key some registered probe can emit."""
    return frozenset(key for probe in all_probes().values() for key in probe.info.fields)
