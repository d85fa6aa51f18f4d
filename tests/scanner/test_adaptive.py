"""The AIMD connection window: grows on success, halves on congestion, once per cooldown."""

import asyncio

from scanner.adaptive import AdaptiveWindow, Outcome


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_a_timeout_halves_the_window_once_per_cooldown():
    clock = Clock()
    window = AdaptiveWindow(64, cooldown_s=0.5, clock=clock)
    for _ in range(5):  # one overload event: five connections time out together
        await window.acquire()
    for _ in range(5):
        await window.release(Outcome.CONGESTED)
    assert window.limit == 32
    clock.now = 1.0
    await window.acquire()
    await window.release(Outcome.CONGESTED)
    assert window.limit == 16
    assert window.stats.decreases == 2


async def test_the_window_never_falls_below_its_floor_nor_grows_past_its_ceiling():
    clock = Clock()
    window = AdaptiveWindow(8, floor=4, cooldown_s=0.0, clock=clock)
    for _ in range(10):
        await window.acquire()
        await window.release(Outcome.CONGESTED)
    assert window.limit == 4
    for _ in range(1000):
        await window.acquire()
        await window.release(Outcome.OK, 0.001)
    assert window.limit == 8


async def test_additive_increase_is_about_one_per_window_of_successes():
    window = AdaptiveWindow(64, cooldown_s=0.0)
    window.limit = 10.0
    for _ in range(10):
        await window.acquire()
        await window.release(Outcome.OK)
    assert 10.9 < window.limit < 11.1


async def test_stretched_round_trips_count_as_congestion():
    clock = Clock()
    window = AdaptiveWindow(64, cooldown_s=0.0, clock=clock)
    for rtt in (0.002, 0.002, 0.002):
        await window.acquire()
        await window.release(Outcome.OK, rtt)
    assert window.limit == 64
    for _ in range(40):  # queues build: 200 ms where 2 ms was the norm
        await window.acquire()
        await window.release(Outcome.OK, 0.2)
    assert window.stats.decreases >= 1
    assert window.limit < 64


async def test_neutral_outcomes_do_not_move_the_window():
    window = AdaptiveWindow(16)
    window.limit = 10.0
    for _ in range(20):
        await window.acquire()
        await window.release(Outcome.NEUTRAL)
    assert window.limit == 10.0


async def test_waiters_get_in_when_the_window_has_room():
    window = AdaptiveWindow(2)
    await window.acquire()
    await window.acquire()
    third = asyncio.create_task(window.acquire())
    await asyncio.sleep(0.01)
    assert not third.done()
    await window.release(Outcome.OK)
    await asyncio.wait_for(third, 1.0)
    assert window.in_use == 2


async def test_many_waiters_all_get_through_and_the_window_is_never_overfilled():
    # A release wakes only as many waiters as there are free slots: none may be left asleep.
    window = AdaptiveWindow(4, floor=1, cooldown_s=0.0)
    inside = 0
    most = 0

    async def connection(i: int) -> None:
        nonlocal inside, most
        await window.acquire()
        inside += 1
        most = max(most, inside)
        await asyncio.sleep(0)
        inside -= 1
        outcome = Outcome.CONGESTED if i % 7 == 0 else Outcome.OK
        await window.release(outcome, 0.001)

    await asyncio.wait_for(asyncio.gather(*(connection(i) for i in range(300))), timeout=10)
    assert window.in_use == 0
    assert most <= 4
