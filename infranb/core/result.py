"""What a run returns: ``InfrastructureResult``, and the ``Plan`` it holds.

Field names follow the specification; additions are documented per field. The one place
a result is assembled is ``InfrastructureResult.from_outcome``. Its table is its
operation's (``core.hooks.operations()``) and its face the notebook's
(``core.hooks.display()``); every text form masks secrets.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from infranb.core import hooks
from infranb.core.errors import InfraError, Problem, Refused, ValidationError
from infranb.core.outcome import Outcome
from infranb.core.planning import PlanStep
from infranb.core.plans import Difference
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
    notebook.

    A plan from ``manager.plan(op)`` also holds the ``request`` (masked), the
    ``fingerprint`` of what it was made against, and its ``id``; ``save``/``load`` keep it
    in a JSON file a person can review, ``approve`` adds a claim of approval to that file,
    and ``manager.apply(plan)`` runs exactly these steps or refuses (``infranb.core.plans``).
    """

    def __init__(
        self,
        rows: Iterable[PlanStep] = (),
        steps: Iterable[Step] = (),
        *,
        request: Mapping[str, Any] | None = None,
        fingerprint: Mapping[str, Any] | None = None,
        approvals: Iterable[Mapping[str, Any]] = (),
        engine: str = "",
        created: str = "",
    ) -> None:
        super().__init__(rows)
        self.steps: list[Step] = list(steps)
        #: the request it was planned from, masked (secret references kept by name)
        self.request: dict[str, Any] = dict(request or {})
        #: what it was made against: containers, networks, volumes, images
        self.fingerprint: dict[str, Any] = dict(fingerprint or {})
        #: claims of approval: {"by", "note", "at"}, in the order they were added
        self.approvals: list[dict[str, Any]] = [dict(a) for a in approvals]
        self.engine, self.created = engine, created
        #: the id the file said it had (a plan read by ``load``), checked by ``apply``
        self.saved_id: str | None = None
        #: the file it was saved to or read from (where ``approve`` writes)
        self.path: Path | None = None
        #: the request itself, for a plan made in this process (a file holds it masked)
        self.operation: Any = None

    @property
    def id(self) -> str:
        """12 hex characters of a hash of its rows, steps, fingerprint and masked request."""
        from infranb.core.plans import plan_id

        return plan_id(
            [r.to_json() for r in self], [s.to_json() for s in self.steps], self.fingerprint,
            self.request,
        )  # fmt: skip

    def to_json(self) -> dict[str, Any]:
        """The plan as the file keeps it."""
        from infranb.core.plans import FORMAT

        return {
            "infranb_plan": FORMAT,
            "id": self.id,
            "operation": self.request.get("operation"),
            "engine": self.engine,
            "created": self.created,
            "request": self.request,
            "rows": [r.to_json() for r in self],
            "steps": [s.to_json() for s in self.steps],
            "fingerprint": self.fingerprint,
            "approvals": self.approvals,
        }

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the plan as JSON a person can read in a review. A request holding a secret
        typed in clear cannot be planned again from a masked file: refused, naming where."""
        from infranb.core.stored import masked_paths

        hidden = masked_paths(self.request)
        if hidden:
            raise ValueError(
                f"this plan's request holds secret values typed in clear ({', '.join(hidden)}); "
                "a saved plan keeps them masked and could not be planned again. Give them as "
                "secret_from_env(...) or secret_from_file(...) (or a Compose secret file), "
                "then plan and save again"
            )
        if not self.request:
            raise ValueError("only a plan from manager.plan(op) can be saved (it has its request)")
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(self.to_json(), indent=2, sort_keys=False) + "\n")
        self.path, self.saved_id = target, self.id
        return target

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Plan:
        """A plan ``save`` wrote (its id as the file says it, checked by ``apply``)."""
        from infranb.core.planning import PlanStep

        source = Path(path)
        try:
            data = json.loads(source.read_text())
        except (OSError, ValueError) as e:
            raise ValueError(f"{source} is not a plan file infranb can read: {e}") from None
        if not isinstance(data, dict) or "infranb_plan" not in data:
            raise ValueError(f"{source} is not a plan infranb saved (no infranb_plan key)")
        plan = cls(
            [PlanStep.from_json(r) for r in data.get("rows") or []],
            [Step.from_json(s) for s in data.get("steps") or []],
            request=data.get("request") or {},
            fingerprint=data.get("fingerprint") or {},
            approvals=data.get("approvals") or [],
            engine=str(data.get("engine") or ""),
            created=str(data.get("created") or ""),
        )
        plan.saved_id, plan.path = str(data.get("id") or ""), source
        return plan

    def approve(self, by: str, note: str = "") -> Plan:
        """Add a claim of approval (who, a note, when) inside the plan's file. A claim, not
        a signature: anyone who can write the file can write one."""
        if not isinstance(by, str) or not by.strip():
            raise ValueError("approve(by=...) needs the approver's name")
        if self.path is None:
            raise ValueError("save the plan first (plan.save(path)): the approval goes in its file")
        if self.saved_id and self.saved_id != self.id:
            raise ValueError(
                f"{self.path} was edited after it was saved (its id says {self.saved_id}, its "
                f"content hashes to {self.id}): make and save a new plan"
            )
        self.approvals.append(
            {"by": by.strip(), "note": note, "at": datetime.now(UTC).isoformat(timespec="seconds")}
        )
        self.path.write_text(json.dumps(self.to_json(), indent=2) + "\n")
        return self

    @property
    def approved_by(self) -> list[str]:
        return [str(a.get("by")) for a in self.approvals]

    def applied_line(self) -> str:
        """What a run that applies this plan says of it: "applied plan <id>, approved by
        ann (note)", or "..., with no approval"."""
        said = [
            str(a.get("by")) + (f" ({a['note']})" if a.get("note") else "") for a in self.approvals
        ]
        return f"applied plan {self.id}, " + (
            f"approved by {'; '.join(said)}" if said else "with no approval"
        )

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
        said = ", ".join(f"{n} {a}" for a, n in counts.items()) or "empty"
        return f"Plan {self.id} ({said})" if self.request else f"Plan({said})"


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
    #: apply: what differs between the saved plan and the host now (a refusal's reasons)
    differences: list[Difference] = field(default_factory=list)
    #: apply: "applied plan a1b2c3d4e5f6, approved by ann" (the saved plan this run ran)
    applied_plan: str | None = None

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
            differences=list(getattr(error, "differences", []) or []),
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
