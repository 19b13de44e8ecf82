"""DataFrames with a fixed schema: same columns and dtypes whether empty or not.

Each ``*_frame`` function is pure: records in, DataFrame out. Datetimes are UTC-aware,
sizes are nullable integers, small sets of values are categoricals.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd

from infranb.engine import ContainerInfo, ImageInfo, NetworkInfo, VolumeInfo
from infranb.models import InfrastructureResult
from infranb.planning import PlanStep
from infranb.runtime import LABEL_MANAGED, LABEL_STACK
from infranb.secrets import Redactor

# column -> dtype; the order here is the column order.
Schema = dict[str, Any]

# Categoricals have fixed categories, so frames keep one dtype whatever rows they hold.
STATES = ("created", "running", "restarting", "paused", "exited", "dead", "removing", "gone")
ACTION = pd.CategoricalDtype(
    ["create", "recreate", "start", "restart", "unchanged", "remove-orphan"]
)
STATE = pd.CategoricalDtype(list(STATES))
HEALTH_STATE = pd.CategoricalDtype(["starting", "healthy", "unhealthy"])
HEALTH_STATUS = pd.CategoricalDtype(["healthy", "unhealthy", "starting", *STATES, "not_found"])
IMAGE_ACTION = pd.CategoricalDtype(["pulled", "built", "tagged", "removed"])
KIND = pd.CategoricalDtype(["container", "image", "network", "volume"])

ORCHESTRATE: Schema = {
    "name": "string",
    "image": "string",
    "action": ACTION,
    "wave": "Int64",
    "state": STATE,
    "health": HEALTH_STATE,
    "ports": "string",
    "networks": "string",
    "started_at": "datetime64[ns, UTC]",
    "seconds_to_ready": "Float64",
    "container_id": "string",
}
PLAN: Schema = {
    "wave": "Int64",
    "name": "string",
    "action": ACTION,
    "image": "string",
    "pull": "boolean",
    "reason": "string",
    "ports": "string",
    "networks": "string",
    "volumes": "string",
    "create_networks": "string",
    "create_volumes": "string",
    "warnings": "string",
}
IMAGES_RESULT: Schema = {
    "reference": "string",
    "id": "string",
    "size": "Int64",
    "action": IMAGE_ACTION,
    "seconds": "Float64",
}
CLEANUP: Schema = {
    "kind": KIND,
    "name": "string",
    "id": "string",
    "stack": "string",
    "bytes_reclaimed": "Int64",
}
HEALTH: Schema = {
    "name": "string",
    "status": HEALTH_STATUS,
    "state": STATE,
    "exit_code": "Int64",
    "failing_streak": "Int64",
    "last_output": "string",
    "checked_at": "datetime64[ns, UTC]",
}
CONTAINERS: Schema = {
    "name": "string",
    "image": "string",
    "state": STATE,
    "health": HEALTH_STATE,
    "status": "string",
    "managed": "boolean",
    "stack": "string",
    "ports": "string",
    "networks": "string",
    "created": "datetime64[ns, UTC]",
    "id": "string",
}
IMAGES: Schema = {
    "tags": "string",
    "id": "string",
    "size": "Int64",
    "created": "datetime64[ns, UTC]",
    "managed": "boolean",
    "dangling": "boolean",
}
NETWORKS: Schema = {
    "name": "string",
    "driver": "string",
    "managed": "boolean",
    "stack": "string",
    "id": "string",
}
VOLUMES: Schema = {
    "name": "string",
    "driver": "string",
    "managed": "boolean",
    "stack": "string",
}
LOGS: Schema = {"container": "string", "time": "datetime64[ns, UTC]", "line": "string"}
STATS: Schema = {
    "name": "string",
    "cpu_percent": "Float64",
    "memory_bytes": "Int64",
    "memory_limit_bytes": "Int64",
    "memory_percent": "Float64",
    "net_rx_bytes": "Int64",
    "net_tx_bytes": "Int64",
    "block_read_bytes": "Int64",
    "block_write_bytes": "Int64",
    "pids": "Int64",
}
EXEC: Schema = {"container": "string", "command": "string", "exit_code": "Int64", "line": "string"}


def frame(rows: Iterable[dict[str, Any]], schema: Schema) -> pd.DataFrame:
    """Build a DataFrame with exactly ``schema``'s columns, order and dtypes."""
    data = pd.DataFrame(list(rows), columns=list(schema))
    for column, dtype in schema.items():
        if str(dtype).startswith("datetime64"):
            data[column] = pd.to_datetime(data[column], utc=True)
        elif isinstance(dtype, pd.CategoricalDtype):
            # A value the engine adds later shows as missing rather than breaking the frame.
            known = data[column].isin(dtype.categories)
            data[column] = data[column].where(known, None)
    return data.astype(schema)


