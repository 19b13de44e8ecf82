"""HTML tables of DataFrames, shared by the reprs and the text frames (pure, escaped)."""

from __future__ import annotations

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


def table(data: pd.DataFrame, *, status_columns: Sequence[str] = ()) -> str:
    """An escaped HTML table of a DataFrame; status cells coloured by their value."""
    good = {"healthy", "running", "unchanged", "created", "started", "pulled", "built", "exited(0)"}
    bad = {"unhealthy", "exited", "dead", "not_found", "failed", "gone"}
    head = "".join(f"<th>{esc(c)}</th>" for c in data.columns)
    rows = []
    for record in data.itertuples(index=False):
        cells = []
        for column, value in zip(data.columns, record, strict=True):
            text = "" if _missing(value) else _format(value)
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
            cells.append(f"<td{css_class}{title}>{esc(text)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    if not rows:
        rows.append(f'<tr><td colspan="{len(data.columns)}" class="inb-muted">(none)</td></tr>')
    body = "".join(rows)
    return f'<table class="inb-table"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


#: identifiers a table must not break across lines
NAME_COLUMNS = ("name", "container", "image", "reference", "id", "container_id", "stack", "tags")


def _is_byte_column(column: str) -> bool:
    return column == "size" or column.endswith("_bytes") or column == "bytes_reclaimed"


def _missing(value: Any) -> bool:
    try:
        import pandas as pd

        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _format(value: Any) -> str:
    if hasattr(value, "isoformat"):
        return str(value.isoformat(timespec="seconds"))
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def human_bytes(count: int) -> str:
    size = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{count} B"
