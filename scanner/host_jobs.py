"""The host-probe work queue: each host's jobs are made when a worker reaches them.

A /16 sweep has about 1.5 million (probe, host, endpoint) jobs. Queued all at once they were a
large share of its memory while the first thousand ran; here a host's jobs are a generator
that a worker steps through in the same order (host by host, each host's probes in turn), so
only the jobs being run exist. A generator that runs after discovery also sees the ports that
discovery announced for its host.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Iterator
from ipaddress import IPv4Address
from typing import TypeAlias

from scanner.probes import HostProbe
from scanner.probes.base import Endpoint

__all__ = ["HostJob", "HostJobs"]

HostJob: TypeAlias = tuple[HostProbe, IPv4Address, Endpoint | None]


class HostJobs:
    """A queue of job generators; ``get`` hands out their jobs in order, ``None`` when closed."""

    def __init__(self) -> None:
        self._batches: deque[Iterator[HostJob]] = deque()
        self._more = asyncio.Event()
        self._closed = False

    def add(self, batch: Iterator[HostJob]) -> None:
        """Queue ``batch`` behind the batches already queued."""
        self._batches.append(batch)
        self._more.set()

    def close(self) -> None:
        """No more batches: ``get`` returns ``None`` once the queued ones are done."""
        self._closed = True
        self._more.set()

    def pending_batches(self) -> int:
        """Batches not yet finished (for the budget-exhausted warning)."""
        return len(self._batches)

    async def get(self) -> HostJob | None:
        """The next job, waiting for one while the queue is open."""
        while True:
            while self._batches:
                job = next(self._batches[0], None)
                if job is not None:
                    return job
                self._batches.popleft()
            if self._closed:
                return None
            self._more.clear()
            await self._more.wait()
