"""``manager.top(name)``: the processes of a running container."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from infranb.core.frames import Schema, text_frame
from infranb.views.base import EngineContext

if TYPE_CHECKING:
    import pandas as pd

SCHEMA: Schema = {
    "container": "string",
    "pid": "Int64",
    "ppid": "Int64",
    "user": "string",
    "cpu_time": "string",
    "command": "string",
}
#: the engine's column titles (Docker's ps -ef, Podman's own) -> the frame's columns
_TITLES = {
    "PID": "pid",
    "PPID": "ppid",
    "UID": "user",
    "USER": "user",
    "TIME": "cpu_time",
    "CMD": "command",
    "COMMAND": "command",
}


def to_frame(
    name: str, titles: Sequence[str], processes: Sequence[Sequence[str]], secrets: Sequence[str]
) -> pd.DataFrame:
    """One row per process; a command's secret values masked."""
    from infranb.core.secrets import Redactor

    redact = Redactor(secrets)
    rows = []
    for process in processes:
        row: dict[str, object] = {"container": name}
        for title, value in zip(titles, process, strict=False):
            column = _TITLES.get(title.upper())
            if column in ("pid", "ppid"):
                row[column] = int(value) if value.isdigit() else None
            elif column:
                row[column] = redact(value) if column == "command" else value
        rows.append(row)
    return text_frame(rows, SCHEMA)


async def query(ctx: EngineContext, name: str) -> pd.DataFrame:
    """The processes running in container ``name`` (``docker top``)."""
    titles, processes = await ctx.call(ctx.engine.container_top, name)
    details = await ctx.call(ctx.engine.inspect_container, name)
    return to_frame(name, titles, processes, ctx.secrets_of(details))
