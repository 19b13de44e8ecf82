"""deploy_stack: the stack's containers as Swarm services, in dependency waves, converged.

1. parse: the containers (each with its ``deploy`` key) into a typed ``DeployStack``;
2. observe and plan: the stack's services (by label) against the wanted specs — create,
   update (naming the changed fields), unchanged, orphan (``infranb.swarm``, pure); a dry
   run stops here, and works without a swarm;
3. execute: create the overlay networks, then each service as soon as the services it
   depends on have all desired tasks running (and healthy where checked: a Swarm task is
   ``running`` only once its health check passed); an update is Swarm's rolling update;
   wait until every service converged or ``container_timeout`` passed;
4. on any failure or cancellation: remove the services and networks this run created and
   put the services it updated back to their previous spec. A failed update that Swarm
   rolled back itself (``failure_action: rollback``) is reported as rolled back.

Docker 20.10 sends no task events, so convergence is read by listing the services' tasks
every ``POLL_SECONDS``: one call for every service being waited on (``TaskWatch``).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from secrets import token_hex
from typing import TYPE_CHECKING, Any

from infranb.core import labels as L
from infranb.core.errors import (
    CycleError,
    InfraError,
    NotFound,
    NotSwarmManager,
    Problem,
    ServiceFailed,
    ValidationError,
)
from infranb.core.frames import Schema
from infranb.core.planning import dependency_waves
from infranb.core.records import ServiceInfo, ServiceOutcome, TaskInfo
from infranb.core.specs import (
    ContainerSpec,
    NetworkSpec,
    SpecProblem,
    parse_containers,
    parse_resources,
)
from infranb.core.specs import spec_problem as container_problem
from infranb.core.swarm import (
    SERVICE_ACTIONS,
    DeploySpec,
    SecretFile,
    ServiceStep,
    fingerprint_labels,
    fingerprints,
    node_labels,
    not_a_manager,
    parse_deploy,
    parse_secrets,
    plan_services,
    secret_name,
    service_networks,
    service_spec,
)
from infranb.ops.base import Operation, Outcome
from infranb.ops.common import Undone, after_failure
from infranb.ops.environments import resolve_environments
from infranb.ops.swarm_stack import remove_overlay_networks

if TYPE_CHECKING:
    from infranb.core.config import InfrastructureManagerConfig
    from infranb.core.request import InfrastructureOperation
    from infranb.core.result import InfrastructureResult
    from infranb.runtime import Runtime

POLL_SECONDS = 0.1
#: a service whose tasks failed this often, none running, is not going to converge
FAILED_TASKS_LIMIT = 3


@dataclass(frozen=True)
class DeployStack:
    stack: str
    specs: tuple[ContainerSpec, ...]
    deploys: Mapping[str, DeploySpec]
    waves: tuple[tuple[str, ...], ...]
    dry_run: bool = False
    remove_orphans: bool = False
    networks: Mapping[str, NetworkSpec] = field(default_factory=dict)
    #: per service, the files that become Swarm secrets
    secrets: Mapping[str, tuple[SecretFile, ...]] = field(default_factory=dict)


def parse(
    op: InfrastructureOperation, config: InfrastructureManagerConfig
) -> tuple[DeployStack | None, list[Problem]]:
    if not isinstance(op.containers, list | tuple) or not op.containers:
        return None, [
            Problem(
                "containers",
                "list at least one service, e.g. [{'name': 'api', 'image': ..., "
                "'deploy': {'replicas': 2}}]",
            )
        ]
    problems: list[Problem] = []
    deploys: dict[int, DeploySpec] = {}
    secret_files: dict[int, tuple[SecretFile, ...]] = {}
    bare: list[object] = []
    for index, raw in enumerate(op.containers):
        # deploy and secrets are Swarm's keys: read here, the rest is a container spec.
        if isinstance(raw, Mapping):
            try:
                if "deploy" in raw:
                    deploys[index] = parse_deploy(raw["deploy"], f"containers[{index}].deploy")
                if "secrets" in raw:
                    where = f"containers[{index}].secrets"
                    secret_files[index] = parse_secrets(raw["secrets"], where)
            except SpecProblem as e:
                problems.append(e.problem)
            raw = {k: v for k, v in raw.items() if k not in ("deploy", "secrets")}
        bare.append(raw)
    specs, spec_problems = parse_containers(bare)
    problems += spec_problems
    for index, spec in enumerate(specs):
        for dep, condition in spec.depends_on.items():
            if condition == "completed_successfully":
                problems.append(
                    container_problem(
                        index,
                        spec.name,
                        "depends_on",
                        f"{dep!r}: a Swarm service runs until removed, it never completes; "
                        "use 'started' or 'healthy'",
                    )
                )
    waves: list[list[str]] = []
    if not problems:
        try:
            waves = dependency_waves(specs)
        except CycleError as e:
            problems += e.problems
    networks, network_problems = parse_resources(op.networks, "networks")
    problems += network_problems
    if problems:
        return None, problems
    by_name = {spec.name: deploys.get(index, DeploySpec()) for index, spec in enumerate(specs)}
    secrets_of = {spec.name: secret_files.get(index, ()) for index, spec in enumerate(specs)}
    stack = op.stack or config.default_stack
    return (
        DeployStack(
            stack,
            tuple(specs),
            by_name,
            tuple(tuple(w) for w in waves),
            op.dry_run,
            op.remove_orphans,
            networks,
            secrets_of,
        ),
        [],
    )


@dataclass
class Deployed:
    """What this run changed, for its rollback."""

    created_services: list[str] = field(default_factory=list)  # ids
    updated: dict[str, ServiceInfo] = field(default_factory=dict)  # id -> before the update
    created_networks: list[str] = field(default_factory=list)
    created_secrets: list[str] = field(default_factory=list)  # ids
    #: orphan services this run removed, as they were (a rollback creates them again)
    removed_services: list[ServiceInfo] = field(default_factory=list)


def stack_secret_key(existing: Mapping[str, ServiceInfo]) -> str:
    """The key that names the stack's secrets: the one its services carry, else a new one."""
    for _name, service in sorted(existing.items()):
        if service.labels.get(L.SECRET_KEY):
            return service.labels[L.SECRET_KEY]
    return token_hex(16)


