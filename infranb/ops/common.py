"""Steps shared by the operations: stopping and removing (orchestrate, rollback, teardown,
``stop``), and naming the containers an operation acts on (``stop``, ``restart``,
``update``, ``copy_to``)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from infranb.core import labels as L
from infranb.core.drift import request_of
from infranb.core.errors import (
    Conflict,
    ContainerFailed,
    EngineError,
    InfraError,
    NotFound,
    Problem,
    append_note,
)
from infranb.core.frames import Schema
from infranb.core.labels import BUILTIN_NETWORKS, DEPENDS_ON, STACK
from infranb.core.planning import teardown_waves
from infranb.core.records import ContainerDetails, ContainerInfo, short_id
from infranb.core.specs import decode_fingerprints
from infranb.ops.base import Outcome
from infranb.ops.hooks import before_stop

if TYPE_CHECKING:
    from infranb.core.request import InfrastructureOperation
    from infranb.core.result import InfrastructureResult
    from infranb.runtime import Runtime

#: states in which a container holds its endpoints
RUNNING_STATES = ("running", "restarting", "paused")
ENDPOINT_RETRIES = 20
ENDPOINT_RETRY_SECONDS = 0.1
#: how often a wait for readiness reads the container again
RECHECK_SECONDS = 0.1


@dataclass(frozen=True)
class Kept:
    """A network or volume that a removal left in place, and why: data to act on, where the
    sentence (``str(kept)``) is for people."""

    kind: Literal["network", "volume"]
    name: str
    #: ``in use``: a container outside the removal still uses it; ``failed``: the engine refused
    reason: Literal["in use", "failed"]
    sentence: str

    def __str__(self) -> str:
        return self.sentence


async def stop_containers(rt: Runtime, containers: Sequence[ContainerInfo]) -> None:
    """Stop containers concurrently (bounded by the runtime); missing ones are fine. Each
    stopped one is noted for the result's ``containers_stopped``."""

    async def stop(container: ContainerInfo) -> None:
        with contextlib.suppress(NotFound):
            await before_stop(rt, container.id, container.name, container.labels)
            await rt.call(rt.engine.stop_container, container.id, rt.config.stop_timeout)
            rt.stopped.append(container.name)

    await rt.gather(*(stop(c) for c in containers))


async def remove_containers(
    rt: Runtime,
    containers: Sequence[ContainerInfo],
    *,
    volumes: bool = False,
    on_left: Callable[[str], None] | None = None,
) -> list[str]:
    """Stop, then remove, in reverse dependency order; return the names removed.
    ``volumes`` removes their anonymous volumes with them (``down -v``). ``on_left`` is
    told a network's name once none of these containers holds an endpoint on it any more
    (a teardown can remove the network then, while the containers still go).

    The endpoints of one network are released one at a time (different networks at once):
    Docker 20.10 keeps a count of each network's endpoints, and many releases on one network
    at the same moment can leave it too high, the network undeletable ("has active
    endpoints") until the engine restarts (seen with Compose v2's ``down`` and with stopping
    a wave at once: ``bench/README.md``). Each container is stopped and removed as soon as
    it has left its networks, while the next one leaves, so the serial part is only the
    releases.
    """
    by_name = {c.name: c for c in containers}
    depends = {
        c.name: [d for d in c.labels.get(DEPENDS_ON, "").split(",") if d] for c in containers
    }
    holders: dict[str, int] = {}  # network -> running containers of the removal on it
    for container in containers:
        if container.state in RUNNING_STATES:
            for network in container.networks:
                if network not in BUILTIN_NETWORKS:  # the chains' networks
                    holders[network] = holders.get(network, 0) + 1

    def released(network: str) -> None:
        holders[network] -= 1
        if holders[network] == 0 and on_left is not None:
            on_left(network)

    removed: list[str] = []
    for wave in teardown_waves(depends):
        removed += await _remove_wave(rt, [by_name[n] for n in wave], volumes, released)
    return removed


