"""restore: write an archive back into a volume and verify it (``manager.restore``).

A missing volume is created with the manifest's driver, options and labels. An empty one
is written into. One that holds data is refused unless ``replace=True``, which first backs
up what is there (so a restore can itself be undone), removes the volume, creates it again
and writes the archive. Every restore reads the volume back and compares each file with
the manifest; a difference fails the run, and the undo puts the old contents back.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from infranb.core.archives import read_manifest
from infranb.core.backups import Manifest
from infranb.core.errors import Problem, ValidationError
from infranb.core.steps import Step, StepPlan
from infranb.ops import volumes
from infranb.ops.base import Operation
from infranb.ops.common import unknown_params

if TYPE_CHECKING:
    from infranb.core.config import InfrastructureManagerConfig
    from infranb.core.request import InfrastructureOperation
    from infranb.runtime import Runtime


@dataclass(frozen=True)
class Restore:
    """Write ``archive`` into ``volume`` (the manifest's volume by default)."""

    archive: Path
    manifest: Manifest
    volume: str
    replace: bool = False
    #: driver options for a volume it creates, in place of the manifest's masked ones
    driver_opts: Mapping[str, str] = field(default_factory=dict, repr=False)
    folder: Path = Path()
    dry_run: bool = False


def parse(
    op: InfrastructureOperation, config: InfrastructureManagerConfig
) -> tuple[Restore | None, list[Problem]]:
    problems = unknown_params(op, ("archive", "volume", "replace", "driver_opts"))
    params: Mapping[str, Any] = op.params if isinstance(op.params, dict) else {}
    archive, volume = params.get("archive"), params.get("volume")
    replace, driver_opts = params.get("replace", False), params.get("driver_opts") or {}
    manifest = None
    if not isinstance(archive, str) or not archive:
        problems.append(Problem("params.archive", "restore needs archive=, the path of a backup"))
    else:
        path = Path(archive).expanduser()
        if not path.is_file():
            problems.append(
                Problem("params.archive", f"{archive} is not a file; manager.backups() lists them")
            )
        else:
            try:
                manifest = read_manifest(path)
            except ValueError as e:
                problems.append(Problem("params.archive", str(e)))
    if volume is not None and not (isinstance(volume, str) and volume):
        problems.append(Problem("params.volume", f"{volume!r} must be a volume's name"))
    if not isinstance(replace, bool):
        problems.append(Problem("params.replace", f"{replace!r} must be True or False"))
    if not isinstance(driver_opts, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in driver_opts.items()
    ):
        problems.append(Problem("params.driver_opts", "driver_opts must map names to strings"))
        driver_opts = {}
    if problems or manifest is None or not isinstance(archive, str):
        return None, problems
    path = Path(archive).expanduser().resolve()
    target = volume or manifest.volume
    return Restore(
        path, manifest, target, replace, dict(driver_opts), path.parent, op.dry_run
    ), []  # fmt: skip


async def observe(command: Restore, rt: Runtime) -> volumes.Observed:
    # Options a request gave go to the step that creates the volume through the runtime,
    # never through a step: steps are shown and saved, and these can be secrets.
    rt.volume_options[command.volume] = dict(command.driver_opts)
    return await volumes.observe_volumes(command.folder, rt)


def plan(
    command: Restore, observed: volumes.Observed, config: InfrastructureManagerConfig
) -> StepPlan:
    m, volume = command.manifest, command.volume
    existing = next((v for v in observed.volumes if v.name == volume), None)
    users = sorted(c.name for c in observed.containers if volume in c.volumes)
    restore = Step(
        "restore", volume, 0, {"archive": str(command.archive), "volume": volume},
        no_undo="what it wrote goes with the volume it wrote into",
        reason=f"write {command.archive.name} ({len(m.files)} files, {m.bytes} bytes), "
        "then read it back and compare every file",
    )  # fmt: skip
    create = _create(command, volume)
    if existing is None:
        masked = [k for k in m.masked_options if k not in command.driver_opts]
        if masked:
            raise ValidationError([Problem(
                "params.driver_opts",
                f"the manifest of {command.archive.name} masks the driver option(s) "
                f"{', '.join(masked)} of volume {m.volume}; pass driver_opts= with their values",
            )])  # fmt: skip
        return StepPlan((create, _at(restore, 1)), stack=m.stack)
    size = observed.sizes.get(volume) or 0
    if not command.replace:
        if size:
            raise ValidationError([Problem(
                "params.replace",
                f"volume {volume} is not empty ({size} bytes); pass replace=True to replace "
                "what it holds (a backup of it is taken first), or volume= a new name",
            )])  # fmt: skip
        return StepPlan((restore,), stack=m.stack)
    if users:
        raise ValidationError([Problem(
            "params.replace",
            f"volume {volume} is used by {', '.join(users)}: a volume cannot be replaced while "
            "a container references it; remove them first (manager.down of their stack), or "
            "restore into a new volume with volume=",
        )])  # fmt: skip
    before = volumes.backup_steps(
        [existing], observed, command.folder, quiesce="none", compress=None,
        reason="before-restore", first_wave=-1, markers=config.secret_markers,
    )  # fmt: skip
    remove = Step(
        "remove-volume", volume, 1, {},
        undo=Step("recover-volume", volume, 1, {
            "folder": str(command.folder), "driver": existing.driver,
            "labels": dict(existing.labels),
        }),
        reason="replace=True: what it holds was backed up first",
    )  # fmt: skip
    return StepPlan((*before, remove, _at(create, 2), _at(restore, 3)), stack=m.stack)


def _create(command: Restore, volume: str) -> Step:
    m = command.manifest
    args = {"driver": m.driver, "driver_opts": dict(m.driver_opts), "labels": dict(m.labels)}
    return Step(
        "create-volume", volume, 0, args,
        undo=Step("remove-volume", volume, 0, {}),
        reason=f"as the manifest says: driver {m.driver}",
    )  # fmt: skip


def _at(step: Step, wave: int) -> Step:
    from dataclasses import replace

    return replace(step, wave=wave)


def rows(result: Any) -> Iterable[dict[str, Any]]:
    return volumes.rows(result)


OPERATION: Operation[Restore] = Operation(
    name="restore",
    summary="Restore an archive into a volume and verify every file",
    parse=parse,
    observe=observe,
    plan=plan,
    schema=volumes.SCHEMA,
    rows=rows,
    shown_fields=("params",),
    plan_table=True,
    first_columns=("volume", "archive", "bytes", "files", "verified", "verify_seconds"),
)
