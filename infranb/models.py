"""The request and result types users touch, and the request's validation.

Field names and defaults of ``InfrastructureManagerConfig``, ``InfrastructureOperation`` and
``InfrastructureResult`` follow the specification; additions are documented per field.
What each operation accepts and produces is declared by its module in ``infranb/ops`` and
read through the operation table (``infranb.ops.table``). Reprs are delegated to
``infranb.notebook``; every text form masks secrets.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from infranb.core.config import InfrastructureManagerConfig
from infranb.core.errors import InfraError, Problem, Refused, ValidationError
from infranb.core.planning import PlanStep
from infranb.core.records import (
    ContainerOutcome,
    HealthRecord,
    ImageOutcome,
    ProgressEvent,
    RemovedResource,
    ServiceOutcome,
)
from infranb.core.secrets import mask_url_credentials, masked_container, shown_value
from infranb.core.specs import ContainerSpec, SpecProblem, check_stack_name, parse_containers
from infranb.ops.base import Outcome

if TYPE_CHECKING:
    import pandas as pd

    from infranb.ops.base import Operation


def __getattr__(name: str) -> Any:
    """``OPERATIONS``, deprecated (0.1): the operation names, in the table's order; read
    ``infranb.ops.table.OPERATIONS``. Made on first use, like the table it reads."""
    if name == "OPERATIONS":
        from infranb.ops import table

        return tuple(table.OPERATIONS)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _table() -> Any:
    """The table of operations, imported on first use: ``import infranb`` loads no handler."""
    from infranb.ops import table

    return table


BOOLEAN_FIELDS = (
    "cleanup_stopped_containers",
    "cleanup_unused_images",
    "force_remove",
    "dry_run",
    "cleanup_volumes",
    "remove_orphans",
    "allow_sensitive_mounts",
)


@dataclass
class InfrastructureOperation:
    """One request to the manager.

    Spec fields: ``operation``, ``containers``, ``image_params``, ``cleanup_stopped_containers``,
    ``cleanup_unused_images``, ``force_remove``, ``container_ids``. Additions: ``stack``
    (orchestrate: ``None`` means ``config.default_stack``; cleanup: ``None`` means every
    infranb-managed stack), ``dry_run`` (plan only, touch nothing), ``cleanup_volumes``,
    ``scope`` (``"managed"``: only what infranb labelled; ``"all"``: the whole host),
    ``remove_orphans`` (orchestrate removes stack containers the request no longer names),
    ``allow_sensitive_mounts`` (per-request opt-in for sensitive bind mounts/privileged),
    ``networks`` / ``volumes`` (orchestrate: how the networks and named volumes the containers
    use are made, by name: ``{"driver", "labels", "internal", "external"}``; ``external``
    ones must exist and are never created or removed), ``max_removals`` (refuse the run,
    touching nothing, when its plan removes or recreates more than this; overrides
    ``config.max_removals``), ``project_dir`` / ``config_files`` (orchestrate: the Compose
    project's folder and files, written on its containers as Compose writes them; set by
    ``Project.operation()``).
    """

    operation: str
    containers: list[dict[str, Any]] = field(default_factory=list)
    image_params: dict[str, Any] = field(default_factory=dict)
    cleanup_stopped_containers: bool = False
    cleanup_unused_images: bool = False
    force_remove: bool = False
    container_ids: list[str] = field(default_factory=list)
    stack: str | None = None
    dry_run: bool = False
    cleanup_volumes: bool = False
    scope: Literal["managed", "all"] = "managed"
    remove_orphans: bool = False
    allow_sensitive_mounts: bool = False
    networks: dict[str, dict[str, Any]] = field(default_factory=dict)
    volumes: dict[str, dict[str, Any]] = field(default_factory=dict)
    max_removals: int | None = None
    project_dir: str | None = None
    config_files: list[str] = field(default_factory=list)

    def validate(self, config: InfrastructureManagerConfig | None = None) -> list[Problem]:
        """Every problem with this request, each naming its field (``Problem.path``); empty
        when valid. ``config`` is the configuration that will run it.

        Pure: the engine is not consulted (missing images and taken names are checked
        when the operation runs, before anything is created).
        """
        return self.parse(config)[2]

    def parse(
        self, config: InfrastructureManagerConfig | None = None
    ) -> tuple[Operation[Any] | None, Any, list[Problem]]:
        """The operation, its typed command (``None`` when invalid) and every problem."""
        config = config or InfrastructureManagerConfig()
        operation, problems = _table().lookup(self.operation)
        if operation is None:
            return None, None, problems
        for name in BOOLEAN_FIELDS:
            if not isinstance(getattr(self, name), bool):
                problems.append(
                    Problem(name, f"must be True or False, not {getattr(self, name)!r}")
                )
        if self.max_removals is not None and (
            isinstance(self.max_removals, bool)
            or not isinstance(self.max_removals, int)
            or self.max_removals < 0
        ):
            problems.append(
                Problem("max_removals", f"{self.max_removals!r} must be None or 0 or more")
            )
        if self.project_dir is not None and not isinstance(self.project_dir, str):
            problems.append(Problem("project_dir", "use the Compose project's folder, a string"))
        if not isinstance(self.config_files, list | tuple) or not all(
            isinstance(f, str) for f in self.config_files
        ):
            problems.append(Problem("config_files", "use a list of Compose file paths"))
        if self.scope not in ("managed", "all"):
            problems.append(Problem("scope", f"{self.scope!r} must be 'managed' or 'all'"))
        if self.stack is not None:
            try:
                check_stack_name(self.stack, "stack")
            except SpecProblem as e:
                problems.append(e.problem)
        command, own = operation.parse(self, config)
        problems += own
        return operation, (None if problems else command), problems

    def container_specs(self) -> list[ContainerSpec]:
        """The typed container specs; raises ``ValidationError`` (a ``ValueError`` too, for
        code written against 0.1) when the request is invalid."""
        specs, problems = parse_containers(self.containers)
        if problems:
            raise _InvalidSpecs(problems)
        return specs

    def shown_fields(self) -> dict[str, Any]:
        """The fields a reader wants, secrets masked (containers' environments, URL
        credentials, build arguments)."""
        operation = (
            _table().OPERATIONS.get(self.operation) if isinstance(self.operation, str) else None
        )
        names = (
            operation.shown_fields if operation else ("containers", "image_params", "container_ids")
        )
        return {name: _masked(name, getattr(self, name)) for name in names}

    def __repr__(self) -> str:
        """The fields that differ from their defaults, secret values masked with the default
        ``secret_markers`` (a request has no config); ``manager.describe(op)`` shows it masked
        with that manager's markers."""
        changed = {
            f.name: _masked(f.name, getattr(self, f.name))
            for f in dataclasses.fields(self)
            if f.name != "operation" and getattr(self, f.name) != _default(f)
        }
        inner = "".join(f", {k}={v!r}" for k, v in changed.items())
        return f"InfrastructureOperation(operation={self.operation!r}{inner})"

    def __str__(self) -> str:
        from infranb.notebook import operation_bundle

        return operation_bundle(self)["text/plain"]

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        from infranb.notebook import operation_bundle, select

        return select(operation_bundle(self), include, exclude)