async def _remove_wave(
    rt: Runtime,
    members: Sequence[ContainerInfo],
    volumes: bool,
    released: Callable[[str], None],
) -> list[str]:
    """One teardown wave: per network a chain of endpoint releases; each container stops and
    goes once it has left every network it was on."""
    running = [c for c in members if c.state in RUNNING_STATES]
    chains: dict[str, list[ContainerInfo]] = {}
    for container in running:  # a stopped container holds no endpoint
        for network in container.networks:
            if network not in BUILTIN_NETWORKS:
                chains.setdefault(network, []).append(container)
    waiting = {c.id: sum(c in chain for chain in chains.values()) for c in members}
    left = {c.id: asyncio.Event() for c in members}
    for container in members:
        if waiting[container.id] == 0:
            left[container.id].set()
    removed: list[str] = []

    async def release(network: str, chain: list[ContainerInfo]) -> None:
        for container in chain:
            try:
                await rt.call(rt.engine.disconnect, network, container.id)
            except (NotFound, Conflict):
                pass
            except EngineError:
                # A container between two runs of its restart policy holds no endpoint, and
                # the engine refuses to disconnect it; by the time one looks, the policy may
                # have started it again. A stop ends the loop and releases whatever endpoint
                # it has, still one at a time on this network (a real failure raises there).
                with contextlib.suppress(NotFound):
                    await rt.call(rt.engine.stop_container, container.id, rt.config.stop_timeout)
            waiting[container.id] -= 1
            if waiting[container.id] == 0:
                left[container.id].set()
            released(network)

    async def finish(container: ContainerInfo) -> None:
        await left[container.id].wait()
        if container in running:
            with contextlib.suppress(NotFound):
                await before_stop(rt, container.id, container.name, container.labels)
                await rt.call(rt.engine.stop_container, container.id, rt.config.stop_timeout)
                rt.stopped.append(container.name)
        try:
            await rt.call(rt.engine.remove_container, container.id, force=False, volumes=volumes)
        except NotFound:
            return
        except Conflict:
            # Still running (restart policy raced the stop): now force is the only way.
            await rt.call(rt.engine.remove_container, container.id, force=True, volumes=volumes)
        removed.append(container.name)
        rt.emit("container_removed", container.name)

    await rt.gather(
        *(release(n, chain) for n, chain in chains.items()),
        *(finish(c) for c in members),
    )
    return removed


async def remove_networks(
    rt: Runtime, names: Sequence[str], removed_containers: Collection[str] = ()
) -> tuple[list[str], list[Kept]]:
    """Remove networks that no container uses, concurrently; return (removed, kept with the
    reason).

    Right after many containers go, the engine may still list their endpoints for a moment:
    those are waited for, then force-disconnected. (When Docker 20.10 has lost count of a
    network's endpoints, nothing but an engine restart helps: the message says so.)
    """
    removed: list[str] = []
    kept: list[Kept] = []

    async def remove(name: str) -> None:
        try:
            users = await rt.call(rt.engine.network_containers, name)
            for _ in range(ENDPOINT_RETRIES):
                if not users or not set(users) <= set(removed_containers):
                    break
                await asyncio.sleep(ENDPOINT_RETRY_SECONDS)
                users = await rt.call(rt.engine.network_containers, name)
            stale = [u for u in users if u in removed_containers]
            for user in stale:
                with contextlib.suppress(NotFound, Conflict):
                    await rt.call(rt.engine.disconnect, name, user)
            users = [u for u in users if u not in stale]
        except NotFound:
            return
        if users:
            sentence = f"network {name} kept: still used by {', '.join(sorted(users))}"
            kept.append(Kept("network", name, "in use", sentence))
            return
        try:
            await rt.call(rt.engine.remove_network, name)
            removed.append(name)
        except NotFound:
            return
        except EngineError as e:
            sentence = (
                f"network {name} could not be removed ({e}); if the engine reports active "
                "endpoints that no container holds, restarting the engine clears them"
            )
            kept.append(Kept("network", name, "failed", sentence))

    await rt.gather(*(remove(name) for name in names))
    return sorted(removed), kept


async def remove_volumes(rt: Runtime, names: Sequence[str]) -> tuple[list[str], list[Kept]]:
    """Remove volumes; return (removed, kept with the reason)."""
    removed: list[str] = []
    kept: list[Kept] = []

    async def remove(name: str) -> None:
        try:
            await rt.call(rt.engine.remove_volume, name)
            removed.append(name)
        except NotFound:
            return
        except Conflict as e:  # a container still mounts it
            kept.append(Kept("volume", name, "in use", f"volume {name} kept: {e}"))
        except EngineError as e:
            kept.append(Kept("volume", name, "failed", f"volume {name} kept: {e}"))

    await rt.gather(*(remove(name) for name in names))
    return sorted(removed), kept