def read_secrets(command: DeployStack, key: str) -> dict[str, list[tuple[SecretFile, str, bytes]]]:
    """Each service's secrets as (secret, Swarm name, content); a missing file is a problem
    named by its path, before anything is touched."""
    problems = []
    found: dict[str, list[tuple[SecretFile, str, bytes]]] = {}
    for index, spec in enumerate(command.specs):
        found[spec.name] = []
        for number, secret in enumerate(command.secrets.get(spec.name, ())):
            try:
                content = Path(secret.file).read_bytes()
            except OSError as e:
                problems.append(
                    container_problem(
                        index,
                        spec.name,
                        f"secrets[{number}].file",
                        f"cannot read {secret.file}: {e.strerror or e}",
                    )
                )
                continue
            name = secret_name(command.stack, secret, content, key)
            found[spec.name].append((secret, name, content))
    if problems:
        raise ValidationError(problems)
    return found


async def run(command: DeployStack, rt: Runtime, outcome: Outcome) -> None:
    outcome.stack = command.stack
    outcome.dry_run = command.dry_run
    engine = rt.engine
    role = await rt.call(engine.swarm_role)
    manager = role == "manager"
    if not manager and not command.dry_run:
        raise NotSwarmManager(not_a_manager(role))
    existing: dict[str, ServiceInfo] = {}
    if manager:
        for service in await rt.call(engine.list_services, labels=L.managed(command.stack)):
            existing[service.name.removeprefix(f"{command.stack}_")] = service
    else:
        outcome.warnings.append(f"plan only: {not_a_manager(role)}")
    environments = resolve_environments(command.specs, rt)
    secret_key = stack_secret_key(existing)
    secrets = read_secrets(command, secret_key)
    salts = {
        s.name: existing[s.name].labels.get(L.SALT, "") if s.name in existing else token_hex(8)
        for s in command.specs
    }
    prints = {
        s.name: fingerprints(
            s,
            command.deploys[s.name],
            environments[s.name],
            salts[s.name],
            [(secret.target, name) for secret, name, _ in secrets[s.name]],
        )
        for s in command.specs
    }
    steps, orphans = plan_services(
        [(s, command.deploys[s.name], prints[s.name]) for s in command.specs],
        command.waves,
        {name: service.labels for name, service in existing.items()},
    )
    outcome.orphans = orphans
    outcome.services = [_planned(step) for step in steps]
    if orphans:
        if command.remove_orphans:
            outcome.services += [
                ServiceOutcome(name, existing[name].image, "remove") for name in orphans
            ]
        else:
            outcome.warnings.append(
                f"orphan service(s) kept: {', '.join(orphans)} (in the stack, not in this "
                "request); set remove_orphans=True to remove them"
            )
    destructive = [f"update service {s.name}" for s in steps if s.action == "update"]
    if command.remove_orphans:
        destructive += [f"remove service {name}" for name in orphans]
    rt.gate(destructive, dry_run=command.dry_run)
    if command.dry_run:
        return
    rt.record_prior(
        {
            "stack": command.stack,
            "services": [
                {"name": name, "id": s.id, "spec_hash": s.labels.get(L.SPEC_HASH, "")}
                for name, s in sorted(existing.items())
            ],
        }
    )
    deployed = Deployed()
    rollout = Rollout(
        rt, command, steps, existing, environments, prints, salts, deployed, secret_key
    )
    try:
        await rollout.networks()
        await rollout.secrets(secrets)
        await rollout.services()
        if command.remove_orphans:
            for name in orphans:
                await rt.call(engine.remove_service, existing[name].id)
                deployed.removed_services.append(existing[name])
                rt.emit("service_removed", name)
        outcome.services = await rollout.summary(orphans if command.remove_orphans else [])
        outcome.networks_created = list(deployed.created_networks)
        await remove_unused_secrets(rt, command.stack)
    except BaseException as failure:
        await after_failure(
            rt, command.stack, failure, lambda: rollback(rt, command.stack, deployed), outcome
        )
        with contextlib.suppress(InfraError):
            outcome.services = await asyncio.shield(rollout.summary([]))
        raise


