"""``manager.volumes()``: the engine's volumes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from infranb.core import labels as L
from infranb.core.frames import Schema, frame
from infranb.core.records import VolumeInfo
from infranb.views.base import EngineContext

if TYPE_CHECKING:
    import pandas as pd

SCHEMA: Schema = {
    "name": "string",
    "driver": "string",
    "managed": "boolean",
    "stack": "string",
}


def to_frame(rows: Sequence[VolumeInfo]) -> pd.DataFrame:
    return frame(
        (
            {
                "name": v.name,
                "driver": v.driver,
                "managed": L.is_managed(v.labels),
                "stack": L.stack_of(v.labels),
            }
            for v in sorted(rows, key=lambda v: v.name)
        ),
        SCHEMA,
    )


async def query(ctx: EngineContext) -> pd.DataFrame:
    """Volumes as a DataFrame."""
    return to_frame(await ctx.call(ctx.engine.list_volumes))
