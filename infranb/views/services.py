"""``manager.services()``: Swarm services with their running and desired replicas."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from infranb.core import labels as L
from infranb.core.frames import Schema, frame
from infranb.core.records import ServiceInfo, TaskInfo
from infranb.views.base import EngineContext

if TYPE_CHECKING:
    import pandas as pd

SCHEMA: Schema = {
    "stack": "string",
    "service": "string",
    "image": "string",
    "mode": ("replicated", "global"),
    "replicas_running": "Int64",
    "replicas_desired": "Int64",
    "update_state": "string",
    "id": "string",
}


def to_frame(services: Sequence[ServiceInfo], tasks: Sequence[TaskInfo]) -> pd.DataFrame:
    """One row per service, with its running and desired task counts."""
    wanted = [t for t in tasks if t.desired_state == "running"]
    return frame(
        (
            {
                "stack": L.stack_of(s.labels),
                "service": s.name,
                "image": s.image,
                "mode": "global" if s.replicas is None else "replicated",
                "replicas_running": sum(
                    1 for t in wanted if t.service_id == s.id and t.state == "running"
                ),
                "replicas_desired": s.replicas
                if s.replicas is not None
                else sum(1 for t in wanted if t.service_id == s.id),
                "update_state": s.update_state,
                "id": s.id[:12],
            }
            for s in sorted(services, key=lambda s: s.name)
        ),
        SCHEMA,
    )


async def stack_services(
    ctx: EngineContext, stack: str | None
) -> tuple[list[ServiceInfo], list[TaskInfo]]:
    """The services of one infranb stack (or all) and their tasks, in two engine calls."""
    await ctx.require_swarm_manager()
    labels = L.managed(stack) if stack else None
    services = await ctx.call(ctx.engine.list_services, labels=labels)
    tasks = await ctx.call(ctx.engine.list_tasks, services=[s.id for s in services])
    return services, tasks


async def query(ctx: EngineContext, *, stack: str | None = None) -> pd.DataFrame:
    """Swarm services (of one infranb stack, or all) with running/desired replicas."""
    return to_frame(*await stack_services(ctx, stack))
