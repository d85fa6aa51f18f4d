"""Entering Linux network namespaces (the lab's, or a scan namespace the user names).

Python 3.11 has no ``os.setns``, so this calls libc. A namespace switch applies to the calling
thread; :func:`enter_netns` is meant for process start-up, before any thread or socket exists,
and :func:`open_in_netns` switches for one socket and switches back.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Final, TypeVar

from scanner.errors import LabError

__all__ = ["NETNS_DIR", "enter_netns", "open_in_netns"]

NETNS_DIR: Final = Path("/run/netns")
_CLONE_NEWNET: Final = 0x40000000

T = TypeVar("T")


@cache
def _libc() -> ctypes.CDLL:
    # find_library spawns a compiler probe (~5 ms); a lab switches namespace once per host.
    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def _setns(fd: int) -> None:
    if _libc().setns(fd, _CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise LabError(f"setns failed: {os.strerror(err)} (needs root)")


def _open_ns(name: str) -> int:
    if "/" in name or name.startswith("."):
        raise LabError(f"bad namespace name {name!r}")
    try:
        return os.open(NETNS_DIR / name, os.O_RDONLY)
    except OSError as exc:
        raise LabError(f"network namespace {name!r} not found ({exc.strerror})") from exc


def enter_netns(name: str) -> None:
    """Move the calling thread (at start-up: the whole process) into namespace ``name``."""
    fd = _open_ns(name)
    try:
        _setns(fd)
    finally:
        os.close(fd)


def open_in_netns(name: str, make: Callable[[], T]) -> T:
    """Call ``make()`` inside namespace ``name`` and return to the original namespace.

    Sockets keep the namespace they were created in for their whole life, which is how one
    responder process serves every simulated host.
    """
    original = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    target = _open_ns(name)
    try:
        _setns(target)
        try:
            return make()
        finally:
            _setns(original)
    finally:
        os.close(target)
        os.close(original)
