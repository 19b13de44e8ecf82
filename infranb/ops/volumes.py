"""What ``backup`` and ``restore`` share: what they observe of the engine and the disk,
which volumes a request selects, the steps of backing volumes up (with their quiesce), and
the result table (one row per volume)."""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from infranb.core import labels as L
from infranb.core.backups import masked_options
from infranb.core.errors import Problem, ValidationError
from infranb.core.frames import Schema
from infranb.core.records import ContainerInfo, VolumeInfo
from infranb.core.secrets import DEFAULT_SECRET_MARKERS
from infranb.core.steps import Step

if TYPE_CHECKING:
    from infranb.core.result import InfrastructureResult
    from infranb.runtime import Runtime


@dataclass(frozen=True)
class Observed:
    """What a backup's plan reads: volumes, containers, sizes, and the free space."""

    volumes: Sequence[VolumeInfo]
    containers: Sequence[ContainerInfo]
    sizes: Mapping[str, int]
    free_bytes: int
    #: image ids present here, for the helper (one a volume's user runs)
    images: frozenset[str] = field(default_factory=frozenset)


def free_space(folder: Path) -> int:
    """Free bytes where ``folder`` is (or would be made)."""
    probe = folder
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    return shutil.disk_usage(probe).free


async def observe_volumes(folder: Path, rt: Runtime) -> Observed:
    """Volumes, containers, volume sizes and the free space where archives go, at once."""
    volumes, containers, sizes = await rt.gather(
        rt.call(rt.engine.list_volumes),
        rt.call(rt.engine.list_containers),
        rt.call(rt.engine.volume_sizes),
    )
    return Observed(volumes, containers, sizes, await rt.call(free_space, folder))


def selected(
    command_volumes: Sequence[str], stack: str | None, observed: Observed
) -> list[VolumeInfo]:
    """The volumes a request names, then the stack's: labelled with it, or mounted by its
    containers (anonymous ones too). Raises ``Refused`` naming a volume that is not there."""
    known = {v.name: v for v in observed.volumes}
    folders = [v for v in command_volumes if v not in known and v.startswith(("/", "./", "~"))]
    if folders:
        raise ValidationError([Problem(
            "params.volumes",
            f"{folders[0]} is a folder of the host (a bind mount's source), not a volume: "
            "only named and anonymous volumes are backed up; copy it with the host's tools "
            "(cp -a, tar)",
        )])  # fmt: skip
    missing = [v for v in command_volumes if v not in known]
    if missing:
        raise ValidationError([Problem(
            "params.volumes",
            f"no volume named {', '.join(missing)} on this engine; "
            "manager.volumes() lists the volumes there are",
        )])  # fmt: skip
    chosen = [known[v] for v in command_volumes]
    if stack:
        theirs = {
            v for c in observed.containers if L.stack_of(c.labels) == stack for v in c.volumes
        }
        chosen += [v for v in observed.volumes if L.stack_of(v.labels) == stack or v.name in theirs]
        if not chosen:
            raise ValidationError(
                [Problem("params.stack", f"stack {stack} has no volumes on this engine")]
            )
    return list({v.name: v for v in chosen}.values())


def writers(volume: str, containers: Iterable[ContainerInfo]) -> list[ContainerInfo]:
    """The running containers that mount ``volume`` writable, by name."""
    return sorted(
        (
            c
            for c in containers
            if volume in c.volumes
            and volume not in c.read_only_volumes
            and c.state in ("running", "restarting")
        ),
        key=lambda c: c.name,
    )


def backup_steps(
    chosen: Sequence[VolumeInfo],
    observed: Observed,
    folder: Path,
    *,
    quiesce: str,
    compress: str | None,
    reason: str = "backup",
    first_wave: int = 0,
    markers: Iterable[str] = DEFAULT_SECRET_MARKERS,
) -> list[Step]:
    """The steps of backing ``chosen`` up: quiesce their writers, one backup per volume
    (undone by discarding its archive), then the writers back as they were."""
    quiet: dict[str, ContainerInfo] = {}
    steps: list[Step] = []
    for v in chosen:
        users = [c for c in observed.containers if v.name in c.volumes]
        writing = writers(v.name, observed.containers) if quiesce != "none" else []
        quiet.update({c.name: c for c in writing})
        image = next((c.image_id for c in users if c.image_id), "")
        args = {
            "volume": v.name, "folder": str(folder), "compress": compress, "reason": reason,
            "driver": v.driver, "driver_opts": masked_options(v.options, markers),
            "labels": dict(v.labels), "stack": L.stack_of(v.labels)
            or next((L.stack_of(c.labels) for c in users if L.stack_of(c.labels)), None),
            "services": sorted({c.labels[L.COMPOSE_SERVICE] for c in users
                                if L.COMPOSE_SERVICE in c.labels}),
            "containers": sorted(c.name for c in users), "image": image,
            "quiesced": [c.name for c in writing],
        }  # fmt: skip
        size = observed.sizes.get(v.name)
        said = f"{_size(size)} to {folder}" if size is not None else f"to {folder}"
        steps.append(
            Step(
                "backup",
                v.name,
                first_wave + 1,
                args,
                undo=Step(
                    "discard", v.name, first_wave + 1, {"volume": v.name, "folder": str(folder)}
                ),
                reason=f"{reason}: {said}",
            )
        )
    before, after = [], []
    for c in sorted(quiet.values(), key=lambda c: c.name):
        if quiesce == "stop":
            hooks = {"labels": {L.PRE_STOP: c.labels[L.PRE_STOP]}} if L.PRE_STOP in c.labels else {}
            before.append(
                Step("stop", c.name, first_wave, {"id": c.id, **hooks},
                     undo=Step("start", c.name, first_wave, {"id": c.id}),
                     reason="it writes to a volume being backed up: stopped while it is read")
            )  # fmt: skip
            after.append(
                Step("start-ready", c.name, first_wave + 2, {"id": c.id},
                     undo=Step("keep", c.name, first_wave + 2),
                     reason="running again, awaited ready")
            )  # fmt: skip
        else:
            before.append(
                Step("pause", c.name, first_wave, {"id": c.id},
                     undo=Step("unpause", c.name, first_wave, {"id": c.id}),
                     reason="it writes to a volume being backed up: frozen while it is read")
            )  # fmt: skip
            after.append(
                Step("unpause", c.name, first_wave + 2, {"id": c.id},
                     undo=Step("keep", c.name, first_wave + 2), reason="running again")
            )  # fmt: skip
    return [*before, *steps, *after]


