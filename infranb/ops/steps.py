"""What each kind of step does to an engine: the one call, what it records, and how the
gates read it. The executor runs steps through ``KINDS``; operations plan them (pure) and
never call the engine for a change themselves."""

from __future__ import annotations

import asyncio
import io
import tarfile
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from infranb.core.drift import live_values
from infranb.core.errors import ContainerFailed, EngineError, InfraError, append_note
from infranb.core.records import ContainerOutcome, CopiedPath, FieldChange, RemovedResource
from infranb.core.steps import Step, waves
from infranb.ops import heal_steps, volume_steps
from infranb.ops.base import Outcome
from infranb.ops.hooks import before_stop

if TYPE_CHECKING:
    from infranb.runtime import Runtime


@dataclass(frozen=True)
class Kind:
    """A kind of step: its call, and what the gates make of it."""

    run: Callable[[Runtime, Step, Outcome], Awaitable[None]]
    #: "destructive" (needs consent and counts against ``max_removals``), "disruptive"
    #: (needs consent where the config asks), or None
    gate: Literal["destructive", "disruptive"] | None
    #: how a gate's sentence names it: "{verb} {target}"
    verb: str
    #: False for a step that only says what a plan leaves alone (nothing to undo)
    changes: bool = True


async def _stop(rt: Runtime, step: Step, outcome: Outcome) -> None:
    container_id = str(step.args["id"])
    await before_stop(rt, container_id, step.target, step.args.get("labels") or {})
    await rt.call(rt.engine.stop_container, container_id, rt.config.stop_timeout)
    rt.stopped.append(step.target)
    rt.emit("container_stopped", step.target)
    outcome.containers.append(
        ContainerOutcome(step.target, "", "stop", 0, "exited", container_id=container_id)
    )


async def _start(rt: Runtime, step: Step, outcome: Outcome) -> None:
    await rt.call(rt.engine.start_container, str(step.args["id"]))
    rt.emit("container_started", step.target)


async def _remove(rt: Runtime, step: Step, outcome: Outcome) -> None:
    container_id = str(step.args["id"])
    await rt.call(rt.engine.remove_container, container_id)
    rt.emit("container_removed", step.target)
    outcome.removed.append(RemovedResource("container", step.target, container_id))


async def _restart(rt: Runtime, step: Step, outcome: Outcome) -> None:
    container_id = str(step.args["id"])
    await rt.call(rt.engine.restart_container, container_id, rt.config.stop_timeout)
    rt.emit("container_restarted", step.target)
    after = await rt.call(rt.engine.inspect_container, container_id)
    state = after.state if after is not None else "gone"
    outcome.containers.append(
        ContainerOutcome(
            step.target, "", "restart", 0, state, health=after.health if after else None,
            container_id=container_id, started_at=after.started_at if after else None,
        )
    )  # fmt: skip
    code = after.exit_code if after is not None else None
    # Say only what is so: a restart that left it down failed (a one-shot that ran again
    # and exited 0 did not).
    if state not in ("running", "restarting") and not (state == "exited" and code == 0):
        raise ContainerFailed(
            f"container {step.target} is {state} after its restart"
            + (f" (exit code {code})" if code is not None else ""),
            resource=step.target,
            last_logs=[],
        )


async def _update(rt: Runtime, step: Step, outcome: Outcome) -> None:
    container_id = str(step.args["id"])
    changes: Mapping[str, object] = step.args["changes"]
    before: Mapping[str, object] = step.args.get("before") or {}
    await rt.call(rt.engine.update_container, container_id, dict(changes))
    rt.emit("container_updated", step.target)
    now = await rt.call(rt.engine.inspect_container, container_id)
    after = live_values(now.config) if now is not None and now.config else {}
    outcome.updated.extend(
        FieldChange(step.target, k, str(before.get(k)), str(after.get(k))) for k in changes
    )
    missed = [k for k, v in changes.items() if after.get(k) != v]
    if missed:  # say only what is so: the engine took it, but does not report it
        raise EngineError(
            f"updating {step.target}: the engine accepted the update but reports "
            + ", ".join(f"{k}={after.get(k)!r}" for k in missed)
            + " (asked: "
            + ", ".join(f"{k}={changes[k]!r}" for k in missed)
            + ")",
            resource=step.target,
        )


