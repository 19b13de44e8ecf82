"""DataFrames with a fixed schema: same columns and dtypes whether empty or not.

Each ``*_frame`` function is pure: records in, DataFrame out. Datetimes are UTC-aware,
sizes are nullable integers, small sets of values are categoricals.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from infranb import labels as L
from infranb import registry
from infranb.display.tables import css, table
from infranb.ops.base import Schema
from infranb.ops.orchestrate import PLAN_SCHEMA
from infranb.planning import PlanStep
from infranb.records import (
    STATES,
    ContainerInfo,
    EngineStatus,
    ImageInfo,
    NetworkInfo,
    NodeInfo,
    ServiceInfo,
    StatsSample,
    TaskInfo,
    VolumeInfo,
    short_id,
)
from infranb.secrets import Redactor
from infranb.swarm import node_labels

if TYPE_CHECKING:
    from infranb.models import InfrastructureResult

HEALTH_STATE = ("starting", "healthy", "unhealthy")
# The result schemas live with their operations (``infranb/ops``); the names stay here too.
ORCHESTRATE = registry.OPERATIONS["orchestrate_containers"].schema
IMAGES_RESULT = registry.OPERATIONS["manage_images"].schema
CLEANUP = registry.OPERATIONS["cleanup_resources"].schema
HEALTH = registry.OPERATIONS["health_check"].schema
PLAN = PLAN_SCHEMA

CONTAINERS: Schema = {
    "name": "string",
    "image": "string",
    "state": STATES,
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


ENGINES: Schema = {
    "engine": "string",
    "host": "string",
    "version": "string",
    "api": "string",
    "os": "string",
    "containers": "Int64",
    "running": "Int64",
    "reachable": "boolean",
    "error": "string",
}


def engines_frame(statuses: Iterable[EngineStatus]) -> pd.DataFrame:
    """One row per engine of a fleet: what it answered, or why it did not."""
    rows = []
    for status in statuses:
        info = status.info
        rows.append(
            {
                "engine": status.engine,
                "host": status.host,
                "version": info.version if info else None,
                "api": info.api_version if info else None,
                "os": info.os if info else None,
                "containers": info.containers if info else None,
                "running": info.running if info else None,
                "reachable": info is not None,
                "error": status.error,
            }
        )
    return frame(rows, ENGINES)


def frame(rows: Iterable[Mapping[str, Any]], schema: Schema) -> pd.DataFrame:
    """Build a DataFrame with exactly ``schema``'s columns, order and dtypes."""
    dtypes = {
        column: pd.CategoricalDtype(list(dtype)) if isinstance(dtype, tuple) else dtype
        for column, dtype in schema.items()
    }
    data = pd.DataFrame(list(rows), columns=list(dtypes))
    for column, dtype in dtypes.items():
        if str(dtype).startswith("datetime64"):
            data[column] = pd.to_datetime(data[column], utc=True)
        elif isinstance(dtype, pd.CategoricalDtype):
            # A value the engine adds later shows as missing rather than breaking the frame.
            known = data[column].isin(dtype.categories)
            data[column] = data[column].where(known, None)
    return data.astype(dtypes)


def _join(values: Iterable[str]) -> str:
    return ", ".join(values)


def result_frame(result: InfrastructureResult) -> pd.DataFrame:
    """The result's table, as its operation declares it (the plan for a dry-run orchestrate)."""
    operation = registry.OPERATIONS.get(result.operation)
    if operation is None:
        return pd.DataFrame()
    if result.dry_run and result.operation == "orchestrate_containers":
        return plan_frame(result.plan)
    return frame(operation.rows(result), operation.schema)


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
                "managed": L.is_managed(c.labels),
                "stack": c.labels.get(L.STACK),
                "ports": _join(c.ports),
                "networks": _join(c.networks),
                "created": c.created,
                "id": short_id(c.id),
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
                "id": short_id(i.id),
                "size": i.size,
                "created": i.created,
                "managed": L.is_managed(i.labels),
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
                "managed": L.is_managed(n.labels),
                "stack": n.labels.get(L.STACK),
                "id": short_id(n.id),
            }
            for n in sorted(rows, key=lambda n: n.name)
        ),
        NETWORKS,
    )


