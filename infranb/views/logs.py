"""``manager.logs(names | stack=)``: the log lines of one or several containers in one frame,
in time order, secret values masked."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from infranb.core import labels as L
from infranb.core.errors import ValidationError
from infranb.core.frames import Schema
from infranb.core.secrets import Redactor
from infranb.core.sync import gather_all
from infranb.views.base import EngineContext
from infranb.views.when import When, moment

if TYPE_CHECKING:
    import pandas as pd

STREAMS = ("stdout", "stderr")
SCHEMA: Schema = {
    "time": "datetime64[ns, UTC]",
    "container": "string",
    "stream": STREAMS,
    "line": "string",
}


def to_frame(
    name: str, lines: Sequence[str], secrets: Sequence[str] = (), stream: str = "stdout"
) -> pd.DataFrame:
    """One container's lines as printed with ``timestamps=True`` ("<RFC3339> <text>")."""
    return rows_frame(rows_of(name, lines, Redactor(secrets), stream))


def rows_of(name: str, lines: Sequence[str], redact: Redactor, stream: str) -> list[dict[str, Any]]:
    import pandas as pd

    rows = []
    for line in lines:
        stamp, _, text = line.partition(" ")
        try:
            when: pd.Timestamp | None = pd.Timestamp(stamp)
        except ValueError:
            when, text = None, line
        rows.append({"time": when, "container": name, "stream": stream, "line": redact(text)})
    return rows


def pattern_of(grep: str | None) -> re.Pattern[str] | None:
    """``grep`` compiled, or a ``ValidationError`` saying why it cannot be."""
    if grep is None:
        return None
    try:
        return re.compile(grep)
    except re.error as error:
        problem = f"grep: {grep!r} is not a regular expression ({error})"
        raise ValidationError([problem]) from None


def rows_frame(rows: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """Rows of ``SCHEMA`` as the view's frame (a live feed's too)."""
    from infranb.core.frames import text_frame

    return text_frame(rows, SCHEMA)


async def query(
    ctx: EngineContext,
    names: str | Sequence[str] | None = None,
    *,
    stack: str | None = None,
    since: When | None = None,
    until: When | None = None,
    tail: int | None = 100,
    grep: str | None = None,
) -> pd.DataFrame:
    """The last ``tail`` lines of each container (of ``names``, or of one ``stack``),
    stdout and stderr, merged in time order; ``since``/``until`` as datetimes, epoch seconds
    or "10m" ago. Secret values are masked first, then ``grep`` (a regular expression)
    keeps the lines it finds."""
    if isinstance(names, str):
        names = [names]
    if names is None:
        if not stack:
            raise ValidationError(["logs: name the containers, or give stack="])
        listed = await L.in_stack(ctx.call, ctx.engine.list_containers, stack)
        names = [c.name for c in listed]
    pattern = pattern_of(grep)
    start = moment(since, field="since") if since is not None else None
    end = moment(until, field="until") if until is not None else None

    async def one(name: str) -> tuple[str, list[str], list[str]]:
        details, read = await gather_all(
            ctx.call(ctx.engine.inspect_container, name),
            ctx.call(ctx.engine.container_log_lines, name, tail=tail, since=start, until=end),
        )
        # One pass of the masks over all the text (lines never hold a newline).
        masked = Redactor(ctx.secrets_of(details))("\n".join(line for _, line in read))
        return name, [stream for stream, _ in read], masked.split("\n") if read else []

    parts = await gather_all(*(one(n) for n in names))
    return merged(parts, pattern)


def merged(
    parts: Sequence[tuple[str, Sequence[str], Sequence[str]]],
    pattern: re.Pattern[str] | None = None,
) -> pd.DataFrame:
    """(container, each line's stream, lines "<RFC3339> <text>") as one frame in time
    order, built by columns (100,000 lines in about 0.1 s), then kept by ``pattern``."""
    import pandas as pd

    from infranb.core.textframe import TextFrame

    stamps: list[str] = []
    texts: list[str] = []
    containers: list[str] = []
    streams: list[str] = []
    for name, line_streams, lines in parts:
        for line in lines:
            stamp, _, text = line.partition(" ")
            stamps.append(stamp)
            texts.append(text)
        containers += [name] * len(lines)
        streams += line_streams
    times = pd.to_datetime(
        pd.Series(stamps, dtype="object"), utc=True, format="ISO8601", errors="coerce"
    )
    data = pd.DataFrame(
        {
            "time": times.astype("datetime64[ns, UTC]"),
            "container": pd.array(containers, dtype="string"),
            "stream": pd.Categorical(streams, categories=list(STREAMS)),
            "line": pd.array(texts, dtype="string"),
        }
    )
    if pattern is not None:
        kept = pd.Series([bool(pattern.search(t)) for t in texts], index=data.index, dtype=bool)
        data = data[kept]
    data = data.sort_values("time", kind="stable", na_position="last").reset_index(drop=True)
    return TextFrame(data)
