"""restart: restart containers (``manager.restart``), awaited running again."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from infranb.core.errors import ContainerFailed, Problem
from infranb.core.records import ContainerOutcome
from infranb.ops.base import Operation, Outcome
from infranb.ops.common import (
    CONTAINER_ACTIONS,
    NAMED_PLAN_COLUMNS,
    container_action_rows,
    parse_names,
    plan_named,
    unknown_params,
)

if TYPE_CHECKING:
    from infranb.core.config import InfrastructureManagerConfig
    from infranb.core.request import InfrastructureOperation
    from infranb.runtime import Runtime


@dataclass(frozen=True)
class Restart:
    """Restart these containers."""

    names: tuple[str, ...]
    dry_run: bool = False


def parse(
    op: InfrastructureOperation, config: InfrastructureManagerConfig
) -> tuple[Restart | None, list[Problem]]:
    names, problems = parse_names(op, "restart")
    problems += unknown_params(op, ())
    return (None, problems) if problems else (Restart(names, op.dry_run), [])


async def run(command: Restart, rt: Runtime, outcome: Outcome) -> None:
    details = await plan_named(
        rt, outcome, command.names, "restart", lambda d: f"{d.state}: restart it",
        dry_run=command.dry_run,
    )  # fmt: skip
    if details is None:
        return

    async def restart(name: str, container_id: str) -> None:
        await rt.call(rt.engine.restart_container, container_id, rt.config.stop_timeout)
        rt.emit("container_restarted", name)
        after = await rt.call(rt.engine.inspect_container, container_id)
        state = after.state if after is not None else "gone"
        outcome.containers.append(
            ContainerOutcome(
                name, "", "restart", 0, state, health=after.health if after else None,
                container_id=container_id,
                started_at=after.started_at if after else None,
            )
        )  # fmt: skip
        code = after.exit_code if after is not None else None
        # Say only what is so: a restart that left it down failed (a one-shot that ran
        # again and exited 0 did not).
        if state not in ("running", "restarting") and not (state == "exited" and code == 0):
            raise ContainerFailed(
                f"container {name} is {state} after its restart"
                + (f" (exit code {code})" if code is not None else ""),
                resource=name,
                last_logs=[],
            )

    await rt.gather(*(restart(d.name, d.id) for d in details))


OPERATION: Operation[Restart] = Operation(
    name="restart",
    summary="Restart containers",
    parse=parse,
    run=run,
    schema=CONTAINER_ACTIONS,
    rows=container_action_rows,
    shown_fields=("container_ids",),
    plan_table=True,
    plan_columns=NAMED_PLAN_COLUMNS,
)
