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

from infranb.core import labels as L
from infranb.core.archives import read_manifest
from infranb.core.backups import Manifest, masked_options
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

    @property
    def stack(self) -> str | None:
        """The stack whose volume it writes back (its runs and this one exclude each other)."""
        return self.manifest.stack if self.volume == self.manifest.volume else None


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


@dataclass(frozen=True)
class Observed(volumes.Observed):
    """A restore's reads: the volumes' and the containers', and which users of the volume
    can be made again from their own inspect (infranb's and Compose's)."""

    remakeable: frozenset[str] = frozenset()


async def observe(command: Restore, rt: Runtime) -> Observed:
    # Options a request gave go to the step that creates the volume through the runtime,
    # never through a step: steps are shown and saved, and these can be secrets. So do the
    # inspects of the volume's users a replace makes again (their environments).
    rt.volume_options[command.volume] = dict(command.driver_opts)
    seen = await volumes.observe_volumes(command.folder, rt)
    there = next((v for v in seen.volumes if v.name == command.volume), None)
    if there is not None:  # a replace makes it again with its own options
        rt.volume_options[command.volume] = {**there.options, **command.driver_opts}
    users = [c for c in seen.containers if command.volume in c.volumes]
    if command.replace and users:
        found = await rt.gather(*(rt.call(rt.engine.inspect_container, c.id) for c in users))
        rt.blueprints.update({d.name: d for d in found if d is not None and d.config})
    made_here = {
        c.name for c in users
        if c.name in rt.blueprints and (L.is_managed(c.labels) or L.made_by_compose(c.labels))
    }  # fmt: skip
    return Observed(
        seen.volumes, seen.containers, seen.sizes, seen.free_bytes, remakeable=frozenset(made_here)
    )


def plan(command: Restore, observed: Observed, config: InfrastructureManagerConfig) -> StepPlan:
    m, volume = command.manifest, command.volume
    existing = next((v for v in observed.volumes if v.name == volume), None)
    users = sorted((c for c in observed.containers if volume in c.volumes), key=lambda c: c.name)
    said = f"write {command.archive.name} ({len(m.files)} files, {m.bytes} bytes), then read it "
    said += "back and compare every file"
    if existing is None:
        masked = [k for k in m.masked_options if k not in command.driver_opts]
        if masked:
            raise ValidationError([Problem(
                "params.driver_opts",
                f"the manifest of {command.archive.name} masks the driver option(s) "
                f"{', '.join(masked)} of volume {m.volume}; pass driver_opts= with their values",
            )])  # fmt: skip
        return StepPlan((_restore_step(command, volume, 0, create=True, reason=said),), m.stack)
    size = observed.sizes.get(volume) or 0
    if not command.replace:
        if size:
            raise ValidationError([Problem(
                "params.replace",
                f"volume {volume} is not empty ({size} bytes); pass replace=True to replace "
                "what it holds (a backup of it is taken first), or volume= a new name",
            )])  # fmt: skip
        step = _restore_step(command, volume, 0, create=False, reason=said)
        return StepPlan((step,), stack=m.stack)
    foreign = [c.name for c in users if c.name not in observed.remakeable]
    if foreign:
        raise ValidationError([Problem(
            "params.replace",
            f"volume {volume} is used by {', '.join(foreign)}, which neither infranb nor "
            "Compose made: a volume cannot be replaced while a container references it, and "
            "that one cannot be made again here; remove it first, or restore into a new "
            "volume with volume=",
        )])  # fmt: skip
    steps = volumes.replace_steps(
        existing, users, command.archive, said, command.folder, markers=config.secret_markers,
        sizes=observed.sizes, created_like=masked_options(existing.options),
    )  # fmt: skip
    return StepPlan(tuple(steps), stack=m.stack)


def _restore_step(
    command: Restore, volume: str, wave: int, *, create: bool, reason: str,
) -> Step:  # fmt: skip
    """The restore of the archive into ``volume``: into a volume it creates (undone by
    removing it; as the manifest says), or into an empty one
    that is there (nothing puts back what it wrote there)."""
    args: dict[str, Any] = {"archive": str(command.archive), "volume": volume}
    if not create:
        return Step("restore", volume, wave, args, reason=reason,
                    no_undo="what it wrote into the volume that was there stays")  # fmt: skip
    m = command.manifest
    args["create"] = {
        "driver": m.driver,
        "driver_opts": dict(m.driver_opts),
        "labels": dict(m.labels),
    }
    return Step(
        "restore", volume, wave, args, undo=Step("remove-volume", volume, wave, {}),
        reason=f"create it (driver {args['create']['driver']}), {reason}",
    )  # fmt: skip


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
