"""``manager.nodes()``: the swarm's nodes (on a swarm manager)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from infranb.core.frames import Schema, frame
from infranb.core.records import NodeInfo
from infranb.core.swarm import node_labels
from infranb.views.base import EngineContext

if TYPE_CHECKING:
    import pandas as pd

SCHEMA: Schema = {
    "node": "string",
    "hostname": "string",
    "role": ("manager", "worker"),
    "leader": "boolean",
    "state": "string",
    "availability": "string",
    "address": "string",
    "engine_version": "string",
    "id": "string",
}


def to_frame(nodes: Sequence[NodeInfo]) -> pd.DataFrame:
    names = node_labels(nodes)
    return frame(
        (
            {
                "node": names[n.id],
                "hostname": n.hostname,
                "role": n.role,
                "leader": n.leader,
                "state": n.state,
                "availability": n.availability,
                "address": n.address,
                "engine_version": n.engine_version,
                "id": n.id[:12],
            }
            for n in sorted(nodes, key=lambda n: (n.role != "manager", names[n.id]))
        ),
        SCHEMA,
    )


async def query(ctx: EngineContext) -> pd.DataFrame:
    """The swarm's nodes (role, leader, state, availability, address) as a DataFrame;
    raises ``NotSwarmManager`` (saying how to make one) on an engine that is no manager."""
    await ctx.require_swarm_manager()
    return to_frame(await ctx.call(ctx.engine.list_nodes))
