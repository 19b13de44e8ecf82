"""``manager.stats()``: each running container's resource use, one sample or a series
(``samples=N``, a second apart: a tidy frame with a ``time`` column, drawn as line charts)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING

from infranb.core import labels as L
from infranb.core.columns import CHART
from infranb.core.errors import ValidationError
from infranb.core.frames import Schema, frame
from infranb.core.records import StatsSample
from infranb.core.sync import gather_all
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


#: a series: when each sample was read, then the sample
SERIES_SCHEMA: Schema = {"time": "datetime64[ns, UTC]", **SCHEMA}
#: what a series' HTML draws, one chart each (column -> title)
CHARTS = {"cpu_percent": "CPU %", "memory_bytes": "memory"}


def to_frame(samples: Sequence[StatsSample]) -> pd.DataFrame:
    """One row per sample, in the engine's units (bytes, percent)."""
    return frame((dataclasses.asdict(sample) for sample in samples), SCHEMA)


def series_frame(samples: Sequence[StatsSample]) -> pd.DataFrame:
    """One row per container and sample, in time order, drawn as charts in a notebook."""
    rows = sorted(samples, key=lambda s: (s.read_at is None, s.read_at or 0, s.name))
    data = frame(
        ({"time": s.read_at, **dataclasses.asdict(s)} for s in rows),
        SERIES_SCHEMA,
        first=("time", "name", "cpu_percent", "memory_bytes", "memory_percent", "pids"),
    )
    data.attrs[CHART] = CHARTS
    return data


async def query(
    ctx: EngineContext,
    names: str | Sequence[str] | None = None,
    *,
    stack: str | None = None,
    samples: int = 1,
) -> pd.DataFrame:
    """CPU %, memory, network and block I/O of each running container (of ``names``, of
    one ``stack``, or all): one sample each, or ``samples`` a second apart (it takes about
    that many seconds), one row per container and sample with its ``time``."""
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
        raise ValidationError([f"samples must be a whole number of 1 or more, not {samples!r}"])
    if isinstance(names, str):
        names = [names]
    if names is None:
        if stack:
            rows = await L.in_stack(ctx.call, ctx.engine.list_containers, stack, state="running")
        else:
            rows = await ctx.call(ctx.engine.list_containers, state="running")
        names = [r.name for r in rows]
    if samples == 1:
        one = await gather_all(*(ctx.call(ctx.engine.container_stats, n) for n in names))
        return to_frame(one)
    series = await gather_all(
        *(ctx.call(ctx.engine.container_stats_series, n, samples) for n in names)
    )
    return series_frame([sample for found in series for sample in found])
