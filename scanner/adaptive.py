"""How many connections a sweep keeps open: additive increase, multiplicative decrease (AIMD).

A fixed concurrency either idles a fast network or overloads a slow one (scanner and devices
alike: an embedded web server with four worker threads drops SYNs beyond them). The window
follows TCP's congestion control (RFC 5681 §3.1, Jacobson 1988): it grows by one connection per
window of successes and halves on a congestion signal — an exchange that timed out, or round
trips stretched well past the fastest seen — at most once per ``cooldown_s`` so one overload
event halves it once, not once per connection caught in it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Final

__all__ = ["AdaptiveWindow", "Outcome"]

#: A round trip this many times the fastest seen (and above ``_RTT_FLOOR_S``) means queues.
_RTT_STRETCH: Final = 8.0
_RTT_FLOOR_S: Final = 0.05
_EWMA: Final = 0.125  # RFC 6298 §2's alpha for the smoothed round trip


class Outcome(Enum):
    """What one connection said about the path's load."""

    OK = "ok"  # answered (or refused, or reset): the path carried it
    CONGESTED = "congested"  # timed out: a dropped SYN or a server that could not keep up
    NEUTRAL = "neutral"  # says nothing about load (a liveness knock on an absent address)


@dataclass
class _Stats:
    min_rtt: float | None = None
    srtt: float | None = None
    decreases: int = 0
    peak: int = 0


class AdaptiveWindow:
    """An async semaphore whose size moves between ``floor`` and ``ceiling`` with the load."""

    def __init__(
        self,
        ceiling: int,
        *,
        floor: int = 4,
        cooldown_s: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ceiling = max(1, ceiling)
        self.floor = max(1, min(floor, self.ceiling))
        self.limit = float(self.ceiling)
        self._cooldown_s = cooldown_s
        self._clock = clock
        self._last_decrease = -1e9
        self._in_use = 0
        self._changed = asyncio.Condition()
        self.stats = _Stats()

    @property
    def in_use(self) -> int:
        """Connections open now."""
        return self._in_use

    async def acquire(self) -> None:
        """Wait for room in the window."""
        async with self._changed:
            await self._changed.wait_for(lambda: self._in_use < int(self.limit))
            self._in_use += 1
            self.stats.peak = max(self.stats.peak, self._in_use)

    async def release(self, outcome: Outcome, rtt_s: float | None = None) -> None:
        """Give the slot back and let the outcome move the window."""
        async with self._changed:
            self._in_use -= 1
            if outcome is Outcome.CONGESTED or (
                outcome is Outcome.OK and rtt_s is not None and self._stretched(rtt_s)
            ):
                self._decrease()
            elif outcome is Outcome.OK:
                self.limit = min(float(self.ceiling), self.limit + 1.0 / max(1.0, self.limit))
            # Wake only as many waiters as there are free slots: waking all of them on every
            # release made hundreds of tasks re-check and sleep again per connection.
            free = int(self.limit) - self._in_use
            if free > 0:
                self._changed.notify(free)

    def _stretched(self, rtt_s: float) -> bool:
        stats = self.stats
        stats.min_rtt = rtt_s if stats.min_rtt is None else min(stats.min_rtt, rtt_s)
        stats.srtt = rtt_s if stats.srtt is None else stats.srtt + _EWMA * (rtt_s - stats.srtt)
        return stats.srtt > max(_RTT_FLOOR_S, _RTT_STRETCH * stats.min_rtt)

    def _decrease(self) -> None:
        now = self._clock()
        if now - self._last_decrease < self._cooldown_s:
            return
        self._last_decrease = now
        self.limit = max(float(self.floor), self.limit / 2.0)
        self.stats.decreases += 1
        if self.stats.srtt is not None and self.stats.min_rtt is not None:
            # After backing off, judge the next round trips against the relieved path.
            self.stats.srtt = self.stats.min_rtt * 2.0
