"""cleanup_resources: stopped containers, unused images, networks and volumes, in scope.

Scope: ``"managed"`` only touches what carries ``infranb.managed=true`` (with a stack, only
that stack; images: infranb-built or dangling); ``"all"`` is the whole host, like
``docker system prune``. Running containers go only with ``force_remove``; images that
any remaining container uses never go. ``dry_run`` lists what would go, touching nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from infranb.core import labels as L
from infranb.core.errors import Conflict, NotFound, Problem, Refused, ValidationError
from infranb.core.frames import Schema
from infranb.core.records import (
    ContainerInfo,
    ImageInfo,
    NetworkInfo,
    RemovedResource,
    VolumeInfo,
    short_id,
)
from infranb.core.steps import Step
from infranb.ops import swarm_stack
from infranb.ops import volumes as volumes_ops
from infranb.ops.base import Operation, Outcome
from infranb.ops.common import (
    Kept,
    prior_state,
    remove_containers,
    remove_networks,
    remove_volumes,
)
from infranb.ops.steps import run_steps

if TYPE_CHECKING:
    from infranb.core.config import InfrastructureManagerConfig
    from infranb.core.request import InfrastructureOperation
    from infranb.core.result import InfrastructureResult
    from infranb.runtime import Runtime

T = TypeVar("T")
#: a network or a volume: what a stack's teardown may find shared with another stack
Shared = TypeVar("Shared", NetworkInfo, VolumeInfo)
FLAGS = ("cleanup_stopped_containers", "cleanup_unused_images", "cleanup_volumes")


@dataclass(frozen=True)
class Cleanup:
    """What to remove, and where: ``scope`` "managed" (one ``stack``, or all) or "all"."""

    stopped_containers: bool
    unused_images: bool
    volumes: bool
    force_remove: bool
    scope: Literal["managed", "all"]
    stack: str | None
    dry_run: bool

    async def in_scope(
        self, rt: Runtime, list_them: Callable[..., list[T]], **kwargs: Any
    ) -> list[T]:
        """What ``list_them`` lists in scope: the whole host, what infranb made, or one
        stack (what infranb made for it and, when named, a project docker compose made)."""
        if self.scope == "all":
            return await rt.call(list_them, **kwargs)
        if self.stack is None:
            return await rt.call(list_them, labels=L.managed(), **kwargs)
        return await L.in_stack(rt.call, list_them, self.stack, **kwargs)


def parse(
    op: InfrastructureOperation, config: InfrastructureManagerConfig
) -> tuple[Cleanup | None, list[Problem]]:
    problems = []
    if not any(getattr(op, flag) for flag in FLAGS):
        problems.append(
            Problem(
                "cleanup_stopped_containers",
                "say what to clean up: cleanup_stopped_containers=True removes stopped "
                "containers (with force_remove=True, running ones too) and the networks they "
                "leave unused; cleanup_unused_images=True removes images no container uses; "
                "cleanup_volumes=True removes volumes no container uses. The teardown of a "
                "stack is stack=S, cleanup_stopped_containers=True, force_remove=True "
                "(or manager.down(S))",
            )
        )
    if op.scope == "all" and op.stack is not None:
        problems.append(
            Problem("stack", "a stack limits cleanup to managed resources; use scope='managed'")
        )
    if problems:
        return None, problems
    command = Cleanup(
        op.cleanup_stopped_containers,
        op.cleanup_unused_images,
        op.cleanup_volumes,
        op.force_remove,
        op.scope,
        op.stack,
        op.dry_run,
    )
    return command, []


@dataclass
class Observed:
    """What a cleanup reads of the engine, all before it decides anything."""

    swarm: swarm_stack.StackResources = field(default_factory=swarm_stack.StackResources)
    #: the containers in scope (with their sizes), and every container
    in_scope: list[ContainerInfo] = field(default_factory=list)
    containers: list[ContainerInfo] = field(default_factory=list)
    images: list[ImageInfo] = field(default_factory=list)
    #: networks and volumes in scope, and (for a stack's teardown) every managed one
    networks: list[NetworkInfo] = field(default_factory=list)
    managed_networks: list[NetworkInfo] = field(default_factory=list)
    volumes: list[VolumeInfo] = field(default_factory=list)
    managed_volumes: list[VolumeInfo] = field(default_factory=list)
    #: network name -> the containers with an endpoint on it
    endpoints: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class CleanupPlan:
    """What a cleanup removes, in its order, and what it keeps with the reason."""

    swarm: swarm_stack.StackResources
    containers: list[ContainerInfo]
    images: list[ImageInfo]
    networks: list[NetworkInfo]
    volumes: list[VolumeInfo]
    #: the rows of what goes (volumes get their sizes when the run reads them)
    rows: list[RemovedResource]
    warnings: list[str]

    @property
    def destructive(self) -> list[str]:
        return [f"remove {r.kind} {r.name}" for r in self.rows] + [
            f"remove volume {v.name}" for v in self.volumes
        ]


async def observe(rt: Runtime, op: Cleanup) -> Observed:
    """Every engine read a cleanup needs, gathered at once (then the users of the networks
    that could go)."""
    engine = rt.engine
    forced_stack = op.stopped_containers and op.force_remove and op.scope == "managed"
    shared = op.stack is not None  # a stack's teardown also reads the managed ones it uses

    async def nothing() -> list[Any]:
        return []

    async def no_swarm() -> swarm_stack.StackResources:
        return swarm_stack.StackResources()

    needs_all = op.unused_images or op.volumes or op.stopped_containers
    (
        swarm, in_scope, containers, images, networks, managed_networks, volumes,
        managed_volumes,
    ) = await rt.gather(
        swarm_stack.find_stack(rt, op.stack) if forced_stack else no_swarm(),
        op.in_scope(rt, engine.list_containers, size=True) if op.stopped_containers else nothing(),
        rt.call(engine.list_containers) if needs_all else nothing(),
        rt.call(engine.list_images) if op.unused_images else nothing(),
        op.in_scope(rt, engine.list_networks) if op.stopped_containers else nothing(),
        rt.call(engine.list_networks, labels=L.managed())
        if op.stopped_containers and shared
        else nothing(),
        op.in_scope(rt, engine.list_volumes) if op.volumes else nothing(),
        rt.call(engine.list_volumes, labels=L.managed()) if op.volumes and shared else nothing(),
    )  # fmt: skip
    observed = Observed(
        swarm, in_scope, containers, images, networks, managed_networks, volumes, managed_volumes
    )
    candidates = _networks_that_could_go(op, observed)
    users = await rt.gather(*(rt.call(engine.network_containers, n.id) for n in candidates))
    observed.endpoints = {n.name: list(u) for n, u in zip(candidates, users, strict=True)}
    return observed


def _going(op: Cleanup, observed: Observed) -> tuple[list[ContainerInfo], list[str]]:
    """The containers that go, and the running ones kept (without ``force_remove``)."""
    going, kept = [], []
    for c in observed.in_scope:
        if c.state in ("running", "restarting", "paused") and not op.force_remove:
            kept.append(c.name)
        else:
            going.append(c)
    return going, kept


def _in_scope_or_shared(
    op: Cleanup,
    in_scope: Sequence[Shared],
    managed: Sequence[Shared],
    going: Sequence[ContainerInfo],
    attribute: str,
) -> list[Shared]:
    """The networks (or volumes) in scope, plus, for a stack teardown, the managed ones the
    stack's containers use although another stack created them (labels cannot change after
    creation, so a shared network carries only its creator's stack)."""
    if not op.stack:
        return list(in_scope)
    used = {name for c in going for name in getattr(c, attribute)}
    names = {item.name for item in in_scope}
    extra: list[Shared] = [i for i in managed if i.name in used and i.name not in names]
    return list(in_scope) + extra


