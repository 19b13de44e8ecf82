"""backup: write volumes to archives with their manifests (``manager.backup``).

The plan quiesces the containers that write to each volume (stop, or pause), backs each
volume up, then starts or unpauses them again and waits until they are ready. A failure
undoes it all: the archives this run wrote are removed, the containers run again.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from infranb.core.backups import QUIESCE, SUFFIXES
from infranb.core.errors import Problem
from infranb.core.steps import StepPlan
from infranb.ops.base import Operation
from infranb.ops.common import unknown_params
from infranb.ops.volumes import (
    SCHEMA,
    Observed,
    backup_steps,
    check_space,
    observe_volumes,
    rows,
    selected,
)

if TYPE_CHECKING:
    from infranb.core.config import InfrastructureManagerConfig
    from infranb.core.request import InfrastructureOperation
    from infranb.runtime import Runtime


@dataclass(frozen=True)
class Backup:
    """Back up ``volumes`` (or every volume of ``stack``) into ``folder``."""

    volumes: tuple[str, ...]
    stack: str | None
    folder: Path
    quiesce: str = "stop"
    compress: str | None = None
    dry_run: bool = False


def parse(
    op: InfrastructureOperation, config: InfrastructureManagerConfig
) -> tuple[Backup | None, list[Problem]]:
    problems = unknown_params(op, ("volumes", "stack", "to", "quiesce", "compress"))
    params: Mapping[str, Any] = op.params if isinstance(op.params, dict) else {}
    volumes, stack = params.get("volumes"), params.get("stack")
    if isinstance(volumes, str):
        volumes = [volumes]
    if volumes is not None and (
        not isinstance(volumes, list | tuple) or not all(isinstance(v, str) and v for v in volumes)
    ):
        problems.append(Problem("params.volumes", f"{volumes!r} must be a list of volume names"))
        volumes = None
    if stack is not None and not (isinstance(stack, str) and stack):
        problems.append(Problem("params.stack", f"{stack!r} must be a stack's name"))
        stack = None
    if not volumes and not stack and not problems:
        problems.append(
            Problem("params", "backup needs volumes=[...] or stack=...: name what to back up")
        )
    quiesce = params.get("quiesce", "stop")
    if quiesce not in QUIESCE:
        problems.append(
            Problem("params.quiesce", f"{quiesce!r} must be one of {', '.join(QUIESCE)}")
        )
    compress = params.get("compress")
    if compress not in SUFFIXES:
        problems.append(Problem("params.compress", f"{compress!r} must be None, 'gz' or 'zst'"))
    elif compress == "zst" and importlib.util.find_spec("zstandard") is None:
        problems.append(
            Problem("params.compress", "'zst' needs the zstandard package: pip install zstandard")
        )
    to = params.get("to")
    folder = Path(str(to)).expanduser() if to else config.backups_folder
    if folder.exists() and not folder.is_dir():
        problems.append(Problem("params.to", f"{folder} is a file; name a folder"))
    if problems:
        return None, problems
    names = tuple(dict.fromkeys(volumes or ()))
    return Backup(names, stack, folder, quiesce, compress, op.dry_run), []


async def observe(command: Backup, rt: Runtime) -> Observed:
    return await observe_volumes(command.folder, rt)


def plan(command: Backup, observed: Observed, config: InfrastructureManagerConfig) -> StepPlan:
    chosen = selected(command.volumes, command.stack, observed)
    check_space(chosen, observed, command.folder)
    steps = backup_steps(
        chosen, observed, command.folder, quiesce=command.quiesce, compress=command.compress,
        markers=config.secret_markers,
    )  # fmt: skip
    stacks = {str(s.args.get("stack")) for s in steps if s.kind == "backup" and s.args.get("stack")}
    return StepPlan(
        tuple(steps), stack=command.stack or (stacks.pop() if len(stacks) == 1 else None)
    )


OPERATION: Operation[Backup] = Operation(
    name="backup",
    summary="Back volumes up to archives with manifests (their writers quiesced)",
    parse=parse,
    observe=observe,
    plan=plan,
    schema=SCHEMA,
    rows=rows,
    shown_fields=("params",),
    plan_table=True,
    first_columns=("volume", "archive", "bytes", "files", "seconds", "quiesced"),
)
