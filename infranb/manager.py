"""``InfrastructureManager``: validate, run an operation of the table, assemble the result.

``await manager.execute(op)`` in a notebook cell or any coroutine; ``manager.run(op)`` from
synchronous code, including inside a running Jupyter kernel (the operation then runs on a
worker thread with its own event loop, so no global asyncio patching is needed). The views
(``containers()``, ``logs()``, ...) come from ``infranb.views.EngineViews``.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import logging
import os
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from infranb.core.errors import (
    EngineUnavailable,
    InfraError,
    ValidationError,
)
from infranb.core.outcome import Outcome
from infranb.core.records import EngineInfo
from infranb.core.secrets import mask_url_credentials
from infranb.core.sync import run_sync, synchronous
from infranb.engines import connect
from infranb.engines.base import Engine
from infranb.executor import EngineIdentity, Executor
from infranb.journal import Journal, JournalEntry
from infranb.models import (
    InfrastructureManagerConfig,
    InfrastructureOperation,
    InfrastructureResult,
)
from infranb.reading import EngineReads
from infranb.runtime import (
    ProgressCallback,
    correlation_id_of,
    new_run_id,
)
from infranb.views import EngineContext

if TYPE_CHECKING:
    import pandas as pd

    from infranb.core.result import Plan
    from infranb.inputs.compose import Project
    from infranb.notebook.feed import LiveFeed

T = TypeVar("T")
P = ParamSpec("P")
log = logging.getLogger("infranb")


class DescribedOperation:
    """A request together with the config that will run it (``manager.describe(op)``)."""

    def __init__(
        self, operation: InfrastructureOperation, config: InfrastructureManagerConfig
    ) -> None:
        self.operation = operation
        self.config = config

    def problems(self) -> list[str]:
        return list(self.operation.validate(self.config))

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        from infranb.notebook import operation_bundle, select

        return select(operation_bundle(self.operation, self.config), include, exclude)

    def __str__(self) -> str:
        from infranb.notebook import operation_bundle

        return operation_bundle(self.operation, self.config)["text/plain"]

    __repr__ = __str__


def down_operation(
    stack: str, *, volumes: bool = False, dry_run: bool = False
) -> InfrastructureOperation:
    """The request ``manager.down`` runs: cleanup of one stack, forced."""
    return InfrastructureOperation(
        operation="cleanup_resources",
        stack=stack,
        cleanup_stopped_containers=True,
        force_remove=True,
        cleanup_volumes=volumes,
        dry_run=dry_run,
    )


class InfrastructureManager(EngineReads):
    """Runs infrastructure operations against one container engine.

    Args:
        config: behaviour settings; defaults to ``InfrastructureManagerConfig()``.
        engine: any ``infranb.Engine`` (``infranb.testing.MemoryEngine`` for tests); by
            default the engine at ``config.docker_host`` (else ``DOCKER_HOST``), whose kind
            is read from its first answer (``infranb.engines.connect``).
    """

    def __init__(
        self, config: InfrastructureManagerConfig | None = None, engine: Engine | None = None
    ) -> None:
        self.config = config or InfrastructureManagerConfig()
        problems = self.config.validate()
        if problems:
            raise ValidationError(problems)
        # The engine's kind is read from its first answer, when something first needs it:
        # making a manager never waits on an engine.
        self.engine: Engine = engine or connect(self.config)
        #: what ``info()`` last read (reprs show this and never call the engine)
        self._identity = EngineIdentity()
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=self.config.max_parallel + 2, thread_name_prefix="infranb"
        )
        self._context = EngineContext(self.engine, self.config, self._executor)
        #: the journal every run that changes the engine is written to (None: off)
        self.journal: Journal | None = Journal(self.config.journal) if self.config.journal else None
        self._runs = Executor(
            self.engine, self.config, self._executor, self.journal, self._identity
        )

    @property
    def last_info(self) -> EngineInfo | None:
        """What ``info()`` last read (reprs show this and never call the engine)."""
        return self._identity.info

    @last_info.setter
    def last_info(self, info: EngineInfo | None) -> None:
        self._identity.info = info

    @property
    def last_info_error(self) -> str | None:
        """Why the last ``info()`` failed (None when it answered)."""
        return self._identity.error

    @last_info_error.setter
    def last_info_error(self, error: str | None) -> None:
        self._identity.error = error

    @classmethod
    def from_context(
        cls, name: str, config: InfrastructureManagerConfig | None = None
    ) -> InfrastructureManager:
        """A manager of the engine a Docker CLI context names (``docker context ls``)."""
        base = config or InfrastructureManagerConfig()
        return cls(dataclasses.replace(base, docker_host=None, docker_context=name))

    # ------------------------------------------------------------------ lifecycle

    def close(self) -> None:
        """Release the engine client and the worker threads."""
        self._executor.shutdown(wait=False, cancel_futures=True)
        self.engine.close()
        if self.journal is not None:
            self.journal.close()

    def __enter__(self) -> InfrastructureManager:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    async def __aenter__(self) -> InfrastructureManager:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # ------------------------------------------------------------------ operations

    async def execute(
        self,
        operation: InfrastructureOperation,
        context: object = None,
        progress: ProgressCallback | None = None,
        *,
        confirm: bool = False,
    ) -> InfrastructureResult:
        """Validate and run ``operation``; never raises for a bad request or a failure.

        ``context`` may carry ``correlation_id`` (attribute or key); it goes on the result and
        on the labels of what the operation creates. ``progress`` receives ``ProgressEvent``s;
        without it, in a notebook, one line updates in place while the operation runs
        (``config.live_progress``). A cancelled orchestrate rolls back first, then re-raises
        ``CancelledError``. ``confirm=True`` consents to destructive steps when
        ``config.confirm_destructive`` is on. Runs that can change the engine are written to
        ``config.journal`` (``result.run_id`` is the record's key).
        """
        return await self._execute(operation, context, progress, confirm=confirm)

    async def _execute(
        self,
        operation: InfrastructureOperation,
        context: object = None,
        progress: ProgressCallback | None = None,
        *,
        confirm: bool = False,
        ask_consent: bool | None = None,
        from_form: bool = False,
    ) -> InfrastructureResult:
        """``execute``, with what the forms add (``Executor.run``)."""
        return await self._runs.run(
            operation, context, progress, confirm=confirm, ask_consent=ask_consent,
            from_form=from_form,
        )  # fmt: skip

    run = synchronous(execute)

    # ------------------------------------------------------------------ saved plans

    async def aplan(self, operation: InfrastructureOperation) -> Plan:
        """What ``operation`` would do here, as an ``infranb.Plan`` (the one a dry run's
        ``result.plan`` is), with the request (masked), a fingerprint of what it was made
        against and its ``id``: ``plan.save(path)``, ``Plan.load(path)``,
        ``plan.approve(by=...)`` and ``manager.apply(plan)`` follow. Raises the dry run's
        error when it cannot be planned (a bad request, an engine that does not answer)."""
        from infranb.saved_plans import read_fingerprint

        request = dataclasses.replace(operation, dry_run=False)
        result = await self._execute(dataclasses.replace(operation, dry_run=True))
        if not result.success:
            raise result.exception or InfraError(str(result.error))
        plan = result.plan
        plan.operation = request
        plan.request = self._runs._stored(request)
        plan.engine = mask_url_credentials(self.engine.host)
        plan.created = datetime.now(UTC).isoformat(timespec="seconds")
        stack = result.stack or operation.stack
        plan.fingerprint = await self._runs._call(read_fingerprint, self.engine, plan, stack)
        return plan

    plan = synchronous(aplan)

    async def aapply(self, plan: Plan, *, confirm: bool = False) -> InfrastructureResult:
        """Run exactly the steps of a saved ``plan``, or refuse before any change. It plans
        again: when the steps or what they were made against differ (a container restarted
        or removed since, an image re-tagged, a volume made again) it refuses, and
        ``result.to_frame()`` says what differs (field, at plan time, now); so does a plan
        whose file was edited (its id no longer matches its content). The run's gate holds
        it to the saved rows. Under ``config.confirm_destructive`` a plan with an approval
        is consent for the steps it lists; without one ``confirm=True`` is needed. The
        journal names the plan's id and approvals (``history()``'s ``plan`` column)."""
        return await self._apply_plan(plan, confirm=confirm)

    async def _apply_plan(
        self,
        plan: Plan,
        *,
        confirm: bool = False,
        ask_consent: bool | None = None,
        from_form: bool = False,
    ) -> InfrastructureResult:
        """``apply``, with what the forms add (they always ask before destructive steps)."""
        from infranb.core.errors import PlanChanged
        from infranb.core.plans import Difference
        from infranb.core.stored import stored_operation
        from infranb.saved_plans import differences

        if not plan.request:
            raise ValueError("apply needs a plan from manager.plan(op) or Plan.load(path)")
        operation = plan.operation or stored_operation(plan.request)
        name = str(plan.request.get("operation") or operation.operation)
        refusal: PlanChanged | None = None
        if plan.saved_id is not None and plan.saved_id != plan.id:
            refusal = PlanChanged(
                f"refused: plan {plan.saved_id} was edited after it was saved (its content "
                f"hashes to {plan.id}); nothing was touched. Make, review and approve a new "
                "plan",
                differences=[Difference("plan", plan.saved_id, "id", plan.saved_id, plan.id)],
            )
        else:
            try:
                now: Plan | None = await self.aplan(operation)
            except InfraError as e:
                now, refusal = None, PlanChanged(
                    f"refused: plan {plan.id} cannot be planned again ({e}); nothing was "
                    "touched", differences=[],
                )  # fmt: skip
            found = differences(plan, now) if now is not None else []
            if found:
                first = found[0]
                refusal = PlanChanged(
                    f"refused: the host changed since plan {plan.id} was made "
                    f"({len(found)} difference(s); first: {first.kind} {first.name} "
                    f"{first.field} was {first.at_plan}, now {first.now}); nothing was "
                    "touched. result.to_frame() lists them; make a new plan",
                    differences=found,
                )
        if refusal is not None:
            result = InfrastructureResult.from_outcome(name, Outcome(), error=refusal)
            result.run_id = new_run_id()
            if self.journal is not None:
                self._runs.record_unrun(result, plan.request, None, applying=plan)
            return result
        return await self._runs.run(
            operation, confirm=confirm or bool(plan.approvals), applying=plan,
            ask_consent=ask_consent, from_form=from_form,
        )  # fmt: skip

    apply = synchronous(aapply)

    # ------------------------------------------------------------------ journal

    def history(
        self,
        stack: str | None = None,
        since: str | datetime | None = None,
        operation: str | None = None,
        limit: int | None = None,
    ) -> pd.DataFrame:
        """The journal's runs, newest first: run_id, started_at, finished_at, user, host,
        notebook, engine, operation, stack, outcome, changes, error, correlation_id."""
        return self._require_journal().history(stack, since, operation, limit)

    def history_entry(self, run_id: str) -> JournalEntry:
        """One run's record: request (masked), plan, result summary, prior state, outcome,
        and its steps."""
        return self._require_journal().entry(run_id)

    async def arevert(
        self,
        run_id: str,
        *,
        dry_run: bool = False,
        confirm: bool = False,
        progress: ProgressCallback | None = None,
    ) -> InfrastructureResult:
        """Put the stack of an orchestrate run back to the state the journal recorded before
        that run: the containers it had, with their specs and images. A revert that needs
        something that is gone (a secret value never stored, an image removed since, a run
        not in the journal) changes nothing and says what is missing."""
        request = InfrastructureOperation(
            operation="revert", params={"run_id": run_id}, dry_run=dry_run
        )
        return await self._execute(request, None, progress, confirm=confirm)

    revert = synchronous(arevert)

    async def adown(
        self,
        stack: str | Project,
        *,
        volumes: bool = False,
        dry_run: bool = False,
        confirm: bool = False,
    ) -> InfrastructureResult:
        """Tear ``stack`` (a name, or a Compose project) down: its containers (dependents
        first, running ones stopped), the networks it leaves unused, and with
        ``volumes=True`` its volumes. Nothing outside the stack is touched (a Compose
        project's external networks and volumes included). ``dry_run=True`` lists what
        would go; ``confirm=True`` consents to it when ``config.confirm_destructive`` is on."""
        name = stack if isinstance(stack, str) else stack.name
        request = down_operation(name, volumes=volumes, dry_run=dry_run)
        return await self.execute(request, confirm=confirm)

    down = synchronous(adown)

    async def aup(
        self,
        project: Project,
        *,
        dry_run: bool = False,
        build: bool = False,
        remove_orphans: bool = False,
        context: object = None,
        progress: ProgressCallback | None = None,
        confirm: bool = False,
        allow_unapplied: bool | None = None,
    ) -> InfrastructureResult:
        """Bring a Compose project up: build the images of services with ``build:`` that
        are missing (all of them with ``build=True``), then orchestrate its stack (which
        pulls what is missing). One rollback for all: when any step fails or the cell is
        cancelled, the containers, networks and volumes this run created and the images it
        built are removed (an image it rebuilt gets its tag back). ``dry_run=True`` returns
        the plan, builds included, and touches nothing; ``confirm=True`` consents to its
        destructive steps when ``config.confirm_destructive`` is on.

        A project with keys infranb does not apply (``project.unsupported``) is refused,
        before anything is touched, unless ``allow_unapplied=True`` (or the config's): a
        container must not run differently from its file unless the user said so."""
        request = project.operation(dry_run=dry_run, remove_orphans=remove_orphans)
        allowed = self.config.allow_unapplied if allow_unapplied is None else allow_unapplied
        unapplied = project.unapplied_problems()
        if unapplied and not allowed:
            return InfrastructureResult.from_outcome(
                "orchestrate_containers",
                Outcome(),
                error=ValidationError(unapplied),
                correlation_id=correlation_id_of(context),
                run_id=new_run_id(),
            )
        builds = [b.image_params for b in project.builds()]
        if builds:  # built before the bring-up, in the same run and under its rollback
            request.params = {"builds": builds, "rebuild": build}
        return await self.execute(request, context, progress, confirm=confirm)

    up = synchronous(aup)

    # ------------------------------------------------------------------ inventory

    def refresh(self) -> InfrastructureManager:
        """Ask the engine for its info now (what the repr shows) and return the manager, so a
        cell ending in ``manager.refresh()`` shows it. Without an engine this raises
        ``EngineUnavailable``, or with ``no_engine="note"`` prints one line."""
        try:
            self.info()
        except EngineUnavailable as e:
            if not self._notes_missing_engine(e, "refresh"):
                raise
        return self

    def info(self) -> EngineInfo:
        """Engine version, API version and counts; raises ``EngineUnavailable``. The
        manager's repr shows what this last read."""
        try:
            self.last_info = self.engine.info()
            self.last_info_error = None
        except InfraError as e:
            self.last_info_error = str(e)
            raise
        return self.last_info

    def _request(
        self, operation: str, names: Sequence[str], dry_run: bool, **params: Any
    ) -> InfrastructureOperation:
        """The request a helper stands for: named containers and the operation's params."""
        given = {k: v for k, v in params.items() if v is not None}
        return InfrastructureOperation(
            operation=operation, container_ids=list(names), params=given, dry_run=dry_run
        )

    async def astop(
        self,
        names: Sequence[str],
        *,
        remove: bool | None = None,
        confirm: bool = False,
        dry_run: bool = False,
    ) -> InfrastructureResult:
        """Stop containers, then remove those infranb made when ``remove`` (default:
        ``config.auto_remove_containers``); a container infranb did not create is never
        removed. The ``stop`` operation: passes the gates first (``max_removals`` counts the
        removals; with ``config.confirm_destructive`` it needs ``confirm=True``), is
        journaled, and ``dry_run=True`` shows its plan. ``result.containers_stopped`` names
        what it stopped."""
        request = self._request("stop", names, dry_run, remove=remove)
        return await self._execute(request, confirm=confirm)

    stop = synchronous(astop)

    async def arestart(
        self, names: Sequence[str], *, confirm: bool = False, dry_run: bool = False
    ) -> InfrastructureResult:
        """Restart containers: the ``restart`` operation (gates, journal, ``dry_run``).
        ``result.containers_started`` names what runs again; one left down fails it."""
        return await self._execute(self._request("restart", names, dry_run), confirm=confirm)

    restart = synchronous(arestart)

    async def aupdate(
        self,
        name: str,
        *,
        restart: str | None = None,
        mem_limit: int | str | None = None,
        cpus: float | None = None,
        pids_limit: int | None = None,
        confirm: bool = False,
        dry_run: bool = False,
    ) -> InfrastructureResult:
        """Change a container's restart policy or limits in place (the engine's live update;
        0 removes a limit), whoever made it: the ``update`` operation. It passes the gates
        (with ``config.confirm_destructive`` it needs ``confirm=True``) and is journaled with
        the values it replaced: ``manager.revert(result.run_id)`` puts them back.
        ``result.to_frame()`` has one row per field, before and after, as the engine reports
        them once it is done. Anything else needs a recreate, and an engine that cannot
        update in place (Podman) says so in one sentence."""
        request = self._request(
            "update", [name], dry_run,
            restart=restart, mem_limit=mem_limit, cpus=cpus, pids_limit=pids_limit,
        )  # fmt: skip
        return await self._execute(request, confirm=confirm)

    update = synchronous(aupdate)

    async def acopy_to(
        self,
        name: str,
        host_path: str | os.PathLike[str],
        container_path: str,
        *,
        confirm: bool = False,
        dry_run: bool = False,
    ) -> InfrastructureResult:
        """Copy a file or folder of the kernel's machine into container ``name`` as
        ``container_path``: the ``copy_to`` operation (gates, journal, ``dry_run``). What it
        overwrites there is not kept, so it has no undo. ``result.copied`` says what went
        where, with its size."""
        request = self._request(
            "copy_to", [name], dry_run, host_path=str(host_path), container_path=container_path
        )
        return await self._execute(request, confirm=confirm)

    copy_to = synchronous(acopy_to)

    async def abackup(
        self,
        volumes: Sequence[str] | str | None = None,
        *,
        stack: str | None = None,
        to: str | os.PathLike[str] | None = None,
        quiesce: str = "stop",
        compress: str | None = None,
        confirm: bool = False,
        dry_run: bool = False,
    ) -> InfrastructureResult:
        """Back up ``volumes`` (or every volume of ``stack``): one archive per volume (``tar``,
        or ``compress="gz"``/``"zst"``) and a manifest beside it listing every file with its
        mode, owner, size and sha256. They go to ``to`` (default ``config.backup_dir``),
        0600 in a 0700 folder. ``quiesce``: "stop" (the volume's writers are stopped, then
        started again and awaited ready), "pause" (frozen), or "none" (a live copy). No image
        is pulled and no shell runs. The ``backup`` operation: gates, journal (the archive's
        path and checksum, never its contents), ``dry_run``; a failure removes what it
        wrote and starts what it stopped. ``result.to_frame()``: one row per volume."""
        request = self._request(
            "backup", [], dry_run, volumes=[volumes] if isinstance(volumes, str) else
            (list(volumes) if volumes is not None else None), stack=stack,
            to=os.fspath(to) if to is not None else None, quiesce=quiesce, compress=compress,
        )  # fmt: skip
        return await self._execute(request, confirm=confirm)

    backup = synchronous(abackup)

    async def aheal(
        self,
        names: Sequence[str] | str | None = None,
        *,
        stack: str | None = None,
        when: Sequence[str] = ("unhealthy", "exited"),
        max_restarts: int = 3,
        within: str | float = "15m",
        evidence_lines: int = 50,
        confirm: bool = False,
        dry_run: bool = False,
    ) -> InfrastructureResult:
        """Restart the unhealthy containers among ``names`` (or of ``stack``) and start those
        that exited non-zero, each waited for as a bring-up does. Left alone, with the reason
        in the result: a one-shot (exit 0), one stopped on purpose (a stop or kill event
        before its exit), an exited one its restart policy restarts, one whose stack has a
        run in progress, and one healed ``max_restarts`` times ``within`` the window
        (``over budget``: counted in the journal in one transaction, else by this manager
        for its lifetime). The evidence (last probes, last ``evidence_lines`` log lines
        masked, exit code, OOM, restarts, uptime) is taken before anything is touched and
        kept in the journal. The ``heal`` operation: gates, journal, ``dry_run``;
        ``result.to_frame()`` has one row per container, ``result.healed`` the records."""
        selected = [names] if isinstance(names, str) else list(names or ())
        request = self._request(
            "heal", selected, dry_run, stack=stack, when=list(when),
            max_restarts=max_restarts, within=within, evidence_lines=evidence_lines,
        )  # fmt: skip
        return await self._execute(request, confirm=confirm)

    heal = synchronous(aheal)

    def keep_healthy(
        self,
        names: Sequence[str] | str | None = None,
        *,
        stack: str | None = None,
        seconds: float = 1800,
        **heal_options: Any,
    ) -> LiveFeed:
        """Heal ``names`` (or ``stack``) as the engine reports them unhealthy or dead, for
        ``seconds``: one ``heal`` per event (a journal run of its own, same skips and
        budget; ``heal_options`` are ``heal``'s). One object as ``watch_events`` is: an
        iterator of rows in Python; in a notebook a live table with a Stop button, read on a
        thread of its own. It always ends by time. A container skipped while its stack had
        a run in progress is tried again once that run ended; where the engine runs no
        checks itself (Podman here) it runs them at the shortest interval of the selection."""
        from infranb.healing import keep_healthy

        selected = [names] if isinstance(names, str) else list(names or ())
        if not selected and not stack:
            raise ValueError("keep_healthy needs names=[...] or stack=...: name what to heal")
        unknown = set(heal_options) - {"when", "max_restarts", "within", "evidence_lines",
                                       "confirm"}  # fmt: skip
        if unknown:
            raise TypeError(f"keep_healthy does not take {', '.join(sorted(unknown))}")
        return keep_healthy(self.heal, self.engine, selected, stack, float(seconds), heal_options)

    async def arestore(
        self,
        archive: str | os.PathLike[str],
        *,
        volume: str | None = None,
        replace: bool = False,
        driver_opts: Mapping[str, str] | None = None,
        confirm: bool = False,
        dry_run: bool = False,
    ) -> InfrastructureResult:
        """Restore a backup's ``archive`` into ``volume`` (default: the volume it was taken
        of), creating it when missing with the manifest's driver, options and labels
        (``driver_opts=`` gives the values the manifest masks). A volume that holds data
        is refused unless ``replace=True``, which backs up what is there first, then
        removes and recreates the volume. What was written is read back and compared with
        the manifest, file by file: a difference fails the run, and its undo puts back what
        was there. The ``restore`` operation: gates, journal, ``dry_run``."""
        request = self._request(
            "restore", [], dry_run, archive=os.fspath(archive), volume=volume,
            replace=replace or None, driver_opts=dict(driver_opts) if driver_opts else None,
        )  # fmt: skip
        return await self._execute(request, confirm=confirm)

    restore = synchronous(arestore)

    def prune_snapshots(
        self,
        *,
        keep: int | None = None,
        older_than: str | float | timedelta | None = None,
        to: str | os.PathLike[str] | None = None,
        dry_run: bool = False,
    ) -> pd.DataFrame:
        """Delete the snapshots infranb took before changes (and before restores): per
        volume, all but the ``keep`` newest, or those ``older_than`` a duration ("7d",
        "12h", seconds, a ``timedelta``), or both. The only thing that deletes them;
        backups asked for with ``backup`` are never touched. A revert that needs a deleted
        snapshot then says it is gone. Returns what went (or, with ``dry_run``, would go)."""
        import time

        from infranb.core.archives import prunable, remove_archive
        from infranb.core.frames import frame

        if keep is None and older_than is None:
            raise ValueError("prune_snapshots needs keep=N or older_than=...: say which to keep")
        if keep is not None and (not isinstance(keep, int) or keep < 0):
            raise ValueError(f"keep={keep!r} must be a whole number, 0 or more")
        seconds = None if older_than is None else _seconds(older_than)
        folder = Path(to).expanduser() if to else self.config.backups_folder
        going = prunable(folder, keep=keep, older_than=seconds, now=time.time())
        if not dry_run:
            for path, _ in going:
                remove_archive(path)
        rows = (
            {"volume": m.volume, "reason": m.reason, "created": m.created, "archive": str(p),
             "bytes": m.bytes, "deleted": not dry_run}
            for p, m in going
        )  # fmt: skip
        return frame(rows, PRUNED_SCHEMA)

    def describe(self, operation: InfrastructureOperation) -> DescribedOperation:
        """``operation`` as this manager would run it: shown (and validated, masked) with
        this manager's config, where a bare request can only use the default config."""
        return DescribedOperation(operation, self.config)

    # ------------------------------------------------------------------ display

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        from infranb.notebook import manager_bundle, select

        return select(manager_bundle(self), include, exclude)

    def __repr__(self) -> str:
        # Never asks the engine: the kind is shown once an answer said it.
        known = self.last_info.kind if self.last_info is not None else None
        known = known or getattr(self.engine, "kind", None)
        kind = f", kind={known!r}" if isinstance(known, str) else ""
        return f"InfrastructureManager(engine={mask_url_credentials(self.engine.host)!r}{kind})"

    def __str__(self) -> str:
        from infranb.notebook import manager_bundle

        return manager_bundle(self)["text/plain"]


#: the table ``prune_snapshots`` returns
PRUNED_SCHEMA = {
    "volume": "string",
    "reason": "string",
    "created": "string",
    "archive": "string",
    "bytes": "Int64",
    "deleted": "boolean",
}


def _seconds(value: str | float | timedelta) -> float:
    """A duration: a ``timedelta``, seconds, or "7d", "12h", "30m" ("d" for days too)."""
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, str) and value.strip().endswith("d") and value.strip()[:-1].isdigit():
        return int(value.strip()[:-1]) * 86400.0
    from infranb.core.specs import parse_duration

    try:
        return parse_duration(value, "older_than")
    except ValueError as e:
        raise ValueError(f"older_than={value!r}: {e}; use '7d', '12h' or seconds") from None


__all__ = ["InfrastructureManager", "down_operation", "run_sync"]
