"""orchestrate_containers: plan against the engine, then bring the stack up.

Order of work:
1. observe (stack containers, name holders, images, networks, volumes) and plan;
2. stop what will be recreated or restarted (dependents first);
3. pull missing images, create networks and volumes;
4. start each container as soon as its dependencies meet their conditions (the plan's
   waves are the order this produces), waiting on the engine's event stream;
5. on success remove replaced containers (and orphans when asked);
   on any failure or cancellation roll back exactly what this run did.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from infranb.engine import (
    ContainerDetails,
    ContainerInfo,
    EngineEvent,
    EventStream,
    NetworkInfo,
)
from infranb.errors import ContainerFailed, EngineUnavailable, InfraError, ValidationError
from infranb.models import ContainerOutcome, InfrastructureOperation, InfrastructureResult, Plan
from infranb.ops.common import remove_containers, remove_networks, remove_volumes, stop_containers
from infranb.planning import Observed, StackPlan, container_warnings, plan_stack
from infranb.runtime import (
    LABEL_DEPENDS_ON,
    LABEL_MANAGED,
    LABEL_RUN,
    LABEL_SPEC_FIELDS,
    LABEL_SPEC_HASH,
    LABEL_STACK,
    Runtime,
)
from infranb.secrets import SecretRef, is_secret_key
from infranb.specs import ContainerSpec, decode_fingerprints, encode_fingerprints, spec_hash

LOG_LINES_ON_FAILURE = 20
RECHECK_SECONDS = 2.0  # re-inspect this often even without events, in case one was missed


@dataclass
class Desired:
    """The request, parsed and resolved: specs, their secrets, fingerprints and hashes."""

    stack: str
    specs: list[ContainerSpec]
    environments: dict[str, dict[str, str]]
    fingerprints: dict[str, dict[str, str]]
    hashes: dict[str, str]


def resolve(op: InfrastructureOperation, stack: str, rt: Runtime) -> Desired:
    """Parse the specs and read secret references; secrets join the runtime's redactor."""
    specs = op.container_specs()
    environments: dict[str, dict[str, str]] = {}
    secrets: list[str] = []
    problems: list[str] = []
    for spec in specs:
        env: dict[str, str] = {}
        for key, value in spec.environment.items():
            if isinstance(value, SecretRef):
                try:
                    env[key] = value.resolve()
                except LookupError as e:
                    problems.append(f"containers ({spec.name}).environment.{key}: {e}")
                    continue
                secrets.append(env[key])
            else:
                env[key] = value
                if is_secret_key(key, rt.config.secret_markers):
                    secrets.append(value)
        environments[spec.name] = env
    if problems:
        raise ValidationError(problems)
    rt.redact = rt.redact.extend(secrets)
    fingerprints = {s.name: s.field_fingerprints(environments[s.name]) for s in specs}
    hashes = {name: spec_hash(fp) for name, fp in fingerprints.items()}
    return Desired(stack, specs, environments, fingerprints, hashes)