def _networks_that_could_go(op: Cleanup, observed: Observed) -> list[NetworkInfo]:
    if not op.stopped_containers:
        return []
    going, _ = _going(op, observed)
    overlays = {n.name for n in observed.swarm.networks}
    return [
        n
        for n in _in_scope_or_shared(
            op, observed.networks, observed.managed_networks, going, "networks"
        )
        if n.name not in L.BUILTIN_NETWORKS and n.name not in overlays
    ]


def plan(op: Cleanup, observed: Observed) -> CleanupPlan:
    """What goes and what is kept, and why: pure, from what ``observe`` read."""
    swarm = observed.swarm
    rows = [
        RemovedResource("service", s.name, s.id, 0, L.stack_of(s.labels)) for s in swarm.services
    ] + [RemovedResource("secret", s.name, s.id, 0, L.stack_of(s.labels)) for s in swarm.secrets]
    warnings: list[str] = []
    containers, skipped_running = _going(op, observed)
    rows += [
        RemovedResource("container", c.name, c.id, c.size or 0, L.stack_of(c.labels))
        for c in containers
    ]
    going = {c.id for c in containers}
    staying = [c for c in observed.containers if c.id not in going]

    images: list[ImageInfo] = []
    if op.unused_images:
        in_use = {c.image_id for c in staying}
        images = [
            i
            for i in observed.images
            if i.id not in in_use and (op.scope == "all" or i.dangling or L.is_managed(i.labels))
        ]
        rows += [RemovedResource("image", image_name(i), i.id, i.size) for i in images]

    networks: list[NetworkInfo] = []
    if op.stopped_containers:
        going_names = {c.name for c in containers}
        # Only networks that nothing outside this cleanup still uses.
        for network in _networks_that_could_go(op, observed):
            # A stopped container that names the network needs it to start again.
            referenced = {c.name for c in staying if network.name in c.networks}
            used_by = set(observed.endpoints.get(network.name, ()))
            others = sorted((used_by | referenced) - going_names)
            if not others:
                networks.append(network)
            elif op.stack:
                warnings.append(
                    f"network {network.name} kept: still used by {', '.join(others)}; it goes "
                    "with the last stack that uses it"
                )
        networks += swarm.networks
        rows += [
            RemovedResource("network", n.name, n.id, 0, L.stack_of(n.labels)) for n in networks
        ]

    volumes: list[VolumeInfo] = []
    if op.volumes:
        users_of: dict[str, list[str]] = {}
        for c in staying:
            for v in c.volumes:
                users_of.setdefault(v, []).append(c.name)
        candidates = _in_scope_or_shared(
            op, observed.volumes, observed.managed_volumes, containers, "volumes"
        )
        warnings += [
            f"volume {v.name} kept: still used by {', '.join(sorted(users_of[v.name]))}"
            for v in candidates
            if v.name in users_of
        ]
        # The anonymous volumes of the containers that go, go with them (down -v); one
        # carried over by a recreate is mounted by name, so the engine would keep it.
        named = {v.name for v in candidates}
        anonymous = [
            VolumeInfo(v, "local", {})
            for v in sorted(
                {v for c in containers for v in c.volumes if L.ANONYMOUS_VOLUME.fullmatch(v)}
            )
            if v not in users_of and v not in named
        ]
        volumes = sorted(
            [*(v for v in candidates if v.name not in users_of), *anonymous],
            key=lambda v: v.name,
        )
    if skipped_running:
        warnings.append(
            f"{len(skipped_running)} running container(s) kept ({', '.join(skipped_running)}); "
            "set force_remove=True to stop and remove them"
        )
    return CleanupPlan(swarm, containers, images, networks, volumes, rows, warnings)


