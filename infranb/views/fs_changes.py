"""``manager.fs_changes(name)``: what changed in a container's filesystem since it was made
(what ``docker diff`` prints)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from infranb.core.frames import Schema, frame
from infranb.views.base import EngineContext

if TYPE_CHECKING:
    import pandas as pd

KINDS = ("added", "changed", "deleted")
SCHEMA: Schema = {"container": "string", "change": KINDS, "path": "string"}
_WORDS = {"A": "added", "C": "changed", "D": "deleted"}


def to_frame(name: str, changes: Sequence[tuple[str, str]]) -> pd.DataFrame:
    """One row per path, in path order."""
    return frame(
        (
            {"container": name, "change": _WORDS.get(kind, "changed"), "path": path}
            for kind, path in sorted(changes, key=lambda c: c[1])
        ),
        SCHEMA,
    )


async def query(ctx: EngineContext, name: str) -> pd.DataFrame:
    """Paths added, changed or deleted in ``name`` since it was made (its mounts and
    volumes are not part of it)."""
    return to_frame(name, await ctx.call(ctx.engine.container_changes, name))