#: what an undo did (one sentence) and what it had to leave in place
Undone = tuple[str, list[Kept]]


async def after_failure(
    rt: Runtime,
    stack: str,
    failure: BaseException,
    undo: Callable[[], Awaitable[Undone]],
    outcome: Outcome,
) -> None:
    """Roll a failed or cancelled run back with ``undo`` (unless told to keep what failed),
    noting what happened on ``failure``. ``outcome.rolled_back`` says whether everything was
    undone; ``outcome.remaining`` lists what the undo had to leave in place."""
    if not (rt.config.cleanup_on_failure or isinstance(failure, asyncio.CancelledError)):
        append_note(
            failure,
            "what this run started was left in place for debugging "
            "(cleanup_on_failure=False): tear the stack down when done",
        )
        return
    try:
        # Shielded: a second interrupt must not leave the rollback half done.
        summary, kept = await asyncio.shield(undo())
        if kept:
            outcome.remaining += [str(k) for k in kept]
            left = "; ".join(str(k) for k in kept)
            append_note(failure, f"rolled back: {summary}; left in place: {left}")
            return
        append_note(failure, f"rolled back: {summary}")
        outcome.rolled_back = True
    except InfraError as e:
        append_note(
            failure,
            f"the rollback could not finish ({e}); once the engine answers, tear the stack "
            f"down: manager.down({stack!r})",
        )


def parse_names(op: InfrastructureOperation, verb: str) -> tuple[tuple[str, ...], list[Problem]]:
    """The containers a request names in ``container_ids`` (names or ids, each once)."""
    ids = op.container_ids
    if not isinstance(ids, list | tuple) or not ids:
        return (), [Problem("container_ids", f"list the names or ids of the containers to {verb}")]
    problems = [
        Problem(f"container_ids[{i}]", "must be a container name or id")
        for i, cid in enumerate(ids)
        if not isinstance(cid, str) or not cid.strip()
    ]
    return tuple(dict.fromkeys(ids)), problems


def unknown_params(op: InfrastructureOperation, takes: Collection[str]) -> list[Problem]:
    """A problem for each key of ``params`` the operation does not take."""
    if not isinstance(op.params, dict):
        return []  # the request's own check names it
    offered = ", ".join(sorted(takes)) or "nothing"
    return [
        Problem(f"params.{key}", f"{op.operation} does not take {key!r}; it takes {offered}")
        for key in op.params
        if key not in takes
    ]


async def inspect_named(rt: Runtime, names: Sequence[str]) -> list[ContainerDetails]:
    """Each named container's details, read at once, before anything is touched: a missing
    one is ``NotFound`` naming it (so nothing was done to the others either)."""
    found = await rt.gather(*(rt.call(rt.engine.inspect_container, n) for n in names))
    missing = [n for n, d in zip(names, found, strict=True) if d is None]
    if missing:
        raise NotFound(
            f"no such container: {', '.join(missing)}; nothing was touched", resource=missing[0]
        )
    return list(found)


def shared_stack(details: Sequence[ContainerDetails]) -> str | None:
    """The stack every one of these containers belongs to, if they share one."""
    stacks = {d.labels.get(STACK) for d in details}
    return stacks.pop() if len(stacks) == 1 else None


#: the plan's columns an operation on named containers fills
NAMED_PLAN_COLUMNS = ("wave", "name", "action", "image", "reason")

#: the table of an operation on named containers (``stop``, ``restart``)
CONTAINER_ACTIONS: Schema = {
    "name": "string",
    "action": "string",
    "state": "string",
    "container_id": "string",
}


def container_action_rows(result: InfrastructureResult) -> Iterable[dict[str, Any]]:
    """One row per container the run acted on: what it did and the state it left."""
    removed = {r.name for r in result.removed if r.kind == "container"}
    for c in result.containers:
        yield {
            "name": c.name,
            "action": "stop and remove" if c.name in removed else c.action,
            "state": "removed" if c.name in removed else c.state,
            "container_id": short_id(c.container_id),
        }


async def observe_named(command: Any, rt: Runtime) -> list[ContainerDetails]:
    """The observation of an operation on named containers (``command.names``): their
    details, read at once before anything is touched."""
    return await inspect_named(rt, command.names)


