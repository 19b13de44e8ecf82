"""``manager.ports()``: every published port on the engine, the first thing to read before
choosing one."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from infranb.core import labels as L
from infranb.core.frames import Schema, frame
from infranb.core.records import ContainerInfo
from infranb.views.base import EngineContext

if TYPE_CHECKING:
    import pandas as pd

SCHEMA: Schema = {
    "host_ip": "string",
    "host_port": "Int64",
    "container": "string",
    "container_port": "Int64",
    "protocol": "string",
    "stack": "string",
}
_PUBLISHED = re.compile(r"^(?P<ip>.*):(?P<host>\d+)->(?P<port>\d+)/(?P<proto>\w+)$")


def to_frame(rows: Sequence[ContainerInfo]) -> pd.DataFrame:
    """One row per published port (host ip:port -> container:port/protocol), by host port."""
    found = []
    for c in rows:
        for text in c.ports:
            bound = _PUBLISHED.match(text)
            if bound is None:  # exposed, not published
                continue
            found.append(
                {
                    "host_ip": bound["ip"] or "0.0.0.0",
                    "host_port": int(bound["host"]),
                    "container": c.name,
                    "container_port": int(bound["port"]),
                    "protocol": bound["proto"],
                    "stack": L.stack_of(c.labels) or c.labels.get(L.COMPOSE_PROJECT),
                }
            )
    found.sort(key=lambda r: (r["host_port"], r["host_ip"], r["protocol"]))
    return frame(found, SCHEMA)


async def query(ctx: EngineContext) -> pd.DataFrame:
    """The engine's published ports, whoever made the containers."""
    return to_frame(await ctx.call(ctx.engine.list_containers, state="running"))
