"""DataFrames with a fixed schema: same columns and dtypes whether empty or not.

Each view (``infranb.views``) and each operation (``infranb.ops``) declares its schema and
builds its rows; ``frame`` turns them into a DataFrame. Datetimes are UTC-aware, sizes are
nullable integers, small sets of values are categoricals. pandas is imported by this module
only when a frame is built, never when ``infranb`` is imported.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from infranb.core.columns import FIRST, PLAN_FIRST

if TYPE_CHECKING:
    import pandas as pd

    from infranb.core.textframe import TextFrame

__all__ = [
    "FIRST",
    "PLAN_FIRST",
    "Schema",
    "frame",
    "join",
    "readable",
    "text_frame",
]

#: a small fixed set of values: the frame gives the column a categorical dtype
Categories = tuple[str, ...]
#: column -> pandas dtype name (or ``Categories``); the order is the column order
Schema = Mapping[str, "str | Categories"]


def frame(
    rows: Iterable[Mapping[str, Any]], schema: Schema, *, first: Sequence[str] = ()
) -> pd.DataFrame:
    """Build a DataFrame with exactly ``schema``'s columns, order and dtypes; in a notebook
    it shows ``first`` columns first, the others one click away (``textframe.Frame``)."""
    import pandas as pd

    from infranb.core.textframe import shown

    dtypes = {
        column: pd.CategoricalDtype(list(dtype)) if isinstance(dtype, tuple) else dtype
        for column, dtype in schema.items()
    }
    records = list(rows)
    if not records:  # typed empty columns: no casting (a view in sync is the common case)
        return shown(pd.DataFrame({c: pd.Series([], dtype=d) for c, d in dtypes.items()}), first)
    data = pd.DataFrame(records, columns=list(dtypes))
    for column, dtype in dtypes.items():
        if str(dtype).startswith("datetime64"):
            data[column] = pd.to_datetime(data[column], utc=True)
        elif isinstance(dtype, pd.CategoricalDtype):
            # A value the engine adds later shows as missing rather than breaking the frame.
            known = data[column].isin(dtype.categories)
            data[column] = data[column].where(known, None)
    return shown(data.astype(dtypes), first)


def join(values: Iterable[str]) -> str:
    """A list shown in one cell."""
    return ", ".join(values)


def text_frame(rows: Iterable[Mapping[str, Any]], schema: Schema) -> TextFrame:
    """``frame`` for text lines (shown in full in a notebook)."""
    from infranb.core.textframe import TextFrame

    return TextFrame(frame(rows, schema))


def readable(data: pd.DataFrame, first: Sequence[str] = ()) -> pd.DataFrame:
    """``data`` (the same values) shown as infranb shows its own frames in a notebook:
    ✓ for True, units, local times, ``first`` columns first and the rest one click away."""
    from infranb.core.textframe import shown

    return shown(data, first)
