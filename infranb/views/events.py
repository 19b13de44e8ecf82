"""``manager.events(since=, until=, filters=)``: what the engine recorded, as a frame."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from infranb.core import labels as L
from infranb.core.frames import Schema, frame
from infranb.core.records import PastEvent
from infranb.core.secrets import mask_url_credentials
from infranb.views.base import EngineContext
from infranb.views.when import When, moment

if TYPE_CHECKING:
    import pandas as pd

#: how many events an engine keeps (Docker's and Podman's events buffer)
KEPT = 256
FIRST_COLUMNS = ("time", "type", "action", "name", "exit_code", "health", "stack")
SCHEMA: Schema = {
    "time": "datetime64[ns, UTC]",
    "type": "string",
    "action": "string",
    "name": "string",
    "id": "string",
    "stack": "string",
    "exit_code": "Int64",
    "health": "string",
    "attributes": "string",
}
#: attributes shown in their own columns (or not at all: name, the labels infranb reads)
_OWN_COLUMNS = {"name", "exitCode", "health_status"}


def event_row(e: PastEvent) -> dict[str, object]:
    """One event as a row of ``SCHEMA`` (exit code and health state in their columns)."""
    action, _, detail = e.action.partition(": ")
    code = e.attributes.get("exitCode")
    return {
        "time": e.time,
        "type": e.type,
        "action": action,
        "name": e.name,
        "id": e.id[:12],
        "stack": L.stack_of(e.attributes) or e.attributes.get(L.COMPOSE_PROJECT),
        "exit_code": int(code) if code not in (None, "") else None,
        "health": detail if action == "health_status" else None,
        "attributes": ", ".join(
            f"{k}={mask_url_credentials(v)}"
            for k, v in sorted(e.attributes.items())
            if k not in _OWN_COLUMNS
        ),
    }


def rows_frame(rows: Sequence[dict[str, object]]) -> pd.DataFrame:
    return frame(rows, SCHEMA, first=FIRST_COLUMNS)


def to_frame(events: Sequence[PastEvent], since: datetime) -> pd.DataFrame:
    """One row per event, oldest first; ``attrs["note"]`` says when the engine's window of
    kept events may not reach back to ``since``."""
    rows = [event_row(e) for e in events]
    data = frame(rows, SCHEMA, first=FIRST_COLUMNS)
    if len(events) >= KEPT and events[0].time > since:
        data.attrs["note"] = (
            f"the engine keeps only its last {KEPT} events: none before "
            f"{events[0].time.isoformat()} can be read"
        )
    return data


async def query(
    ctx: EngineContext,
    *,
    since: When | None = "1h",
    until: When | None = None,
    filters: Mapping[str, str | Sequence[str]] | None = None,
) -> pd.DataFrame:
    """The events the engine recorded between ``since`` (default an hour ago) and
    ``until`` (default now): times as datetimes, epoch seconds or "10m" ago; ``filters``
    as ``docker events --filter`` takes them ({"type": "container", "event": "die"}). The
    engine keeps only its last 256 events (``frame.attrs["note"]`` says when the window
    reaches past them)."""
    now = datetime.now(UTC)
    start = moment(since, field="since", default=now - timedelta(hours=1))
    end = moment(until, field="until", default=now)
    wanted = {k: [v] if isinstance(v, str) else list(v) for k, v in (filters or {}).items()}
    events = await ctx.call(ctx.engine.past_events, start, end, wanted)
    return to_frame(events, start)
