"""What one running operation needs: bounded engine calls off the loop, progress, labels.

``Runtime`` is created per ``execute`` call, so its semaphore belongs to the loop the
operation runs on. Engine calls go through ``call``: at most ``config.max_parallel`` at once,
each on the manager's worker threads; ``drain`` waits for calls still running on a thread
after their awaiting task was cancelled (rollback must see everything they created).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol, TypeVar

from infranb.core import labels as L
from infranb.core.config import InfrastructureManagerConfig
from infranb.core.entry import JournalEntry
from infranb.core.errors import PlanChanged, Refused
from infranb.core.planning import PlanStep
from infranb.core.records import ContainerDetails, Evidence, ProgressEvent
from infranb.core.secrets import Redactor
from infranb.core.steps import Step
from infranb.core.sync import gather_all
from infranb.engines.base import Engine

T = TypeVar("T")

ProgressCallback = Callable[[ProgressEvent], Any]


class RunRecorder(Protocol):
    """Where a run's steps and prior state are written as they happen (the journal)."""

    def step(self, event: ProgressEvent) -> None: ...

    def prior(self, state: Mapping[str, Any], redact: Redactor | None = None) -> None: ...


class JournalReader(Protocol):
    """What an operation may read of the journal (``revert`` plans from it)."""

    def entry(self, run_id: str) -> JournalEntry: ...

    def later_runs(self, stack: str, after: str) -> list[str]: ...

    def busy_stacks(self, engine: str, but: str | None = None) -> dict[str, str]: ...


class HealBudget(Protocol):
    """Where heals are counted (the journal, else the manager's memory)."""

    def heals_within(self, engine: str, container: str, seconds: float) -> int: ...

    def claim_heal(
        self, engine: str, container: str, run_id: str, limit: int, seconds: float
    ) -> int | None: ...


@dataclass(frozen=True)
class Gates:
    """The safety gates of one run: how much it may remove, whether removals need consent."""

    max_removals: int | None = None
    confirm_required: bool = False
    confirmed: bool = False
    #: who asks for consent, and how it is given (a form asks, and has a Confirm button)
    asked_by: str = "config.confirm_destructive"
    how_to_consent: str = "run again with confirm=True"


def check_gates(gates: Gates, destructive: Sequence[str], disruptive: Sequence[str] = ()) -> None:
    """Raise ``Refused`` when the steps remove or recreate more than ``max_removals``, or when
    any step is destructive (removes, recreates) or disruptive (stops, restarts) without the
    consent ``confirm_destructive`` asks for. Steps are named: "recreate container web"."""
    count, limit = len(destructive), gates.max_removals
    shown = ", ".join(destructive[:10]) + (f", and {count - 10} more" if count > 10 else "")
    if limit is not None and count > limit:
        raise Refused(
            f"refused: the plan removes or recreates {count} resource(s) ({shown}), "
            f"more than max_removals={limit}; nothing was touched. Review result.plan, "
            "then narrow the request or raise max_removals",
            steps=list(destructive),
            needs_consent=False,
        )
    steps = [*destructive, *disruptive]
    if not steps or not gates.confirm_required or gates.confirmed:
        return
    if destructive:
        reason = (
            f"the plan removes or recreates {count} resource(s) ({shown}) and destructive "
            f"steps need consent ({gates.asked_by})"
        )
    else:
        reason = (
            f"stopping or restarting {len(steps)} container(s) ({', '.join(steps[:10])}) "
            f"needs consent ({gates.asked_by})"
        )
    raise Refused(
        f"refused: {reason}; nothing was touched. Review result.plan, then {gates.how_to_consent}",
        steps=steps,
        needs_consent=True,
    )


def context_value(context: object, key: str) -> str | None:
    """What ``context`` carries under ``key``, as attribute or mapping key."""
    if context is None:
        return None
    value = context.get(key) if isinstance(context, Mapping) else getattr(context, key, None)
    return None if value is None else str(value)


def correlation_id_of(context: object) -> str | None:
    """A correlation id carried by ``context`` as attribute or key ``correlation_id``."""
    return context_value(context, "correlation_id")


