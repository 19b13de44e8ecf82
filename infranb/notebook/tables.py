"""HTML tables of DataFrames, shared by the reprs and the text frames (pure, escaped)."""

from __future__ import annotations

import re
from datetime import datetime
from functools import cache
from html import escape
from importlib import resources
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Sequence

    import pandas as pd


@cache
def css() -> str:
    return resources.files("infranb").joinpath("static/infranb.css").read_text()


def esc(value: object) -> str:
    return escape("" if value is None else str(value), quote=True)


def essential_table(
    data: pd.DataFrame,
    first: Sequence[str],
    *,
    status_columns: Sequence[str] = (),
    max_rows: int | None = None,
) -> str:
    """``data``'s ``first`` columns as the table one reads, so it fits a notebook's output
    area; every column in a collapsed table below it (``<details>``: no id, no script, the
    same HTML on every render)."""
    shown = [c for c in first if c in data.columns]
    if not shown or len(shown) == len(data.columns):
        return table(data, status_columns=status_columns, max_rows=max_rows)
    return (
        table(data[shown], status_columns=status_columns, max_rows=max_rows)
        + f'<details class="inb-more"><summary>all {len(data.columns)} columns</summary>'
        + table(data, status_columns=status_columns, max_rows=max_rows)
        + "</details>"
    )


def table(
    data: pd.DataFrame,
    *,
    status_columns: Sequence[str] = (),
    max_rows: int | None = None,
    longest: int | None = None,
) -> str:
    """An escaped HTML table of a DataFrame, for people: status cells coloured by their value,
    booleans as ✓ or blank, missing values blank, sizes and durations in units, times in
    the local time zone (the date once in the header when every row has the same), ids of
    12 characters, long values cut with their full text on hover. The frame keeps its raw
    values; only its HTML reads this way. With ``max_rows``, a longer frame shows its first
    and last rows and says how many it left out (as pandas does). ``longest=0`` shows every
    value whole (log lines)."""
    left_out = 0
    if max_rows is not None and len(data) > max_rows:
        half = max(max_rows // 2, 1)
        left_out = len(data) - 2 * half
        data = data.iloc[list(range(half)) + list(range(len(data) - half, len(data)))]
    good = {
        "healthy",
        "running",
        "unchanged",
        "created",
        "started",
        "pulled",
        "built",
        "exited(0)",
        "succeeded",
    }
    bad = {"unhealthy", "exited", "dead", "not_found", "failed", "gone", "interrupted"}
    days = {column: _days(data[column]) for column in data.columns}
    head = "".join(
        f"<th>{_words(str(c))}</th>"
        if len(days[c]) != 1
        else f"<th>{_words(f'{c} ({next(iter(days[c]))})')}</th>"
        for c in data.columns
    )
    rows = []
    for number, record in enumerate(data.itertuples(index=False)):
        if left_out and number == max(max_rows or 0, 2) // 2:
            rows.append(
                f'<tr><td colspan="{len(data.columns)}" class="inb-muted">'
                f"… {left_out} more rows (the frame holds them all)</td></tr>"
            )
        cells = []
        for column, value in zip(data.columns, record, strict=True):
            text = "" if is_missing(value) else _format(value, column, dated=len(days[column]) > 1)
            css_class = ""
            title = ""
            if column in status_columns:
                css_class = (
                    ' class="inb-cell-ok"'
                    if text in good
                    else ' class="inb-cell-bad"'
                    if text in bad
                    else ""
                )
            elif column in NAME_COLUMNS:
                css_class = ' class="inb-nowrap"'
            if _is_byte_column(column) and text:
                # People read units; the frame keeps the raw number (shown on hover).
                title = f' title="{esc(text)} bytes"'
                text = human_bytes(int(value))
            elif len(text) > (longest or LONGEST) and longest != 0:
                title = f' title="{esc(text)}"'
                text = text[: (longest or LONGEST) - 1] + "…"
            cells.append(f"<td{css_class}{title}>{_words(text)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    if not rows:
        rows.append(f'<tr><td colspan="{len(data.columns)}" class="inb-muted">(none)</td></tr>')
    body = "".join(rows)
    return f'<table class="inb-table"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


#: identifiers a table must not break across lines
NAME_COLUMNS = ("name", "container", "image", "reference", "id", "container_id", "stack", "tags")


def _is_byte_column(column: str) -> bool:
    return column == "size" or column.endswith("_bytes") or column == "bytes_reclaimed"


def is_missing(value: Any) -> bool:
    try:
        import pandas as pd

        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


#: a cell longer than this is cut, its full text in the cell's title
LONGEST = 80

#: columns of ids, shown as 12 characters (as the docker CLI shows them)
ID_COLUMNS = ("id", "container_id", "image_id", "network_id", "engine_id")


#: characters after which a browser may break a line inside a word (UAX #14)
_BREAKS_INSIDE = re.compile(r"[-/\u2010-\u2014]")


def _words(text: str) -> str:
    """Escaped cell text in which a line breaks only at white space: a word a browser
    would break at a hyphen or slash (names, ports, paths) is kept whole in a span."""
    return "".join(
        f'<span class="inb-w">{esc(part)}</span>'
        if part and not part.isspace() and _BREAKS_INSIDE.search(part)
        else esc(part)
        for part in re.split(r"(\s+)", text)
    )


def _days(column: pd.Series) -> set[str]:
    """The local dates of a column of times (empty for any other column)."""
    found = set()
    for value in column:
        if isinstance(value, datetime) and not is_missing(value):
            found.add(_local(value).date().isoformat())
    return found


def _local(value: datetime) -> datetime:
    """A time in the kernel's local time zone (one without a zone is taken as it is)."""
    if hasattr(value, "to_pydatetime"):  # a pandas Timestamp: seconds are shown, not ns
        value = value.to_pydatetime(warn=False)
    return value.astimezone() if value.tzinfo is not None else value


def _format(value: Any, column: str = "", *, dated: bool = True) -> str:
    if isinstance(value, bool) or type(value).__name__ in ("bool_", "bool"):  # numpy's too
        return "✓" if value else ""
    if isinstance(value, datetime):
        local = _local(value)
        return local.strftime("%Y-%m-%d %H:%M:%S" if dated else "%H:%M:%S")
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    if column in ID_COLUMNS and isinstance(value, str):
        return value.removeprefix("sha256:")[:12]
    if isinstance(value, float | int) and _is_duration_column(column):
        return human_seconds(float(value))
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def _is_duration_column(column: str) -> bool:
    return "seconds" in column or column.endswith("_s") or column == "duration"


def human_seconds(seconds: float) -> str:
    """``0.35 s``, ``1.4 s``, ``2 min 5 s``, ``1 h 3 min``."""
    if seconds < 1:
        return f"{seconds:.2f} s"
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{int(seconds // 60)} min {int(seconds % 60)} s"
    return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60)} min"


def human_bytes(count: int) -> str:
    size = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{count} B"
