"""cleanup_resources: stopped containers, unused images, networks and volumes, in scope.

Scope: ``"managed"`` only touches what carries ``infranb.managed=true`` (with a stack, only
that stack; images: infranb-built or dangling); ``"all"`` is the whole host, like
``docker system prune``. Running containers go only with ``force_remove``; images that
any remaining container uses never go. ``dry_run`` lists what would go, touching nothing.
"""

from __future__ import annotations

from typing import Any

from infranb.engine import ContainerInfo, ImageInfo, NetworkInfo, VolumeInfo
from infranb.errors import Conflict, NotFound
from infranb.models import InfrastructureOperation, InfrastructureResult, RemovedResource
from infranb.ops.common import remove_containers, remove_networks, remove_volumes
from infranb.runtime import LABEL_MANAGED, LABEL_STACK, Runtime

BUILTIN_NETWORKS = ("bridge", "host", "none")


def _scope_filters(op: InfrastructureOperation) -> dict[str, Any]:
    if op.scope == "all":
        return {}
    labels = [f"{LABEL_MANAGED}=true"]
    if op.stack:
        labels.append(f"{LABEL_STACK}={op.stack}")
    return {"label": labels}


async def cleanup(op: InfrastructureOperation, rt: Runtime, result: InfrastructureResult) -> None:
    engine = rt.engine
    result.stack = op.stack
    result.dry_run = op.dry_run
    scope = _scope_filters(op)
    planned: list[RemovedResource] = []
    skipped_running: list[str] = []

    containers: list[ContainerInfo] = []
    if op.cleanup_stopped_containers:
        for c in await rt.call(engine.list_containers, scope, size=True):
            if c.state in ("running", "restarting", "paused") and not op.force_remove:
                skipped_running.append(c.name)
            else:
                containers.append(c)
        planned += [
            RemovedResource("container", c.name, c.id, c.size or 0, c.labels.get(LABEL_STACK))
            for c in containers
        ]

    images: list[ImageInfo] = []
    going = {c.id for c in containers}
    staying = (
        [c for c in await rt.call(engine.list_containers) if c.id not in going]
        if op.cleanup_unused_images or op.cleanup_volumes
        else []
    )
    if op.cleanup_unused_images:
        in_use = {c.image_id for c in staying}
        candidates = await rt.call(engine.list_images)
        images = [
            i
            for i in candidates
            if i.id not in in_use
            and (op.scope == "all" or i.dangling or i.labels.get(LABEL_MANAGED) == "true")
        ]
        planned += [
            RemovedResource("image", ", ".join(i.tags) or "<none>", i.id, i.size) for i in images
        ]

    networks: list[NetworkInfo] = []
    if op.cleanup_stopped_containers:
        candidates_n = [
            n for n in await rt.call(engine.list_networks, scope) if n.name not in BUILTIN_NETWORKS
        ]
        users = await rt.gather(*(rt.call(engine.network_containers, n.id) for n in candidates_n))
        going_names = {c.name for c in containers}
        # Only networks that nothing outside this cleanup still uses.
        networks = [
            n for n, used_by in zip(candidates_n, users, strict=True) if set(used_by) <= going_names
        ]
        planned += [
            RemovedResource("network", n.name, n.id, 0, n.labels.get(LABEL_STACK)) for n in networks
        ]

    volumes: list[VolumeInfo] = []
    if op.cleanup_volumes:
        used = {v for c in staying for v in c.volumes}
        volumes = sorted(
            (v for v in await rt.call(engine.list_volumes, scope) if v.name not in used),
            key=lambda v: v.name,
        )
        sizes = await rt.call(engine.volume_sizes) if volumes else {}
        planned += [
            RemovedResource(
                "volume", v.name, v.name, sizes.get(v.name, 0), v.labels.get(LABEL_STACK)
            )
            for v in volumes
        ]

    if skipped_running:
        result.warnings.append(
            f"{len(skipped_running)} running container(s) kept ({', '.join(skipped_running)}); "
            "set force_remove=True to stop and remove them"
        )
    if op.dry_run:
        result.removed = planned
        result.cleanup_summary = _summary(planned, op, dry_run=True)
        return

    removed: list[RemovedResource] = []
    if containers:
        result.containers_removed = await remove_containers(rt, containers)  # in removal order
        by_name = {r.name: r for r in planned if r.kind == "container"}
        removed += [by_name[name] for name in result.containers_removed]
    if networks:
        gone, kept = await remove_networks(
            rt, [n.name for n in networks], result.containers_removed
        )
        removed += [r for r in planned if r.kind == "network" and r.name in gone]
        # Networks in scope that containers outside it still use are simply kept.
        result.warnings += [k for k in kept if "still used" not in k]
    for image in images:
        if await _remove_image(rt, image):
            result.images_removed.append(", ".join(image.tags) or image.id[:19])
            removed.append(next(r for r in planned if r.id == image.id))
    if volumes:
        gone, kept = await remove_volumes(rt, [v.name for v in volumes])
        result.warnings += kept
        removed += [r for r in planned if r.kind == "volume" and r.name in gone]
    result.removed = removed
    result.cleanup_summary = _summary(removed, op, dry_run=False)


async def _remove_image(rt: Runtime, image: ImageInfo) -> bool:
    """Remove every tag of an unused image (then the image); False if it was in use."""
    try:
        for ref in image.tags or (image.id,):
            await rt.call(rt.engine.remove_image, ref)
    except NotFound:
        return True
    except Conflict as e:
        rt.warnings.append(f"image {', '.join(image.tags) or image.id[:19]} kept: {e}")
        return False
    return True


def _summary(
    items: list[RemovedResource], op: InfrastructureOperation, *, dry_run: bool
) -> dict[str, Any]:
    def count(kind: str) -> int:
        return sum(1 for r in items if r.kind == kind)

    return {
        "containers_removed": count("container"),
        "images_removed": count("image"),
        "networks_removed": count("network"),
        "volumes_removed": count("volume"),
        "bytes_reclaimed": sum(r.bytes_reclaimed for r in items),
        "dry_run": dry_run,
        "scope": op.scope,
        "stack": op.stack,
    }