async def run(op: Cleanup, rt: Runtime, outcome: Outcome) -> None:
    outcome.stack = op.stack
    outcome.dry_run = op.dry_run
    outcome.scope = op.scope
    observed = await observe(rt, op)
    planned = plan(op, observed)
    outcome.warnings += planned.warnings
    await execute(rt, op, planned, outcome, observed.containers)


def takes_snapshots(op: Cleanup, config: InfrastructureManagerConfig) -> bool:
    """Whether this cleanup snapshots the volumes it removes first: a named stack's (with
    "remove_volume"), or a host-wide one's (only with "host_cleanup")."""
    if not op.volumes:
        return False
    return ("remove_volume" if op.stack else "host_cleanup") in config.snapshot_before


def snapshot_plan(
    rt: Runtime,
    op: Cleanup,
    planned: CleanupPlan,
    containers: Sequence[ContainerInfo],
    sizes: Mapping[str, int],
) -> list[Step]:
    """The snapshot steps of the volumes that hold data, their writers stopped first (they
    are going anyway); refuses, before anything is touched, a run whose snapshots would be
    over ``snapshot_max_bytes`` or not fit on the disk."""
    if not takes_snapshots(op, rt.config):
        return []
    holding = [v for v in planned.volumes if sizes.get(v.name, 0) > 0]
    total = sum(sizes[v.name] for v in holding)
    if total > rt.config.snapshot_max_bytes:
        biggest = max(holding, key=lambda v: sizes[v.name])
        raise ValidationError([Problem(
            "config.snapshot_max_bytes",
            f"the snapshots this run takes before it removes volumes would hold {total} bytes "
            f"(volume {biggest.name}: {sizes[biggest.name]}), over snapshot_max_bytes="
            f"{rt.config.snapshot_max_bytes}; raise it, or set snapshot_before=() to remove "
            "them without a snapshot",
        )])  # fmt: skip
    folder = rt.config.backups_folder
    seen = volumes_ops.Observed(holding, containers, sizes, volumes_ops.free_space(folder))
    volumes_ops.check_space(holding, seen, folder)
    steps = volumes_ops.backup_steps(
        holding, seen, folder, quiesce="stop", compress=None, reason="snapshot",
        markers=rt.config.secret_markers,
    )  # fmt: skip
    return [s for s in steps if s.kind != "start-ready"]  # they are removed next


