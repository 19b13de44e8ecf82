"""What a view is, and what it runs on.

A view is a read-only query of one engine that returns a DataFrame with a fixed schema. One
module in ``infranb/views`` declares it (its schema, its rows and its query, an async function
of an ``EngineContext``); one line in ``infranb.views.EngineViews`` makes it a pair of typed
methods of the manager and of the fleet:

    acontainers, containers = view(containers.query, containers.SCHEMA)

The manager runs a view on its engine; a fleet runs it on each of its engines and joins the
frames. A view never changes an engine: stop, restart, update are operations or manager
helpers that pass the gates.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import (
    TYPE_CHECKING,
    Any,
    Concatenate,
    Generic,
    ParamSpec,
    Protocol,
    Self,
    TypeVar,
    overload,
)

from infranb.core import labels as L
from infranb.core.errors import NotSwarmManager
from infranb.core.frames import Schema, frame
from infranb.core.records import ContainerDetails
from infranb.core.secrets import secret_values
from infranb.core.swarm import not_a_manager
from infranb.core.sync import describe, run_sync
from infranb.engines.base import Engine

if TYPE_CHECKING:
    import pandas as pd

    from infranb.core.config import InfrastructureManagerConfig

P = ParamSpec("P")
T = TypeVar("T")


@dataclass(frozen=True)
class EngineContext:
    """What a view's query reads: one engine, the config, and the worker threads its
    blocking calls run on (so the kernel's event loop stays free)."""

    engine: Engine
    config: InfrastructureManagerConfig
    executor: concurrent.futures.Executor

    async def call(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """``fn(*args, **kwargs)`` on a worker thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, lambda: fn(*args, **kwargs))

    def secrets_of(self, details: ContainerDetails | None) -> list[str]:
        """The container's secret values, by key or because a secret reference set them."""
        if details is None:
            return []
        also = L.secret_keys(details.labels)
        return secret_values(details.environment, self.config.secret_markers, also)

    async def require_swarm_manager(self) -> None:
        """Raise ``NotSwarmManager`` (saying how to make one) unless the engine is one."""
        role = await self.call(self.engine.swarm_role)
        if role != "manager":
            raise NotSwarmManager(not_a_manager(role))


#: a view's query: ``await query(context, ...)`` -> its frame
Query = Callable[Concatenate[EngineContext, P], Awaitable["pd.DataFrame"]]


@dataclass(frozen=True)
class View(Generic[P]):
    """One read-only view of an engine."""

    name: str
    query: Query[P]
    #: the frame's columns and dtypes (the empty frame has them too)
    schema: Schema

    def empty(self) -> pd.DataFrame:
        """The frame with no rows (a fleet without engines, a notebook without one)."""
        return frame([], self.schema)


class Viewer(Protocol):
    """What runs views: a manager on its engine, a fleet on each of its engines."""

    async def _view(self, view: View[Any], *args: Any, **kwargs: Any) -> pd.DataFrame: ...


class _ViewMethod(Generic[P]):
    """A view as a method of its owner's class, named by the attribute it is assigned to."""

    def __init__(self, view: View[P], name: str) -> None:
        self.view = view
        self.name = name

    def __set_name__(self, owner: type[Any], name: str) -> None:
        self.name = name


class AsyncView(_ViewMethod[P]):
    """``await owner.a<name>(...)``: a view, run by its owner."""

    @overload
    def __get__(self, obj: None, owner: type[Any] | None = None) -> Self: ...

    @overload
    def __get__(
        self, obj: Viewer, owner: type[Any] | None = None
    ) -> Callable[P, Awaitable[pd.DataFrame]]: ...

    def __get__(
        self, obj: Viewer | None, owner: type[Any] | None = None
    ) -> Self | Callable[P, Awaitable[pd.DataFrame]]:
        if obj is None:
            return self
        view = self.view

        async def run(*args: P.args, **kwargs: P.kwargs) -> pd.DataFrame:
            return await obj._view(view, *args, **kwargs)

        describe(run, view.query, self.name)
        return run


class SyncView(_ViewMethod[P]):
    """``owner.<name>(...)``: the same view for synchronous code (inside a kernel too)."""

    @overload
    def __get__(self, obj: None, owner: type[Any] | None = None) -> Self: ...

    @overload
    def __get__(self, obj: Viewer, owner: type[Any] | None = None) -> Callable[P, pd.DataFrame]: ...

    def __get__(
        self, obj: Viewer | None, owner: type[Any] | None = None
    ) -> Self | Callable[P, pd.DataFrame]:
        if obj is None:
            return self
        view = self.view

        def run(*args: P.args, **kwargs: P.kwargs) -> pd.DataFrame:
            return run_sync(obj._view(view, *args, **kwargs))

        describe(run, view.query, self.name)
        return run


def view(query: Query[P], schema: Schema) -> tuple[AsyncView[P], SyncView[P]]:
    """The async and the sync method of one view, from its query (named after it)."""
    declared = View(query.__module__.rsplit(".", 1)[-1], query, schema)
    return AsyncView(declared, "a" + declared.name), SyncView(declared, declared.name)
