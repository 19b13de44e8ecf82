"""health_check: the engine's own health state, with retries while containers start."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from infranb.engine import ContainerDetails
from infranb.models import HealthRecord, InfrastructureOperation, InfrastructureResult
from infranb.runtime import Runtime
from infranb.secrets import is_secret_key

PASSING = ("healthy", "running")
STILL_CHANGING = ("starting", "restarting")


def status_of(details: ContainerDetails | None) -> str:
    """healthy/unhealthy/starting with a healthcheck, else the run state; not_found if gone."""
    if details is None:
        return "not_found"
    if details.health and details.state == "running":
        return details.health
    return details.state


async def health_check(
    op: InfrastructureOperation, rt: Runtime, result: InfrastructureResult
) -> None:
    names = list(dict.fromkeys(op.container_ids))
    records: dict[str, HealthRecord] = {}
    pending = names
    for attempt in range(rt.config.health_check_retries + 1):
        if attempt:
            await asyncio.sleep(rt.config.health_check_interval)
        found = await rt.gather(*(rt.call(rt.engine.inspect_container, n) for n in pending))
        now = datetime.now(UTC)
        for name, details in zip(pending, found, strict=True):
            records[name] = _record(rt, name, details, now)
        pending = [n for n in names if records[n].status in STILL_CHANGING]
        if not pending:
            break
    result.health = [records[n] for n in names]
    result.health_status = {n: records[n].status for n in names}
    result.health_details = {
        r.name: {
            "status": r.status,
            "state": r.state,
            "exit_code": r.exit_code,
            "failing_streak": r.failing_streak,
            "last_output": r.last_output,
            "container_id": r.container_id,
        }
        for r in result.health
    }
    failing = [r for r in result.health if r.status not in PASSING]
    if failing:
        result.success = False
        result.error = "; ".join(_explain(r) for r in failing)


def _record(
    rt: Runtime, name: str, details: ContainerDetails | None, now: datetime
) -> HealthRecord:
    if details is None:
        return HealthRecord(name, "not_found", None, checked_at=now)
    # Probe output may echo the container's own secrets: mask them before showing it.
    secrets = [
        v for k, v in details.environment.items() if is_secret_key(k, rt.config.secret_markers)
    ]
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