async def record_teardown(rt: Runtime, op: Cleanup, planned: CleanupPlan, outcome: Outcome) -> None:
    """What a stack's teardown removes, as the journal keeps it: each container's spec (as
    an orchestrate run records it), its volumes and their snapshots, so ``revert`` brings
    the stack back with its data."""
    if not op.stack or not planned.containers or rt.recorder is None:
        return  # nothing to keep it in (journal=None)
    inspected = await rt.gather(
        *(rt.call(rt.engine.inspect_container, c.id) for c in planned.containers)
    )
    details = {d.name: d for d in inspected if d is not None}
    prior = prior_state(op.stack, {c.name: c for c in planned.containers}, details)
    prior["teardown"] = True
    prior["volumes"] = {
        v.name: {"driver": v.driver, "labels": {
            k: val for k, val in v.labels.items() if not k.startswith(L.RESERVED_PREFIXES)
        }}
        for v in planned.volumes
        if not L.ANONYMOUS_VOLUME.fullmatch(v.name)
    }  # fmt: skip
    prior["snapshots"] = [
        {"volume": a.volume, "archive": a.archive, "sha256": a.sha256}
        for a in outcome.archives
        if a.action == "snapshot"
    ]
    rt.record_prior(prior)


async def execute(
    rt: Runtime,
    op: Cleanup,
    planned: CleanupPlan,
    outcome: Outcome,
    containers: Sequence[ContainerInfo] = (),
) -> None:
    """Gate the whole plan, then remove what it says: the swarm stack's services first,
    containers in reverse dependency order, each network as soon as its endpoints are
    released, then volumes and images. A dry run only reads the volumes' sizes."""
    engine = rt.engine
    rows, volumes, networks = list(planned.rows), planned.volumes, planned.networks
    # The engine's disk-usage report is slow: read while the containers go, not before.
    sizes = asyncio.ensure_future(rt.call(engine.volume_sizes)) if volumes else None

    async def volume_rows() -> list[RemovedResource]:
        found = await sizes if sizes is not None else {}
        return [
            RemovedResource("volume", v.name, v.name, found.get(v.name, 0), L.stack_of(v.labels))
            for v in volumes
        ]

    snapshots: list[Step] = []
    if takes_snapshots(op, rt.config) and sizes is not None:
        snapshots = snapshot_plan(rt, op, planned, containers, await sizes)
        outcome.steps, outcome.plan = snapshots, [s.row() for s in snapshots]
    if op.dry_run:
        rt.gate(planned.destructive, dry_run=True)
        outcome.removed = rows + await volume_rows()
        return
    try:
        rt.gate(planned.destructive)
    except Refused:
        if sizes is not None:
            sizes.cancel()  # only a read, but nothing of a refused run may linger
        raise
    # A snapshot that fails stops the run before anything is removed (its undo starts
    # again what it stopped and deletes what it wrote).
    await run_steps(snapshots, rt, outcome)
    await record_teardown(rt, op, planned, outcome)

    removed: list[RemovedResource] = []
    swarm = planned.swarm
    overlays = {n.name for n in swarm.networks}
    if swarm:
        gone_overlays = await swarm_stack.remove_stack(rt, swarm)
        removed += [r for r in rows if r.kind in ("service", "secret")]
        removed += [r for r in rows if r.kind == "network" and r.name in gone_overlays]
    network_names = [n.name for n in networks if n.name not in overlays]
    left = {name: asyncio.Event() for name in network_names}
    leaving = [c.name for c in planned.containers]

    def network_left(name: str) -> None:
        if name in left:
            left[name].set()

    async def containers_then_volumes() -> tuple[list[str], tuple[list[str], list[Kept]]]:
        gone = await remove_containers(rt, planned.containers, on_left=network_left)
        for event in left.values():  # the networks none of them held an endpoint on
            event.set()
        rows.extend(await volume_rows())  # sizes read before the volumes go
        return gone, await remove_volumes(rt, [v.name for v in volumes])

    async def network_goes(name: str) -> tuple[list[str], list[Kept]]:
        # Once its endpoints are released it goes while the containers still stop and go
        # (a bridge network's removal, the slowest here, no longer waits for the last one).
        await left[name].wait()
        return await remove_networks(rt, [name], leaving)

    (gone_containers, (gone_volumes, kept_volumes)), *network_outcomes = await rt.gather(
        containers_then_volumes(), *(network_goes(name) for name in network_names)
    )
    by_name = {r.name: r for r in rows if r.kind == "container"}
    removed += [by_name[name] for name in gone_containers]
    gone_networks = {name for result in network_outcomes for name in result[0]}
    kept_networks = [kept for result in network_outcomes for kept in result[1]]
    removed += [r for r in rows if r.kind == "network" and r.name in gone_networks]
    # Networks in scope that containers outside it still use are simply kept.
    outcome.warnings += [str(k) for k in kept_networks if k.reason != "in use"]
    for image in planned.images:
        if await _remove_image(rt, image):
            removed.append(next(r for r in rows if r.id == image.id))
    outcome.warnings += [str(k) for k in kept_volumes]
    removed += [r for r in rows if r.kind == "volume" and r.name in gone_volumes]
    outcome.removed = removed