class HealthChecks:
    """The health checks infranb runs itself, while a run waits on a container, where the
    engine does not run them (Podman without systemd): at the check's own interval from
    the container's start, as Docker would."""

    def __init__(self, rt: Runtime) -> None:
        self.needed = not rt.engine.runs_healthchecks()
        self._rt = rt
        self._last: float | None = None

    def due(self, details: ContainerDetails) -> float:
        """Seconds until the next check is due (<= 0: now)."""
        interval = details.health_interval or 30.0
        if self._last is not None:
            return self._last + interval - time.monotonic()
        if details.started_at is None:
            return 0.0
        return interval - (datetime.now(UTC) - details.started_at).total_seconds()

    async def run(self, cid: str) -> None:
        self._last = time.monotonic()
        await self._rt.call(self._rt.engine.run_healthcheck, cid)


async def wait_ready(rt: Runtime, cid: str, target: str, after: str) -> ContainerDetails:
    """Wait as a bring-up does: running (healthy where it has a healthcheck), then still up
    after ``config.min_uptime``; ``ContainerFailed`` saying what it is ``after`` otherwise."""
    deadline = time.monotonic() + rt.config.container_start_timeout
    checks = HealthChecks(rt)
    while True:
        d = await rt.call(rt.engine.inspect_container, cid)
        if d is None or d.state in ("exited", "dead") or d.health == "unhealthy":
            state = "gone" if d is None else (d.health if d.health == "unhealthy" else d.state)
            raise ContainerFailed(
                f"container {target} is {state} {after}", resource=target, last_logs=[]
            )
        if d.state == "running" and d.health in (None, "healthy"):
            break
        if time.monotonic() > deadline:
            raise ContainerFailed(
                f"container {target} was not ready within container_start_timeout="
                f"{rt.config.container_start_timeout:g}s {after}",
                resource=target, last_logs=[],
            )  # fmt: skip
        if d.health == "starting" and checks.needed and checks.due(d) <= 0:
            with contextlib.suppress(InfraError):
                await checks.run(cid)
            continue
        await asyncio.sleep(RECHECK_SECONDS)
    if rt.config.min_uptime:
        await asyncio.sleep(rt.config.min_uptime)
        d = await rt.call(rt.engine.inspect_container, cid)
        if d is None or d.state != "running" or d.health == "unhealthy":
            raise ContainerFailed(
                f"container {target} did not stay up for min_uptime="
                f"{rt.config.min_uptime:g}s {after}",
                resource=target, last_logs=[],
            )  # fmt: skip
    return d


def prior_state(
    stack: str | None,
    existing: Mapping[str, ContainerInfo],
    inspected: Mapping[str, ContainerDetails] | None = None,
) -> dict[str, Any]:
    """What the journal keeps of the stack before this run: each container's id, state,
    image id, spec hash and the run that made it (whose request holds its spec). A container
    infranb did not make (docker compose did) has no such run: its spec is written from
    its inspect, so a revert can make it again."""
    by_id = {d.id: d for d in (inspected or {}).values()}
    containers = []
    for row in sorted({r.id: r for r in existing.values()}.values(), key=lambda r: r.name):
        entry: dict[str, Any] = {
            "name": row.name,
            "id": row.id,
            "state": row.state,
            "image": row.image,
            "image_id": row.image_id,
            "spec_hash": row.labels.get(L.SPEC_HASH, ""),
            "run_id": row.labels.get(L.RUN),
        }
        # The salted fingerprints of its environment: a revert checks a secret it reads
        # again against them (never the values: they cannot be looked up).
        prints = decode_fingerprints(row.labels.get(L.SPEC_FIELDS, ""))
        env_prints = {k: v for k, v in prints.items() if k.startswith(("environment.", "files."))}
        if env_prints:
            entry["salt"] = row.labels.get(L.SALT, "")
            entry["environment_prints"] = env_prints
        details = by_id.get(row.id)
        if details is not None and details.config is not None:
            entry["made_by"] = L.source_of(row.labels) or "by hand"
            entry["spec"] = request_of(
                details.config,
                name=row.name,
                service=row.labels.get(L.COMPOSE_SERVICE),
                image=row.image,
            )
        containers.append(entry)
    return {"stack": stack, "containers": containers}
