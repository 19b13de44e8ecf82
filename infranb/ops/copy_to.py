"""copy_to: put a file or folder of the kernel's machine into a container
(``manager.copy_to``); what it overwrites there is not kept, so it has no undo."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from infranb.core.errors import Problem
from infranb.core.frames import Schema
from infranb.core.records import ContainerDetails, short_id
from infranb.core.steps import Step, StepPlan
from infranb.ops.base import Operation
from infranb.ops.common import (
    NAMED_PLAN_COLUMNS,
    observe_named,
    parse_names,
    shared_stack,
    unknown_params,
)

if TYPE_CHECKING:
    from infranb.core.config import InfrastructureManagerConfig
    from infranb.core.request import InfrastructureOperation
    from infranb.core.result import InfrastructureResult


@dataclass(frozen=True)
class CopyTo:
    """Copy ``source`` into container ``name`` as ``container_path``."""

    name: str
    source: Path
    container_path: str
    dry_run: bool = False

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name,)


def parse(
    op: InfrastructureOperation, config: InfrastructureManagerConfig
) -> tuple[CopyTo | None, list[Problem]]:
    names, problems = parse_names(op, "copy into")
    if len(names) > 1:
        problems.append(Problem("container_ids", "copy_to copies into one container at a time"))
    problems += unknown_params(op, ("host_path", "container_path"))
    params = op.params if isinstance(op.params, dict) else {}
    host_path, container_path = params.get("host_path"), params.get("container_path")
    source = Path(str(host_path)).expanduser() if host_path else None
    if source is None or not source.exists():
        problems.append(Problem("params.host_path", f"{host_path} is not on this machine"))
    if (
        not isinstance(container_path, str)
        or not container_path.startswith("/")
        or container_path.rstrip("/") == ""
    ):
        problems.append(
            Problem("params.container_path", f"{container_path!r} must be an absolute path")
        )
    if problems or source is None or not isinstance(container_path, str):
        return None, problems
    return CopyTo(names[0], source, container_path, op.dry_run), []


def plan(
    command: CopyTo, details: list[ContainerDetails], config: InfrastructureManagerConfig
) -> StepPlan:
    """One copy into the container; nothing undoes it (what it overwrites is not kept)."""
    (d,) = details
    step = Step(
        "copy", d.name, 0,
        {"id": d.id, "host_path": str(command.source), "container_path": command.container_path},
        no_undo="what it overwrites is not kept",
        reason=f"put {command.source} at {command.container_path}", image=short_id(d.image_id),
    )  # fmt: skip
    return StepPlan((step,), stack=shared_stack(details))


def rows(result: InfrastructureResult) -> Iterable[dict[str, Any]]:
    for c in result.copied:
        yield {
            "container": c.container,
            "host_path": c.host_path,
            "container_path": c.container_path,
            "bytes": c.bytes,
        }


SCHEMA: Schema = {
    "container": "string",
    "host_path": "string",
    "container_path": "string",
    "bytes": "Int64",
}

OPERATION: Operation[CopyTo] = Operation(
    name="copy_to",
    summary="Copy a file or folder of this machine into a container",
    parse=parse,
    observe=observe_named,
    plan=plan,
    schema=SCHEMA,
    rows=rows,
    shown_fields=("container_ids", "params"),
    plan_table=True,
    plan_columns=NAMED_PLAN_COLUMNS,
)
