"""``manager.stats()``: one sample of each running container's resource use."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING

from infranb.core import labels as L
from infranb.core.frames import Schema, frame
from infranb.core.records import StatsSample
from infranb.views.base import EngineContext

if TYPE_CHECKING:
    import pandas as pd

SCHEMA: Schema = {
    "name": "string",
    "cpu_percent": "Float64",
    "memory_bytes": "Int64",
    "memory_limit_bytes": "Int64",
    "memory_percent": "Float64",
    "net_rx_bytes": "Int64",
    "net_tx_bytes": "Int64",
    "block_read_bytes": "Int64",
    "block_write_bytes": "Int64",
    "pids": "Int64",
}


def to_frame(samples: Sequence[StatsSample]) -> pd.DataFrame:
    """One row per sample, in the engine's units (bytes, percent)."""
    return frame((dataclasses.asdict(sample) for sample in samples), SCHEMA)


async def query(
    ctx: EngineContext, names: Sequence[str] | None = None, *, stack: str | None = None
) -> pd.DataFrame:
    """One sample of CPU %, memory, network and block I/O per running container (of
    ``names``, of one ``stack``, or all)."""
    if names is None:
        if stack:
            rows = await L.in_stack(ctx.call, ctx.engine.list_containers, stack, state="running")
        else:
            rows = await ctx.call(ctx.engine.list_containers, state="running")
        names = [r.name for r in rows]
    samples = await asyncio.gather(*(ctx.call(ctx.engine.container_stats, n) for n in names))
    return to_frame(samples)
