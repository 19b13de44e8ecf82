"""Replacing a running container. Stop-first: its replacement is made (under a temporary
name) before the old one stops, so the gap is one stop and one start. Start-first: the
replacement runs beside the old one until it is ready and stayed up, then takes the names
clients ask for; the old one keeps answering until then, so a client never finds nothing.

The start-first swap, in this order (measured in ``bench/update_bench.py``):

1. the replacement, made without the shared aliases, is reconnected to each network with
   them and with the old container's name: from now on both answer;
2. the old container is renamed out of the way (the replacement takes its name last);
3. a short drain (``config.update_drain``): requests already sent to the old one finish;
4. the old one leaves its networks (its aliases leave DNS only so), its ``pre_stop`` hooks
   run, and it stops within its grace period; it is removed when the run succeeds;
5. the replacement is renamed to the name.

Every step is recorded in ``Swapped`` as it is made, so a rollback puts back exactly what
was changed: the old container's name and networks, then its start.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from infranb.core import labels as L
from infranb.core.records import ContainerInfo
from infranb.core.specs import ContainerSpec
from infranb.ops.common import stop_containers

if TYPE_CHECKING:
    from infranb.runtime import Runtime


def next_name(name: str, run_id: str) -> str:
    """The temporary name a replacement is made under while ``name`` still runs."""
    return f"{name}-infranb-next-{run_id[-8:]}"


def replaced_name(name: str, old_id: str) -> str:
    """The name a replaced container is moved to (a rollback moves it back)."""
    return f"{name}-infranb-replaced-{old_id[:12]}"


@dataclass
class Swapped:
    """What a start-first swap changed on the old container, for a rollback."""

    #: (network, its aliases there) for each network it left
    left: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)


def _own_aliases(aliases: tuple[str, ...], container_id: str) -> tuple[str, ...]:
    """Aliases as given at connect: without the short id the engine adds by itself."""
    return tuple(a for a in aliases if a != container_id[:12])


async def swap(
    rt: Runtime,
    spec: ContainerSpec,
    networks: tuple[str, ...],
    new_id: str,
    old: ContainerInfo,
    swapped: Swapped,
    moved: list[str],
) -> None:
    """Put the ready replacement ``new_id`` in the old container's place (the module's
    order). ``moved`` is told the old container's temporary name once it is renamed."""
    engine = rt.engine
    shared = [n for n in networks if n not in L.BUILTIN_NETWORKS]
    before = await rt.call(engine.container_config, old.id)
    for net in shared:
        await rt.call(engine.disconnect, net, new_id)
        await rt.call(engine.connect, net, new_id, [spec.name, *spec.aliases.get(net, ())])
    temporary = replaced_name(spec.name, old.id)
    await rt.call(engine.rename_container, old.id, temporary)
    moved.append(temporary)
    rt.emit("container_swapped", spec.name, "the replacement answers beside the old one")
    if rt.config.update_drain:
        await asyncio.sleep(rt.config.update_drain)
    old_networks = before.networks if before is not None else {n: () for n in shared}
    for net, aliases in old_networks.items():
        if net in L.BUILTIN_NETWORKS:
            continue
        await rt.call(engine.disconnect, net, old.id)
        swapped.left.append((net, _own_aliases(tuple(aliases), old.id)))
    await stop_containers(rt, [replace(old, name=temporary)])
    await rt.call(engine.rename_container, new_id, spec.name)


async def put_back(rt: Runtime, old_id: str, swapped: Swapped) -> None:
    """Reconnect a swapped-out container to the networks it left, with its aliases."""
    for net, aliases in swapped.left:
        await rt.call(rt.engine.connect, net, old_id, list(aliases))
