"""The request, result and record types users touch, and the request's validation.

Field names and defaults of ``InfrastructureManagerConfig``, ``InfrastructureOperation`` and
``InfrastructureResult`` follow the specification; additions are documented per field.
Display (``to_frame``, ``_repr_mimebundle_``) is delegated to ``infranb.display``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from infranb.planning import CycleError, PlanStep, dependency_waves
from infranb.secrets import DEFAULT_SECRET_MARKERS
from infranb.specs import ContainerSpec, SpecProblem, check_name, parse_containers

if TYPE_CHECKING:
    import pandas as pd

OPERATIONS = ("orchestrate_containers", "manage_images", "cleanup_resources", "health_check")
IMAGE_ACTIONS = ("pull", "build", "tag", "remove")
IMAGE_PARAM_KEYS = {
    "pull": ("action", "image", "platform"),
    "build": ("action", "path", "tag", "dockerfile", "buildargs", "nocache", "pull"),
    "tag": ("action", "image", "tag"),
    "remove": ("action", "image", "force"),
}
OperationName = Literal[
    "orchestrate_containers", "manage_images", "cleanup_resources", "health_check"
]


@dataclass
class InfrastructureManagerConfig:
    """Configuration for ``InfrastructureManager``."""

    default_network: str = "bridge"
    #: infranb removes the containers it stops (not the engine's AutoRemove, which would
    #: destroy a crashed container and its logs before anyone reads them).
    auto_remove_containers: bool = True
    auto_pull_images: bool = True
    container_start_timeout: float = 30.0
    health_check_retries: int = 3
    health_check_interval: float = 5.0
    cleanup_on_failure: bool = True
    volume_driver: str = "local"
    #: stack used by orchestrate when the request names none
    default_stack: str = "default"
    #: engine calls in flight at once
    max_parallel: int = 8
    #: environment keys containing one of these (upper-cased) are masked in every output
    secret_markers: tuple[str, ...] = DEFAULT_SECRET_MARKERS
    #: allow bind mounts of sensitive host paths and privileged containers
    allow_sensitive_mounts: bool = False
    #: seconds a container gets to stop on SIGTERM before it is killed
    stop_timeout: float = 10.0
    #: without a reachable engine, inventory helpers ("raise") raise EngineUnavailable, or
    #: ("note") print one line and return empty results, for notebooks that must also open
    #: where no engine runs (Binder). Operations always return a failed result instead.
    no_engine: Literal["raise", "note"] = "raise"

    def validate(self) -> list[str]:
        """Problems with the configuration, each naming its field."""
        problems = []
        if self.max_parallel < 1:
            problems.append("config.max_parallel: must be at least 1")
        if self.container_start_timeout <= 0:
            problems.append("config.container_start_timeout: must be positive")
        if self.health_check_retries < 0:
            problems.append("config.health_check_retries: must be 0 or more")
        if self.no_engine not in ("raise", "note"):
            problems.append(f"config.no_engine: {self.no_engine!r} must be 'raise' or 'note'")
        if self.health_check_interval < 0:
            problems.append("config.health_check_interval: must be 0 or more")
        for what, value in (
            ("default_network", self.default_network),
            ("default_stack", self.default_stack),
        ):
            try:
                check_name(value, f"config.{what}", what.replace("_", " "))
            except SpecProblem as e:
                problems.append(str(e))
        return problems


@dataclass
class InfrastructureOperation:
    """One request to the manager.

    Spec fields: ``operation``, ``containers``, ``image_params``, ``cleanup_stopped_containers``,
    ``cleanup_unused_images``, ``force_remove``, ``container_ids``. Additions: ``stack``
    (orchestrate: ``None`` means ``config.default_stack``; cleanup: ``None`` means every
    infranb-managed stack), ``dry_run`` (plan only, touch nothing), ``cleanup_volumes``,
    ``scope`` (``"managed"``: only what infranb labelled; ``"all"``: the whole host),
    ``remove_orphans`` (orchestrate removes stack containers the request no longer names),
    ``allow_sensitive_mounts`` (per-request opt-in for sensitive bind mounts/privileged).
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

    def validate(self, config: InfrastructureManagerConfig | None = None) -> list[str]:
        """Every problem with this request, each naming the field; empty when valid.

        Pure: the engine is not consulted (missing images and taken names are checked
        when the operation runs, before anything is created).
        """
        return validate_operation(self, config or InfrastructureManagerConfig())

    def container_specs(self) -> list[ContainerSpec]:
        """The typed container specs; raises ``ValueError`` when the request is invalid."""
        specs, problems = parse_containers(self.containers)
        if problems:
            raise ValueError("; ".join(problems))
        return specs

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        from infranb.display import operation_bundle, select

        return select(operation_bundle(self), include, exclude)


