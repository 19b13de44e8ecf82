"""Pure planning: dependency waves, and what to do with each container given what exists.

Nothing here talks to the engine. ``plan_stack`` takes the desired specs and the observed
containers of the stack and returns typed ``PlanStep`` records; the orchestrator then
executes them wave by wave.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, get_args

from infranb.core.errors import CycleError
from infranb.core.frames import PLAN_FIRST, Schema, frame, join
from infranb.core.options import refresh_after
from infranb.core.specs import ContainerSpec, changed_fields
from infranb.core.updates import choose_order

if TYPE_CHECKING:
    import pandas as pd

Action = Literal[
    "create", "adopt", "recreate", "start", "restart", "unchanged", "remove-orphan", "scale-down",
    "stop", "remove", "update", "copy", "kept", "pause", "unpause", "start-ready", "backup",
    "discard", "restore", "create-volume", "remove-volume", "recover-volume", "remake", "keep",
    "heal", "skip",
]  # fmt: skip
#: "kept": a replacement failed under failure_action pause or continue, and the old
#: container runs again
ACTIONS: tuple[str, ...] = get_args(Action)


def dependency_waves(specs: Sequence[ContainerSpec]) -> list[list[str]]:
    """Group names into waves: each container comes after everything it depends on.

    Within a wave, names keep request order, so the result is deterministic.
    Raises ``CycleError`` naming the cycle.
    """
    names = [s.name for s in specs]
    deps = {s.name: [d for d in s.depends_on if d in names and d != s.name] for s in specs}
    return _waves_from(names, deps)


def _due(spec: ContainerSpec, observation: Observation) -> bool:
    """Whether a scheduled pull policy's window has passed for the spec's image."""
    window = refresh_after(spec.pull_policy)
    if window is None:
        return False
    tagged = observation.last_tagged.get(spec.image)
    now = observation.read_at
    return tagged is None or now is None or now - tagged > window


def _find_cycle(deps: Mapping[str, list[str]], remaining: list[str]) -> list[str]:
    # Every remaining node has an unplaced dependency, so following them must loop.
    path: list[str] = []
    node = remaining[0]
    while node not in path:
        path.append(node)
        node = next(d for d in deps[node] if d in remaining)
    return [*path[path.index(node) :], node]


@dataclass(frozen=True)
class Observed:
    """A container of the stack as the engine reports it."""

    id: str
    name: str
    state: str  # running, exited, created, ...
    image_id: str
    spec_hash: str
    fingerprints: Mapping[str, str]
    exit_code: int | None = None  # for an exited container, when the engine said
    #: for a container infranb did not make (no spec hash): the fields where what it runs
    #: differs from the request, read from its inspect data; None for infranb's own
    differences: tuple[str, ...] | None = None
    #: who made it, as ``labels.source_of`` says ("compose" for docker-compose)
    made_by: str = "infranb"
    #: the Compose service it is a container of (its label), None when it has none
    service: str | None = None
    #: live-updatable settings changed in place since it was made (its inspect data)
    updated: tuple[str, ...] = ()


@dataclass(frozen=True)
class Desired:
    """What the request wants: its specs resolved (secret references read), with each
    container's field fingerprints and spec hash."""

    stack: str
    specs: Sequence[ContainerSpec]
    environments: Mapping[str, Mapping[str, str]] = field(repr=False)
    fingerprints: Mapping[str, Mapping[str, str]] = field(repr=False)
    hashes: Mapping[str, str] = field(repr=False)
    #: per container, the salt of its environment fingerprints
    salts: Mapping[str, str] = field(default_factory=dict, repr=False)
    #: per container, the contents of the files written into it (secret references read)
    files: Mapping[str, Mapping[str, str]] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class Observation:
    """What the engine has that the plan depends on."""

    containers: Mapping[str, Observed]  # the stack's containers, by name
    image_ids: Mapping[str, str | None]  # image reference -> local id, None when missing
    networks: frozenset[str]
    volumes: frozenset[str]
    #: for the images a scheduled pull policy names (``daily``): when a tag last pointed
    #: at each here, and when the engine was read
    last_tagged: Mapping[str, datetime | None] = field(default_factory=dict)
    read_at: datetime | None = None
    #: image references whose registry has another image than the local one (asked, without
    #: a pull, for the images a bring-up pulls anyway: ``always``, a schedule that is due)
    newer_in_registry: frozenset[str] = frozenset()
    #: image reference -> the VOLUMEs its image declares, for the local images of running
    #: containers that are replaced (start-first needs none); absent: not read or not here
    image_volumes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class PlanStep:
    """One step of an operation's plan: what it will do (or did) with one container. Plain
    data: ``to_json`` and ``from_json`` round-trip it (a saved plan reads back equal)."""

    name: str
    action: Action
    wave: int | None
    image: str
    reason: str = ""
    pull: bool = False
    ports: tuple[str, ...] = ()
    networks: tuple[str, ...] = ()
    volumes: tuple[str, ...] = ()
    networks_to_create: tuple[str, ...] = ()
    volumes_to_create: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    container_id: str | None = None
    #: what it waits for: (container, condition) pairs
    depends_on: tuple[tuple[str, str], ...] = ()
    #: a recreate's changed fields (its ``reason`` says them in a sentence)
    changed: tuple[str, ...] = ()
    #: how a running container is replaced: "start-first" (the new one answers first) or
    #: "stop-first"; "" for every other action
    order: str = ""
    #: why that order, in one sentence ("" for the plain default)
    order_reason: str = ""

    def to_json(self) -> dict[str, Any]:
        """The step as JSON's types (tuples as lists)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PlanStep:
        """The step ``to_json`` gave (lists back to tuples, pairs included)."""

        def tupled(value: Any) -> Any:
            return tuple(tupled(v) for v in value) if isinstance(value, list) else value

        return cls(**{key: tupled(value) for key, value in data.items()})


@dataclass
class StackPlan:
    """The whole plan: steps in wave order, then orphans; what must be created first."""

    stack: str
    steps: list[PlanStep] = field(default_factory=list)
    waves: list[list[str]] = field(default_factory=list)
    images_to_pull: list[str] = field(default_factory=list)
    networks_to_create: list[str] = field(default_factory=list)
    volumes_to_create: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: stack containers the request no longer names (removed only when asked)
    orphans: list[str] = field(default_factory=list)
    #: containers of a service the request runs fewer of (its highest numbers): removed
    scaled_down: list[str] = field(default_factory=list)
    #: image reference -> local id, of the images already on the engine
    image_ids: dict[str, str] = field(default_factory=dict)

    def step(self, name: str) -> PlanStep:
        return next(s for s in self.steps if s.name == name)


def _dependents(specs: Sequence[ContainerSpec], roots: set[str]) -> set[str]:
    """Every container restarted after one of ``roots`` is replaced: each that asks for it
    (``depends_on``'s ``restart: true``, as Compose v2 has it), and in turn those that ask
    for it after them."""
    found: set[str] = set()
    changed = True
    while changed:
        changed = False
        for spec in specs:
            if spec.name not in found and any(d in roots | found for d in spec.restart_with):
                found.add(spec.name)
                changed = True
    return found


def _recreated_ancestors(specs: Sequence[ContainerSpec], name: str, touched: set[str]) -> str:
    """The recreated containers ``name`` depends on through others (for the reason text)."""
    by_name = {s.name: s for s in specs}
    found: list[str] = []
    seen: set[str] = set()
    todo = list(by_name[name].depends_on)
    while todo:
        dep = todo.pop(0)
        if dep in seen or dep not in by_name:
            continue
        seen.add(dep)
        if dep in touched:
            found.append(dep)
        todo += list(by_name[dep].depends_on)
    return ", ".join(sorted(found)) + " (through its dependencies)"


def _made_by(current: Observed) -> str:
    return "made by docker-compose" if current.made_by == "compose" else "made outside infranb"


def plan_stack(
    desired: Desired,
    observation: Observation,
    *,
    default_network: str,
    warnings: Mapping[str, list[str]] | None = None,
    remove_orphans: bool = True,
    update_order: str = "stop-first",
) -> StackPlan:
    """Compare the desired stack with what the engine has; decide one action per container
    and what to pull and create first. Orphans get a ``remove-orphan`` step only with
    ``remove_orphans``: the plan is what will happen. A running container that is replaced
    gets its order (``update_order``: the config's default where its ``update_config`` is
    silent).
    """
    stack, specs = desired.stack, desired.specs
    fingerprints, hashes = desired.fingerprints, desired.hashes
    observed, image_ids = observation.containers, observation.image_ids
    existing_networks, existing_volumes = observation.networks, observation.volumes
    waves = dependency_waves(specs)
    wave_of = {name: i for i, wave in enumerate(waves) for name in wave}
    by_name = {s.name: s for s in specs}
    plan = StackPlan(stack=stack, waves=waves)
    plan.image_ids = {ref: i for ref, i in image_ids.items() if i}
    # pull_policy "always" pulls what is there too; "never" never pulls (a missing image
    # is refused before anything is touched); "build" is built by up() first; a schedule
    # ("daily") pulls once the tag here is older than its window, as Compose v2 does.
    plan.images_to_pull = sorted(
        {
            s.image
            for s in specs
            if s.pull_policy == "always"
            or (image_ids.get(s.image) is None and s.pull_policy not in ("never", "build"))
            or _due(s, observation)
        }
    )
    plan.networks_to_create = sorted(
        {n for s in specs for n in joined_networks(s, default_network)} - existing_networks
    )
    plan.volumes_to_create = sorted(
        {m.source for s in specs for m in s.volumes if m.kind == "volume"} - existing_volumes
    )

    jobs = {d for s in specs for d, c in s.depends_on.items() if c == "completed_successfully"}
    actions: dict[str, tuple[Action, str]] = {}
    changed_fields_of: dict[str, tuple[str, ...]] = {}
    for spec in specs:
        current = observed.get(spec.name)
        if current is None:
            actions[spec.name] = ("create", "not on the engine yet")
            continue
        if current.differences is not None:  # made by docker-compose (or by hand)
            who = _made_by(current)
            if current.differences:
                changed = ", ".join(current.differences)
                actions[spec.name] = ("recreate", f"changed: {changed} ({who})")
                changed_fields_of[spec.name] = tuple(current.differences)
            elif current.state != "running" and not (
                current.state == "exited" and current.exit_code == 0 and spec.name in jobs
            ):
                actions[spec.name] = ("start", f"container is {current.state} ({who})")
            else:
                actions[spec.name] = ("adopt", f"the same as asked: {current.name}, {who}")
            continue
        reasons = changed_fields(current.fingerprints, fingerprints[spec.name])
        reasons += [f"{f} (changed in place since it was made)" for f in current.updated]
        wanted_image = image_ids.get(spec.image)
        if current.spec_hash != hashes[spec.name] and not reasons:
            reasons = ["spec"]
        if wanted_image is not None and current.image_id != wanted_image and "image" not in reasons:
            reasons.append("image (the reference now points to another image)")
        elif (
            spec.image in observation.newer_in_registry
            and spec.image in plan.images_to_pull
            and "image" not in reasons
        ):
            reasons.append("image (the registry has a newer one, pulled first)")
        if reasons:
            actions[spec.name] = ("recreate", "changed: " + ", ".join(reasons))
            changed_fields_of[spec.name] = tuple(reasons)
        elif current.state == "exited" and current.exit_code == 0 and spec.name in jobs:
            # A one-shot job (a migration) that already succeeded is not run again.
            actions[spec.name] = ("unchanged", "completed successfully")
        elif current.state != "running":
            actions[spec.name] = ("start", f"container is {current.state}")
        else:
            actions[spec.name] = ("unchanged", "")
    # A dependent of a container that goes away must wait for it again, so it restarts.
    touched = {n for n, (a, _) in actions.items() if a == "recreate"}
    for name in _dependents(specs, touched):
        if actions[name][0] == "unchanged":
            upstream = sorted(d for d in by_name[name].depends_on if d in touched)
            via = ", ".join(upstream) or _recreated_ancestors(specs, name, touched)
            actions[name] = ("restart", f"depends on {via}, which is recreated")

    for wave in waves:
        for name in wave:
            spec = by_name[name]
            action, reason = actions[name]
            nets = joined_networks(spec, default_network)
            current = observed.get(name)
            order, order_reason = "", ""
            if action == "recreate" and current is not None and current.state == "running":
                volumes = observation.image_volumes.get(spec.image)
                if spec.image in plan.images_to_pull:
                    volumes = None  # the image that runs is the one pulled
                order, order_reason = choose_order(spec, volumes, update_order)
                policy = spec.update_config
                if policy and policy.failure_action in ("pause", "continue"):
                    then = {
                        "pause": "its service's later replacements are not made",
                        "continue": "the run goes on",
                    }[policy.failure_action]
                    order_reason += (
                        f"; if its replacement fails, the old container runs again and {then}"
                        f" (failure_action {policy.failure_action}), with no rollback"
                    )
            plan.steps.append(
                PlanStep(
                    name=name,
                    action=action,
                    wave=wave_of[name],
                    image=spec.image,
                    reason=reason,
                    pull=spec.image in plan.images_to_pull,
                    ports=tuple(str(p) for p in spec.ports),
                    networks=nets,
                    volumes=tuple(str(m) for m in spec.volumes),
                    networks_to_create=tuple(n for n in nets if n in plan.networks_to_create),
                    volumes_to_create=tuple(
                        m.source for m in spec.volumes if m.source in plan.volumes_to_create
                    ),
                    warnings=tuple((warnings or {}).get(name, [])),
                    container_id=current.id if current else None,
                    depends_on=tuple(spec.depends_on.items()),
                    changed=changed_fields_of.get(name, ()),
                    order=order,
                    order_reason=order_reason,
                )
            )
    unclaimed = sorted(set(observed) - set(by_name))
    services = {s.service_name for s in specs}
    # A service the request still runs, with fewer containers: not an orphan.
    plan.scaled_down = [n for n in unclaimed if observed[n].service in services]
    plan.orphans = [n for n in unclaimed if n not in plan.scaled_down]
    for name in plan.scaled_down:
        plan.steps.append(
            PlanStep(
                name=name,
                action="scale-down",
                wave=None,
                image="",
                reason=f"service {observed[name].service} runs fewer containers now",
                container_id=observed[name].id,
            )
        )
    for name in plan.orphans if remove_orphans else []:
        orphan = observed[name]
        plan.steps.append(
            PlanStep(
                name=name,
                action="remove-orphan",
                wave=None,
                image="",
                reason="in the stack but not in this request",
                container_id=orphan.id,
            )
        )
    return plan


@dataclass(frozen=True)
class Published:
    """A host port a running container publishes, as the engine lists it."""

    container: str
    host_ip: str
    host_port: int
    protocol: str

    @classmethod
    def parse(cls, container: str, text: str) -> Published | None:
        """``"127.0.0.1:18090->80/tcp"`` (the listing's form); ``None`` for an unpublished port."""
        host, arrow, inner = text.partition("->")
        ip, _, port = host.rpartition(":")
        if not arrow or not port.isdigit():
            return None
        return cls(container, ip.strip("[]"), int(port), inner.partition("/")[2] or "tcp")


def _overlap(a: str, b: str) -> bool:
    """Two host addresses collide when equal or when either is a wildcard."""
    wildcard = ("", "0.0.0.0", "::")
    return a in wildcard or b in wildcard or a == b


def port_conflicts(
    specs: Sequence[ContainerSpec], published: Sequence[Published]
) -> list[tuple[int, ContainerSpec, str]]:
    """Host ports the request wants that another running container already publishes:
    (index of the spec, the spec, the message). ``published`` excludes this stack's own
    containers of the same names (they are kept or replaced by this run)."""
    found = []
    for index, spec in enumerate(specs):
        for port in spec.ports:
            if port.host_port is None:
                continue
            for other in published:
                if (
                    other.host_port == port.host_port
                    and other.protocol == port.protocol
                    and _overlap(other.host_ip, port.host_ip)
                ):
                    address = f"{port.host_ip or '0.0.0.0'}:{port.host_port}"
                    found.append(
                        (
                            index,
                            spec,
                            f"port {address}/{port.protocol} is already in use by container "
                            f"{other.container}; stop it or publish another port",
                        )
                    )
                    break
    return found


def joined_networks(spec: ContainerSpec, default_network: str) -> tuple[str, ...]:
    """The networks a container joins: none with a ``network_mode`` (it shares another
    stack, or is the host's, or has none), else its own or the default network."""
    if spec.network_mode is not None:
        return ()
    return spec.networks or (default_network,)


def container_warnings(spec: ContainerSpec, default_network: str, *, linked: bool) -> list[str]:
    """What a reviewer should notice about one container before it runs.

    ``linked``: it depends on, or is depended on by, another container of the request.
    """
    notes: list[str] = []
    nets = spec.networks or (default_network,)
    if "bridge" in nets and linked:
        notes.append(
            "on the default 'bridge' network, where container names do not resolve; "
            "put containers that talk to each other on a named network"
        )
    for mount in spec.sensitive_mounts():
        notes.append(f"bind-mounts the sensitive host path {mount.source}")
    if spec.privileged:
        notes.append("runs privileged: full access to the host")
    return notes


def teardown_waves(depends_on: Mapping[str, Sequence[str]]) -> list[list[str]]:
    """Reverse dependency order for stopping: dependents first, then what they depend on."""
    names = list(depends_on)
    deps = {n: [d for d in depends_on[n] if d in depends_on] for n in names}
    try:
        waves = _waves_from(names, deps)
    except CycleError:
        return [names]
    return list(reversed(waves))


def _waves_from(names: list[str], deps: Mapping[str, list[str]]) -> list[list[str]]:
    placed: set[str] = set()
    waves: list[list[str]] = []
    while len(placed) < len(names):
        wave = [n for n in names if n not in placed and all(d in placed for d in deps[n])]
        if not wave:
            raise CycleError(_find_cycle(deps, [n for n in names if n not in placed]))
        placed.update(wave)
        waves.append(wave)
    return waves


#: the table of a plan (``plan.to_frame()``, a dry run's result)
PLAN_SCHEMA: Schema = {
    "wave": "Int64",
    "name": "string",
    "action": ACTIONS,
    "image": "string",
    "pull": "boolean",
    "order": "string",
    "reason": "string",
    "ports": "string",
    "networks": "string",
    "volumes": "string",
    "create_networks": "string",
    "create_volumes": "string",
    "warnings": "string",
}


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
                "order": s.order or None,
                "reason": "; ".join(r for r in (s.reason, s.order_reason) if r),
                "ports": join(s.ports),
                "networks": join(s.networks),
                "volumes": join(s.volumes),
                "create_networks": join(s.networks_to_create),
                "create_volumes": join(s.volumes_to_create),
                "warnings": "; ".join(s.warnings),
            }
            for s in steps
        ),
        PLAN_SCHEMA,
        first=PLAN_FIRST,
    )
