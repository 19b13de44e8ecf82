"""``manager.images()``: the engine's local images."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from infranb.core import labels as L
from infranb.core.frames import Schema, frame, join
from infranb.core.records import ImageInfo, short_id
from infranb.views.base import EngineContext

if TYPE_CHECKING:
    import pandas as pd

SCHEMA: Schema = {
    "tags": "string",
    "id": "string",
    "size": "Int64",
    "created": "datetime64[ns, UTC]",
    "managed": "boolean",
    "dangling": "boolean",
}


def to_frame(rows: Sequence[ImageInfo]) -> pd.DataFrame:
    return frame(
        (
            {
                "tags": join(i.tags) or "<none>",
                "id": short_id(i.id),
                "size": i.size,
                "created": i.created,
                "managed": L.is_managed(i.labels),
                "dangling": i.dangling,
            }
            for i in sorted(rows, key=lambda i: (i.tags or ("~",), i.id))
        ),
        SCHEMA,
    )


async def query(ctx: EngineContext) -> pd.DataFrame:
    """Local images as a DataFrame."""
    return await ctx.call(lambda: to_frame(ctx.engine.list_images()))