def _check_bool(op: InfrastructureOperation, name: str, problems: list[str]) -> None:
    if not isinstance(getattr(op, name), bool):
        problems.append(f"{name}: must be True or False, not {getattr(op, name)!r}")


def validate_operation(
    op: InfrastructureOperation, config: InfrastructureManagerConfig
) -> list[str]:
    """The checks behind ``InfrastructureOperation.validate`` (pure)."""
    problems: list[str] = []
    if op.operation not in OPERATIONS:
        import difflib

        close = difflib.get_close_matches(str(op.operation), OPERATIONS, n=1)
        hint = f"did you mean {close[0]!r}?" if close else "use one of " + ", ".join(OPERATIONS)
        return [f"operation: unknown operation {op.operation!r}; {hint}"]
    for name in (
        "cleanup_stopped_containers",
        "cleanup_unused_images",
        "force_remove",
        "dry_run",
        "cleanup_volumes",
        "remove_orphans",
        "allow_sensitive_mounts",
    ):
        _check_bool(op, name, problems)
    if op.scope not in ("managed", "all"):
        problems.append(f"scope: {op.scope!r} must be 'managed' or 'all'")
    if op.stack is not None:
        try:
            check_name(op.stack, "stack", "stack name")
        except SpecProblem as e:
            problems.append(str(e))
    if op.operation == "orchestrate_containers":
        problems += _validate_orchestrate(op, config)
    elif op.operation == "manage_images":
        problems += _validate_image_params(op.image_params)
    elif op.operation == "cleanup_resources":
        if not (op.cleanup_stopped_containers or op.cleanup_unused_images or op.cleanup_volumes):
            problems.append(
                "cleanup_stopped_containers / cleanup_unused_images / cleanup_volumes: set at "
                "least one to say what to clean up"
            )
        if op.scope == "all" and op.stack is not None:
            problems.append(
                "stack: a stack limits cleanup to managed resources; use "
                "scope='managed' with a stack"
            )
    elif op.operation == "health_check":
        if not isinstance(op.container_ids, list | tuple) or not op.container_ids:
            problems.append("container_ids: list the container names or ids to check")
        else:
            for i, cid in enumerate(op.container_ids):
                if not isinstance(cid, str) or not cid.strip():
                    problems.append(f"container_ids[{i}]: must be a container name or id")
    return problems


def _validate_orchestrate(
    op: InfrastructureOperation, config: InfrastructureManagerConfig
) -> list[str]:
    if not isinstance(op.containers, list | tuple) or not op.containers:
        return ["containers: list at least one container, e.g. [{'image': ..., 'name': ...}]"]
    specs, problems = parse_containers(op.containers)
    if not problems:
        try:
            dependency_waves(specs)
        except CycleError as e:
            problems.append(f"containers.depends_on: {e}")
    if not (config.allow_sensitive_mounts or op.allow_sensitive_mounts):
        for spec in specs:
            for mount in spec.sensitive_mounts():
                problems.append(
                    f"containers ({spec.name}).volumes: bind-mounting {mount.source} gives the "
                    "container control of the host; set allow_sensitive_mounts=True to allow it"
                )
            if spec.privileged:
                problems.append(
                    f"containers ({spec.name}).privileged: a privileged container controls the "
                    "host; set allow_sensitive_mounts=True to allow it"
                )
    return problems


