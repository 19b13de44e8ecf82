"""What a manager reads beyond the views: live feeds of events and log lines, files copied
out of a container, and drift (what a request asks against what runs). Nothing here changes
an engine; ``InfrastructureManager`` inherits it from ``EngineReads``."""

from __future__ import annotations

import concurrent.futures
import functools
import os
from collections.abc import Callable, Coroutine, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

from infranb.core.errors import EngineUnavailable, InfraError, NotFound, Problem, ValidationError
from infranb.core.secrets import Redactor
from infranb.core.stored import stored_operation
from infranb.core.sync import synchronous
from infranb.engines.base import Engine
from infranb.journal import Journal
from infranb.models import InfrastructureManagerConfig, InfrastructureOperation
from infranb.runtime import Runtime
from infranb.views import EngineContext, EngineViews, View

if TYPE_CHECKING:
    import pandas as pd

    from infranb.inputs.compose import Project
    from infranb.notebook.feed import LiveFeed

T = TypeVar("T")
P = ParamSpec("P")


def _needs_engine(
    empty: Callable[[], T],
) -> Callable[
    [Callable[Concatenate[EngineReads, P], Coroutine[Any, Any, T]]],
    Callable[Concatenate[EngineReads, P], Coroutine[Any, Any, T]],
]:
    """With ``config.no_engine == "note"``, a helper that finds no engine prints one line and
    returns ``empty()`` instead of raising (notebooks that must open on Binder)."""

    def wrap(
        method: Callable[Concatenate[EngineReads, P], Coroutine[Any, Any, T]],
    ) -> Callable[Concatenate[EngineReads, P], Coroutine[Any, Any, T]]:
        @functools.wraps(method)
        async def run(self: EngineReads, *args: P.args, **kwargs: P.kwargs) -> T:
            try:
                return await method(self, *args, **kwargs)
            except EngineUnavailable as e:
                if not self._notes_missing_engine(e, method.__name__):
                    raise
                return empty()

        return run

    return wrap


def _unpack(archive: bytes, target: Path) -> Path:
    """Unpack an engine's archive of one path into ``target`` (a folder: inside it; else as
    it); tarfile's ``data`` filter refuses absolute paths, ``..`` and device files."""
    import io
    import tarfile

    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        members = tar.getmembers()
        if not members:
            raise NotFound(f"copying to {target}: the archive is empty")
        top = members[0].name.split("/")[0]
        if target.is_dir():
            tar.extractall(target, filter="data")
            return target / top
        target.parent.mkdir(parents=True, exist_ok=True)
        for member in members:  # the top entry takes the target's name
            rest = member.name.split("/", 1)[1:]
            member.name = "/".join([target.name, *rest])
        tar.extractall(target.parent, members=members, filter="data")
    return target


def _empty_drift() -> pd.DataFrame:
    """``drift``'s frame with no rows (what a notebook without an engine shows)."""
    from infranb.core.frames import frame
    from infranb.ops import table

    return frame([], table.DRIFT_SCHEMA)