class _InvalidSpecs(ValidationError, ValueError):
    """Invalid container specs (a ``ValueError`` too, as ``container_specs`` raised before)."""


def _default(f: dataclasses.Field[Any]) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return dataclasses.MISSING


def _masked(name: str, value: Any) -> Any:
    """A request field as it may be shown."""
    if name == "containers" and isinstance(value, list | tuple):
        return [masked_container(c) for c in value]
    if name == "image_params" and isinstance(value, dict):
        shown = {k: mask_url_credentials(v) if isinstance(v, str) else v for k, v in value.items()}
        buildargs = value.get("buildargs")
        if isinstance(buildargs, dict):
            shown["buildargs"] = {k: shown_value(str(k), v) for k, v in buildargs.items()}
        return shown
    return value


class Plan(list[PlanStep]):
    """The steps of an orchestrate plan (a list); shows itself as a table in a notebook."""

    def to_frame(self) -> pd.DataFrame:
        from infranb.core.planning import plan_frame

        return plan_frame(self)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        from infranb.notebook import plan_bundle, select

        return select(plan_bundle(self), include, exclude)

    def __str__(self) -> str:
        from infranb.notebook import plan_bundle

        return plan_bundle(self)["text/plain"]

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
            containers_started=[c.name for c in outcome.containers if c.action != "unchanged"],
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
            plan=Plan(outcome.plan),
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
        )
        if isinstance(error, InfraError) and getattr(error, "resource", None):
            last_logs = getattr(error, "last_logs", None)
            if last_logs:
                result.failed_logs[str(error.resource)] = list(last_logs)  # type: ignore[attr-defined]
        return result

    def to_frame(self) -> pd.DataFrame:
        """A tidy DataFrame: one row per container, plan step, image, removal or health target."""
        return _table().result_frame(self)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        from infranb.notebook import result_bundle, select

        return select(result_bundle(self), include, exclude)

    def __str__(self) -> str:
        from infranb.notebook import result_bundle

        return result_bundle(self)["text/plain"]

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


__all__ = [
    "ContainerOutcome",
    "HealthRecord",
    "ImageOutcome",
    "InfrastructureManagerConfig",
    "InfrastructureOperation",
    "InfrastructureResult",
    "Plan",
    "ProgressEvent",
    "RemovedResource",
]