async def observe_and_plan(
    rt: Runtime, desired: Desired, *, dry_run: bool = False
) -> tuple[StackPlan, dict[str, ContainerInfo]]:
    """Read what the engine has for this request and plan against it."""
    engine = rt.engine
    names = [s.name for s in desired.specs]
    images = sorted({s.image for s in desired.specs})
    notes = []
    try:
        stack_rows, holders, networks, volumes, *image_ids = await rt.gather(
            rt.call(
                engine.list_containers,
                {"label": [f"{LABEL_STACK}={desired.stack}", f"{LABEL_MANAGED}=true"]},
            ),
            rt.call(engine.list_containers, {"name": [f"^/{n}$" for n in names]}),
            rt.call(engine.list_networks),
            rt.call(engine.list_volumes),
            *(rt.call(engine.image_id, image) for image in images),
        )
    except EngineUnavailable:
        if not dry_run:
            raise
        # Binder and other engine-less places can still review a plan.
        stack_rows, holders, volumes, image_ids = [], [], [], [None] * len(images)
        networks = [
            NetworkInfo(id=n, name=n, driver="", labels={}) for n in ("bridge", "host", "none")
        ]
        notes.append("No Docker engine is reachable: this plan assumes an empty engine.")
    problems = []
    for holder in holders:
        if holder.name not in names:
            continue  # the name filter is a regex; an exact match is all that counts
        if holder.labels.get(LABEL_MANAGED) != "true":
            problems.append(
                f"containers ({holder.name}).name: the name is held by container "
                f"{holder.id[:12]} ({holder.image}), which infranb did not create; rename or "
                "remove it yourself, or choose another name"
            )
        elif holder.labels.get(LABEL_STACK) != desired.stack:
            problems.append(
                f"containers ({holder.name}).name: the name is held by a container of stack "
                f"{holder.labels.get(LABEL_STACK)!r}; tear that stack down or choose another name"
            )
    if problems:
        raise ValidationError(problems)
    observed = {
        row.name: Observed(
            id=row.id,
            name=row.name,
            state=row.state,
            image_id=row.image_id,
            spec_hash=row.labels.get(LABEL_SPEC_HASH, ""),
            fingerprints=decode_fingerprints(row.labels.get(LABEL_SPEC_FIELDS, "")),
        )
        for row in stack_rows
    }
    needed = {dep for s in desired.specs for dep in s.depends_on}
    plan = plan_stack(
        desired.stack,
        desired.specs,
        desired.fingerprints,
        desired.hashes,
        observed,
        dict(zip(images, image_ids, strict=True)),
        {n.name for n in networks},
        {v.name for v in volumes},
        rt.config.default_network,
        {
            s.name: container_warnings(
                s, rt.config.default_network, linked=bool(s.depends_on) or s.name in needed
            )
            for s in desired.specs
        },
    )
    plan.notes.extend(notes)
    return plan, {row.name: row for row in stack_rows}


class EventWatcher:
    """Follows the engine's events for one stack on a thread; wakes waiting tasks."""

    def __init__(self, stream: EventStream, stack: str) -> None:
        self._loop = asyncio.get_running_loop()
        self._counts: dict[str, int] = {}
        self._signals: dict[str, asyncio.Event] = {}
        self._stream = stream
        self._thread = threading.Thread(
            target=self._pump, daemon=True, name=f"infranb-events-{stack}"
        )
        self._thread.start()

    @classmethod
    async def follow(cls, rt: Runtime, stack: str) -> EventWatcher:
        """Subscribe (off the loop) to the stack's container events."""
        filters = {"type": ["container"], "label": [f"{LABEL_STACK}={stack}"]}
        return cls(await rt.call(rt.engine.events, filters), stack)

    def _pump(self) -> None:
        for event in self._stream:
            if self._loop.is_closed():
                return
            self._loop.call_soon_threadsafe(self._record, event)

    def _record(self, event: EngineEvent) -> None:
        self._counts[event.id] = self._counts.get(event.id, 0) + 1
        self._signal(event.id).set()

    def _signal(self, cid: str) -> asyncio.Event:
        return self._signals.setdefault(cid, asyncio.Event())

    def seen(self, cid: str) -> int:
        return self._counts.get(cid, 0)

    async def changed_since(self, cid: str, seen: int, timeout: float) -> None:
        """Return when an event for ``cid`` arrives after ``seen`` events, or after timeout."""
        signal = self._signal(cid)
        if self._counts.get(cid, 0) != seen:
            return
        signal.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(signal.wait(), timeout)

    def close(self) -> None:
        self._stream.close()


@dataclass
class Journal:
    """What this run changed, so a rollback can undo exactly that."""

    replaced: dict[str, tuple[str, str, bool]] = field(
        default_factory=dict
    )  # name -> (id, tmp, running)
    stopped: list[str] = field(default_factory=list)  # ids stopped for a restart
    created_networks: list[str] = field(default_factory=list)
    created_volumes: list[str] = field(default_factory=list)