class EngineReads(EngineViews):
    """What a manager reads beyond the views (``InfrastructureManager`` inherits it): live
    feeds of events and log lines, files copied out of a container, and drift. Nothing here
    changes an engine, so nothing here is journaled."""

    engine: Engine
    config: InfrastructureManagerConfig
    journal: Journal | None
    _executor: concurrent.futures.ThreadPoolExecutor
    _context: EngineContext

    async def _call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await self._context.call(fn, *args, **kwargs)

    def _require_journal(self) -> Journal:
        if self.journal is None:
            raise InfraError(
                "the journal is off (config.journal=None); set config.journal to a file path "
                "to record runs"
            )
        return self.journal

    async def _view(self, view: View[Any], *args: Any, **kwargs: Any) -> pd.DataFrame:
        """Run one of the views (``EngineViews``) on this manager's engine."""
        try:
            return await view.query(self._context, *args, **kwargs)
        except EngineUnavailable as e:
            if not self._notes_missing_engine(e, view.name):
                raise
            return view.empty()

    def _notes_missing_engine(self, error: EngineUnavailable, what: str) -> bool:
        """With ``config.no_engine == "note"``: print one line for a helper that found no
        engine (it then returns an empty result) and say so."""
        if self.config.no_engine != "note":
            return False
        print(f"{error} Skipped: {what.removeprefix('a')}().")
        return True

    def watch_events(
        self,
        *,
        filters: Mapping[str, str | Sequence[str]] | None = None,
        seconds: float | None = 60.0,
        count: int | None = 1000,
    ) -> LiveFeed:
        """The engine's events as they happen (the rows of ``events()``): iterate it in
        plain Python; shown in a notebook it is a live table with a Stop button that keeps
        the kernel free. It ends after ``seconds`` or ``count`` events, or at ``stop()``."""
        from infranb.notebook.feed import LiveFeed
        from infranb.views import events as events_view

        wanted = {k: [v] if isinstance(v, str) else list(v) for k, v in (filters or {}).items()}
        return LiveFeed(
            "engine events",
            lambda: [self.engine.event_feed(wanted)],
            events_view.event_row,
            events_view.rows_frame,
            seconds=seconds,
            count=count,
        )

    def follow_logs(
        self,
        names: str | Sequence[str] | None = None,
        *,
        stack: str | None = None,
        since: datetime | float | str | None = None,
        grep: str | None = None,
        seconds: float | None = 60.0,
        count: int | None = 1000,
    ) -> LiveFeed:
        """New log lines of containers (``names`` or a ``stack``) as they print them, both
        streams, masked, then kept by ``grep``; with ``since``, the lines since then first.
        One object in both worlds, as ``watch_events``."""
        from infranb.notebook.feed import LiveFeed, Tagged
        from infranb.views import logs as logs_view
        from infranb.views.when import moment

        if isinstance(names, str):
            names = [names]
        if names is None:
            if not stack:
                raise ValidationError(["follow_logs: name the containers, or give stack="])
            # the containers view finds a stack by each of its selectors (infranb's, Compose's)
            names = [str(n) for n in self.containers(stack=stack)["name"]]
        pattern = logs_view.pattern_of(grep)
        start = moment(since, field="since") if since is not None else None
        redact = {
            n: Redactor(self._context.secrets_of(self.engine.inspect_container(n))) for n in names
        }

        def row(item: tuple[tuple[str, str], str]) -> dict[str, Any] | None:
            (name, stream), line = item
            (found,) = logs_view.rows_of(name, [line], redact[name], stream)
            return found if pattern is None or pattern.search(found["line"]) else None

        return LiveFeed(
            f"logs of {', '.join(names)}",
            lambda: [
                Tagged(self.engine.log_feed(n, s, start), (n, s))
                for n in names
                for s in logs_view.STREAMS
            ],
            row,
            logs_view.rows_frame,
            seconds=seconds,
            count=count,
        )

    @_needs_engine(Path)
    async def acopy_from(
        self, name: str, container_path: str, host_path: str | os.PathLike[str]
    ) -> Path:
        """Copy ``container_path`` (a file or folder) of container ``name`` to the kernel's
        machine: into ``host_path`` when it is a folder, else as ``host_path``. Paths in the
        archive that would land outside it are refused. Returns where it is now."""
        archive = await self._call(self.engine.get_archive, name, container_path)
        return _unpack(archive, Path(host_path).expanduser())

    copy_from = synchronous(acopy_from)

    @_needs_engine(lambda: _empty_drift())
    async def adrift(self, target: Project | InfrastructureOperation | str) -> pd.DataFrame:
        """Every difference between what ``target`` asks and what runs, one row per field
        (container, field, desired, actual; secrets masked), read from inspect data, so it
        covers containers made by infranb, by ``docker compose`` or by hand. ``target`` is a
        Compose project, an ``orchestrate_containers`` request, or a stack name (its last
        successful orchestrate request in the journal). Empty when in sync."""
        from infranb.core.frames import frame
        from infranb.ops import table

        request = self._drift_request(target)
        _operation, command, problems = request.parse(self.config)
        if problems:
            raise ValidationError(problems)
        rt = Runtime(self.engine, self.config, self._executor)
        return frame(await table.drift(command, rt), table.DRIFT_SCHEMA)

    drift = synchronous(adrift)

    def _drift_request(
        self, target: Project | InfrastructureOperation | str
    ) -> InfrastructureOperation:
        if isinstance(target, InfrastructureOperation):
            from infranb.ops.table import OPERATIONS

            declared = OPERATIONS.get(str(target.operation))
            if declared is None or not declared.desired_state:
                raise ValidationError(
                    [Problem("operation", "drift compares an orchestrate_containers request")]
                )
            return target
        if not isinstance(target, str):
            return target.operation()
        stored = self._require_journal().last_request(target)
        if stored is None:
            raise NotFound(
                f"no successful orchestrate run of stack {target!r} in the journal: pass the "
                "Compose project or the request to compare with",
                resource=target,
            )
        # The containers are what drift compares; a run's builds (params) are not state.
        return stored_operation(stored, leave_out=("params",))
