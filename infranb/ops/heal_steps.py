"""The steps of a heal (``infranb.ops.heal``): a heal of one container (claim its budget,
restart or start it, wait until it is ready) and the row of one it leaves alone."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from infranb.core.errors import ContainerFailed
from infranb.core.records import ContainerOutcome, HealRecord
from infranb.core.secrets import mask_url_credentials
from infranb.ops.base import Outcome
from infranb.ops.common import wait_ready

if TYPE_CHECKING:
    from infranb.core.steps import Step
    from infranb.runtime import Runtime


async def heal_step(rt: Runtime, step: Step, outcome: Outcome) -> None:
    """Claim one of the container's heals (over budget: leave it, and say so), restart or
    start it, and wait as a bring-up does. One not ready after is a failed heal."""
    cid, how, target = str(step.args["id"]), str(step.args["how"]), step.target
    before, evidence = str(step.args.get("state") or ""), rt.evidence.get(target)
    limit, within = int(step.args["max_restarts"]), float(step.args["within"])
    if rt.heal_budget is not None:
        claimed = await rt.call(
            rt.heal_budget.claim_heal,
            mask_url_credentials(rt.engine.host),
            target,
            rt.run_id,
            limit,
            within,
        )
        if claimed is None:  # another run used the last of it since this one looked
            outcome.healed.append(HealRecord(target, before, "over budget", None, None, evidence,
                                             cid))  # fmt: skip
            rt.warnings.append(
                f"{target} was not touched: another heal used the last of its budget "
                f"({limit} within {span(within)}) after this run looked"
            )
            return
    started = time.monotonic()
    if how == "restart":
        await rt.call(rt.engine.restart_container, cid, rt.config.stop_timeout)
        rt.emit("container_restarted", target, "heal")
    else:
        await rt.call(rt.engine.start_container, cid)
        rt.emit("container_started", target, "heal")
    try:
        after = await wait_ready(rt, cid, target, f"after its {how}")
    except ContainerFailed:
        now = await rt.call(rt.engine.inspect_container, cid)
        state = "gone" if now is None else (now.health or now.state)
        outcome.healed.append(
            HealRecord(target, before, how, state, round(time.monotonic() - started, 2),
                       evidence, cid)
        )  # fmt: skip
        raise
    seconds = round(time.monotonic() - started, 2)
    outcome.healed.append(
        HealRecord(target, before, how, after.health or after.state, seconds, evidence, cid)
    )
    outcome.containers.append(
        ContainerOutcome(target, "", how, 0, after.state, health=after.health,
                         container_id=cid, started_at=after.started_at)
    )  # fmt: skip


async def skip_step(rt: Runtime, step: Step, outcome: Outcome) -> None:
    """A container a heal leaves alone: its row, and no engine call."""
    outcome.healed.append(
        HealRecord(step.target, str(step.args.get("state") or ""), str(step.args["verdict"]),
                   evidence=rt.evidence.get(step.target))
    )  # fmt: skip


def span(seconds: float) -> str:
    """A window as a person writes it: "15m", "1h", "90s"."""
    if seconds % 3600 == 0:
        return f"{seconds / 3600:g}h"
    if seconds % 60 == 0:
        return f"{seconds / 60:g}m"
    return f"{seconds:g}s"
