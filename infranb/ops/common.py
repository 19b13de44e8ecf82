"""Steps shared by orchestrate, rollback and teardown."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING

from infranb.errors import Conflict, EngineError, NotFound
from infranb.labels import BUILTIN_NETWORKS, DEPENDS_ON
from infranb.planning import teardown_waves
from infranb.records import ContainerInfo

if TYPE_CHECKING:
    from infranb.runtime import Runtime

ENDPOINT_RETRIES = 20
ENDPOINT_RETRY_SECONDS = 0.1


async def stop_containers(rt: Runtime, ids: Sequence[str]) -> None:
    """Stop containers concurrently (bounded by the runtime); missing ones are fine."""

    async def stop(cid: str) -> None:
        with contextlib.suppress(NotFound):
            await rt.call(rt.engine.stop_container, cid, rt.config.stop_timeout)

    await rt.gather(*(stop(cid) for cid in ids))


async def remove_containers(rt: Runtime, containers: Sequence[ContainerInfo]) -> list[str]:
    """Stop, then remove, in reverse dependency order; return the names removed.

    Stopping first and removing without force avoids the engine bug where force-removing
    many containers of one network at once leaves the network with phantom endpoints.
    """
    by_name = {c.name: c for c in containers}
    depends = {
        c.name: [d for d in c.labels.get(DEPENDS_ON, "").split(",") if d] for c in containers
    }
    removed: list[str] = []
    for wave in teardown_waves(depends):
        members = [by_name[n] for n in wave]
        await _leave_networks(rt, members)
        await stop_containers(
            rt, [c.id for c in members if c.state in ("running", "restarting", "paused")]
        )

        async def remove(container: ContainerInfo) -> None:
            try:
                await rt.call(rt.engine.remove_container, container.id, force=False)
            except NotFound:
                return
            except Conflict:
                # Still running (restart policy raced the stop): now force is the only way.
                await rt.call(rt.engine.remove_container, container.id, force=True)
            removed.append(container.name)
            rt.emit("container_removed", container.name)

        await rt.gather(*(remove(c) for c in members))
    return removed


async def _leave_networks(rt: Runtime, containers: Sequence[ContainerInfo]) -> None:
    """Disconnect containers from user-defined networks, one at a time per network.

    Many endpoints of one network released at once (concurrent stops or removals) can leave
    Docker 20.10 with a network that "has active endpoints" until the engine restarts.
    Networks are handled concurrently, the endpoints of each one in turn.
    """
    members: dict[str, list[str]] = {}
    for container in containers:
        for network in container.networks:
            if network not in BUILTIN_NETWORKS:
                members.setdefault(network, []).append(container.id)

    async def leave(network: str, ids: list[str]) -> None:
        for cid in ids:
            with contextlib.suppress(NotFound, Conflict):
                await rt.call(rt.engine.disconnect, network, cid)

    await rt.gather(*(leave(n, ids) for n, ids in members.items()))


async def remove_networks(
    rt: Runtime, names: Sequence[str], removed_containers: Collection[str] = ()
) -> tuple[list[str], list[str]]:
    """Remove networks that no container uses; return (removed, kept with the reason).

    Right after many containers go, the engine may still list their endpoints for a moment
    (and, with a known 20.10 bug, keep them): those are waited for, then force-disconnected.
    """
    removed: list[str] = []
    kept: list[str] = []
    for name in names:
        try:
            users = await rt.call(rt.engine.network_containers, name)
            for _ in range(ENDPOINT_RETRIES):
                if not users or not set(users) <= set(removed_containers):
                    break
                await asyncio.sleep(ENDPOINT_RETRY_SECONDS)
                users = await rt.call(rt.engine.network_containers, name)
            stale = [u for u in users if u in removed_containers]
            for user in stale:
                await rt.call(rt.engine.disconnect, name, user)
            users = [u for u in users if u not in stale]
        except NotFound:
            continue
        if users:
            kept.append(f"network {name} kept: still used by {', '.join(sorted(users))}")
            continue
        try:
            await rt.call(rt.engine.remove_network, name)
            removed.append(name)
        except NotFound:
            continue
        except EngineError as e:
            kept.append(
                f"network {name} could not be removed ({e}); if the engine reports active "
                "endpoints that no container holds, restarting the engine clears them"
            )
    return removed, kept


async def remove_volumes(rt: Runtime, names: Sequence[str]) -> tuple[list[str], list[str]]:
    """Remove volumes; return (removed, kept with the reason)."""
    removed: list[str] = []
    kept: list[str] = []
    for name in names:
        try:
            await rt.call(rt.engine.remove_volume, name)
            removed.append(name)
        except NotFound:
            continue
        except Conflict as e:
            kept.append(f"volume {name} kept: {e}")
    return removed, kept
