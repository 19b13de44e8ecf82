"""``manager.tasks()``: the tasks of Swarm services, and the node that runs each."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from infranb.core.frames import Schema, frame
from infranb.core.records import NodeInfo, ServiceInfo, TaskInfo, short_id
from infranb.core.swarm import node_labels
from infranb.views.base import EngineContext
from infranb.views.services import stack_services

if TYPE_CHECKING:
    import pandas as pd

#: the columns a notebook shows first (the others are one click away)
FIRST_COLUMNS = ("service", "slot", "node", "state", "error", "exit_code")
SCHEMA: Schema = {
    "service": "string",
    "slot": "Int64",
    "node": "string",
    "state": "string",
    "desired_state": "string",
    "error": "string",
    "exit_code": "Int64",
    "image": "string",
    "updated": "datetime64[ns, UTC]",
    "container_id": "string",
    "id": "string",
}


def to_frame(
    services: Sequence[ServiceInfo], tasks: Sequence[TaskInfo], nodes: Sequence[NodeInfo]
) -> pd.DataFrame:
    """One row per task the swarm keeps (the current ones and a few past ones)."""
    names = {s.id: s.name for s in services}
    where = node_labels(nodes)
    return frame(
        (
            {
                "service": names.get(t.service_id, t.service_id[:12]),
                "slot": t.slot,
                "node": where.get(t.node_id, t.node_id[:12]),
                "state": t.state,
                "desired_state": t.desired_state,
                "error": t.error,
                "exit_code": t.exit_code,
                "image": t.image,
                "updated": t.updated,
                "container_id": short_id(t.container_id),
                "id": t.id[:12],
            }
            for t in sorted(
                tasks,
                key=lambda t: (names.get(t.service_id, ""), t.slot or 0, str(t.updated or "")),
            )
        ),
        SCHEMA,
        first=FIRST_COLUMNS,
    )


async def query(ctx: EngineContext, *, stack: str | None = None) -> pd.DataFrame:
    """The tasks of Swarm services (of one infranb stack, or all): which node runs each,
    its state and its error."""
    services, tasks = await stack_services(ctx, stack)
    return to_frame(services, tasks, await ctx.call(ctx.engine.list_nodes))
