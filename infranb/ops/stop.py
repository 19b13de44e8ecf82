"""stop: stop containers, and remove the ones infranb made when asked (``manager.stop``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from infranb.core import labels as L
from infranb.core.errors import Problem
from infranb.core.records import ContainerDetails, ContainerOutcome, RemovedResource
from infranb.ops.base import Operation, Outcome
from infranb.ops.common import (
    CONTAINER_ACTIONS,
    NAMED_PLAN_COLUMNS,
    container_action_rows,
    parse_names,
    plan_named,
    unknown_params,
)

if TYPE_CHECKING:
    from infranb.core.config import InfrastructureManagerConfig
    from infranb.core.request import InfrastructureOperation
    from infranb.runtime import Runtime


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


async def run(command: Stop, rt: Runtime, outcome: Outcome) -> None:
    # A container infranb did not create is stopped as asked, never removed.
    def removes(d: ContainerDetails) -> bool:
        return command.remove and L.is_managed(d.labels)

    details = await plan_named(
        rt, outcome, command.names, "stop", lambda d: f"{d.state}: stop it",
        dry_run=command.dry_run, removes=removes,
    )  # fmt: skip
    if details is None:
        return
    removing = {d.id for d in details if removes(d)}

    async def stop(name: str, container_id: str) -> None:
        await rt.call(rt.engine.stop_container, container_id, rt.config.stop_timeout)
        rt.stopped.append(name)
        rt.emit("container_stopped", name)
        outcome.containers.append(
            ContainerOutcome(name, "", "stop", 0, "exited", container_id=container_id)
        )
        if container_id in removing:
            await rt.call(rt.engine.remove_container, container_id)
            rt.emit("container_removed", name)
            outcome.removed.append(RemovedResource("container", name, container_id))

    await rt.gather(*(stop(d.name, d.id) for d in details))


OPERATION: Operation[Stop] = Operation(
    name="stop",
    summary="Stop containers (and remove the ones infranb made, with remove=True)",
    parse=parse,
    run=run,
    schema=CONTAINER_ACTIONS,
    rows=container_action_rows,
    shown_fields=("container_ids", "params"),
    plan_table=True,
    plan_columns=NAMED_PLAN_COLUMNS,
)