def _size(size: int | None) -> str:
    if size is None:
        return "size unknown"
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size = size / 1000  # type: ignore[assignment]
    return f"{size}"


def check_space(chosen: Sequence[VolumeInfo], observed: Observed, folder: Path) -> None:
    """Refuse, in one sentence, a backup that would not fit where it goes."""
    needed = sum(observed.sizes.get(v.name) or 0 for v in chosen)
    if needed > observed.free_bytes:
        raise ValidationError([Problem(
            "params.to",
            f"the backup of {', '.join(v.name for v in chosen)} needs about {_size(needed)} "
            f"and {folder} has {_size(observed.free_bytes)} free; free some space or pass "
            "to= a folder with room",
        )])  # fmt: skip


def rows(result: InfrastructureResult) -> Iterable[dict[str, Any]]:
    for a in result.archives:
        yield {
            "volume": a.volume,
            "action": a.action,
            "archive": a.archive,
            "bytes": a.bytes,
            "files": a.files,
            "sha256": a.sha256,
            "seconds": a.seconds,
            "quiesced": ", ".join(a.quiesced),
            "verified": a.verified,
            "verify_seconds": a.verify_seconds,
        }


SCHEMA: Schema = {
    "volume": "string",
    "action": "string",
    "archive": "string",
    "bytes": "Int64",
    "files": "Int64",
    "sha256": "string",
    "seconds": "Float64",
    "quiesced": "string",
    "verified": "boolean",
    "verify_seconds": "Float64",
}


def _hooks(c: ContainerInfo) -> dict[str, Any]:
    hooks = c.labels.get(L.PRE_STOP)
    return {"labels": {L.PRE_STOP: hooks}} if hooks and c.state == "running" else {}


def replace_steps(
    existing: VolumeInfo,
    users: Sequence[ContainerInfo],
    archive: Path,
    said: str,
    folder: Path,
    *,
    markers: Iterable[str],
    sizes: Mapping[str, int],
    created_like: Mapping[str, str],
    first_wave: int = 0,
    reason: str = "before-restore",
) -> list[Step]:
    """The steps that put ``archive`` in the place of what ``existing`` holds: its users
    stopped, what it holds backed up (``reason``), the users removed (a volume cannot be
    removed while a container references it, even a stopped one), the volume removed and
    made again with the archive (read back and compared), the users made again from their
    own inspect (``rt.blueprints``) and started where they ran. Each step has its undo."""
    w = first_wave
    volume = existing.name
    running = [c for c in users if c.state in ("running", "restarting")]
    stops = [
        Step("stop", c.name, w, {"id": c.name, **_hooks(c)},
             undo=Step("start", c.name, w, {"id": c.name}),
             reason="it uses the volume: stopped while it is replaced")
        for c in running
    ]  # fmt: skip
    seen = Observed([existing], list(users), sizes, 0)
    before = backup_steps(
        [existing], seen, folder, quiesce="none", compress=None, reason=reason,
        first_wave=w, markers=markers,
    )  # fmt: skip
    removes = [
        Step("remove", c.name, w + 2, {"id": c.name},
             undo=Step("remake", c.name, w + 2, {"name": c.name}),
             reason="it references the volume: made again from its own inspect afterwards")
        for c in users
    ]  # fmt: skip
    remove = Step(
        "remove-volume", volume, w + 3, {},
        undo=Step("recover-volume", volume, w + 3, {
            "folder": str(folder), "driver": existing.driver, "labels": dict(existing.labels),
        }),
        reason="what it holds was backed up first",
    )  # fmt: skip
    create = {"driver": existing.driver, "driver_opts": dict(created_like),
              "labels": dict(existing.labels)}  # fmt: skip
    restore = Step(
        "restore", volume, w + 4, {"archive": str(archive), "volume": volume, "create": create},
        undo=Step("remove-volume", volume, w + 4, {}),
        reason=f"create it (driver {existing.driver}), {said}",
    )  # fmt: skip
    remakes = [
        Step("remake", c.name, w + 5, {"name": c.name},
             undo=Step("remove", c.name, w + 5, {"id": c.name}),
             reason="made again as it was, on the restored volume")
        for c in users
    ]  # fmt: skip
    starts = [
        Step("start-ready", c.name, w + 6, {"id": c.name}, undo=Step("keep", c.name, w + 6),
             reason="it was running: started again and awaited ready")
        for c in running
    ]  # fmt: skip
    return [*stops, *before, *removes, remove, restore, *remakes, *starts]
