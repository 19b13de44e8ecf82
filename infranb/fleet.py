"""Several engines from one notebook: a ``Fleet`` names them and queries them side by side.

Every engine is queried concurrently (each manager has its own worker threads), so a fleet
of N engines costs about one engine's time. An engine that does not answer never hides the
others: its row says ``reachable=False`` with one sentence, and nothing waits for it longer
than ``config.connect_timeout``.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from infranb.core.config import InfrastructureManagerConfig
from infranb.core.errors import InfraError
from infranb.core.frames import FIRST
from infranb.core.records import EngineInfo, EngineStatus
from infranb.core.secrets import mask_url_credentials
from infranb.core.sync import synchronous
from infranb.manager import InfrastructureManager
from infranb.models import InfrastructureOperation, InfrastructureResult
from infranb.views import EngineViews, View

if TYPE_CHECKING:
    import pandas as pd

T = TypeVar("T")


class FleetResults(dict[str, InfrastructureResult]):
    """The result of one operation per engine (engine name -> result)."""

    def to_frame(self) -> pd.DataFrame:
        """Every engine's result table in one frame, with an ``engine`` column first."""
        import pandas as pd

        from infranb.core.textframe import shown

        frames = [_with_engine(name, result.to_frame()) for name, result in self.items()]
        return shown(pd.concat(frames, ignore_index=True)) if frames else shown(pd.DataFrame())

    @property
    def success(self) -> bool:
        return all(result.success for result in self.values())

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        from infranb.notebook.html import fleet_results_bundle, select

        return select(fleet_results_bundle(self), include, exclude)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        # IPython prints dicts with its own printer before asking the bundle: say it here.
        from infranb.notebook.html import fleet_results_bundle

        printer.text(fleet_results_bundle(self)["text/plain"])


