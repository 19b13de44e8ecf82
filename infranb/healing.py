"""``keep_healthy``: heal as the engine reports failures, for a bounded time.

A ``LiveFeed`` (``infranb.notebook.feed``) of the engine's container events
``health_status: unhealthy`` and ``die``, plus a tick. Each event of a selected container
runs one ``heal`` of it (a journal run of its own, under the same skips and budget); its
row says what the heal did. The engine sends ``health_status`` only when the status
changes, so a container a heal skipped because its stack had a run in progress is healed
again at the next tick after that run ends. On an engine that runs no checks by itself
(Podman here), each tick is a heal of the whole selection, whose look runs the checks: the
tick is the shortest check interval of the selection.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from infranb.core import labels as L
from infranb.core.frames import Schema, frame
from infranb.core.records import PastEvent

if TYPE_CHECKING:
    import pandas as pd

    from infranb.core.result import InfrastructureResult
    from infranb.engines.base import Engine
    from infranb.notebook.feed import LiveFeed


SCHEMA: Schema = {
    "time": "datetime64[ns, UTC]",
    "name": "string",
    "trigger": "string",
    "action": "string",
    "health_after": "string",
    "seconds": "Float64",
    "evidence": "string",
    "run_id": "string",
}
FIRST_COLUMNS = ("time", "name", "trigger", "action", "health_after", "evidence")
#: the tick where the engine runs checks itself (a retry of a heal a run in progress skipped)
TICK = 5.0
_TICK = object()


class Ticker:
    """A source that yields a tick every ``seconds`` until closed."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._closed = threading.Event()

    def __iter__(self) -> Iterator[object]:
        while not self._closed.wait(self.seconds):
            yield _TICK

    def close(self) -> None:
        self._closed.set()


class Healer:
    """Turns the feed's items into heals and their rows (called on the feed's thread)."""

    def __init__(
        self,
        heal: Callable[..., InfrastructureResult],
        engine: Engine,
        names: Sequence[str],
        stack: str | None,
        options: Mapping[str, Any],
    ) -> None:
        self.heal, self.names, self.stack, self.options = heal, set(names), stack, options
        self.checks_itself = engine.runs_healthchecks()
        #: containers a heal skipped because their stack had a run in progress
        self.waiting: set[str] = set()
        #: container -> when this feed's last heal of it began and ended
        self.own: dict[str, tuple[datetime, datetime]] = {}

    def selected(self, event: PastEvent) -> bool:
        if self.stack is not None:
            return L.stack_of(event.attributes) == self.stack
        return event.name in self.names or event.id in self.names

    def row(self, item: object) -> list[dict[str, Any]] | None:
        if item is _TICK:
            if not self.checks_itself:
                targets = {"stack": self.stack} if self.stack else {"names": sorted(self.names)}
                return self._heal("check", **targets)
            if self.waiting:
                waiting, self.waiting = sorted(self.waiting), set()
                return self._heal("retry", names=waiting)
            return None
        assert isinstance(item, PastEvent)
        if not self.selected(item) or self.caused_by_a_heal(item):
            return None
        if item.action == "health_status: unhealthy":
            return self._heal("unhealthy", names=[item.name])
        if item.action == "die" and item.attributes.get("exitCode", "0") != "0":
            return self._heal(f"died ({item.attributes['exitCode']})", names=[item.name])
        return None

    def _heal(self, trigger: str, **target: Any) -> list[dict[str, Any]] | None:
        began = datetime.now(UTC)
        result = self.heal(target.get("names"), stack=target.get("stack"), **self.options)
        for r in result.healed:
            if r.action in ("restart", "start"):
                self.own[r.name] = (began, datetime.now(UTC))
        return rows_of(result, trigger, self.waiting, quiet=trigger == "check")

    def caused_by_a_heal(self, event: PastEvent) -> bool:
        """Whether ``event`` came from this feed's own heal of it (a restart's die)."""
        began, ended = self.own.get(event.name, (None, None))
        return began is not None and ended is not None and began <= event.time <= ended


def rows_of(
    result: InfrastructureResult, trigger: str, waiting: set[str], *, quiet: bool = False
) -> list[dict[str, Any]] | None:
    """The rows of one heal; ``quiet`` leaves out containers it had nothing to do to."""
    now = datetime.now(UTC)
    rows = []
    if not result.healed and result.error:
        return [{"time": now, "name": result.stack or "", "trigger": trigger,
                 "action": f"failed: {result.error}", "run_id": result.run_id}]  # fmt: skip
    for r in result.healed:
        if r.action.startswith("skipped: stack") and "run in progress" in r.action:
            waiting.add(r.name)
        if quiet and (r.action.startswith("healthy") or r.action.startswith("skipped")):
            continue
        rows.append({
            "time": now, "name": r.name, "trigger": trigger, "action": r.action,
            "health_after": r.health_after, "seconds": r.seconds,
            "evidence": r.evidence.summary() if r.evidence else None, "run_id": result.run_id,
        })  # fmt: skip
    return rows or None


def rows_frame(rows: Sequence[dict[str, Any]]) -> pd.DataFrame:
    return frame(rows, SCHEMA, first=FIRST_COLUMNS)


def keep_healthy(
    heal: Callable[..., InfrastructureResult],
    engine: Engine,
    names: Sequence[str],
    stack: str | None,
    seconds: float,
    options: Mapping[str, Any],
) -> LiveFeed:
    """The feed ``manager.keep_healthy`` returns: ``heal`` is the manager's."""
    from infranb.notebook.feed import LiveFeed

    healer = Healer(heal, engine, names, stack, options)
    tick = TICK if healer.checks_itself else _check_interval(engine, names, stack)

    def sources() -> list[Any]:
        wanted = {"type": ["container"], "event": ["health_status", "die"]}
        return [engine.event_feed(wanted), Ticker(tick)]

    title = "keep healthy" + (f": stack {stack}" if stack else f": {', '.join(names)}")
    return LiveFeed(title, sources, healer.row, rows_frame, seconds=seconds, count=None)


def _check_interval(engine: Engine, names: Sequence[str], stack: str | None) -> float:
    """The shortest health-check interval of the selection (where the engine runs none)."""
    selectors = L.stack_selectors(stack) if stack else []
    found = [c for s in selectors for c in engine.list_containers(labels=s)]
    refs = [c.id for c in found] or list(names)
    intervals = [
        d.health_interval
        for d in (engine.inspect_container(r) for r in refs)
        if d is not None and d.health_interval
    ]
    return max(0.2, min(intervals, default=TICK))