def _validate_image_params(params: Mapping[str, Any]) -> list[str]:
    if not isinstance(params, Mapping) or not params:
        return [
            "image_params: give an action and its parameters, e.g. "
            "{'action': 'pull', 'image': 'nginx:1.27'}"
        ]
    action = params.get("action")
    if action not in IMAGE_ACTIONS:
        return [f"image_params.action: {action!r} must be one of {', '.join(IMAGE_ACTIONS)}"]
    problems = [
        f"image_params.{key}: not a parameter of {action!r} "
        f"(use {', '.join(IMAGE_PARAM_KEYS[action])})"
        for key in params
        if key not in IMAGE_PARAM_KEYS[action]
    ]
    required = {
        "pull": ("image",),
        "build": ("path", "tag"),
        "tag": ("image", "tag"),
        "remove": ("image",),
    }[action]
    for key in required:
        value = params.get(key)
        if not isinstance(value, str) or not value.strip() or any(c.isspace() for c in value):
            problems.append(
                f"image_params.{key}: required for {action!r} (a non-empty string without spaces)"
            )
    if action == "build" and isinstance(params.get("path"), str):
        path = params["path"]
        dockerfile = params.get("dockerfile") or "Dockerfile"
        if not os.path.isdir(path):
            problems.append(f"image_params.path: build context {path!r} is not a directory")
        elif not os.path.isfile(os.path.join(path, dockerfile)):
            problems.append(f"image_params.dockerfile: {dockerfile!r} not found in {path!r}")
        buildargs = params.get("buildargs")
        if buildargs is not None and not isinstance(buildargs, Mapping):
            problems.append("image_params.buildargs: must be a dict of build arguments")
    return problems


# ------------------------------------------------------------------ records


@dataclass(frozen=True)
class ContainerOutcome:
    """What orchestrate did with one container."""

    name: str
    image: str
    action: str
    wave: int | None
    state: str
    health: str | None = None
    container_id: str | None = None
    ports: tuple[str, ...] = ()
    networks: tuple[str, ...] = ()
    started_at: datetime | None = None
    seconds_to_ready: float | None = None


@dataclass(frozen=True)
class ImageOutcome:
    """One image pulled, built, tagged or removed."""

    reference: str
    action: str
    image_id: str | None = None
    size: int | None = None
    seconds: float | None = None


@dataclass(frozen=True)
class RemovedResource:
    """One resource cleanup removed (or, in a dry run, would remove)."""

    kind: Literal["container", "image", "network", "volume"]
    name: str
    id: str
    bytes_reclaimed: int = 0
    stack: str | None = None


@dataclass(frozen=True)
class HealthRecord:
    """The last observed health of one requested container."""

    name: str
    status: str
    state: str | None
    exit_code: int | None = None
    failing_streak: int | None = None
    last_output: str | None = None
    checked_at: datetime | None = None
    container_id: str | None = None


@dataclass(frozen=True)
class ProgressEvent:
    """A step of a running operation, for forms and progress bars.

    ``kind`` is one of: pull, build, network_created, volume_created, container_created,
    container_starting, container_started, container_ready, container_failed,
    container_removed, rollback.
    """

    kind: str
    resource: str
    message: str = ""
    current: int | None = None
    total: int | None = None


class Plan(list[PlanStep]):
    """The steps of an orchestrate plan (a list); shows itself as a table in a notebook."""

    def to_frame(self) -> pd.DataFrame:
        from infranb.display.frames import plan_frame

        return plan_frame(self)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        from infranb.display import plan_bundle, select

        return select(plan_bundle(self), include, exclude)


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

    def to_frame(self) -> pd.DataFrame:
        """A tidy DataFrame: one row per container, plan step, image, removal or health target."""
        from infranb.display import result_frame

        return result_frame(self)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        from infranb.display import result_bundle, select

        return select(result_bundle(self), include, exclude)
