"""``TextFrame``: a DataFrame of text lines (logs, command output) shown in full in a notebook."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from infranb.core.frames import Schema, frame


class TextFrame(pd.DataFrame):
    """A DataFrame of text lines that a notebook shows in full, left-aligned and wrapped,
    instead of pandas' right-aligned cells cut at 50 characters."""

    @property
    def _constructor(self) -> type[TextFrame]:
        return TextFrame

    def _repr_html_(self) -> str:
        from infranb.notebook.tables import css, table

        return f'<div class="inb-wrap"><style>{css()}</style>{table(self)}</div>'


def text_frame(rows: Iterable[Mapping[str, Any]], schema: Schema) -> TextFrame:
    """``frame`` for text lines."""
    return TextFrame(frame(rows, schema))
