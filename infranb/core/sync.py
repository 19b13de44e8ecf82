"""Where code runs: synchronous twins of async methods (each made from its one definition),
``run_sync`` under them, ``gather_all`` for calls awaited together, and ``in_notebook``.

    class InfrastructureManager:
        async def aup(self, project, *, dry_run=False) -> InfrastructureResult:
            \"\"\"Bring a Compose project up ...\"\"\"
        up = synchronous(aup)

``manager.up(...)`` then runs ``manager.aup(...)`` to completion, from plain Python or inside a
running Jupyter kernel. The twin is a typed descriptor: mypy sees ``up`` with ``aup``'s
parameters and its result type, and IPython's ``?`` shows ``aup``'s signature and docstring.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import sys
import threading
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Concatenate, Generic, ParamSpec, Self, TypeVar, overload

S = TypeVar("S")
P = ParamSpec("P")
T = TypeVar("T")


async def gather_all(*calls: Awaitable[Any]) -> list[Any]:
    """Await ``calls`` together, their results in order. On the first failure the others
    are cancelled and awaited before it is raised, so none is left running, or failing
    unseen, once the caller has gone on. (A plain ``asyncio.gather`` leaves them: when the
    loop then shuts down it cancels one whose own gather had failed already, and asyncio
    logs "exception was never retrieved" into the cell's output.)"""
    tasks = [asyncio.ensure_future(c) for c in calls]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion from synchronous code, inside a running loop or not.

    Inside a running loop (a Jupyter cell) the coroutine runs on a worker thread with a loop
    of its own. An interrupt of the calling thread (the kernel's interrupt button) cancels
    it there, waits until its cancellation is handled (an orchestrate rolls back), then
    re-raises ``KeyboardInterrupt`` (shown as the run's one sentence in a notebook); a
    second interrupt does not cut the rollback short.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)  # asyncio.run cancels the task on Ctrl+C, the same way
    loop = asyncio.new_event_loop()
    task: asyncio.Task[T] = loop.create_task(coro)

    def drive() -> T:
        asyncio.set_event_loop(loop)
        try:
            return loop.run_until_complete(task)
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="infranb-run")
    future = pool.submit(drive)
    pool.shutdown(wait=False)
    try:
        return future.result()
    except KeyboardInterrupt as interrupt:
        loop.call_soon_threadsafe(task.cancel)
        while True:
            try:
                future.result()
            except KeyboardInterrupt:
                continue  # the rollback is under way: let it finish
            except BaseException as ended:
                # The run's own sentence (what it rolled back), shown instead of a
                # traceback into threading.py.
                render = getattr(ended, "_render_traceback_", None)
                if render is not None:
                    interrupt._render_traceback_ = render  # type: ignore[attr-defined]
            break
        raise


def in_notebook() -> bool:
    """Running in a Jupyter kernel, on its main thread (where cell output belongs)."""
    ipython = sys.modules.get("IPython")
    if ipython is None or threading.current_thread() is not threading.main_thread():
        return False
    shell: Any = ipython.get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def without_first(signature: inspect.Signature) -> inspect.Signature:
    """``signature`` less its first parameter (``self``, a view's context)."""
    return signature.replace(parameters=list(signature.parameters.values())[1:])


def describe(function: Callable[..., Any], like: Callable[..., Any], name: str) -> None:
    """Give ``function`` the name, docstring and signature (less its first parameter) of
    ``like``, so help, ``?`` and tab completion show the real method."""
    function.__name__ = name
    function.__qualname__ = name
    function.__doc__ = like.__doc__
    function.__module__ = like.__module__
    function.__signature__ = without_first(inspect.signature(like))  # type: ignore[attr-defined]


class synchronous(Generic[S, P, T]):
    """The synchronous twin of an async method: ``up = synchronous(aup)`` in a class body."""

    def __init__(self, method: Callable[Concatenate[S, P], Coroutine[Any, Any, T]]) -> None:
        self.method = method
        self.name = method.__name__
        self.__doc__ = method.__doc__  # help() on the class shows the method's docstring

    def __set_name__(self, owner: type[Any], name: str) -> None:
        self.name = name

    @overload
    def __get__(self, obj: None, owner: type[Any] | None = None) -> Self: ...

    @overload
    def __get__(self, obj: S, owner: type[Any] | None = None) -> Callable[P, T]: ...

    def __get__(self, obj: S | None, owner: type[Any] | None = None) -> Self | Callable[P, T]:
        if obj is None:
            return self
        method = self.method

        def run(*args: P.args, **kwargs: P.kwargs) -> T:
            return run_sync(method(obj, *args, **kwargs))

        describe(run, method, self.name)
        return run
