"""copy_to: put a file or folder of the kernel's machine into a container
(``manager.copy_to``); what it overwrites there is not kept, so it has no undo."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from infranb.core.errors import Problem
from infranb.core.frames import Schema
from infranb.core.records import CopiedPath
from infranb.ops.base import Operation, Outcome
from infranb.ops.common import parse_names, plan_named, unknown_params

if TYPE_CHECKING:
    from infranb.core.config import InfrastructureManagerConfig
    from infranb.core.request import InfrastructureOperation
    from infranb.core.result import InfrastructureResult
    from infranb.runtime import Runtime


@dataclass(frozen=True)
class CopyTo:
    """Copy ``source`` into container ``name`` as ``container_path``."""

    name: str
    source: Path
    container_path: str
    dry_run: bool = False


def parse(
    op: InfrastructureOperation, config: InfrastructureManagerConfig
) -> tuple[CopyTo | None, list[Problem]]:
    names, problems = parse_names(op, "copy into")
    if len(names) > 1:
        problems.append(Problem("container_ids", "copy_to copies into one container at a time"))
    problems += unknown_params(op, ("host_path", "container_path"))
    params = op.params if isinstance(op.params, dict) else {}
    host_path, container_path = params.get("host_path"), params.get("container_path")
    source = Path(str(host_path)).expanduser() if host_path else None
    if source is None or not source.exists():
        problems.append(Problem("params.host_path", f"{host_path} is not on this machine"))
    if (
        not isinstance(container_path, str)
        or not container_path.startswith("/")
        or container_path.rstrip("/") == ""
    ):
        problems.append(
            Problem("params.container_path", f"{container_path!r} must be an absolute path")
        )
    if problems or source is None or not isinstance(container_path, str):
        return None, problems
    return CopyTo(names[0], source, container_path, op.dry_run), []


def archive(source: Path, name: str) -> bytes:
    """``source`` (a file or folder) as a tar archive whose top entry is ``name``."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        tar.add(str(source), arcname=name)
    return buffer.getvalue()


def _size(source: Path) -> int:
    if source.is_file():
        return source.stat().st_size
    return sum(p.stat().st_size for p in source.rglob("*") if p.is_file())


async def run(command: CopyTo, rt: Runtime, outcome: Outcome) -> None:
    size = _size(command.source)
    copied = CopiedPath(command.name, str(command.source), command.container_path, size)
    reason = (
        f"put {command.source} at {command.container_path} (no undo: what it overwrites "
        "is not kept)"
    )
    found = await plan_named(
        rt, outcome, [command.name], "copy", lambda d: reason, dry_run=command.dry_run
    )
    if found is None:
        outcome.copied.append(copied)
        return
    (details,) = found
    copied = CopiedPath(details.name, str(command.source), command.container_path, size)
    # Rooted at "/" with the whole path: the engine makes the folders on the way.
    data = await rt.call(archive, command.source, command.container_path.strip("/"))
    await rt.call(rt.engine.put_archive, details.id, "/", data)
    rt.emit("copied_in", details.name)
    outcome.copied.append(copied)


def rows(result: InfrastructureResult) -> Iterable[dict[str, Any]]:
    for c in result.copied:
        yield {
            "container": c.container,
            "host_path": c.host_path,
            "container_path": c.container_path,
            "bytes": c.bytes,
        }


SCHEMA: Schema = {
    "container": "string",
    "host_path": "string",
    "container_path": "string",
    "bytes": "Int64",
}

OPERATION: Operation[CopyTo] = Operation(
    name="copy_to",
    summary="Copy a file or folder of this machine into a container",
    parse=parse,
    run=run,
    schema=SCHEMA,
    rows=rows,
    shown_fields=("container_ids", "params"),
)
