"""The event loop every sweep runs on: uvloop's, where asyncio's own costs a core.

A large sweep is bound by the scanner's CPU, not the network: each of the ~30 connections a
camera gets costs the stock selector loop about half a millisecond of Python. uvloop (libuv,
the loop Node.js uses) does the same socket work in C, so the same core carries several times
the connections. It is a drop-in loop: the probes see the same asyncio API.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

import uvloop

T = TypeVar("T")


def run(main: Coroutine[Any, Any, T]) -> T:
    """Run ``main`` to completion on a fresh uvloop event loop, like :func:`asyncio.run`."""
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main)
