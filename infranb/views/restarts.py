"""``manager.restarts(stack=)``: why does it restart — restart count, last exit code, OOM
kill, when its last run ended, and its restart policy, per container."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from infranb.core import labels as L
from infranb.core.frames import Schema, frame
from infranb.core.records import STATES, ContainerDetails
from infranb.core.sync import gather_all
from infranb.views.base import EngineContext

if TYPE_CHECKING:
    import pandas as pd

SCHEMA: Schema = {
    "name": "string",
    "state": STATES,
    "restart_count": "Int64",
    "exit_code": "Int64",
    "oom_killed": "boolean",
    "finished_at": "datetime64[ns, UTC]",
    "restart_policy": "string",
    "stack": "string",
}


def to_frame(details: Sequence[ContainerDetails]) -> pd.DataFrame:
    """Most restarted first."""
    ranked = sorted(details, key=lambda d: (-d.restart_count, d.name))
    return frame(
        (
            {
                "name": d.name,
                "state": d.state,
                "restart_count": d.restart_count,
                "exit_code": d.exit_code,
                "oom_killed": d.oom_killed,
                "finished_at": d.finished_at,
                "restart_policy": d.config.restart if d.config else None,
                "stack": L.stack_of(d.labels) or d.labels.get(L.COMPOSE_PROJECT),
            }
            for d in ranked
        ),
        SCHEMA,
    )


async def query(ctx: EngineContext, *, stack: str | None = None) -> pd.DataFrame:
    """Every container (of one ``stack``, infranb's or Compose's), most restarted first."""
    if stack:
        rows = await L.in_stack(ctx.call, ctx.engine.list_containers, stack)
    else:
        rows = await ctx.call(ctx.engine.list_containers)
    found = await gather_all(*(ctx.call(ctx.engine.inspect_container, r.id) for r in rows))
    return to_frame([d for d in found if d is not None])
