"""``manager.logs(name)``: a container's last log lines, secret values masked."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from infranb.core.frames import Schema
from infranb.core.secrets import Redactor
from infranb.views.base import EngineContext

if TYPE_CHECKING:
    import pandas as pd

SCHEMA: Schema = {"container": "string", "time": "datetime64[ns, UTC]", "line": "string"}


def to_frame(name: str, lines: Sequence[str], secrets: Sequence[str] = ()) -> pd.DataFrame:
    """Log lines as printed with ``timestamps=True`` ("<RFC3339> <text>")."""
    import pandas as pd

    from infranb.core.frames import text_frame

    redact = Redactor(secrets)
    rows = []
    for line in lines:
        stamp, _, text = line.partition(" ")
        try:
            when: pd.Timestamp | None = pd.Timestamp(stamp)
        except ValueError:
            when, text = None, line
        rows.append({"container": name, "time": when, "line": redact(text)})
    return text_frame(rows, SCHEMA)


async def query(
    ctx: EngineContext, name: str, *, tail: int | None = 100, since: datetime | None = None
) -> pd.DataFrame:
    """A container's last log lines with their timestamps (secret values masked)."""
    lines = await ctx.call(ctx.engine.container_logs, name, tail=tail, since=since, timestamps=True)
    details = await ctx.call(ctx.engine.inspect_container, name)
    return to_frame(name, lines, ctx.secrets_of(details))