NODES: Schema = {
    "node": "string",
    "hostname": "string",
    "role": ("manager", "worker"),
    "leader": "boolean",
    "state": "string",
    "availability": "string",
    "address": "string",
    "engine_version": "string",
    "id": "string",
}
SERVICES: Schema = {
    "stack": "string",
    "service": "string",
    "image": "string",
    "mode": ("replicated", "global"),
    "replicas_running": "Int64",
    "replicas_desired": "Int64",
    "update_state": "string",
    "id": "string",
}
TASKS: Schema = {
    "service": "string",
    "slot": "Int64",
    "node": "string",
    "state": "string",
    "desired_state": "string",
    "error": "string",
    "exit_code": "Int64",
    "image": "string",
    "updated": "datetime64[ns, UTC]",
    "container_id": "string",
    "id": "string",
}


def nodes_frame(nodes: Sequence[NodeInfo]) -> pd.DataFrame:
    names = node_labels(nodes)
    return frame(
        (
            {
                "node": names[n.id],
                "hostname": n.hostname,
                "role": n.role,
                "leader": n.leader,
                "state": n.state,
                "availability": n.availability,
                "address": n.address,
                "engine_version": n.engine_version,
                "id": n.id[:12],
            }
            for n in sorted(nodes, key=lambda n: (n.role != "manager", names[n.id]))
        ),
        NODES,
    )


def services_frame(services: Sequence[ServiceInfo], tasks: Sequence[TaskInfo]) -> pd.DataFrame:
    """One row per service, with its running and desired task counts."""
    wanted = [t for t in tasks if t.desired_state == "running"]
    return frame(
        (
            {
                "stack": s.labels.get(L.STACK),
                "service": s.name,
                "image": s.image,
                "mode": "global" if s.replicas is None else "replicated",
                "replicas_running": sum(
                    1 for t in wanted if t.service_id == s.id and t.state == "running"
                ),
                "replicas_desired": s.replicas
                if s.replicas is not None
                else sum(1 for t in wanted if t.service_id == s.id),
                "update_state": s.update_state,
                "id": s.id[:12],
            }
            for s in sorted(services, key=lambda s: s.name)
        ),
        SERVICES,
    )


def tasks_frame(
    services: Sequence[ServiceInfo], tasks: Sequence[TaskInfo], nodes: Sequence[NodeInfo]
) -> pd.DataFrame:
    """One row per task the swarm keeps (the current ones and a few past ones)."""
    names = {s.id: s.name for s in services}
    where = node_labels(nodes)
    return frame(
        (
            {
                "service": names.get(t.service_id, t.service_id[:12]),
                "slot": t.slot,
                "node": where.get(t.node_id, t.node_id[:12]),
                "state": t.state,
                "desired_state": t.desired_state,
                "error": t.error,
                "exit_code": t.exit_code,
                "image": t.image,
                "updated": t.updated,
                "container_id": short_id(t.container_id),
                "id": t.id[:12],
            }
            for t in sorted(
                tasks,
                key=lambda t: (names.get(t.service_id, ""), t.slot or 0, str(t.updated or "")),
            )
        ),
        TASKS,
    )


def volumes_frame(rows: Sequence[VolumeInfo]) -> pd.DataFrame:
    return frame(
        (
            {
                "name": v.name,
                "driver": v.driver,
                "managed": L.is_managed(v.labels),
                "stack": v.labels.get(L.STACK),
            }
            for v in sorted(rows, key=lambda v: v.name)
        ),
        VOLUMES,
    )


class TextFrame(pd.DataFrame):
    """A DataFrame of text lines (logs, command output) that a notebook shows in full,
    left-aligned and wrapped, instead of pandas' right-aligned cells cut at 50 characters."""

    @property
    def _constructor(self) -> type[TextFrame]:
        return TextFrame

    def _repr_html_(self) -> str:
        return f'<div class="inb-wrap"><style>{css()}</style>{table(self)}</div>'


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
    return TextFrame(frame(rows, LOGS))


def stats_frame(samples: Sequence[StatsSample]) -> pd.DataFrame:
    """One row per sample, in the engine's units (bytes, percent)."""
    return frame((dataclasses.asdict(sample) for sample in samples), STATS)


def exec_frame(
    name: str, command: str | Sequence[str], code: int, output: str, secrets: Sequence[str] = ()
) -> pd.DataFrame:
    redact = Redactor(secrets)
    shown = command if isinstance(command, str) else " ".join(command)
    lines = output.splitlines() or [""]
    return TextFrame(
        frame(
            (
                {
                    "container": name,
                    "command": redact(shown),
                    "exit_code": code,
                    "line": redact(line),
                }
                for line in lines
            ),
            EXEC,
        )
    )
