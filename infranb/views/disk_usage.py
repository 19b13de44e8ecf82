"""``manager.disk_usage()``: what images, containers, volumes and build cache take on disk
(the engine's ``system df``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from infranb.core.frames import Schema, frame
from infranb.core.records import DiskUse, short_id
from infranb.views.base import EngineContext

if TYPE_CHECKING:
    import pandas as pd

KINDS = ("image", "container", "volume", "build cache")
SCHEMA: Schema = {
    "kind": KINDS,
    "name": "string",
    "size_bytes": "Int64",
    "shared_bytes": "Int64",
    "reclaimable_bytes": "Int64",
    "in_use_by": "Int64",
    "created": "datetime64[ns, UTC]",
    "id": "string",
}


def to_frame(rows: Sequence[DiskUse]) -> pd.DataFrame:
    """One row per image, container, volume and build cache record, largest first within
    each kind. What a cleanup could free is ``reclaimable_bytes``: all of what nothing
    uses (an image's layers shared with others are not counted)."""
    order = {kind: i for i, kind in enumerate(KINDS)}
    ranked = sorted(rows, key=lambda r: (order[r.kind], -r.size, r.name))
    return frame(
        (
            {
                "kind": r.kind,
                "name": r.name,
                "size_bytes": r.size,
                "shared_bytes": r.shared_size,
                "reclaimable_bytes": 0 if r.in_use_by else max(r.size - r.shared_size, 0),
                "in_use_by": r.in_use_by,
                "created": r.created,
                "id": short_id(r.id) if r.kind != "volume" else r.id,
            }
            for r in ranked
        ),
        SCHEMA,
    )


async def query(ctx: EngineContext) -> pd.DataFrame:
    """The engine's disk usage, one row per thing that takes space (``docker system df
    -v``); reads of one engine wait for each other (Docker refuses two at once)."""
    return to_frame(await ctx.call(ctx.engine.disk_usage))
