"""The host-job queue hands out jobs in order and makes each only when a worker asks."""

import asyncio
from ipaddress import IPv4Address

from scanner.host_jobs import HostJobs

HOST = IPv4Address("198.18.0.10")


async def test_jobs_come_in_order_and_are_made_only_when_asked():
    made: list[int] = []

    def batch(start: int):
        for n in range(start, start + 3):
            made.append(n)
            yield n, HOST, None

    jobs = HostJobs()
    jobs.add(batch(0))
    jobs.add(batch(10))
    first = await jobs.get()
    assert first is not None
    assert first[0] == 0
    assert made == [0]  # the other five do not exist yet
    rest = [await jobs.get() for _ in range(5)]
    assert [job[0] for job in rest if job is not None] == [1, 2, 10, 11, 12]
    jobs.close()
    assert await jobs.get() is None


async def test_a_waiting_worker_wakes_for_a_late_batch_and_ends_at_close():
    jobs = HostJobs()
    got = []

    async def worker():
        while (job := await jobs.get()) is not None:
            got.append(job[0])

    task = asyncio.create_task(worker())
    await asyncio.sleep(0.01)
    assert not task.done()  # open and empty: it waits
    jobs.add(iter([(7, HOST, None)]))
    jobs.close()
    await asyncio.wait_for(task, 1.0)
    assert got == [7]
