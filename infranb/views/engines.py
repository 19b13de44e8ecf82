"""``fleet.engines()``: one row per engine of a fleet, what it answered or why it did not."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from infranb.core.frames import Schema, frame
from infranb.core.records import EngineStatus

if TYPE_CHECKING:
    import pandas as pd

SCHEMA: Schema = {
    "engine": "string",
    "kind": "string",
    "host": "string",
    "version": "string",
    "api": "string",
    "os": "string",
    "containers": "Int64",
    "running": "Int64",
    "reachable": "boolean",
    "error": "string",
}


def to_frame(statuses: Iterable[EngineStatus]) -> pd.DataFrame:
    """One row per engine of a fleet: what it answered, or why it did not."""
    rows = []
    for status in statuses:
        info = status.info
        rows.append(
            {
                "engine": status.engine,
                "kind": info.kind if info else None,
                "host": status.host,
                "version": info.version if info else None,
                "api": info.api_version if info else None,
                "os": info.os if info else None,
                "containers": info.containers if info else None,
                "running": info.running if info else None,
                "reachable": info is not None,
                "error": status.error,
            }
        )
    return frame(rows, SCHEMA)
