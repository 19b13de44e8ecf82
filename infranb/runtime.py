"""What one running operation needs: bounded engine calls off the loop, progress, labels.

``Runtime`` is created per ``execute`` call, so its semaphore belongs to the loop the
operation runs on. Engine calls go through ``call``: at most ``config.max_parallel`` at once,
each on the manager's worker threads; ``drain`` waits for calls still running on a thread
after their awaiting task was cancelled (rollback must see everything they created).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any, TypeVar

from infranb import labels as L
from infranb.config import InfrastructureManagerConfig
from infranb.protocol import Engine
from infranb.records import ProgressEvent
from infranb.secrets import Redactor

T = TypeVar("T")

# The label names under their old spelling (they live in ``infranb.labels``).
LABEL_MANAGED = L.MANAGED
LABEL_STACK = L.STACK
LABEL_SPEC_HASH = L.SPEC_HASH
LABEL_SPEC_FIELDS = L.SPEC_FIELDS
LABEL_DEPENDS_ON = L.DEPENDS_ON
LABEL_RUN = L.RUN
LABEL_CORRELATION = L.CORRELATION

ProgressCallback = Callable[[ProgressEvent], Any]


def in_notebook() -> bool:
    """Running in a Jupyter kernel, on its main thread (where cell output belongs)."""
    ipython = sys.modules.get("IPython")
    if ipython is None or threading.current_thread() is not threading.main_thread():
        return False
    shell: Any = ipython.get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def correlation_id_of(context: object) -> str | None:
    """A correlation id carried by ``context`` as attribute or key ``correlation_id``."""
    if context is None:
        return None
    value = (
        context.get("correlation_id")
        if isinstance(context, Mapping)
        else getattr(context, "correlation_id", None)
    )
    return None if value is None else str(value)


class Runtime:
    """Per-operation state shared by the operation modules."""

    def __init__(
        self,
        engine: Engine,
        config: InfrastructureManagerConfig,
        executor: concurrent.futures.ThreadPoolExecutor,
        *,
        correlation_id: str | None = None,
        progress: ProgressCallback | None = None,
        redact: Redactor | None = None,
    ) -> None:
        self.engine = engine
        self.config = config
        self.correlation_id = correlation_id
        self.run_id = uuid.uuid4().hex[:12]
        self.redact = redact or Redactor()
        self.warnings: list[str] = []
        self._executor = executor
        self._progress = progress
        self._semaphore = asyncio.Semaphore(config.max_parallel)
        self._in_flight: set[concurrent.futures.Future[Any]] = set()
        self.started = time.monotonic()

    def labels(self, stack: str | None, **extra: str) -> dict[str, str]:
        """The labels infranb puts on everything it creates in this run."""
        labels = {**L.managed(stack), L.RUN: self.run_id}
        if self.correlation_id:
            labels[L.CORRELATION] = self.correlation_id
        labels.update(extra)
        return labels

    async def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a blocking engine call on a worker thread, at most max_parallel at once."""
        async with self._semaphore:
            future = self._executor.submit(functools.partial(fn, *args, **kwargs))
            self._in_flight.add(future)
            loop = asyncio.get_running_loop()
            # The callback runs on the worker thread; hand the bookkeeping to the loop.
            future.add_done_callback(
                lambda f: loop.call_soon_threadsafe(self._in_flight.discard, f)
            )
            return await asyncio.wrap_future(future)

    async def gather(self, *calls: Any) -> list[Any]:
        """Await coroutines together; on the first failure cancel the rest, then re-raise."""
        tasks = [asyncio.ensure_future(c) for c in calls]
        try:
            return list(await asyncio.gather(*tasks))
        except BaseException:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise

    async def drain(self) -> None:
        """Wait until no engine call of this run is still running on a thread."""
        while self._in_flight:
            await asyncio.wait([asyncio.wrap_future(f) for f in list(self._in_flight)])
            await asyncio.sleep(0)  # let the discard callbacks run

    def emit(
        self,
        kind: str,
        resource: str,
        message: str = "",
        *,
        current: int | None = None,
        total: int | None = None,
    ) -> None:
        """Tell the progress callback; a failing callback never breaks the operation."""
        if self._progress is None:
            return
        event = ProgressEvent(kind, resource, self.redact(message), current, total)
        try:
            self._progress(replace(event))
        except Exception as e:
            self._progress = None
            self.warnings.append(f"progress callback failed and was disabled: {e!r}")

    def elapsed(self) -> float:
        return time.monotonic() - self.started
