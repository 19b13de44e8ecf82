"""restart: restart containers (``manager.restart``), awaited running again."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from infranb.core.errors import Problem
from infranb.core.records import ContainerDetails, short_id
from infranb.core.steps import Step, StepPlan
from infranb.ops.base import Operation
from infranb.ops.common import (
    CONTAINER_ACTIONS,
    NAMED_PLAN_COLUMNS,
    container_action_rows,
    observe_named,
    parse_names,
    shared_stack,
    unknown_params,
)

if TYPE_CHECKING:
    from infranb.core.config import InfrastructureManagerConfig
    from infranb.core.request import InfrastructureOperation


@dataclass(frozen=True)
class Restart:
    """Restart these containers."""

    names: tuple[str, ...]
    dry_run: bool = False


def parse(
    op: InfrastructureOperation, config: InfrastructureManagerConfig
) -> tuple[Restart | None, list[Problem]]:
    names, problems = parse_names(op, "restart")
    problems += unknown_params(op, ())
    return (None, problems) if problems else (Restart(names, op.dry_run), [])


def plan(
    command: Restart, details: list[ContainerDetails], config: InfrastructureManagerConfig
) -> StepPlan:
    """A restart of each, awaited running again; nothing undoes a restart."""
    steps = tuple(
        Step("restart", d.name, 0, {"id": d.id}, no_undo="a restart cannot be undone",
             reason=f"{d.state}: restart it", image=short_id(d.image_id))
        for d in details
    )  # fmt: skip
    return StepPlan(steps, stack=shared_stack(details))


OPERATION: Operation[Restart] = Operation(
    name="restart",
    summary="Restart containers",
    parse=parse,
    observe=observe_named,
    plan=plan,
    schema=CONTAINER_ACTIONS,
    rows=container_action_rows,
    shown_fields=("container_ids",),
    plan_table=True,
    plan_columns=NAMED_PLAN_COLUMNS,
)
