"""revert: put back what a journaled run changed (``manager.revert(run_id)``).

A revert runs another request of the table in its place: the operation's own undo where it
declares one (an update's is the update back), else, for an operation whose request is a
stack's desired state, the orchestrate that brings the stack back to the prior state the
journal recorded (or the teardown, when the run made the stack). The executor journals it
as a ``revert`` run naming the run it reverts, its request the one it ran.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from infranb.core import hooks
from infranb.core.entry import JournalEntry
from infranb.core.errors import (
    EngineUnavailable,
    InfraError,
    NotFound,
    Problem,
    RevertError,
)
from infranb.core.request import InfrastructureOperation
from infranb.core.secrets import MASK, SecretRef
from infranb.core.specs import environment_fingerprint, file_fingerprint
from infranb.core.stored import masked_paths, restored
from infranb.core.sync import gather_all
from infranb.inputs.compose.interpolation import env_file_values
from infranb.ops.base import Operation, Resolved
from infranb.ops.common import unknown_params

if TYPE_CHECKING:
    from infranb.core.config import InfrastructureManagerConfig
    from infranb.core.result import InfrastructureResult
    from infranb.runtime import Runtime

#: how the journal names a revert's run (its request is the operation it ran)
REVERT = "revert"


@dataclass(frozen=True)
class Revert:
    """Revert the journaled run ``run_id``."""

    run_id: str
    dry_run: bool = False


def parse(
    op: InfrastructureOperation, config: InfrastructureManagerConfig
) -> tuple[Revert | None, list[Problem]]:
    problems = unknown_params(op, ("run_id",))
    run_id = (op.params or {}).get("run_id") if isinstance(op.params, dict) else None
    if not isinstance(run_id, str) or not run_id.strip():
        problems.append(Problem("params.run_id", "name the run to revert (result.run_id)"))
    return (None, problems) if problems else (Revert(str(run_id), op.dry_run), [])


async def resolve(command: Revert, rt: Runtime) -> Resolved:
    """The request that reverts the run, and notes for its result; raises ``RevertError``
    (or another infranb error) naming what is missing when it cannot be put back."""
    if rt.journal is None:
        raise InfraError(
            "the journal is off (config.journal=None); set config.journal to a file path "
            "to record runs"
        )
    entry = rt.journal.entry(command.run_id)
    declared = hooks.operations().OPERATIONS.get(undone_operation(entry))
    if declared is not None and declared.revert is not None:
        request = declared.revert(entry.prior, command.run_id)  # its own undo
        request.dry_run = command.dry_run
        return Resolved(request, reverts=command.run_id)
    await _secrets_of_unchanged(rt, entry)
    later = [
        r for r in rt.journal.later_runs(entry.stack or "", entry.started_at) if r != command.run_id
    ]
    images = await _image_ids(rt, entry)
    request, notes = plan_revert(entry, images, command.dry_run, later)
    return Resolved(request, notes, reverts=command.run_id)


def _is_desired_state(operation: str) -> bool:
    declared = hooks.operations().OPERATIONS.get(operation)
    return declared is not None and declared.desired_state


async def _secrets_of_unchanged(rt: Runtime, entry: JournalEntry) -> None:
    """A container the reverted run did not replace is still there, with the values the
    journal masked: read them from it, so a revert needs secrets only for what the run
    changed."""
    for prior in entry.prior.get("containers", []):
        env = (prior.get("spec") or {}).get("environment")
        if not isinstance(env, dict) or MASK not in env.values():
            continue
        try:
            config = await rt.call(rt.engine.container_config, prior["id"])
        except (NotFound, EngineUnavailable):
            continue
        if config is None:
            continue
        for key, value in env.items():
            if value == MASK and key in config.environment:
                env[key] = config.environment[key]


async def _image_ids(rt: Runtime, entry: JournalEntry) -> dict[str, str | None]:
    """For each image the prior state names (by reference and by id): its id now (None
    when gone, or when no engine answers: a dry run then plans against an empty one)."""
    refs = sorted(
        {
            ref
            for c in entry.prior.get("containers", [])
            for ref in ((c.get("spec") or {}).get("image"), c.get("image_id"))
            if isinstance(ref, str) and ref
        }
    )

    async def image_id(reference: str) -> str | None:
        try:
            return await rt.call(rt.engine.image_id, reference)
        except EngineUnavailable:
            return None

    return dict(zip(refs, await gather_all(*(image_id(r) for r in refs)), strict=True))


def undone_operation(entry: JournalEntry) -> str:
    """The operation a run ran: a revert's is the one its request holds (the undo of an
    orchestrate is an orchestrate, of an update an update)."""
    if entry.operation == REVERT:
        return str((entry.request or {}).get("operation") or entry.operation)
    return entry.operation


def plan_revert(
    entry: JournalEntry,
    image_ids: Mapping[str, str | None],
    dry_run: bool = False,
    later_runs: Sequence[str] = (),
) -> tuple[InfrastructureOperation, list[str]]:
    """The request that puts ``entry``'s stack back to its recorded prior state, and notes
    for the result. ``image_ids``: each image reference and prior image id the prior state
    names, with the id it has on the engine now (``None``: gone). Raises ``RevertError``
    naming what is missing when the state cannot be restored exactly."""
    run = entry.run_id
    was_teardown = bool(entry.prior.get("teardown"))
    if not _is_desired_state(undone_operation(entry)) and not was_teardown:
        raise RevertError(
            f"run {run} was a {entry.operation}: only orchestrate runs and the teardowns of "
            "stacks can be reverted (their prior state is recorded); nothing was changed"
        )
    if entry.outcome in ("refused", "rolled back") or not entry.prior:
        why = {
            "refused": "was refused and changed nothing",
            "rolled back": "was already rolled back",
        }.get(entry.outcome, "recorded no prior state (it never reached the engine)")
        raise RevertError(f"run {run} {why}: there is nothing to revert")
    stack = str(entry.prior.get("stack") or entry.stack)
    notes: list[str] = []
    if later_runs:
        notes.append(
            f"runs after {run} changed stack {stack} too ({', '.join(later_runs)}): going back "
            "to the state before it undoes them as well"
        )
    kept_volumes = (entry.result or {}).get("volumes_created") or []
    if kept_volumes:
        notes.append(
            f"volumes made by run {run} are kept ({', '.join(kept_volumes)}): a revert never "
            f"deletes data; manager.down({stack!r}, volumes=True) removes them"
        )
    containers = entry.prior.get("containers", [])
    made_networks = (entry.result or {}).get("networks_created") or []
    if containers and made_networks:
        notes.append(
            f"networks made by run {run} are kept ({', '.join(made_networks)}); the reverted "
            "containers no longer use them"
        )
    snapshots = {str(s["volume"]): str(s["archive"]) for s in entry.prior.get("snapshots") or []}
    # What a run that replaced containers snapshotted before their replacements started:
    # written back in place of what the volumes hold now (backed up first; with consent).
    replaced = {
        str(a["volume"]): str(a["archive"])
        for a in (entry.result or {}).get("archives") or []
        if a.get("action") == "snapshot" and not was_teardown
    }
    if was_teardown:
        notes.append(f"stack {stack} is brought back as run {run} found it")
        notes += [f"volume {v}: its snapshot {a} is restored into it" for v, a in snapshots.items()]
    notes += [
        f"volume {v}: its snapshot {a} (taken by run {run}) takes the place of what it holds "
        "now, which is backed up first"
        for v, a in replaced.items()
    ]
    if not containers:  # the run made the stack: going back is tearing it down
        teardown = InfrastructureOperation(
            operation="cleanup_resources",
            stack=stack,
            cleanup_stopped_containers=True,
            force_remove=True,
            dry_run=dry_run,
        )
        return teardown, notes
    specs = []
    for prior in containers:
        name, spec = prior["name"], prior.get("spec")
        if spec is None:
            raise RevertError(
                f"cannot revert run {run}: the spec of container {name} is not in the journal "
                f"(it was made by run {prior.get('run_id') or 'unknown'}, not recorded here); "
                "nothing was changed"
            )
        gone = masked_paths(spec)
        if gone:
            raise RevertError(
                f"cannot revert run {run}: container {name} needs {', '.join(gone)}, a secret "
                "value the journal never stores; nothing was changed. Give secrets as "
                "secret_from_env(...) references so a revert can read them again"
            )
        spec = restored(spec)
        _check_references(run, name, spec, prior)
        was, now_id = prior.get("image_id"), image_ids.get(str(spec.get("image")))
        if was and now_id != was:
            if image_ids.get(was) is None:
                raise RevertError(
                    f"cannot revert run {run}: container {name} ran image {spec.get('image')} "
                    f"({was[:19]}), which is no longer on the engine; nothing was changed. "
                    "Pull or build it back first"
                )
            notes.append(
                f"{name}: {spec.get('image')} names another image now; reverted to the image "
                f"it ran before, {was[:19]}"
            )
            spec = {**spec, "image": was}
        if prior.get("state") not in (None, "running"):
            notes.append(f"{name} was {prior['state']} before run {run}; it is started now")
        specs.append(spec)
    request = InfrastructureOperation(
        operation="orchestrate_containers",
        stack=stack,
        containers=specs,
        networks=restored(entry.prior.get("networks") or {}),
        volumes=restored(entry.prior.get("volumes") or {}),
        remove_orphans=True,
        dry_run=dry_run,
        params={
            **({"restore_volumes": snapshots} if snapshots else {}),
            **({"replace_volumes": replaced} if replaced else {}),
        },
    )
    return request, notes


def _check_references(
    run: str, name: str, spec: Mapping[str, Any], prior: Mapping[str, Any]
) -> None:
    """Each secret reference of a container to put back is read again now and checked
    against the salted fingerprint the container carried: a value that changed since (the
    .env file was edited) would make another container, so the revert is refused."""
    prints = prior.get("environment_prints") or {}
    for path, item in (spec.get("files") or {}).items():
        content = item.get("content") if isinstance(item, Mapping) else item
        if not isinstance(content, SecretRef):
            continue
        try:
            now = content.resolve(env_file_values)
        except LookupError as e:
            raise RevertError(
                f"cannot revert run {run}: container {name} needs its file {path} from "
                f"{content.where}: {e}; nothing was changed"
            ) from None
        mode = item.get("mode", 0o444) if isinstance(item, Mapping) else 0o444
        recorded = prints.get(f"files.{path}")
        if recorded and file_fingerprint(path, now, mode, prior.get("salt", "")) != recorded:
            raise RevertError(
                f"cannot revert run {run}: the file {path} of container {name} came from "
                f"{content.where}, whose value changed since; nothing was changed"
            )
    for key, value in (spec.get("environment") or {}).items():
        if not isinstance(value, SecretRef):
            continue
        try:
            now = value.resolve(env_file_values)
        except LookupError as e:
            raise RevertError(
                f"cannot revert run {run}: container {name} needs environment.{key} from "
                f"{value.where}: {e}; nothing was changed"
            ) from None
        recorded = prints.get(f"environment.{key}")
        if recorded and environment_fingerprint(key, now, prior.get("salt", "")) != recorded:
            raise RevertError(
                f"cannot revert run {run}: environment.{key} of container {name} came from "
                f"{value.where}, whose value changed since; nothing was changed. Set it back "
                "to the value it had, or bring the stack up with the new one"
            )


def rows(result: InfrastructureResult) -> list[dict[str, Any]]:
    return []  # a revert's result is the operation's it ran: its table is that one's


OPERATION: Operation[Revert] = Operation(
    name=REVERT,
    summary="Put back what a journaled run changed (the run's own undo, or its stack's prior "
    "state)",
    parse=parse,
    resolve=resolve,
    schema={},
    rows=rows,
    shown_fields=("params",),
)