@dataclass
class Progress:
    """Per-container facts gathered while starting."""

    ids: dict[str, str] = field(default_factory=dict)
    started: dict[str, asyncio.Event] = field(default_factory=dict)
    ready: dict[str, asyncio.Future[ContainerDetails]] = field(default_factory=dict)
    done: dict[str, asyncio.Future[ContainerDetails]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


async def orchestrate(
    op: InfrastructureOperation, rt: Runtime, result: InfrastructureResult
) -> None:
    """Bring the requested stack to the desired state, filling ``result``."""
    stack = op.stack or rt.config.default_stack
    result.stack = stack
    desired = resolve(op, stack, rt)
    plan, existing = await observe_and_plan(rt, desired, dry_run=op.dry_run)
    result.plan = Plan(plan.steps)
    result.orphans = [s.name for s in plan.steps if s.action == "remove-orphan"]
    result.warnings.extend(plan.notes)
    missing = plan.images_to_pull
    if missing and not rt.config.auto_pull_images:
        raise ValidationError(
            [
                f"containers ({s.name}).image: {s.image} is not on the engine and auto_pull_images "
                "is off; pull it first (manage_images, action 'pull') or enable auto_pull_images"
                for s in desired.specs
                if s.image in missing
            ]
        )
    if op.dry_run:
        result.dry_run = True
        return

    journal = Journal()
    progress = Progress()
    watcher = await EventWatcher.follow(rt, stack)
    try:
        await _bring_up(rt, op, desired, plan, existing, journal, progress, watcher, result)
    except BaseException as failure:
        watcher.close()
        if rt.config.cleanup_on_failure or isinstance(failure, asyncio.CancelledError):
            try:
                # Shielded: a second interrupt must not leave the rollback half done.
                summary = await asyncio.shield(_rollback(rt, desired, journal))
                _append_note(failure, f"rolled back: {summary}")
            except InfraError as e:
                _append_note(
                    failure,
                    f"the rollback could not finish ({e}); once the engine answers, tear the "
                    f"stack down: cleanup_resources with stack={stack!r}, "
                    "cleanup_stopped_containers=True, force_remove=True",
                )
        else:
            _append_note(
                failure,
                "what this run started was left in place for debugging "
                "(cleanup_on_failure=False): tear the stack down when done",
            )
        raise
    watcher.close()


def _append_note(error: BaseException, note: str) -> None:
    """Add what happened afterwards to an infranb error's message."""
    if isinstance(error, InfraError) and error.args:
        error.args = (f"{error.args[0]}; {note}", *error.args[1:])


async def _bring_up(
    rt: Runtime,
    op: InfrastructureOperation,
    desired: Desired,
    plan: StackPlan,
    existing: Mapping[str, ContainerInfo],
    journal: Journal,
    progress: Progress,
    watcher: EventWatcher,
    result: InfrastructureResult,
) -> None:
    engine = rt.engine
    by_name = {s.name: s for s in desired.specs}
    loop = asyncio.get_running_loop()
    for spec in desired.specs:
        progress.started[spec.name] = asyncio.Event()
        progress.ready[spec.name] = loop.create_future()
        progress.done[spec.name] = loop.create_future()

    # 1. Stop what will be replaced or restarted, dependents first.
    to_stop = [s for s in plan.steps if s.action in ("recreate", "restart")]
    for wave in reversed(plan.waves):
        ids = [
            existing[s.name].id
            for s in to_stop
            if s.name in wave and existing[s.name].state == "running"
        ]
        await stop_containers(rt, ids)
        journal.stopped.extend(ids)
    for step in to_stop:
        if step.action == "recreate":
            old = existing[step.name]
            temporary = f"{step.name}-infranb-replaced-{old.id[:12]}"
            await rt.call(engine.rename_container, old.id, temporary)
            journal.replaced[step.name] = (old.id, temporary, old.state == "running")

    # 2. Images, networks and volumes, concurrently.
    async def pull(image: str) -> None:
        rt.emit("pull", image, "pulling")
        started = time.monotonic()

        def on_progress(message: Mapping[str, object]) -> None:
            detail = message.get("progressDetail") or {}
            current = detail.get("current") if isinstance(detail, dict) else None
            total = detail.get("total") if isinstance(detail, dict) else None
            text = f"{message.get('id', '')} {message.get('status', '')}".strip()
            loop.call_soon_threadsafe(
                lambda: rt.emit("pull", image, text, current=current, total=total)
            )

        await rt.call(engine.pull_image, image, on_progress)
        result.images_pulled.append(image)
        rt.emit("pull", image, f"pulled in {time.monotonic() - started:.1f}s")

    async def create_network(name: str) -> None:
        await rt.call(engine.create_network, name, rt.labels(desired.stack))
        journal.created_networks.append(name)
        rt.emit("network_created", name)

    async def create_volume(name: str) -> None:
        await rt.call(engine.create_volume, name, rt.config.volume_driver, rt.labels(desired.stack))
        journal.created_volumes.append(name)
        rt.emit("volume_created", name)

    await rt.gather(
        *(pull(i) for i in plan.images_to_pull),
        *(create_network(n) for n in plan.networks_to_create),
        *(create_volume(v) for v in plan.volumes_to_create),
    )

    # 3. Create every new container now (creating starts nothing), so that when a
    #    dependency turns ready its dependents only need a start call.
    async def create(spec: ContainerSpec) -> str:
        step = plan.step(spec.name)
        labels = rt.labels(
            desired.stack,
            **{
                LABEL_SPEC_HASH: desired.hashes[spec.name],
                LABEL_SPEC_FIELDS: encode_fingerprints(desired.fingerprints[spec.name]),
                LABEL_DEPENDS_ON: ",".join(spec.depends_on),
            },
            **spec.labels,
        )
        cid = await rt.call(
            engine.create_container,
            spec,
            desired.environments[spec.name],
            labels,
            list(step.networks),
        )
        rt.emit("container_created", spec.name)
        return cid

    fresh = [s for s in desired.specs if plan.step(s.name).action in ("create", "recreate")]
    created = dict(zip([s.name for s in fresh], await rt.gather(*map(create, fresh)), strict=True))

    # 4. Each container starts once its dependencies meet their conditions.
    async def bring(spec: ContainerSpec) -> None:
        step = plan.step(spec.name)
        for dep, condition in spec.depends_on.items():
            if condition == "started":
                await progress.started[dep].wait()
            elif condition == "completed_successfully":
                await progress.done[dep]
            else:
                await progress.ready[dep]
        began = time.monotonic()
        cid = created.get(spec.name) or existing[spec.name].id
        progress.ids[spec.name] = cid
        if step.action != "unchanged":
            rt.emit("container_starting", spec.name)
            await rt.call(engine.start_container, cid)
            rt.emit("container_started", spec.name)
        progress.started[spec.name].set()
        wants_exit = any(
            s.depends_on.get(spec.name) == "completed_successfully" for s in desired.specs
        )
        details = await _wait_until_ready(rt, watcher, spec, cid, wants_exit)
        progress.seconds[spec.name] = time.monotonic() - began
        progress.ready[spec.name].set_result(details)
        if wants_exit:
            progress.done[spec.name].set_result(details)
        rt.emit(
            "container_ready",
            spec.name,
            f"{details.health or details.state} after {progress.seconds[spec.name]:.2f}s",
        )

    await rt.gather(*(bring(s) for s in desired.specs))

    # 5. Every container must still be up now (a fast crash can follow a good start).
    final = await rt.gather(
        *(rt.call(engine.inspect_container, progress.ids[s.name]) for s in desired.specs)
    )
    for spec, details in zip(desired.specs, final, strict=True):
        exited_ok = details is not None and details.state == "exited" and details.exit_code == 0
        completes = any(
            s.depends_on.get(spec.name) == "completed_successfully" for s in desired.specs
        )
        if details is None or (details.state != "running" and not (completes and exited_ok)):
            state = "is gone" if details is None else _describe(details)
            raise await _failure(
                rt,
                spec.name,
                progress.ids[spec.name],
                f"container {spec.name} {state} while starting",
            )

    # 6. Success: drop what was replaced, and orphans when asked.
    replaced_ids = [old_id for old_id, _, _ in journal.replaced.values()]
    await rt.gather(*(rt.call(engine.remove_container, i, force=True) for i in replaced_ids))
    if op.remove_orphans and result.orphans:
        orphans = [existing[n] for n in result.orphans]
        result.containers_removed.extend(await remove_containers(rt, orphans))
    _fill_result(result, desired, plan, progress, final, journal, by_name)


def _describe(details: ContainerDetails) -> str:
    if details.state in ("exited", "dead"):
        return f"exited with code {details.exit_code}"
    return f"is {details.state}"


def _fill_result(
    result: InfrastructureResult,
    desired: Desired,
    plan: StackPlan,
    progress: Progress,
    final: list[ContainerDetails | None],
    journal: Journal,
    by_name: Mapping[str, ContainerSpec],
) -> None:
    details = dict(zip([s.name for s in desired.specs], final, strict=True))
    for wave in plan.waves:
        for name in wave:
            step = plan.step(name)
            if step.action != "unchanged":
                result.containers_started.append(name)
            d = details[name]
            result.containers.append(
                ContainerOutcome(
                    name=name,
                    image=by_name[name].image,
                    action=step.action,
                    wave=step.wave,
                    state=d.state if d else "gone",
                    health=d.health if d else None,
                    container_id=progress.ids[name],
                    ports=step.ports,
                    networks=step.networks,
                    started_at=d.started_at if d else None,
                    seconds_to_ready=round(progress.seconds.get(name, 0.0), 3),
                )
            )
    result.networks_created = sorted(journal.created_networks)
    result.network_created = bool(journal.created_networks)
    result.volumes_created = sorted(journal.created_volumes)


async def _wait_until_ready(
    rt: Runtime, watcher: EventWatcher, spec: ContainerSpec, cid: str, wants_exit: bool
) -> ContainerDetails:
    """Wait for running (or healthy, with a healthcheck; or exit 0 when a dependent needs
    completion), reacting to engine events; fail on exit, unhealthy or timeout."""
    deadline = time.monotonic() + rt.config.container_start_timeout
    while True:
        seen = watcher.seen(cid)
        details = await rt.call(rt.engine.inspect_container, cid)
        if details is None:
            raise await _failure(rt, spec.name, cid, f"container {spec.name} disappeared")
        if wants_exit:
            if details.state in ("exited", "dead"):
                if details.exit_code == 0:
                    return details
                raise await _failure(
                    rt,
                    spec.name,
                    cid,
                    f"container {spec.name} exited with "
                    f"code {details.exit_code}; its dependents need exit 0",
                )
        elif details.state in ("exited", "dead"):
            raise await _failure(
                rt,
                spec.name,
                cid,
                f"container {spec.name} exited with code {details.exit_code} while starting",
            )
        elif details.health == "unhealthy":
            probe = rt.redact(details.last_probe_output or "")
            raise await _failure(
                rt,
                spec.name,
                cid,
                f"container {spec.name} is unhealthy (last probe: {probe[:200]!r})",
            )
        elif details.state == "running" and details.health in (None, "healthy"):
            return details
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            what = "healthy" if details.health else "running"
            raise await _failure(
                rt,
                spec.name,
                cid,
                f"container {spec.name} was not {what} within container_start_timeout="
                f"{rt.config.container_start_timeout:g}s (state {details.state}, health "
                f"{details.health})",
            )
        await watcher.changed_since(cid, seen, min(remaining, RECHECK_SECONDS))


async def _failure(rt: Runtime, name: str, cid: str, message: str) -> ContainerFailed:
    """A ``ContainerFailed`` with the container's last log lines (secrets masked)."""
    try:
        lines = await rt.call(rt.engine.container_logs, cid, tail=LOG_LINES_ON_FAILURE)
    except InfraError:
        lines = []
    lines = [rt.redact(line) for line in lines]
    shown = "; last log lines: " + " | ".join(lines[-5:]) if lines else ""
    rt.emit("container_failed", name, message)
    return ContainerFailed(message + shown, resource=name, last_logs=lines)


async def _rollback(rt: Runtime, desired: Desired, journal: Journal) -> str:
    """Undo this run: remove what it created, put back what it replaced or stopped."""
    rt.emit("rollback", desired.stack, "rolling back")
    await rt.drain()  # calls already on a thread may still create something
    engine = rt.engine
    created = await rt.call(engine.list_containers, {"label": [f"{LABEL_RUN}={rt.run_id}"]})
    removed = await remove_containers(rt, created)
    restored = []
    for name, (old_id, _temporary, was_running) in journal.replaced.items():
        await rt.call(engine.rename_container, old_id, name)
        if was_running:
            await rt.call(engine.start_container, old_id)
        restored.append(name)
    replaced_ids = {old_id for old_id, _, _ in journal.replaced.values()}
    restarted = [cid for cid in journal.stopped if cid not in replaced_ids]
    await rt.gather(*(rt.call(engine.start_container, cid) for cid in restarted))
    volumes, kept_volumes = await remove_volumes(rt, journal.created_volumes)
    networks, kept_networks = await remove_networks(rt, journal.created_networks, removed)
    rt.warnings.extend(kept_volumes + kept_networks)
    parts = [f"removed {len(removed)} container(s)"]
    if networks:
        parts.append("network(s) " + ", ".join(networks))
    if volumes:
        parts.append("volume(s) " + ", ".join(volumes))
    if restored:
        parts.append("restored " + ", ".join(restored))
    if restarted:
        parts.append(f"restarted {len(restarted)} stopped container(s)")
    return "; ".join(parts)
