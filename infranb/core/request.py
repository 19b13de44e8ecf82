"""The request users make: ``InfrastructureOperation`` and its validation.

Field names and defaults follow the specification; additions are documented per field.
What each operation accepts is declared by its module in ``infranb/ops`` and read through
the operation table (``core.hooks.operations()``). Reprs are the notebook face's
(``core.hooks.display()``); every text form masks secrets.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

from infranb.core import hooks
from infranb.core.config import InfrastructureManagerConfig
from infranb.core.errors import Problem, ValidationError
from infranb.core.secrets import mask_url_credentials, masked_container, shown_value
from infranb.core.specs import ContainerSpec, SpecProblem, check_stack_name, parse_containers

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
    ``Project.operation()``), ``params`` (what an operation takes beyond these fields, as
    ``manage_images`` takes ``image_params``: ``stop``'s ``remove``, ``update``'s ``restart``,
    ``mem_limit``, ``cpus``, ``pids_limit``, ``copy_to``'s ``host_path`` and
    ``container_path``).
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
    params: dict[str, Any] = field(default_factory=dict)

    def validate(self, config: InfrastructureManagerConfig | None = None) -> list[Problem]:
        """Every problem with this request, each naming its field (``Problem.path``); empty
        when valid. ``config`` is the configuration that will run it.

        Pure: the engine is not consulted (missing images and taken names are checked
        when the operation runs, before anything is created).
        """
        return self.parse(config)[2]

    def parse(
        self, config: InfrastructureManagerConfig | None = None
    ) -> tuple[Any, Any, list[Problem]]:
        """The operation (the table's ``Operation``), its typed command (``None`` when
        invalid) and every problem."""
        config = config or InfrastructureManagerConfig()
        operation, problems = hooks.operations().lookup(self.operation)
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
        if not isinstance(self.params, dict):
            problems.append(Problem("params", "use a dict of the operation's parameters"))
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
        """The typed container specs; raises ``ValidationError`` (a ``ValueError`` too)
        when the request is invalid."""
        specs, problems = parse_containers(self.containers)
        if problems:
            raise _InvalidSpecs(problems)
        return specs

    def shown_fields(self) -> dict[str, Any]:
        """The fields a reader wants, secrets masked (containers' environments, URL
        credentials, build arguments)."""
        operation = (
            hooks.operations().OPERATIONS.get(self.operation)
            if isinstance(self.operation, str)
            else None
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
        text: str = hooks.display().operation_bundle(self)["text/plain"]
        return text

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        face = hooks.display()
        bundle: dict[str, str] = face.select(face.operation_bundle(self), include, exclude)
        return bundle


class _InvalidSpecs(ValidationError, ValueError):
    """Invalid container specs (a ``ValueError`` too: bad input to ``container_specs``)."""


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
    if name == "params" and isinstance(value, dict):
        # an operation's parameters: values under secret-looking keys masked, and the
        # build arguments of the builds an orchestrate runs first
        shown = {k: shown_value(str(k), v) if isinstance(v, str) else v for k, v in value.items()}
        builds = value.get("builds")
        if isinstance(builds, list | tuple):
            shown["builds"] = [_masked("image_params", b) for b in builds]
        return shown
    return value
