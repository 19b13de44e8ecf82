"""update: change containers' restart policy or limits in place (the engine's live update;
``manager.update``), whoever made them; the values replaced are journaled for ``revert``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from infranb.core.drift import live_values
from infranb.core.errors import InfraError, Problem, RevertError
from infranb.core.frames import Schema
from infranb.core.records import ContainerDetails, short_id
from infranb.core.specs import RESTART_POLICIES, parse_size
from infranb.core.steps import Step, StepPlan
from infranb.ops.base import Operation
from infranb.ops.common import (
    NAMED_PLAN_COLUMNS,
    observe_named,
    parse_names,
    shared_stack,
    unknown_params,
)

if TYPE_CHECKING:
    from infranb.core.config import InfrastructureManagerConfig
    from infranb.core.request import InfrastructureOperation
    from infranb.core.result import InfrastructureResult

#: what a live update can change; anything else needs a recreate
FIELDS = ("restart", "mem_limit", "cpus", "pids_limit")


@dataclass(frozen=True)
class Update:
    """Set ``changes`` (engine units: bytes, CPUs) on these containers."""

    names: tuple[str, ...]
    changes: Mapping[str, Any]
    dry_run: bool = False


def update_changes(asked: Mapping[str, Any]) -> tuple[dict[str, Any], list[Problem]]:
    """The settings asked, checked and in the engine's units, the ones given only."""
    changes: dict[str, Any] = {}
    problems: list[Problem] = []
    for key, value in asked.items():
        if value is None or key not in FIELDS:
            continue
        try:
            if key == "restart":
                policy, _, count = str(value).partition(":")
                if policy not in RESTART_POLICIES or (count and not count.isdigit()):
                    raise ValueError(f"must be one of {', '.join(RESTART_POLICIES)}[:N]")
                changes[key] = str(value)
            elif key == "mem_limit":
                changes[key] = 0 if value in (0, "0") else parse_size(value, "mem_limit")
            elif key == "cpus":
                if isinstance(value, bool) or float(value) < 0:
                    raise ValueError("must be a number of CPUs, 0 for no limit")
                changes[key] = float(value)
            elif key == "pids_limit":
                if isinstance(value, bool) or int(value) < 0 or int(value) != value:
                    raise ValueError("must be a whole number, 0 for no limit")
                changes[key] = int(value)
        except (ValueError, TypeError, InfraError) as error:
            reason = str(error).split(": ", 1)[-1]
            problems.append(Problem(f"params.{key}", f"{key}: {value!r} {reason}"))
    if not changes and not problems:
        problems.append(
            Problem(
                "params",
                "nothing to update: give restart=, mem_limit=, cpus= or pids_limit= "
                "(anything else changes with a recreate)",
            )
        )
    return changes, problems


def parse(
    op: InfrastructureOperation, config: InfrastructureManagerConfig
) -> tuple[Update | None, list[Problem]]:
    names, problems = parse_names(op, "update")
    if len(names) > 1:  # its undo puts back one container's values
        problems.append(Problem("container_ids", "update changes one container at a time"))
    problems += unknown_params(op, FIELDS)
    changes, wrong = update_changes(op.params if isinstance(op.params, dict) else {})
    problems += wrong
    return (None, problems) if problems else (Update(names, changes, op.dry_run), [])


def plan(
    command: Update, details: list[ContainerDetails], config: InfrastructureManagerConfig
) -> StepPlan:
    """An update of each in place, undone by an update back to the values it replaces
    (journaled too, for ``revert``)."""
    said = ", ".join(f"{k}={v!r}" for k, v in command.changes.items())
    steps: list[Step] = []
    prior: list[dict[str, Any]] = []
    for d in details:
        now = live_values(d.config) if d.config else {}
        before = {k: now.get(k) for k in command.changes}
        back = Step(
            "update", d.name, 0, {"id": d.id, "changes": before, "before": dict(command.changes)}
        )
        steps.append(
            Step("update", d.name, 0, {"id": d.id, "changes": dict(command.changes),
                 "before": before}, undo=back, reason=f"set {said} in place",
                 image=short_id(d.image_id))
        )  # fmt: skip
        prior.append({"name": d.name, "id": d.id, "values": before})
    prior_state = {"update": {"containers": prior}}
    return StepPlan(tuple(steps), stack=shared_stack(details), prior=prior_state)


def revert(prior: Mapping[str, Any], run_id: str) -> InfrastructureOperation:
    """The update that puts back the values run ``run_id`` replaced."""
    from infranb.core.request import InfrastructureOperation

    recorded = prior.get("update") or {}
    containers = recorded.get("containers") or ([recorded] if recorded.get("name") else [])
    if len(containers) != 1 or not containers[0].get("values"):
        raise RevertError(f"run {run_id} recorded no values to put back; nothing was changed")
    (container,) = containers
    return InfrastructureOperation(
        operation="update", container_ids=[str(container["name"])], params=dict(container["values"])
    )


def rows(result: InfrastructureResult) -> Iterable[dict[str, Any]]:
    for change in result.updated:
        yield {
            "container": change.container,
            "field": change.field,
            "before": change.before,
            "after": change.after,
        }


SCHEMA: Schema = {"container": "string", "field": "string", "before": "string", "after": "string"}

OPERATION: Operation[Update] = Operation(
    name="update",
    summary="Change containers' restart policy or limits in place",
    parse=parse,
    observe=observe_named,
    plan=plan,
    schema=SCHEMA,
    rows=rows,
    shown_fields=("container_ids", "params"),
    plan_table=True,
    plan_columns=NAMED_PLAN_COLUMNS,
    revert=revert,
)