def _planned(step: ServiceStep) -> ServiceOutcome:
    return ServiceOutcome(
        step.name,
        step.image,
        step.action,
        replicas_desired=step.replicas,
        wave=step.wave,
        changed=step.changed,
    )


class Rollout:
    """Creates and updates the services of one run; no decisions of its own."""

    def __init__(
        self,
        rt: Runtime,
        command: DeployStack,
        steps: Sequence[ServiceStep],
        existing: Mapping[str, ServiceInfo],
        environments: Mapping[str, Mapping[str, str]],
        prints: Mapping[str, Mapping[str, str]],
        salts: Mapping[str, str],
        deployed: Deployed,
        secret_key: str,
    ) -> None:
        self.rt, self.command, self.steps = rt, command, steps
        self.secret_key = secret_key
        self.existing, self.environments = existing, environments
        self.prints, self.salts, self.deployed = prints, salts, deployed
        self.ids = {name: s.id for name, s in existing.items()}
        self.secret_ids: dict[str, list[tuple[SecretFile, str, str]]] = {}
        self.watch = TaskWatch(rt)
        self.node_names: dict[str, str] = {}
        self.timeout = rt.config.container_start_timeout
        self.deadline = time.monotonic() + self.timeout

    async def networks(self) -> None:
        engine = self.rt.engine
        wanted = sorted(
            {n for s in self.command.specs for n in service_networks(s, self.command.stack)}
        )
        present = {n.name for n in await self.rt.call(engine.list_networks)}
        for name in wanted:
            declared = self.command.networks.get(name)
            if declared is not None and declared.external:
                if name not in present:
                    raise NotFound(
                        f"network {name} is declared external but does not exist; create it "
                        f"first (docker network create -d overlay {name})",
                        resource=name,
                    )
                continue
            if name in present:
                continue
            labels = self.rt.labels(
                self.command.stack,
                **(declared.labels if declared else {}),
                **{L.STACK_NAMESPACE: self.command.stack},  # what docker stack deploy sets
            )
            await self.rt.call(
                engine.create_network,
                name,
                labels,
                driver=declared.driver if declared and declared.driver != "bridge" else "overlay",
                internal=bool(declared and declared.internal),
            )
            self.deployed.created_networks.append(name)
            self.rt.emit("network_created", name)

    async def secrets(self, secrets: Mapping[str, list[tuple[SecretFile, str, bytes]]]) -> None:
        """Create the Swarm secrets the services need and do not find (same content, same
        name: an unchanged secret is reused)."""
        engine, stack = self.rt.engine, self.command.stack
        present = {s.name: s.id for s in await self.rt.call(engine.list_secrets)}
        for service, items in secrets.items():
            self.secret_ids[service] = []
            for secret, name, content in items:
                if name not in present:
                    present[name] = await self.rt.call(
                        engine.create_secret,
                        name,
                        content,
                        self.rt.labels(stack, **{L.STACK_NAMESPACE: stack}),
                    )
                    self.deployed.created_secrets.append(present[name])
                    self.rt.emit("secret_created", name)
                self.secret_ids[service].append((secret, name, present[name]))

    async def services(self) -> None:
        self.node_names = node_labels(await self.rt.call(self.rt.engine.list_nodes))
        ready = {step.name: asyncio.Event() for step in self.steps}
        specs = {s.name: s for s in self.command.specs}

        async def deploy(step: ServiceStep) -> None:
            for dep in specs[step.name].depends_on:
                await ready[dep].wait()
            await self.apply(step, specs[step.name])
            ready[step.name].set()

        try:
            await self.rt.gather(*(deploy(step) for step in self.steps))
        finally:
            self.watch.close()

    async def apply(self, step: ServiceStep, spec: ContainerSpec) -> None:
        engine, stack = self.rt.engine, self.command.stack
        labels = self.rt.labels(
            stack,
            **fingerprint_labels(self.prints[spec.name], self.salts[spec.name]),
            **{L.SECRET_KEY: self.secret_key, L.STACK_NAMESPACE: stack},
        )
        wanted = service_spec(
            spec,
            self.command.deploys[spec.name],
            stack,
            self.environments[spec.name],
            labels,
            self.secret_ids.get(spec.name, []),
        )
        if step.action == "create":
            self.rt.emit("service_creating", step.name)
            service_id = await self.rt.call(engine.create_service, wanted)
            self.ids[step.name] = service_id
            self.deployed.created_services.append(service_id)
        elif step.action == "update":
            before = self.existing[step.name]
            self.rt.emit("service_updating", step.name, "changed: " + ", ".join(step.changed))
            self.deployed.updated[before.id] = before
            await self.rt.call(engine.update_service, before.id, before.version, wanted)
        try:
            await self.converge(step)
        finally:
            self.watch.forget(self.ids[step.name])
        self.rt.emit("service_converged", step.name)

    async def converge(self, step: ServiceStep) -> None:
        """Wait until the service's desired tasks run (healthy where checked) and any
        update completed; raise ``ServiceFailed`` naming its tasks' errors per node."""
        engine, service_id = self.rt.engine, self.ids[step.name]
        service: ServiceInfo | None = None
        while True:
            # A new service has no update state: its spec is read once, then only its tasks.
            if service is None or step.action == "update":
                service = await self.rt.call(engine.inspect_service, service_id)
            if service is None:
                raise ServiceFailed(
                    f"service {step.name} was removed while it deployed", resource=step.name
                )
            tasks = await self.watch.next(service_id)
            state = service.update_state
            if state in ("paused", "rollback_completed", "rollback_paused"):
                raise ServiceFailed(
                    _update_failure(step.name, service, self._errors(tasks)), resource=step.name
                )
            current = _current(tasks)
            running = sum(1 for t in current if t.state == "running")
            desired = service.replicas if service.replicas is not None else len(current)
            wanted_hash = service.labels.get(L.SPEC_HASH, "")
            if (
                running >= desired
                and state in (None, "completed")
                and all(t.state == "running" and t.spec_hash == wanted_hash for t in current)
            ):
                return
            failed = [t for t in current if t.state in ("failed", "rejected")]
            if len(failed) >= FAILED_TASKS_LIMIT and running == 0 and state is None:
                raise ServiceFailed(
                    f"service {step.name} does not start: {self._errors(tasks)}",
                    resource=step.name,
                )
            if time.monotonic() > self.deadline:
                raise ServiceFailed(
                    f"service {step.name} did not converge in {self.timeout:g}s "
                    f"({running}/{desired} tasks running"
                    f"{', update ' + state if state else ''}): {self._errors(tasks)}",
                    resource=step.name,
                )

    def _errors(self, tasks: Sequence[TaskInfo]) -> str:
        """The latest problem of each node, e.g. ``node-2: task: non-zero exit (3)``."""
        seen: dict[str, str] = {}
        latest_first = sorted(tasks, key=lambda t: str(t.updated or t.created or ""), reverse=True)
        for task in latest_first:
            problem = task.error or (task.message if task.state == "pending" else "")
            if not problem or task.state == "running":
                continue
            node = self.node_names.get(task.node_id, task.node_id[:12] or "no node")
            seen.setdefault(node, problem)
        if not seen:
            return "no task reported an error"
        return "; ".join(f"{node}: {problem}" for node, problem in seen.items())

    async def summary(self, removed: Sequence[str]) -> list[ServiceOutcome]:
        """One outcome per service, as the swarm now reports it."""
        engine = self.rt.engine
        if not self.node_names:
            self.node_names = node_labels(await self.rt.call(engine.list_nodes))
        # Two calls for the whole stack, not two per service.
        services = {
            s.id: s
            for s in await self.rt.call(engine.list_services, labels=L.managed(self.command.stack))
        }
        tasks_of: dict[str, list[TaskInfo]] = {}
        listed = await self.rt.call(engine.list_tasks, services=sorted(services))
        for task in _current(listed):
            tasks_of.setdefault(task.service_id, []).append(task)
        outcomes = []
        for step in self.steps:
            service = services.get(self.ids.get(step.name, ""))
            if service is None:
                outcomes.append(_planned(step))
                continue
            tasks = tasks_of.get(service.id, [])
            running = [t for t in tasks if t.state == "running"]
            outcomes.append(
                ServiceOutcome(
                    step.name,
                    service.image,
                    step.action,
                    replicas_running=len(running),
                    replicas_desired=service.replicas
                    if service.replicas is not None
                    else len(tasks),
                    update_state=service.update_state,
                    wave=step.wave,
                    changed=step.changed,
                    nodes=tuple(
                        sorted({self.node_names.get(t.node_id, t.node_id[:12]) for t in running})
                    ),
                )
            )
        outcomes += [ServiceOutcome(name, "", "remove") for name in removed]
        return outcomes


