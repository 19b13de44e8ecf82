"""DataFrames that a notebook shows in infranb's face. Their values, columns and dtypes are
the ones built (``frame``'s fixed schemas); only their HTML differs from pandas'.

``Frame`` is what every view and ``to_frame()`` returns: booleans as ✓, sizes and durations
in units, local times, short ids, the columns one reads first (``attrs["infranb.first"]``)
with every column one click away, and at most pandas' ``display.max_rows`` rows.
``TextFrame`` (logs, command output) shows every line in full.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from infranb.core import hooks
from infranb.core.columns import CHART, FIRST

#: columns coloured by their value
STATUS_COLUMNS = ("action", "state", "health", "status", "outcome")


class Frame(pd.DataFrame):
    """A DataFrame shown as a readable table in a notebook (its data as pandas has it)."""

    @property
    def _constructor(self) -> type[Frame]:
        return Frame

    def _repr_html_(self) -> str:
        face = hooks.display()
        charts = face.line_charts(self, self.attrs[CHART]) if self.attrs.get(CHART) else ""
        first = [c for c in self.attrs.get(FIRST, ()) if c in self.columns]
        body = face.essential_table(
            self,
            first or list(self.columns),
            status_columns=STATUS_COLUMNS,
            max_rows=pd.get_option("display.max_rows"),
        )
        return f'<div class="inb-wrap"><style>{face.css()}</style>{charts}{body}</div>'


class TextFrame(Frame):
    """A DataFrame of text lines that a notebook shows in full, left-aligned and wrapped,
    instead of pandas' right-aligned cells cut at 50 characters."""

    @property
    def _constructor(self) -> type[TextFrame]:
        return TextFrame

    def _repr_html_(self) -> str:
        face = hooks.display()
        return (
            f'<div class="inb-wrap"><style>{face.css()}</style>{face.table(self, longest=0)}</div>'
        )


def shown(data: pd.DataFrame, first: Sequence[str] = ()) -> Frame:
    """``data`` as a ``Frame`` whose HTML shows ``first`` columns first (same values)."""
    result = data if isinstance(data, Frame) else Frame(data)
    if first:
        result.attrs[FIRST] = tuple(first)
    return result
