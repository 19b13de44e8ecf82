"""The one executor: every operation of the table runs through ``Executor.run``.

It parses the request at the edge (the operation's typed command, or the problems with
their paths), sets up the gates (consent, ``max_removals``) that the operation's plan passes
before its first engine call, writes the journal record before that call and each step as
it goes, shows the live line in a notebook, turns a cancel into one sentence after the
operation's rollback, and assembles the one ``InfrastructureResult``. The manager's helpers
build a request and hand it here; nothing else changes an engine.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from infranb.core.errors import (
    EngineUnavailable,
    InfraError,
    StackBusy,
    ValidationError,
    shown_as,
)
from infranb.core.outcome import Outcome
from infranb.core.records import EngineInfo
from infranb.core.secrets import Redactor, mask_url_credentials
from infranb.core.stored import stored, stored_request
from infranb.core.sync import in_notebook
from infranb.engines.base import Engine
from infranb.journal import (
    REVERT,
    HealCounts,
    Journal,
    Recorder,
    RunStart,
    change_counts,
    result_summary,
    run_outcome,
)
from infranb.models import (
    InfrastructureManagerConfig,
    InfrastructureOperation,
    InfrastructureResult,
)
from infranb.runtime import (
    Gates,
    HealBudget,
    ProgressCallback,
    Runtime,
    context_value,
    correlation_id_of,
    new_run_id,
)

if TYPE_CHECKING:
    from infranb.core.result import Plan
    from infranb.ops.base import Operation, Resolved

T = TypeVar("T")
log = logging.getLogger("infranb")

#: how a form asks for consent: always, and with its Confirm button
FORM_CONSENT = {
    "asked_by": "this form asks before it removes, replaces or stops anything",
    "how_to_consent": "press the form's Confirm button",
}


def cancelled_sentence(
    operation: str, seconds: float, cancelled: BaseException, outcome: Outcome
) -> str:
    """What a cancelled run did, in one sentence: how long it ran, what it rolled back."""
    notes = [n for n in getattr(cancelled, "__notes__", ()) if "roll" in n]
    done = notes[-1] if notes else "it had nothing to roll back"
    if outcome.remaining:
        done += f" (left in place: {', '.join(outcome.remaining)})"
    return f"{operation} was cancelled after {seconds:.1f} s; {done}"


@dataclass
class EngineIdentity:
    """What ``info()`` last read of the engine (reprs show it; a journal record names the
    engine's id from it), and why the last read failed."""

    info: EngineInfo | None = None
    error: str | None = None


@dataclass
class Executor:
    """Runs the operations of one manager: its engine, config, worker threads and journal."""

    engine: Engine
    config: InfrastructureManagerConfig
    pool: concurrent.futures.ThreadPoolExecutor
    journal: Journal | None
    identity: EngineIdentity
    #: the heal budget without a journal: counted for this manager's lifetime
    heal_counts: HealCounts = dataclasses.field(default_factory=HealCounts)

    @property
    def heal_budget(self) -> HealBudget:
        return self.journal if self.journal is not None else self.heal_counts

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.pool, lambda: fn(*args))

    async def run(
        self,
        operation: InfrastructureOperation,
        context: object = None,
        progress: ProgressCallback | None = None,
        *,
        confirm: bool = False,
        ask_consent: bool | None = None,
        from_form: bool = False,
        applying: Plan | None = None,
    ) -> InfrastructureResult:
        """Parse, gate, journal and run ``operation``; the result, never a raise for a bad
        request or a failure. ``ask_consent`` overrides ``config.confirm_destructive``;
        ``from_form``: a refusal points at the form's Confirm button; ``applying``: the
        saved plan this run must carry out exactly (its gate compares), named in the
        journal with its approvals."""
        correlation_id = correlation_id_of(context)
        run_id = new_run_id()
        notes: list[str] = []
        reverts: str | None = None
        spec, command, problems = operation.parse(self.config)
        if spec is not None and command is not None and spec.resolve is not None:
            # An operation run as another request (a revert): that request is the run.
            resolved = await self._resolve(operation, spec, command, correlation_id, run_id)
            if isinstance(resolved, InfrastructureResult):
                return resolved
            operation, notes, reverts = resolved.request, resolved.notes, resolved.reverts
            spec, command, problems = operation.parse(self.config)
        name = str(operation.operation)
        if spec is None or command is None:
            error = ValidationError(problems)
            return InfrastructureResult.from_outcome(
                name, Outcome(), error=error, correlation_id=correlation_id, run_id=run_id
            )
        limit = operation.max_removals
        gates = Gates(
            self.config.max_removals if limit is None else limit,
            self.config.confirm_destructive if ask_consent is None else ask_consent,
            confirm,
            **(FORM_CONSENT if from_form else {}),
        )
        recorder, journal_note = None, None
        if self.journal is not None and spec.changes_engine and not operation.dry_run:
            try:
                recorder = self._begin_record(
                    run_id,
                    REVERT if reverts else name,  # a revert is a run of its own kind
                    getattr(command, "stack", operation.stack),
                    self._stored(operation),
                    correlation_id,
                    reverts,
                    notebook=context_value(context, "notebook"),
                )
            except StackBusy as busy:  # another run changes this stack right now
                return InfrastructureResult.from_outcome(
                    name, Outcome(stack=getattr(command, "stack", None)), error=busy,
                    correlation_id=correlation_id, run_id=run_id,
                )  # fmt: skip
            except Exception as e:  # an unwritable journal must not stop the work
                journal_note = f"journal {self.journal.path} unavailable ({e}): run not recorded"
            if recorder is not None and applying is not None:
                with contextlib.suppress(Exception):
                    self.journal.mark_plan(run_id, applying.id, applying.approvals)
        engine_info: asyncio.Future[EngineInfo] | None = None
        if recorder is not None and self.identity.info is None:
            # The record names the engine's id: read it while the run works (Podman takes
            # about 1 s to answer /version and /info here), not after it.
            engine_info = asyncio.ensure_future(self._call(self.engine.info))
        live = None
        wants_live = progress is None and self.config.live_progress and not operation.dry_run
        if wants_live and in_notebook():  # checked first: scripts never import the display
            from infranb.notebook.live import LiveProgress

            live = LiveProgress(name)
        rt = Runtime(
            self.engine,
            self.config,
            self.pool,
            correlation_id=correlation_id,
            progress=progress or live,
            run_id=run_id,
            recorder=recorder,
            gates=gates,
            journal=self.journal,
            heal_budget=self.heal_budget,
            expected=(
                ([r.to_json() for r in applying], [s.to_json() for s in applying.steps])
                if applying is not None
                else None
            ),
        )
        outcome = Outcome()
        failure: BaseException | None = None
        try:
            if spec.run is not None:
                await spec.run(command, rt, outcome)
            else:
                await self._run_plan(spec, command, rt, outcome, dry_run=operation.dry_run)
        except asyncio.CancelledError as cancelled:
            if engine_info is not None:
                engine_info.cancel()
            # One sentence in a notebook, not a traceback into asyncio; it still raises, so
            # Run All stops before the cells after it.
            sentence = cancelled_sentence(name, rt.elapsed(), cancelled, outcome)
            shown_as(cancelled, sentence)
            if live is not None:
                live.finish(False, sentence)
            if recorder is not None:
                self._record_cancelled(recorder, outcome, rt.redact)
            raise
        except InfraError as e:
            failure = e
        except Exception as e:
            log.exception("infranb: unexpected error in %s", name)
            failure = InfraError(
                f"unexpected {type(e).__name__} in {name}: {e}; this is a bug in infranb, "
                "please report it"
            )
            failure.__cause__ = e
        outcome.warnings.extend(rt.warnings + notes)
        outcome.stopped.extend(rt.stopped)
        if journal_note:
            outcome.warnings.append(journal_note)
        result = InfrastructureResult.from_outcome(
            name,
            outcome,
            error=failure,
            redact=rt.redact,
            correlation_id=correlation_id,
            duration_seconds=round(rt.elapsed(), 3),
            run_id=run_id,
        )
        if applying is not None:
            result.applied_plan = rt.redact(applying.applied_line())
        if recorder is not None:
            await self._finish_record(recorder, outcome, result, rt.redact, engine_info)
        if live is not None:
            from infranb.notebook.live import outcome_line

            live.finish(result.success, outcome_line(result))
        log.info(
            "%s %s in %.2fs%s",
            name,
            "succeeded" if result.success else "failed",
            result.duration_seconds,
            f": {result.error}" if result.error else "",
        )
        return result

    def _stored(self, operation: InfrastructureOperation) -> dict[str, Any]:
        """The request as the journal keeps it (secrets masked)."""
        fields = {f.name: getattr(operation, f.name) for f in dataclasses.fields(operation)}
        return stored_request(fields, Redactor(markers=self.config.secret_markers))

    async def _resolve(
        self,
        operation: InfrastructureOperation,
        spec: Operation[Any],
        command: object,
        correlation_id: str | None,
        run_id: str,
    ) -> Resolved | InfrastructureResult:
        """The request an operation runs in its place, or the failed result of one that
        cannot be resolved (journaled as a failed run of its own)."""
        assert spec.resolve is not None
        try:
            looked = Runtime(self.engine, self.config, self.pool, journal=self.journal)
            return await spec.resolve(command, looked)
        except InfraError as e:
            failed = InfrastructureResult.from_outcome(
                str(operation.operation), Outcome(), error=e, correlation_id=correlation_id,
                run_id=run_id,
            )  # fmt: skip
            if self.journal is not None and not operation.dry_run:
                reverts = getattr(command, "run_id", None)
                self.record_unrun(failed, self._stored(operation), reverts)
            return failed

    @staticmethod
    async def _run_plan(
        spec: Operation[Any], command: object, rt: Runtime, outcome: Outcome, *, dry_run: bool
    ) -> None:
        """A stepped operation: observe, plan (pure), gate the whole plan, journal the prior
        state, run the steps. A dry run stops at the plan."""
        from infranb.ops.table import gate_lists, run_steps

        assert spec.observe is not None and spec.plan is not None
        observation = await spec.observe(command, rt)
        plan = spec.plan(command, observation, rt.config)
        outcome.stack, outcome.dry_run = plan.stack, dry_run
        outcome.steps = list(plan.steps)
        outcome.plan = [step.row() for step in plan.steps]
        rt.gate(*gate_lists(plan.steps), dry_run=dry_run, plan=outcome.plan, steps=plan.steps)
        if dry_run:
            return
        if plan.prior:
            rt.record_prior(plan.prior)
        await run_steps(plan.steps, rt, outcome)

    def _begin_record(
        self,
        run_id: str,
        operation: str,
        stack: str | None,
        request: dict[str, Any],
        correlation_id: str | None = None,
        reverts: str | None = None,
        *,
        notebook: str | None = None,
    ) -> Recorder:
        """Write the ``running`` record of a run (operations and helpers alike); the notebook
        is the run's context's, else the config's, else what the kernel tells."""
        assert self.journal is not None
        start = RunStart(
            run_id=run_id,
            operation=operation,
            stack=stack,
            engine=mask_url_credentials(self.engine.host),
            engine_id=self.identity.info.engine_id if self.identity.info else None,
            request=request,
            correlation_id=correlation_id,
            reverts=reverts,
            notebook=notebook or self.config.notebook,
        )
        return self.journal.begin(start)

    async def _finish_record(
        self,
        recorder: Recorder,
        outcome: Outcome,
        result: InfrastructureResult,
        redact: Redactor,
        engine_info: asyncio.Future[EngineInfo] | None = None,
    ) -> None:
        """Complete the run's record; the engine's id is read once per manager (by
        ``engine_info``, started with the run, when given)."""
        engine_id = self.identity.info.engine_id if self.identity.info else None
        # An engine that did not answer the run is not waited for again.
        if isinstance(result.exception, EngineUnavailable):
            if engine_info is not None:
                engine_info.cancel()
        elif engine_id is None:
            with contextlib.suppress(InfraError):
                info = await (engine_info or self._call(self.engine.info))
                self.identity.info = info
                engine_id = info.engine_id
        try:
            recorder.finish(
                run_outcome(result),
                changes=change_counts(result),
                error=result.error,
                plan=[stored(dataclasses.asdict(s), redact) for s in outcome.plan],
                result=stored(result_summary(result), redact),
                engine_id=engine_id,
                stack=outcome.stack,  # known only once the run looked (named containers)
            )
        except Exception as e:
            result.warnings.append(f"journal: the end of this run was not recorded ({e})")

    def record_unrun(
        self,
        result: InfrastructureResult,
        request: dict[str, Any],
        reverts: str | None,
        applying: Plan | None = None,
    ) -> None:
        """The record of a run that ended before it could start (a revert that cannot be
        planned, a saved plan the host no longer matches): failed or refused, with its one
        sentence."""
        with contextlib.suppress(Exception):
            recorder = self._begin_record(
                str(result.run_id), result.operation, None, request, reverts=reverts
            )
            if applying is not None and self.journal is not None:
                self.journal.mark_plan(str(result.run_id), applying.id, applying.approvals)
            outcome = "refused" if result.refused else "failed"
            recorder.finish(outcome, changes={}, error=result.error, plan=[], result={})

    @staticmethod
    def _record_cancelled(recorder: Recorder, outcome: Outcome, redact: Redactor) -> None:
        """A cancelled run's end (no awaiting here: the task is being cancelled)."""
        rolled_back = outcome.rolled_back
        with contextlib.suppress(Exception):
            recorder.finish(
                "rolled back" if rolled_back else "interrupted",
                changes={},
                error="cancelled" + (" and rolled back" if rolled_back else ""),
                plan=[stored(dataclasses.asdict(s), redact) for s in outcome.plan],
                result={},
            )
