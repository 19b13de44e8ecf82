"""``manager.networks()``: the engine's networks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from infranb.core import labels as L
from infranb.core.frames import Schema, frame
from infranb.core.records import NetworkInfo, short_id
from infranb.views.base import EngineContext

if TYPE_CHECKING:
    import pandas as pd

SCHEMA: Schema = {
    "name": "string",
    "driver": "string",
    "managed": "boolean",
    "stack": "string",
    "id": "string",
}


def to_frame(rows: Sequence[NetworkInfo]) -> pd.DataFrame:
    return frame(
        (
            {
                "name": n.name,
                "driver": n.driver,
                "managed": L.is_managed(n.labels),
                "stack": L.stack_of(n.labels),
                "id": short_id(n.id),
            }
            for n in sorted(rows, key=lambda n: n.name)
        ),
        SCHEMA,
    )


async def query(ctx: EngineContext) -> pd.DataFrame:
    """Networks as a DataFrame."""
    return to_frame(await ctx.call(ctx.engine.list_networks))