def _join(values: Iterable[str]) -> str:
    return ", ".join(values)


def result_frame(result: InfrastructureResult) -> pd.DataFrame:
    """The result's main table, chosen by operation (the plan for a dry-run orchestrate)."""
    if result.operation == "orchestrate_containers":
        if result.dry_run:
            return plan_frame(result.plan)
        return frame(
            (
                {
                    "name": c.name,
                    "image": c.image,
                    "action": c.action,
                    "wave": c.wave,
                    "state": c.state,
                    "health": c.health,
                    "ports": _join(c.ports),
                    "networks": _join(c.networks),
                    "started_at": c.started_at,
                    "seconds_to_ready": c.seconds_to_ready,
                    "container_id": (c.container_id or "")[:12],
                }
                for c in result.containers
            ),
            ORCHESTRATE,
        )
    if result.operation == "manage_images":
        return frame(
            (
                {
                    "reference": i.reference,
                    "id": (i.image_id or "")[:19],
                    "size": i.size,
                    "action": i.action,
                    "seconds": i.seconds,
                }
                for i in result.images
            ),
            IMAGES_RESULT,
        )
    if result.operation == "cleanup_resources":
        return frame(
            (
                {
                    "kind": r.kind,
                    "name": r.name,
                    "id": r.id[:19],
                    "stack": r.stack,
                    "bytes_reclaimed": r.bytes_reclaimed,
                }
                for r in result.removed
            ),
            CLEANUP,
        )
    if result.operation == "health_check":
        return frame(
            (
                {
                    "name": h.name,
                    "status": h.status,
                    "state": h.state,
                    "exit_code": h.exit_code,
                    "failing_streak": h.failing_streak,
                    "last_output": h.last_output,
                    "checked_at": h.checked_at,
                }
                for h in result.health
            ),
            HEALTH,
        )
    return pd.DataFrame()


def plan_frame(steps: Sequence[PlanStep]) -> pd.DataFrame:
    """One row per planned step, in wave order, orphans last."""
    return frame(
        (
            {
                "wave": s.wave,
                "name": s.name,
                "action": s.action,
                "image": s.image,
                "pull": s.pull,
                "reason": s.reason,
                "ports": _join(s.ports),
                "networks": _join(s.networks),
                "volumes": _join(s.volumes),
                "create_networks": _join(s.networks_to_create),
                "create_volumes": _join(s.volumes_to_create),
                "warnings": "; ".join(s.warnings),
            }
            for s in steps
        ),
        PLAN,
    )


def containers_frame(rows: Sequence[ContainerInfo]) -> pd.DataFrame:
    return frame(
        (
            {
                "name": c.name,
                "image": c.image,
                "state": c.state,
                "health": c.health,
                "status": c.status,
                "managed": c.labels.get(LABEL_MANAGED) == "true",
                "stack": c.labels.get(LABEL_STACK),
                "ports": _join(c.ports),
                "networks": _join(c.networks),
                "created": c.created,
                "id": c.id[:12],
            }
            for c in sorted(rows, key=lambda c: c.name)
        ),
        CONTAINERS,
    )