def new_run_id() -> str:
    return uuid.uuid4().hex[:12]


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
        run_id: str | None = None,
        recorder: RunRecorder | None = None,
        gates: Gates | None = None,
        journal: JournalReader | None = None,
        heal_budget: HealBudget | None = None,
        expected: tuple[Sequence[Mapping[str, Any]], Sequence[Mapping[str, Any]]] | None = None,
    ) -> None:
        self.engine = engine
        #: where heals are counted against ``max_restarts`` (``heal``)
        self.heal_budget = heal_budget
        #: the rows of the saved plan this run applies (``manager.apply``); the gate holds
        #: the run to them
        self.expected = expected
        #: the manager's journal, read by an operation that plans from it (``revert``)
        self.journal = journal
        self.config = config
        self.correlation_id = correlation_id
        self.run_id = run_id or new_run_id()
        self.recorder = recorder
        self.gates = gates or Gates(config.max_removals, config.confirm_destructive)
        self.redact = redact or Redactor(markers=config.secret_markers)
        self.warnings: list[str] = []
        #: containers this run stopped, by name (the result's ``containers_stopped``)
        self.stopped: list[str] = []
        #: volume -> driver options a request gave (a restore's ``driver_opts``): secret
        #: values a step must not carry, since steps are shown and saved
        self.volume_options: dict[str, dict[str, str]] = {}
        #: container name -> its inspect, read by a plan's observe for a step that makes it
        #: again (a restore's replace): environments a step must not carry either
        self.blueprints: dict[str, ContainerDetails] = {}
        #: container name -> what a heal's observe saw before any change (its steps' rows)
        self.evidence: dict[str, Evidence] = {}
        self._executor = executor
        self._progress = progress
        self._slots = asyncio.Semaphore(config.max_parallel)
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
        async with self._slots:
            future = self._executor.submit(functools.partial(fn, *args, **kwargs))
            self._in_flight.add(future)
            loop = asyncio.get_running_loop()

            def forget(done: concurrent.futures.Future[Any]) -> None:
                # Runs on the worker thread: hand the bookkeeping to the loop, unless the
                # run is over and its loop closed (a call cancelled by a failing sibling
                # may end after that); then there is nothing left to keep.
                with contextlib.suppress(RuntimeError):
                    loop.call_soon_threadsafe(self._in_flight.discard, done)

            future.add_done_callback(forget)
            return await asyncio.wrap_future(future)

    async def gather(self, *calls: Any) -> list[Any]:
        """Await coroutines together; on the first failure cancel the rest, then re-raise."""
        return await gather_all(*calls)

    async def drain(self) -> None:
        """Wait until no engine call of this run is still running on a thread."""
        while self._in_flight:
            waiting = [asyncio.wrap_future(f) for f in list(self._in_flight)]
            done, _ = await asyncio.wait(waiting)
            for mirror in done:
                # The caller saw (or dropped) the outcome already; the mirror's own copy of
                # a failure would otherwise be logged as "never retrieved".
                if not mirror.cancelled():
                    mirror.exception()
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
        if self._progress is None and self.recorder is None:
            return
        event = ProgressEvent(kind, resource, self.redact(message), current, total)
        if self.recorder is not None:
            try:
                self.recorder.step(event)
            except Exception as e:  # the journal must never break the operation
                self.recorder = None
                self.warnings.append(f"journal: steps no longer recorded ({e})")
        if self._progress is None:
            return
        try:
            self._progress(replace(event))
        except Exception as e:
            self._progress = None
            self.warnings.append(f"progress callback failed and was disabled: {e!r}")

    def gate(
        self,
        destructive: Sequence[str],
        disruptive: Sequence[str] = (),
        *,
        dry_run: bool = False,
        plan: Sequence[PlanStep] | None = None,
        steps: Sequence[Step] = (),
    ) -> None:
        """Refuse the run before it touches anything (``check_gates``). A dry run is never
        refused: it is warned that the real run would be. A run that applies a saved plan
        (``expected``) is refused when the ``plan`` it is about to carry out differs from it
        by a single field: what runs is exactly what was approved."""
        if self.expected is not None and not dry_run and plan is not None:
            from infranb.core.plans import step_differences

            rows, saved_steps = self.expected
            differences = step_differences(rows, [row.to_json() for row in plan])
            differences += step_differences(
                saved_steps, [s.to_json() for s in steps], "executor step"
            )
            if differences:
                raise PlanChanged(
                    "refused: the plan this run made differs from the saved plan it applies "
                    f"({len(differences)} difference(s), first: {differences[0].name} "
                    f"{differences[0].field} was {differences[0].at_plan!r}, now "
                    f"{differences[0].now!r}); nothing was touched. Make a new plan",
                    differences=differences,
                )
        if dry_run:
            try:
                check_gates(self.gates, destructive, disruptive)
            except Refused as e:
                self.warnings.append(f"a real run would be {e}")
            return
        check_gates(self.gates, destructive, disruptive)

    def record_prior(self, state: Mapping[str, Any]) -> None:
        """Journal the state before this run changes anything (for revert)."""
        if self.recorder is None:
            return
        try:
            self.recorder.prior(state, self.redact)
        except Exception as e:
            self.warnings.append(f"journal: prior state not recorded ({e})")

    def elapsed(self) -> float:
        return time.monotonic() - self.started
