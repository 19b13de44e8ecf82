"""A Swarm stack's resources (services, overlay networks, secrets): found and removed.
Shared by ``deploy_stack`` (what a failed first deploy made) and ``cleanup_resources`` (a
forced teardown of a stack)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from infranb.core import labels as L
from infranb.core.errors import Conflict, NotFound
from infranb.core.records import NetworkInfo, SecretInfo, ServiceInfo

if TYPE_CHECKING:
    from infranb.runtime import Runtime

#: how often a removal that waits on the swarm looks again
POLL_SECONDS = 0.1


async def remove_overlay_networks(rt: Runtime, names: Sequence[str]) -> list[str]:
    """Remove overlay networks once the tasks of removed services have left them (the
    swarm takes a moment to shut them down)."""
    removed = []
    deadline = time.monotonic() + rt.config.container_start_timeout
    for name in names:
        while True:
            try:
                await rt.call(rt.engine.remove_network, name)
                removed.append(name)
                break
            except NotFound:
                break
            except Conflict:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(POLL_SECONDS)
    # The manager forgets a removed overlay network at once; this node's copy goes when its
    # last task has left it. Wait for that, so "removed" means gone from every listing.
    while removed and time.monotonic() < deadline:
        listed = {n.name for n in await rt.call(rt.engine.list_networks)}
        if not listed & set(removed):
            break
        await asyncio.sleep(POLL_SECONDS)
    return removed


@dataclass
class StackResources:
    """A Swarm stack's services, overlay networks and secrets (infranb's labels)."""

    services: list[ServiceInfo] = field(default_factory=list)
    networks: list[NetworkInfo] = field(default_factory=list)
    secrets: list[SecretInfo] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.services or self.networks or self.secrets)


async def find_stack(rt: Runtime, stack: str | None) -> StackResources:
    """A stack's Swarm resources (every managed stack's with ``None``); none on an engine
    that is not a swarm manager."""
    engine = rt.engine
    if await rt.call(engine.swarm_role) != "manager":
        return StackResources()
    networks = await rt.call(engine.list_networks, labels=L.managed(stack))
    return StackResources(
        await rt.call(engine.list_services, labels=L.managed(stack)),
        [n for n in networks if n.driver == "overlay"],
        await rt.call(engine.list_secrets, labels=L.managed(stack)),
    )


async def remove_stack(rt: Runtime, found: StackResources) -> list[str]:
    """Remove the services, then the overlay networks and secrets they leave unused;
    returns the networks removed."""
    engine = rt.engine
    for service in found.services:
        with contextlib.suppress(NotFound):
            await rt.call(engine.remove_service, service.id)
            rt.emit("service_removed", service.name)
    removed = await remove_overlay_networks(rt, [n.name for n in found.networks])
    for secret in found.secrets:
        with contextlib.suppress(NotFound):
            await rt.call(engine.remove_secret, secret.id)
    return removed
