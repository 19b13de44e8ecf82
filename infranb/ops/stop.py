"""stop: stop containers, and remove the ones infranb made when asked (``manager.stop``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from infranb.core import labels as L
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
class Stop:
    """Stop these containers; remove the ones infranb made when ``remove``."""

    names: tuple[str, ...]
    remove: bool
    dry_run: bool = False


def parse(
    op: InfrastructureOperation, config: InfrastructureManagerConfig
) -> tuple[Stop | None, list[Problem]]:
    names, problems = parse_names(op, "stop")
    problems += unknown_params(op, ("remove",))
    remove = (op.params or {}).get("remove") if isinstance(op.params, dict) else None
    if remove is None:
        remove = config.auto_remove_containers
    if not isinstance(remove, bool):
        problems.append(Problem("params.remove", f"{remove!r} must be True or False"))
    return (None, problems) if problems else (Stop(names, remove, op.dry_run), [])


def plan(
    command: Stop, details: list[ContainerDetails], config: InfrastructureManagerConfig
) -> StepPlan:
    """A stop of each (undone by a start), then a remove of each infranb made when asked.
    A container infranb did not create is stopped as asked, never removed."""
    stops = [
        Step("stop", d.name, 0, {"id": d.id, **_hooks_of(d)},
             undo=Step("start", d.name, 0, {"id": d.id}),
             reason=f"{d.state}: stop it", image=short_id(d.image_id))
        for d in details
    ]  # fmt: skip
    removes = [
        Step("remove", d.name, 1, {"id": d.id}, no_undo="a removed container is gone",
             reason="infranb made it: remove it", image=short_id(d.image_id))
        for d in details
        if command.remove and L.is_managed(d.labels)
    ]  # fmt: skip
    return StepPlan((*stops, *removes), stack=shared_stack(details))


def _hooks_of(details: ContainerDetails) -> dict[str, object]:
    """What a stop step needs to run the container's ``pre_stop`` hooks: the label that
    carries them (nothing when it has none, or is not running)."""
    hooks = details.labels.get(L.PRE_STOP)
    return {"labels": {L.PRE_STOP: hooks}} if hooks and details.state == "running" else {}


OPERATION: Operation[Stop] = Operation(
    name="stop",
    summary="Stop containers (and remove the ones infranb made, with remove=True)",
    parse=parse,
    observe=observe_named,
    plan=plan,
    schema=CONTAINER_ACTIONS,
    rows=container_action_rows,
    shown_fields=("container_ids", "params"),
    plan_table=True,
    plan_columns=NAMED_PLAN_COLUMNS,
)
