"""``manager.stacks()``: one row per stack on the engine, whoever made it.

A stack is what infranb made for it, a project ``docker compose`` made (its
``com.docker.compose.project`` label), or a Swarm stack (its services). Four listings
(containers, networks, volumes, and services on a swarm manager) read side by side.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from infranb.core import labels as L
from infranb.core.frames import Schema, frame
from infranb.core.records import ContainerInfo, NetworkInfo, ServiceInfo, VolumeInfo
from infranb.core.swarm import TASK_STACK
from infranb.core.sync import gather_all
from infranb.views.base import EngineContext

if TYPE_CHECKING:
    import pandas as pd

SOURCES = ("infranb", "compose", "swarm")
#: the columns a notebook shows first (the others are one click away)
FIRST_COLUMNS = ("stack", "source", "services", "containers", "running", "healthy")
SCHEMA: Schema = {
    "stack": "string",
    "source": SOURCES,
    "services": "Int64",
    "containers": "Int64",
    "running": "Int64",
    "healthy": "Int64",
    "networks": "Int64",
    "volumes": "Int64",
    "created": "datetime64[ns, UTC]",
    "working_dir": "string",
    "config_files": "string",
}


@dataclass
class _Stack:
    sources: set[str] = field(default_factory=set)
    services: set[str] = field(default_factory=set)
    containers: list[ContainerInfo] = field(default_factory=list)
    networks: int = 0
    volumes: int = 0
    working_dir: str | None = None
    config_files: str | None = None

    @property
    def source(self) -> str:
        return next(s for s in ("swarm", "infranb", "compose") if s in self.sources)

    @property
    def created(self) -> datetime | None:
        return min((c.created for c in self.containers), default=None)


def to_frame(
    containers: Sequence[ContainerInfo],
    networks: Sequence[NetworkInfo],
    volumes: Sequence[VolumeInfo],
    services: Sequence[ServiceInfo] = (),
) -> pd.DataFrame:
    stacks: dict[str, _Stack] = {}

    def of(labels: L.Mapping[str, str]) -> _Stack | None:
        name = L.stack_of(labels)
        if name is None:
            return None
        stack = stacks.setdefault(name, _Stack())
        stack.sources.add(L.source_of(labels) or "compose")
        return stack

    for c in containers:
        if c.labels.get(TASK_STACK) or c.labels.get(L.STACK_NAMESPACE):
            continue  # a Swarm task: counted by its service
        stack = of(c.labels)
        if stack is None:
            continue
        stack.containers.append(c)
        stack.services.add(c.labels.get(L.COMPOSE_SERVICE) or c.name)
        stack.working_dir = stack.working_dir or c.labels.get(L.COMPOSE_WORKING_DIR) or None
        stack.config_files = stack.config_files or c.labels.get(L.COMPOSE_CONFIG_FILES) or None
    for s in services:
        name = L.stack_of(s.labels)
        if name is not None:
            stack = stacks.setdefault(name, _Stack())
            stack.sources.add("swarm")
            stack.services.add(s.name)
    for n in networks:
        if n.name not in L.BUILTIN_NETWORKS and (stack := of(n.labels)) is not None:
            stack.networks += 1
    for v in volumes:
        if (stack := of(v.labels)) is not None:
            stack.volumes += 1
    return frame(
        (
            {
                "stack": name,
                "source": stack.source,
                "services": len(stack.services),
                "containers": len(stack.containers),
                "running": sum(c.state == "running" for c in stack.containers),
                "healthy": sum(c.health == "healthy" for c in stack.containers),
                "networks": stack.networks,
                "volumes": stack.volumes,
                "created": stack.created,
                "working_dir": stack.working_dir,
                "config_files": stack.config_files,
            }
            for name, stack in sorted(stacks.items())
        ),
        SCHEMA,
        first=FIRST_COLUMNS,
    )


async def query(ctx: EngineContext) -> pd.DataFrame:
    """Every stack on the engine as a DataFrame: made by infranb, by ``docker compose``
    (v1 or v2) or as a Swarm stack, with its services, containers (running, healthy),
    networks and volumes, when its first container was made, and a Compose project's
    folder and files."""
    engine = ctx.engine
    role = await ctx.call(engine.swarm_role)
    containers, networks, volumes, services = await gather_all(
        ctx.call(engine.list_containers),
        ctx.call(engine.list_networks),
        ctx.call(engine.list_volumes),
        ctx.call(engine.list_services) if role == "manager" else _nothing(),
    )
    return await ctx.call(to_frame, containers, networks, volumes, services)


async def _nothing() -> list[ServiceInfo]:
    return []