def archive(source: Path, name: str) -> bytes:
    """``source`` (a file or folder) as a tar archive whose top entry is ``name``."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        tar.add(str(source), arcname=name)
    return buffer.getvalue()


def tree_size(source: Path) -> int:
    """The bytes of a file, or of the files under a folder."""
    if source.is_file():
        return source.stat().st_size
    return sum(p.stat().st_size for p in source.rglob("*") if p.is_file())


async def _copy(rt: Runtime, step: Step, outcome: Outcome) -> None:
    source, container_path = Path(str(step.args["host_path"])), str(step.args["container_path"])
    # Rooted at "/" with the whole path: the engine makes the folders on the way. The archive
    # is made now, not at plan time: the plan holds the path, never the bytes.
    data = await rt.call(archive, source, container_path.strip("/"))
    await rt.call(rt.engine.put_archive, str(step.args["id"]), "/", data)
    rt.emit("copied_in", step.target)
    outcome.copied.append(CopiedPath(step.target, str(source), container_path, tree_size(source)))


KINDS: dict[str, Kind] = {
    "stop": Kind(_stop, "disruptive", "stop container"),
    "start": Kind(_start, None, "start container"),
    "remove": Kind(_remove, "destructive", "remove container"),
    "restart": Kind(_restart, "disruptive", "restart container"),
    "update": Kind(_update, "disruptive", "update container"),
    "copy": Kind(_copy, "disruptive", "copy into container"),
    "pause": Kind(volume_steps._pause, "disruptive", "pause container"),
    "unpause": Kind(volume_steps._unpause, None, "unpause container"),
    "start-ready": Kind(volume_steps._start_ready, None, "start container"),
    "backup": Kind(volume_steps.take_backup, None, "back up volume"),
    "discard": Kind(volume_steps._discard, None, "discard the archive of volume"),
    "restore": Kind(volume_steps._restore, "disruptive", "restore into volume"),
    "create-volume": Kind(volume_steps._create_volume, None, "create volume"),
    "remove-volume": Kind(volume_steps._remove_volume, "destructive", "remove volume"),
    "recover-volume": Kind(volume_steps._recover_volume, None, "bring back volume"),
    "remake": Kind(volume_steps._remake, None, "make again container"),
    "heal": Kind(heal_steps.heal_step, "disruptive", "heal container"),
    "skip": Kind(heal_steps.skip_step, None, "leave alone container", changes=False),
    "keep": Kind(volume_steps._keep, None, "keep as it is"),
}


def gate_lists(steps: Sequence[Step]) -> tuple[list[str], list[str]]:
    """What the whole plan removes and what it disrupts, one sentence each, for the gates."""
    destructive: list[str] = []
    disruptive: list[str] = []
    for step in steps:
        kind = KINDS[step.kind]
        said = f"{kind.verb} {step.target}"
        if kind.gate == "destructive":
            destructive.append(said)
        elif kind.gate == "disruptive":
            disruptive.append(said)
    return destructive, disruptive


async def run_steps(steps: Sequence[Step], rt: Runtime, outcome: Outcome) -> None:
    """Run ``steps`` wave by wave (a wave's steps together, each to its end). On a failure or
    a cancel, undo the finished steps in reverse, then re-raise with what was undone:
    ``rolled_back`` only when nothing is left, else each step left in ``remaining``."""
    done: list[Step] = []
    running: list[Step] = []

    async def one(step: Step) -> None:
        kind = KINDS[step.kind]
        running.append(step)
        await kind.run(rt, step, outcome)
        running.remove(step)
        if kind.changes:
            done.append(step)

    try:
        for wave in waves(steps):
            ended = await asyncio.gather(*(one(s) for s in wave), return_exceptions=True)
            failed = [e for e in ended if isinstance(e, BaseException)]
            if failed:
                raise failed[0]
    except BaseException as failure:
        if not isinstance(failure, asyncio.CancelledError):
            running.clear()  # a failed step's call ended: it changed nothing to undo
        await rt.drain()  # a cancelled step's call still runs on its thread
        if done or running:
            await _undo(done, running, rt, outcome, failure)
        raise


async def _undo(
    done: Sequence[Step],
    cut_short: Sequence[Step],
    rt: Runtime,
    outcome: Outcome,
    failure: BaseException,
) -> None:
    left: list[str] = [
        f"{KINDS[s.kind].verb} {s.target}: cancelled while its call ran" for s in cut_short
    ]
    undone: list[str] = []
    for step in reversed(done):
        said = f"{KINDS[step.kind].verb} {step.target}"
        if step.undo is None:
            left.append(f"{said} ({step.no_undo or 'it has no undo'})")
            continue
        try:
            await KINDS[step.undo.kind].run(rt, step.undo, Outcome())
            undone.append(said)
        except InfraError as e:
            left.append(f"{said} (its undo failed: {e})")
    outcome.remaining.extend(left)
    outcome.rolled_back = not left
    note = f"rolled back: undid {', '.join(undone)}" if undone else "nothing was undone"
    append_note(failure, note + (f"; left in place: {'; '.join(left)}" if left else ""))
