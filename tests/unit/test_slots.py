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