class TaskWatch:
    """One poller per run: every ``POLL_SECONDS`` it lists the tasks of every service being
    waited on in one engine call, and wakes the waiters (20.10 sends no task events)."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.wanted: set[str] = set()
        self.latest: dict[str, list[TaskInfo]] = {}
        self.tick = asyncio.Condition()
        self.poller: asyncio.Task[None] | None = None
        self.failure: BaseException | None = None

    async def next(self, service_id: str) -> list[TaskInfo]:
        """The service's tasks as the next poll finds them."""
        if self.failure is not None:
            raise self.failure
        self.wanted.add(service_id)
        if self.poller is None:
            self.poller = asyncio.ensure_future(self._poll())
        async with self.tick:
            await self.tick.wait()
        if self.failure is not None:
            raise self.failure
        return self.latest.get(service_id, [])

    async def _poll(self) -> None:
        while True:
            try:
                tasks = await self.rt.call(self.rt.engine.list_tasks, services=sorted(self.wanted))
            except InfraError as e:  # handed to every waiter: the run fails with it
                self.failure = e
                tasks = []
            grouped: dict[str, list[TaskInfo]] = {}
            for task in tasks:
                grouped.setdefault(task.service_id, []).append(task)
            self.latest = grouped
            async with self.tick:
                self.tick.notify_all()
            if self.failure is not None:
                return
            await asyncio.sleep(POLL_SECONDS)

    def forget(self, service_id: str) -> None:
        self.wanted.discard(service_id)

    def close(self) -> None:
        if self.poller is not None:
            self.poller.cancel()