class Fleet(EngineViews):
    """Named container engines, side by side.

    ``engines`` maps a name to a host URL (``unix://``, ``tcp://``, ``ssh://user@host``) or to
    an ``InfrastructureManager``; URLs get managers made with ``config`` (its ``docker_host``
    replaced by the URL). Every view of a manager (``containers()``, ``logs()``, ...) is a
    view of the fleet too: each engine's frame, an ``engine`` column first.
    """

    def __init__(
        self,
        engines: Mapping[str, str | InfrastructureManager],
        config: InfrastructureManagerConfig | None = None,
    ) -> None:
        if not engines:
            raise ValueError(
                "a fleet needs at least one engine: {'local': 'unix:///var/run/docker.sock'}"
            )
        self.config = config or InfrastructureManagerConfig()
        self._managers: dict[str, InfrastructureManager] = {}
        for name, engine in engines.items():
            if isinstance(engine, InfrastructureManager):
                self._managers[name] = engine
            elif isinstance(engine, str):
                own = dataclasses.replace(self.config, docker_host=engine, docker_context=None)
                self._managers[name] = InfrastructureManager(config=own)
            else:
                raise TypeError(
                    f"engine {name!r}: give a host URL or an InfrastructureManager, "
                    f"not {type(engine).__name__}"
                )
        #: what ``engines()`` last read, by engine (reprs show this and never call engines)
        self.last_status: dict[str, EngineStatus] = {}

    @classmethod
    def from_contexts(
        cls, names: Sequence[str] | None = None, config: InfrastructureManagerConfig | None = None
    ) -> Fleet:
        """A fleet of Docker CLI contexts (``docker context ls``), all of them by default."""
        from infranb.engines.docker import context_names

        chosen = list(names) if names is not None else context_names()
        return cls({n: InfrastructureManager.from_context(n, config) for n in chosen}, config)

    def __getitem__(self, name: str) -> InfrastructureManager:
        try:
            return self._managers[name]
        except KeyError:
            raise KeyError(
                f"no engine {name!r} in this fleet (engines: {', '.join(self)})"
            ) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._managers)

    def __len__(self) -> int:
        return len(self._managers)

    def close(self) -> None:
        for manager in self._managers.values():
            manager.close()

    # ---------------------------------------------------------------- concurrency

    def _selected(self, on: Sequence[str] | None) -> dict[str, InfrastructureManager]:
        names = list(on) if on is not None else list(self._managers)
        unknown = [n for n in names if n not in self._managers]
        if unknown:
            raise KeyError(f"no engine {unknown[0]!r} in this fleet (engines: {', '.join(self)})")
        return {n: self._managers[n] for n in names}

    async def _each(
        self,
        call: Callable[[InfrastructureManager], Awaitable[T]],
        on: Sequence[str] | None = None,
        *,
        timeout: float | None = None,
    ) -> dict[str, T | InfraError]:
        """``call`` on every engine at once; an engine's failure (or silence past
        ``timeout``) is its entry, never the others'."""

        async def one(name: str, manager: InfrastructureManager) -> T | InfraError:
            try:
                return await asyncio.wait_for(call(manager), timeout)
            except TimeoutError:
                return InfraError(
                    f"{self._host(name)} did not answer within {timeout:g} s "
                    "(config.connect_timeout)"
                )
            except InfraError as e:
                return e

        selected = self._selected(on)
        answers = await asyncio.gather(*(one(n, m) for n, m in selected.items()))
        return dict(zip(selected, answers, strict=True))

    def _host(self, name: str) -> str:
        return mask_url_credentials(self._managers[name].engine.host)

    # ---------------------------------------------------------------- engines

    async def aengines(self) -> pd.DataFrame:
        """One row per engine: host, version, API, OS, containers, running, reachable, error."""
        from infranb.views import engines as engines_view

        async def info(manager: InfrastructureManager) -> EngineInfo:
            return await manager._call(manager.info)

        answers = await self._each(info, timeout=self.config.connect_timeout)
        for name, answer in answers.items():
            if isinstance(answer, InfraError):
                status = EngineStatus(name, self._host(name), None, _sentence(answer))
            else:
                status = EngineStatus(name, self._host(name), answer)
            self.last_status[name] = status
        return engines_view.to_frame(self.last_status[name] for name in answers)

    engines = synchronous(aengines)

    def status_frame(self) -> pd.DataFrame:
        """What ``engines()`` last read, one row per engine, without asking any engine."""
        from infranb.views import engines as engines_view

        return engines_view.to_frame(self.last_status.values())

    # ---------------------------------------------------------------- inventory

    async def _view(self, view: View[Any], *args: Any, **kwargs: Any) -> pd.DataFrame:
        """Run one of the views (``EngineViews``) on every engine: their frames joined, an
        ``engine`` column first; an engine that fails is skipped with one printed line (and
        named in ``frame.attrs["errors"]``)."""
        import pandas as pd

        answers = await self._each(lambda m: m._view(view, *args, **kwargs), timeout=None)
        from infranb.core.textframe import shown

        frames, errors = [], {}
        for name, answer in answers.items():
            if isinstance(answer, InfraError):
                errors[name] = _sentence(answer)
                print(f"{name}: {errors[name]} Skipped.")
            else:
                frames.append(_with_engine(name, answer))
        # With no engine answering, the frame still has the view's columns.
        empty = _with_engine("", view.empty())
        joined = pd.concat(frames, ignore_index=True) if frames else None
        frame = empty if joined is None else shown(joined, empty.attrs.get(FIRST, ()))
        frame.attrs["errors"] = errors  # engine -> why it has no rows
        return frame

    async def ahealth(self, names: Sequence[str]) -> pd.DataFrame:
        """The health of ``names`` on every engine (``not_found`` where an engine lacks one)."""
        check = InfrastructureOperation(operation="health_check", container_ids=list(names))
        results = await self.execute(check)
        return results.to_frame()

    health = synchronous(ahealth)

    # ---------------------------------------------------------------- operations

    async def execute(
        self,
        operation: InfrastructureOperation,
        on: Sequence[str] | None = None,
        *,
        confirm: bool = False,
    ) -> FleetResults:
        """The same operation on every engine (or those named in ``on``), concurrently;
        ``confirm=True`` consents to destructive steps where ``confirm_destructive`` is on."""

        async def run(manager: InfrastructureManager) -> InfrastructureResult:
            return await manager.execute(operation, progress=lambda _event: None, confirm=confirm)

        answers = await self._each(run, on)
        results = FleetResults()
        for name, answer in answers.items():
            if isinstance(answer, InfraError):  # execute never raises; kept for safety
                answer = InfrastructureResult(
                    success=False, operation=operation.operation, error=str(answer)
                )
            results[name] = answer
        return results

    run = synchronous(execute)

    # ---------------------------------------------------------------- display

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        from infranb.notebook.html import fleet_bundle, select

        return select(fleet_bundle(self), include, exclude)

    def __repr__(self) -> str:
        return f"<Fleet of {len(self)} engine(s): {', '.join(self)}>"


def _sentence(error: BaseException) -> str:
    """The first line of an error: one clear sentence, no traceback."""
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


def _with_engine(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with an ``engine`` column first (in its HTML too)."""
    from infranb.core.textframe import shown

    first = frame.attrs.get(FIRST, ())
    frame = frame.copy()
    frame.insert(0, "engine", name)
    return shown(frame, ("engine", *first) if first else ())