def images_frame(rows: Sequence[ImageInfo]) -> pd.DataFrame:
    return frame(
        (
            {
                "tags": _join(i.tags) or "<none>",
                "id": i.id[:19],
                "size": i.size,
                "created": i.created,
                "managed": i.labels.get(LABEL_MANAGED) == "true",
                "dangling": i.dangling,
            }
            for i in sorted(rows, key=lambda i: (i.tags or ("~",), i.id))
        ),
        IMAGES,
    )


def networks_frame(rows: Sequence[NetworkInfo]) -> pd.DataFrame:
    return frame(
        (
            {
                "name": n.name,
                "driver": n.driver,
                "managed": n.labels.get(LABEL_MANAGED) == "true",
                "stack": n.labels.get(LABEL_STACK),
                "id": n.id[:12],
            }
            for n in sorted(rows, key=lambda n: n.name)
        ),
        NETWORKS,
    )


def volumes_frame(rows: Sequence[VolumeInfo]) -> pd.DataFrame:
    return frame(
        (
            {
                "name": v.name,
                "driver": v.driver,
                "managed": v.labels.get(LABEL_MANAGED) == "true",
                "stack": v.labels.get(LABEL_STACK),
            }
            for v in sorted(rows, key=lambda v: v.name)
        ),
        VOLUMES,
    )


def logs_frame(name: str, lines: Sequence[str], secrets: Sequence[str] = ()) -> pd.DataFrame:
    """Log lines as printed with ``timestamps=True`` ("<RFC3339> <text>")."""
    redact = Redactor(secrets)
    rows = []
    for line in lines:
        stamp, _, text = line.partition(" ")
        try:
            when: pd.Timestamp | None = pd.Timestamp(stamp)
        except ValueError:
            when, text = None, line
        rows.append({"container": name, "time": when, "line": redact(text)})
    return frame(rows, LOGS)


def stats_frame(samples: Sequence[tuple[str, dict[str, Any]]]) -> pd.DataFrame:
    """CPU % computed the way ``docker stats`` does, from the sample and its predecessor."""
    rows = []
    for name, s in samples:
        cpu, pre = s.get("cpu_stats") or {}, s.get("precpu_stats") or {}
        cpu_delta = cpu.get("cpu_usage", {}).get("total_usage", 0) - pre.get("cpu_usage", {}).get(
            "total_usage", 0
        )
        system_delta = cpu.get("system_cpu_usage", 0) - pre.get("system_cpu_usage", 0)
        cpus = cpu.get("online_cpus") or len(cpu.get("cpu_usage", {}).get("percpu_usage") or [1])
        percent = cpu_delta / system_delta * cpus * 100 if system_delta > 0 else 0.0
        memory = s.get("memory_stats") or {}
        used = memory.get("usage", 0) - (memory.get("stats") or {}).get("inactive_file", 0)
        limit = memory.get("limit") or 0
        nets = (s.get("networks") or {}).values()
        blkio = (s.get("blkio_stats") or {}).get("io_service_bytes_recursive") or []
        rows.append(
            {
                "name": name,
                "cpu_percent": round(percent, 2),
                "memory_bytes": max(used, 0),
                "memory_limit_bytes": limit,
                "memory_percent": round(used / limit * 100, 2) if limit else None,
                "net_rx_bytes": sum(n.get("rx_bytes", 0) for n in nets),
                "net_tx_bytes": sum(n.get("tx_bytes", 0) for n in nets),
                "block_read_bytes": sum(
                    b.get("value", 0) for b in blkio if b.get("op", "").lower() == "read"
                ),
                "block_write_bytes": sum(
                    b.get("value", 0) for b in blkio if b.get("op", "").lower() == "write"
                ),
                "pids": (s.get("pids_stats") or {}).get("current"),
            }
        )
    return frame(rows, STATS)


def exec_frame(
    name: str, command: str | Sequence[str], code: int, output: str, secrets: Sequence[str] = ()
) -> pd.DataFrame:
    redact = Redactor(secrets)
    shown = command if isinstance(command, str) else " ".join(command)
    lines = output.splitlines() or [""]
    return frame(
        (
            {"container": name, "command": redact(shown), "exit_code": code, "line": redact(line)}
            for line in lines
        ),
        EXEC,
    )