def _current(tasks: Iterable[TaskInfo]) -> list[TaskInfo]:
    """The tasks the swarm wants running (replaced ones are on their way out)."""
    return [t for t in tasks if t.desired_state in ("running", "ready", "accepted")]


def _update_failure(name: str, service: ServiceInfo, errors: str) -> str:
    message = service.update_message or service.update_state or "failed"
    if service.update_state == "rollback_completed":
        return (
            f"the update of service {name} failed ({message}); Swarm rolled it back to the "
            f"previous spec. Task errors: {errors}"
        )
    return f"the update of service {name} failed ({message}). Task errors: {errors}"


async def rollback(rt: Runtime, stack: str, deployed: Deployed) -> Undone:
    """Undo a run: remove the services and networks it created, put back the specs of the
    services it updated (unless Swarm already rolled them back) and the orphans it removed."""
    engine = rt.engine
    restored = []
    for service_id, before in deployed.updated.items():
        now = await rt.call(engine.inspect_service, service_id)
        if now is None or now.update_state == "rollback_completed":
            continue
        await rt.call(engine.update_service, service_id, now.version, before.spec)
        restored.append(before.name)
    for service_id in deployed.created_services:
        with contextlib.suppress(NotFound):
            await rt.call(engine.remove_service, service_id)
    # Services created by a call in flight when the run failed carry this run's label.
    for service in await rt.call(engine.list_services, labels={L.RUN: rt.run_id}):
        if service.id not in deployed.created_services and service.id not in deployed.updated:
            with contextlib.suppress(NotFound):
                await rt.call(engine.remove_service, service.id)
    removed_networks = await remove_overlay_networks(rt, deployed.created_networks)
    for secret_id in deployed.created_secrets:
        with contextlib.suppress(NotFound):
            await rt.call(engine.remove_secret, secret_id)
    for service in deployed.removed_services:
        await rt.call(engine.create_service, service.spec)
    parts = []
    if deployed.created_services:
        parts.append(f"removed {len(deployed.created_services)} service(s)")
    if restored:
        parts.append("restored the previous spec of " + ", ".join(restored))
    if removed_networks:
        parts.append("removed network(s) " + ", ".join(removed_networks))
    if deployed.created_secrets:
        parts.append(f"removed {len(deployed.created_secrets)} secret(s)")
    if deployed.removed_services:
        names = ", ".join(s.name for s in deployed.removed_services)
        parts.append(f"created the removed orphan service(s) {names} again")
    return "; ".join(parts) or "nothing else to undo", []


