from __future__ import annotations

import asyncio
import subprocess
import sys

from infranb.manager import run_sync


async def answer() -> int:
    await asyncio.sleep(0)
    return 42


def test_run_sync_without_a_loop() -> None:
    assert run_sync(answer()) == 42


def test_run_sync_inside_a_running_loop() -> None:
    async def inside() -> int:
        return run_sync(answer())  # what manager.run does in a Jupyter cell

    assert asyncio.run(inside()) == 42


def test_import_does_not_load_pandas_or_widgets() -> None:
    code = "import sys, infranb; print('pandas' in sys.modules, 'ipywidgets' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_public_names_are_sorted_and_importable() -> None:
    import infranb

    assert infranb.__all__ == sorted(infranb.__all__)
    for name in infranb.__all__:
        assert hasattr(infranb, name)


def test_an_interrupt_cancels_the_worker_task_and_waits_for_its_cleanup() -> None:
    """What the kernel's interrupt does to ``manager.run`` in a cell: the operation is
    cancelled on the worker's loop, its cleanup finishes, then KeyboardInterrupt."""
    import os
    import signal
    import threading

    events: list[str] = []

    async def operation() -> None:
        try:
            events.append("started")
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            await asyncio.sleep(0.2)  # a rollback takes a moment
            events.append("rolled back")
            raise

    async def cell() -> None:
        # A real SIGINT, as the kernel's interrupt sends: it breaks the blocking wait.
        threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT)).start()
        try:
            run_sync(operation())
        except KeyboardInterrupt:
            events.append("interrupted")

    # A kernel's loop, not asyncio.run (which would turn SIGINT into a task cancel instead).
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(cell())
    finally:
        loop.close()
    assert events == ["started", "rolled back", "interrupted"]


def test_calls_gathered_together_leave_nothing_running_after_a_failure() -> None:
    """``gather_all``: the first failure is raised only once the others are cancelled and
    done, so no sibling fails unseen after the caller has gone on (a plain gather left one
    that the loop's shutdown then cancelled, logging "exception was never retrieved" into a
    notebook cell: the offline notebook test failed that way about one run in three)."""
    import asyncio

    import pytest

    from infranb.core.sync import gather_all

    async def fails_at_once() -> None:
        raise ValueError("first")

    async def fails_later() -> None:
        await asyncio.sleep(0.05)
        raise KeyError("second")

    async def main() -> set[asyncio.Task[object]]:
        with pytest.raises(ValueError, match="first"):
            await gather_all(fails_at_once(), fails_later())
        return {t for t in asyncio.all_tasks() if t is not asyncio.current_task()}

    assert asyncio.run(main()) == set()
