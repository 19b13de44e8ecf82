"""The runtime's engine calls on worker threads."""

from __future__ import annotations

import asyncio


def test_a_call_that_ends_after_its_run_is_over_is_quietly_forgotten(caplog) -> None:
    """A call cancelled by a failing sibling may end on its thread after the run's loop
    closed (a fleet's health check on an engine that is gone): nothing may be logged."""
    import concurrent.futures
    import logging
    import threading

    from infranb.core.config import InfrastructureManagerConfig
    from infranb.runtime import Runtime
    from infranb.testing import MemoryEngine

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