async def remove_unused_secrets(rt: Runtime, stack: str) -> list[str]:
    """Remove the stack's secrets no service of the stack uses any more (the versions an
    update replaced); returns their names."""
    engine = rt.engine
    services = await rt.call(engine.list_services, labels=L.managed(stack))
    used = {
        ref["SecretID"]
        for s in services
        for ref in s.spec.get("TaskTemplate", {}).get("ContainerSpec", {}).get("Secrets", [])
    }
    removed = []
    for secret in await rt.call(engine.list_secrets, labels=L.managed(stack)):
        if secret.id not in used:
            with contextlib.suppress(NotFound):
                await rt.call(engine.remove_secret, secret.id)
                removed.append(secret.name)
    return removed


SCHEMA: Schema = {
    "service": "string",
    "image": "string",
    "action": SERVICE_ACTIONS,
    "wave": "Int64",
    "replicas_running": "Int64",
    "replicas_desired": "Int64",
    "update_state": "string",
    "changed": "string",
    "nodes": "string",
}


def rows(result: InfrastructureResult) -> Iterable[dict[str, Any]]:
    for s in result.services:
        yield {
            "service": s.service,
            "image": s.image,
            "action": s.action,
            "wave": s.wave,
            "replicas_running": s.replicas_running,
            "replicas_desired": s.replicas_desired,
            "update_state": s.update_state,
            "changed": ", ".join(s.changed),
            "nodes": ", ".join(s.nodes),
        }


OPERATION = Operation(
    name="deploy_stack",
    summary="deploy a stack as Swarm services in dependency waves; returns once converged",
    parse=parse,
    run=run,
    schema=SCHEMA,
    rows=rows,
    shown_fields=("stack", "containers", "remove_orphans", "dry_run"),
)

__all__ = ["OPERATION", "DeployStack", "ValidationError"]
