"""health_check: the engine's own health state, with retries while containers start."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from infranb.core import labels as L
from infranb.core.errors import HealthCheckFailed, NotFound, Problem
from infranb.core.frames import Schema
from infranb.core.records import STATES, ContainerDetails, HealthRecord
from infranb.core.secrets import secret_values
from infranb.ops.base import Operation, Outcome

if TYPE_CHECKING:
    from infranb.core.config import InfrastructureManagerConfig
    from infranb.core.request import InfrastructureOperation
    from infranb.core.result import InfrastructureResult
    from infranb.runtime import Runtime

PASSING = ("healthy", "running")
STILL_CHANGING = ("starting", "restarting")


def status_of(details: ContainerDetails | None) -> str:
    """healthy/unhealthy/starting with a healthcheck, else the run state; not_found if gone."""
    if details is None:
        return "not_found"
    if details.health and details.state == "running":
        return details.health
    return details.state


@dataclass(frozen=True)
class HealthCheck:
    """Check these containers (names or ids), in this order."""

    names: tuple[str, ...]


def parse(
    op: InfrastructureOperation, config: InfrastructureManagerConfig
) -> tuple[HealthCheck | None, list[Problem]]:
    ids = op.container_ids
    if not isinstance(ids, list | tuple) or not ids:
        return None, [Problem("container_ids", "list the container names or ids to check")]
    problems = [
        Problem(f"container_ids[{i}]", "must be a container name or id")
        for i, cid in enumerate(ids)
        if not isinstance(cid, str) or not cid.strip()
    ]
    return (None, problems) if problems else (HealthCheck(tuple(dict.fromkeys(ids))), [])


async def run(command: HealthCheck, rt: Runtime, outcome: Outcome) -> None:
    names = list(command.names)
    records: dict[str, HealthRecord] = {}
    pending = names
    for attempt in range(rt.config.health_check_retries + 1):
        if attempt:
            await asyncio.sleep(rt.config.health_check_interval)
        if not rt.engine.runs_healthchecks():
            # The engine does not run checks (Podman without systemd): run each once now,
            # so the state read next is today's, not the last run's.
            await rt.gather(*(_run_check(rt, n) for n in pending))
        found = await rt.gather(*(rt.call(rt.engine.inspect_container, n) for n in pending))
        now = datetime.now(UTC)
        for name, details in zip(pending, found, strict=True):
            records[name] = _record(rt, name, details, now)
        pending = [n for n in names if records[n].status in STILL_CHANGING]
        if not pending:
            break
    outcome.health = [records[n] for n in names]
    failing = [r for r in outcome.health if r.status not in PASSING]
    if failing:
        raise HealthCheckFailed("; ".join(_explain(r) for r in failing))


async def _run_check(rt: Runtime, name: str) -> None:
    """One health check of ``name``; a missing container is read as not_found next."""
    with contextlib.suppress(NotFound):
        await rt.call(rt.engine.run_healthcheck, name)


def _record(
    rt: Runtime, name: str, details: ContainerDetails | None, now: datetime
) -> HealthRecord:
    if details is None:
        return HealthRecord(name, "not_found", None, checked_at=now)
    # Probe output may echo the container's own secrets: mask them before showing it.
    secrets = secret_values(
        details.environment, rt.config.secret_markers, L.secret_keys(details.labels)
    )
    output = details.last_probe_output
    return HealthRecord(
        name=name,
        status=status_of(details),
        state=details.state,
        exit_code=details.exit_code if details.state in ("exited", "dead") else None,
        failing_streak=details.failing_streak,
        last_output=None if output is None else rt.redact.extend(secrets)(output),
        checked_at=now,
        container_id=details.id,
    )


def _explain(record: HealthRecord) -> str:
    if record.status == "not_found":
        return (
            f"{record.name}: no container with that name or id; check the name "
            "(manager.containers() lists them)"
        )
    if record.status == "unhealthy":
        return (
            f"{record.name}: unhealthy after {record.failing_streak} failing probe(s); "
            f"last probe output: {(record.last_output or '')[:200]!r}"
        )
    if record.status == "starting":
        return (
            f"{record.name}: still starting after the configured retries; raise "
            "health_check_retries or health_check_interval"
        )
    if record.exit_code is not None:
        return f"{record.name}: {record.status} (exit code {record.exit_code}); read its logs"
    return f"{record.name}: {record.status}, not running"


SCHEMA: Schema = {
    "name": "string",
    "status": ("healthy", "unhealthy", "starting", *STATES, "not_found"),
    "state": STATES,
    "exit_code": "Int64",
    "failing_streak": "Int64",
    "last_output": "string",
    "checked_at": "datetime64[ns, UTC]",
}


def rows(result: InfrastructureResult) -> Iterable[dict[str, Any]]:
    for h in result.health:
        yield {
            "name": h.name,
            "status": h.status,
            "state": h.state,
            "exit_code": h.exit_code,
            "failing_streak": h.failing_streak,
            "last_output": h.last_output,
            "checked_at": h.checked_at,
        }


OPERATION = Operation(
    name="health_check",
    summary="the engine's own health state of named containers, with retries",
    parse=parse,
    run=run,
    schema=SCHEMA,
    rows=rows,
    shown_fields=("container_ids",),
    changes_engine=False,
    first_columns=("name", "status", "exit_code", "failing_streak", "last_output"),
)