async def _remove_image(rt: Runtime, image: ImageInfo) -> bool:
    """Remove every tag of an unused image (then the image); False if it was in use."""
    try:
        for ref in image.tags or (image.id,):
            await rt.call(rt.engine.remove_image, ref)
    except NotFound:
        return True
    except Conflict as e:
        rt.warnings.append(f"image {', '.join(image.tags) or short_id(image.id)} kept: {e}")
        return False
    return True


def image_name(image: ImageInfo) -> str:
    """How a removed image is named: its tags, or its short id when it has none."""
    return ", ".join(image.tags) or short_id(image.id)


SCHEMA: Schema = {
    "kind": ("container", "image", "network", "volume", "service", "secret"),
    "name": "string",
    "id": "string",
    "stack": "string",
    "bytes_reclaimed": "Int64",
}


def rows(result: InfrastructureResult) -> Iterable[dict[str, Any]]:
    for r in result.removed:
        yield {
            "kind": r.kind,
            "name": r.name,
            "id": short_id(r.id),
            "stack": r.stack,
            "bytes_reclaimed": r.bytes_reclaimed,
        }


OPERATION = Operation(
    name="cleanup_resources",
    summary="stopped containers, unused images, networks and volumes, in scope",
    parse=parse,
    run=run,
    schema=SCHEMA,
    rows=rows,
    shown_fields=(*FLAGS, "force_remove", "scope", "stack", "dry_run"),
)
