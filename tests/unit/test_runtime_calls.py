"""The runtime's call slots: a bound on calls in flight, starts ahead of queued creates."""

from __future__ import annotations

import asyncio

from infranb.runtime import Slots


def test_lower_ranks_go_first_then_arrival_order() -> None:
    async def scenario() -> list[str]:
        slots, order = Slots(1), []
        await slots.acquire()  # the one slot is taken: everyone else queues

        async def holder(name: str, rank: int) -> None:
            await slots.acquire(rank)
            order.append(name)
            slots.release()

        tasks = [
            asyncio.ensure_future(holder(name, rank))
            for name, rank in (("create-a", 1), ("create-b", 1), ("start-a", 0), ("start-b", 0))
        ]
        await asyncio.sleep(0)
        slots.release()
        await asyncio.gather(*tasks)
        return order

    assert asyncio.run(scenario()) == ["start-a", "start-b", "create-a", "create-b"]


def test_a_cancelled_waiter_never_leaks_a_slot() -> None:
    async def scenario() -> int:
        slots = Slots(1)
        await slots.acquire()
        waiting = asyncio.ensure_future(slots.acquire())
        await asyncio.sleep(0)
        slots.release()  # handed to the waiter...
        waiting.cancel()  # ...which is cancelled before it runs: the slot must come back
        await asyncio.gather(waiting, return_exceptions=True)
        await asyncio.wait_for(slots.acquire(), 1)  # would hang if the slot leaked
        return slots._free

    assert asyncio.run(scenario()) == 0


def test_a_call_that_ends_after_its_run_is_over_is_quietly_forgotten(caplog) -> None:
    """A call cancelled by a failing sibling may end on its thread after the run's loop
    closed (a fleet's health check on an engine that is gone): nothing may be logged."""
    import concurrent.futures
    import logging
    import threading

    from infranb.config import InfrastructureManagerConfig
    from infranb.memory import MemoryEngine
    from infranb.runtime import Runtime

    release = threading.Event()
    pool = concurrent.futures.ThreadPoolExecutor(2)
    runtime: list[Runtime] = []

    async def run() -> None:
        rt = Runtime(MemoryEngine([]), InfrastructureManagerConfig(journal=None), pool)
        runtime.append(rt)
        straggler = asyncio.ensure_future(rt.call(release.wait, 5))
        await asyncio.sleep(0.05)
        straggler.cancel()  # the run gives up on it; its thread goes on

    caplog.set_level(logging.ERROR, logger="concurrent.futures")
    asyncio.run(run())  # the loop is closed when this returns
    release.set()
    pool.shutdown(wait=True)
    assert not caplog.records, [r.getMessage() for r in caplog.records]
