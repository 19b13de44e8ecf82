"""What a run returns: ``InfrastructureResult``, and the ``Plan`` it holds.

Field names follow the specification; additions are documented per field. The one place
a result is assembled is ``InfrastructureResult.from_outcome``. Its table is its
operation's (``core.hooks.operations()``) and its face the notebook's
(``core.hooks.display()``); every text form masks secrets.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from infranb.core import hooks
from infranb.core.errors import InfraError, Problem, Refused, ValidationError
from infranb.core.outcome import Outcome
from infranb.core.planning import PlanStep
from infranb.core.records import (
    ContainerOutcome,
    CopiedPath,
    FieldChange,
    HealRecord,
    HealthRecord,
    ImageOutcome,
    RemovedResource,
    ServiceOutcome,
    VolumeArchive,
)
from infranb.core.steps import Step

if TYPE_CHECKING:
    import pandas as pd


class Plan(list[PlanStep]):
    """An operation's plan: one row per container and action (a list), and ``steps``, the
    executor's steps in waves where the operation is stepped. Shows itself as a table in a
    notebook."""

    def __init__(self, rows: Iterable[PlanStep] = (), steps: Iterable[Step] = ()) -> None:
        super().__init__(rows)
        self.steps: list[Step] = list(steps)

    def to_frame(self) -> pd.DataFrame:
        from infranb.core.planning import plan_frame

        return plan_frame(self)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        face = hooks.display()
        bundle: dict[str, str] = face.select(face.plan_bundle(self), include, exclude)
        return bundle

    def __str__(self) -> str:
        text: str = hooks.display().plan_bundle(self)["text/plain"]
        return text

    def __repr__(self) -> str:
        counts: dict[str, int] = {}
        for step in self:
            counts[step.action] = counts.get(step.action, 0) + 1
        return f"Plan({', '.join(f'{n} {a}' for a, n in counts.items()) or 'empty'})"


@dataclass
class InfrastructureResult:
    """The outcome of one operation. ``execute`` never raises for a failed operation."""

    success: bool
    operation: str
    containers_started: list[str] = field(default_factory=list)
    containers_stopped: list[str] = field(default_factory=list)
    containers_removed: list[str] = field(default_factory=list)
    images_pulled: list[str] = field(default_factory=list)
    images_built: list[str] = field(default_factory=list)
    images_removed: list[str] = field(default_factory=list)
    health_status: dict[str, str] = field(default_factory=dict)
    cleanup_summary: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    # additions
    stack: str | None = None
    duration_seconds: float = 0.0
    correlation_id: str | None = None
    build_logs: list[str] = field(default_factory=list)
    health_details: dict[str, dict[str, Any]] = field(default_factory=dict)
    network_created: bool = False
    networks_created: list[str] = field(default_factory=list)
    volumes_created: list[str] = field(default_factory=list)
    containers: list[ContainerOutcome] = field(default_factory=list)
    plan: Plan = field(default_factory=Plan)
    orphans: list[str] = field(default_factory=list)
    images: list[ImageOutcome] = field(default_factory=list)
    removed: list[RemovedResource] = field(default_factory=list)
    health: list[HealthRecord] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    dry_run: bool = False
    failed_logs: dict[str, list[str]] = field(default_factory=dict)
    #: the exception behind ``error`` (an ``InfraError``), kept so code can match on it
    exception: BaseException | None = field(default=None, repr=False, compare=False)
    #: for an invalid request, each problem with its field's path
    problems: list[Problem] = field(default_factory=list)
    #: this run's id: on the labels of what it creates, and its journal record's key
    run_id: str | None = None
    #: a failed run whose changes were all undone (the engine is as it was before); False
    #: when anything the run made is still there (``remaining`` says what)
    rolled_back: bool = False
    #: what a rollback had to leave in place, one sentence each (empty when it left nothing)
    remaining: list[str] = field(default_factory=list)
    #: refused by a safety gate (max_removals, confirm) before anything was touched
    refused: bool = False
    #: deploy_stack: one record per service (its plan in a dry run)
    services: list[ServiceOutcome] = field(default_factory=list)
    #: update: each setting changed, before and after, as the engine reports them
    updated: list[FieldChange] = field(default_factory=list)
    #: copy_to: what was put into which container, and where
    copied: list[CopiedPath] = field(default_factory=list)
    #: backup, restore: each volume written to an archive or from one
    archives: list[VolumeArchive] = field(default_factory=list)
    #: heal: one record per selected container (its action, health after, evidence)
    healed: list[HealRecord] = field(default_factory=list)

    @classmethod
    def from_outcome(
        cls,
        operation: str,
        outcome: Outcome,
        *,
        error: BaseException | None = None,
        redact: Any = None,
        correlation_id: str | None = None,
        duration_seconds: float = 0.0,
        run_id: str | None = None,
    ) -> InfrastructureResult:
        """The one place a result is assembled: the spec's summary fields are derived from
        the records, so the two can never disagree."""
        show = redact or (lambda text: text)
        images = outcome.images
        removed = outcome.removed
        result = cls(
            success=error is None,
            operation=operation,
            containers_started=[
                c.name for c in outcome.containers if c.action not in ("unchanged", "stop")
            ],
            containers_removed=[r.name for r in removed if r.kind == "container"]
            if not outcome.dry_run
            else [],
            images_pulled=[i.reference for i in images if i.action == "pulled"],
            images_built=[i.reference for i in images if i.action == "built"],
            images_removed=[i.reference for i in images if i.action == "removed"]
            + [
                name
                for r in removed
                if r.kind == "image" and not outcome.dry_run
                for name in r.name.split(", ")
            ],
            health_status={h.name: h.status for h in outcome.health},
            health_details={
                h.name: {
                    "status": h.status,
                    "state": h.state,
                    "exit_code": h.exit_code,
                    "failing_streak": h.failing_streak,
                    "last_output": h.last_output,
                    "container_id": h.container_id,
                }
                for h in outcome.health
            },
            cleanup_summary=_cleanup_summary(outcome) if outcome.scope else {},
            error=None if error is None else show(str(error)),
            stack=outcome.stack,
            duration_seconds=duration_seconds,
            correlation_id=correlation_id,
            build_logs=list(outcome.build_logs),
            network_created=bool(outcome.networks_created),
            networks_created=list(outcome.networks_created),
            volumes_created=list(outcome.volumes_created),
            containers=list(outcome.containers),
            plan=Plan(outcome.plan, outcome.steps),
            orphans=list(outcome.orphans),
            images=list(images),
            removed=list(removed),
            health=list(outcome.health),
            warnings=list(dict.fromkeys(outcome.warnings)),
            dry_run=outcome.dry_run,
            exception=error,
            problems=list(error.problems) if isinstance(error, ValidationError) else [],
            run_id=run_id,
            rolled_back=outcome.rolled_back,
            remaining=list(outcome.remaining),
            containers_stopped=list(dict.fromkeys(outcome.stopped)) if not outcome.dry_run else [],
            refused=isinstance(error, Refused),
            services=list(outcome.services),
            updated=list(outcome.updated),
            copied=list(outcome.copied),
            archives=list(outcome.archives),
            healed=list(outcome.healed),
        )
        if isinstance(error, InfraError) and getattr(error, "resource", None):
            last_logs = getattr(error, "last_logs", None)
            if last_logs:
                result.failed_logs[str(error.resource)] = list(last_logs)  # type: ignore[attr-defined]
        return result

    def to_frame(self) -> pd.DataFrame:
        """A tidy DataFrame: one row per container, plan step, image, removal or health target."""
        frame: pd.DataFrame = hooks.operations().result_frame(self)
        return frame

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        face = hooks.display()
        bundle: dict[str, str] = face.select(face.result_bundle(self), include, exclude)
        return bundle

    def __str__(self) -> str:
        text: str = hooks.display().result_bundle(self)["text/plain"]
        return text

    def __repr__(self) -> str:
        status = "plan" if self.dry_run else ("ok" if self.success else "failed")
        parts = [f"{self.operation!r}", status]
        if self.stack:
            parts.append(f"stack={self.stack!r}")
        rows = len(
            self.containers
            or self.services
            or self.images
            or self.removed
            or self.health
            or self.updated
            or self.copied
            or self.archives
            or self.healed
            or self.plan
        )
        if rows:
            parts.append(f"{rows} row(s)")
        if self.error:
            parts.append(f"error={self.error[:80]!r}")
        return f"InfrastructureResult({', '.join(parts)})"


def _cleanup_summary(outcome: Outcome) -> dict[str, Any]:
    def count(kind: str) -> int:
        return sum(1 for r in outcome.removed if r.kind == kind)

    return {
        "containers_removed": count("container"),
        "images_removed": count("image"),
        "networks_removed": count("network"),
        "volumes_removed": count("volume"),
        "services_removed": count("service"),
        "secrets_removed": count("secret"),
        "bytes_reclaimed": sum(r.bytes_reclaimed for r in outcome.removed),
        "dry_run": outcome.dry_run,
        "scope": outcome.scope,
        "stack": outcome.stack,
    }
