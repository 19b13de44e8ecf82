"""``manager.containers()``: the containers on the engine, running or not."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from infranb.core import labels as L
from infranb.core.frames import Schema, frame, join
from infranb.core.records import STATES, ContainerInfo, short_id
from infranb.views.base import EngineContext

if TYPE_CHECKING:
    import pandas as pd

HEALTH_STATE = ("starting", "healthy", "unhealthy")
#: the columns a notebook shows first (the others are one click away)
FIRST_COLUMNS = ("name", "state", "health", "image", "ports")
SCHEMA: Schema = {
    "name": "string",
    "image": "string",
    "state": STATES,
    "health": HEALTH_STATE,
    "status": "string",
    "managed": "boolean",
    "stack": "string",
    "ports": "string",
    "networks": "string",
    "created": "datetime64[ns, UTC]",
    "id": "string",
}


def to_frame(rows: Sequence[ContainerInfo]) -> pd.DataFrame:
    return frame(
        (
            {
                "name": c.name,
                "image": c.image,
                "state": c.state,
                "health": c.health,
                "status": c.status,
                "managed": L.is_managed(c.labels),
                "stack": L.stack_of(c.labels),
                "ports": join(c.ports),
                "networks": join(c.networks),
                "created": c.created,
                "id": short_id(c.id),
            }
            for c in sorted(rows, key=lambda c: c.name)
        ),
        SCHEMA,
        first=FIRST_COLUMNS,
    )


async def query(
    ctx: EngineContext,
    *,
    stack: str | None = None,
    label: str | None = None,
    state: str | None = None,
    managed_only: bool = False,
) -> pd.DataFrame:
    """Containers on the engine (all by default) as a DataFrame: of one ``stack``, carrying
    ``label`` (``"key"`` or ``"key=value"``), in ``state``, or only those infranb made."""
    labels: dict[str, str] = {}
    if managed_only:
        labels[L.MANAGED] = "true"
    if label:
        key, _, value = label.partition("=")
        labels[key] = value
    if stack:  # infranb's and Compose's labels: a project docker compose made is a stack too
        rows = await L.in_stack(
            ctx.call, ctx.engine.list_containers, stack, labels=labels, state=state
        )
        return await ctx.call(to_frame, rows)
    # The frame is built on the worker thread too: the kernel's loop stays free, and a
    # fleet builds its engines' frames side by side.
    return await ctx.call(lambda: to_frame(ctx.engine.list_containers(labels=labels, state=state)))
