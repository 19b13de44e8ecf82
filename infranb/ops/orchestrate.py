"""orchestrate_containers: converge a stack the way compose does.

1. parse: the request into a typed ``Orchestrate`` command (pure, every problem by path);
2. observe: read the stack's containers, name holders, images, networks and volumes;
3. plan: ``planning.plan_stack`` decides one action per container and what to pull and
   create (pure; a dry run stops here);
4. execute (``BringUp``, no decisions of its own): stop what the plan replaces, dependents
   first; pull; create networks and volumes; create every new container; start each as soon
   as its dependencies meet their condition (so the plan's waves are dependency depths, not
   barriers); check every container is still up; drop what was replaced, and orphans if asked;
5. on any failure or cancellation, roll back from the record of what this run did, plus
   whatever carries this run's label (an engine call in flight when the run failed).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import re
import socket
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from secrets import token_hex
from typing import TYPE_CHECKING, Any

from infranb.core import labels as L
from infranb.core.archives import read_manifest
from infranb.core.backups import masked_options
from infranb.core.drift import (
    ContainerConfig,
    Difference,
    ImageConfig,
    desired_config,
    differences,
    live_differences,
)
from infranb.core.errors import (
    ContainerFailed,
    CycleError,
    EngineUnavailable,
    InfraError,
    NotFound,
    Problem,
    ValidationError,
    append_note,
)
from infranb.core.frames import Schema
from infranb.core.options import refresh_after
from infranb.core.planning import (
    ACTIONS,
    Desired,
    Observation,
    Observed,
    PlanStep,
    Published,
    StackPlan,
    container_warnings,
    dependency_waves,
    plan_stack,
    port_conflicts,
)
from infranb.core.records import (
    STATES,
    ContainerDetails,
    ContainerInfo,
    ContainerOutcome,
    EngineEvent,
    ImageOutcome,
    NetworkInfo,
    RemovedResource,
    short_id,
)
from infranb.core.secrets import MASK, SecretRef, is_secret_key
from infranb.core.specs import (
    ContainerSpec,
    NetworkSpec,
    SpecProblem,
    VolumeSpec,
    check_project_name,
    decode_fingerprints,
    encode_fingerprints,
    parse_containers,
    parse_resources,
    spec_hash,
    spec_problem,
)
from infranb.core.steps import Step
from infranb.core.updates import start_first_blockers
from infranb.engines.base import EventStream
from infranb.ops import registry
from infranb.ops.base import Operation, Outcome
from infranb.ops.builds import BuildImage, build, parse_build, preview_build, unbuild
from infranb.ops.common import (
    HealthChecks,
    Kept,
    Undone,
    after_failure,
    prior_state,
    remove_containers,
    remove_networks,
    remove_volumes,
    stop_containers,
)
from infranb.ops.environments import resolve_environments, resolve_files
from infranb.ops.hooks import pre_stop_label, run_hooks
from infranb.ops.replacing import Swapped, next_name, put_back, replaced_name, swap
from infranb.ops.steps import run_steps
from infranb.ops.volume_steps import remake, remake_spec, restore_into, take_backup
from infranb.ops.volumes import observe_volumes, replace_steps

if TYPE_CHECKING:
    from infranb.core.config import InfrastructureManagerConfig
    from infranb.core.request import InfrastructureOperation
    from infranb.core.result import InfrastructureResult
    from infranb.runtime import Runtime

LOG_LINES_ON_FAILURE = 20
#: what infranb writes as ``com.docker.compose.version``: the Compose whose labels it writes,
#: marked as infranb's (semver build metadata). It must read as a version: docker-compose
#: 1.29 compares it with 1.21.0 (and fails on a word).
COMPOSE_VERSION = "2.40.3+infranb"
#: infranb's dependency conditions in Compose's words (its depends_on label)
COMPOSE_CONDITIONS = {
    "started": "service_started",
    "ready": "service_started",
    "healthy": "service_healthy",
    "completed_successfully": "service_completed_successfully",
}
RECHECK_SECONDS = 2.0  # re-inspect this often even without events, in case one was missed


@dataclass(frozen=True)
class Orchestrate:
    """The request as a command: the stack and its typed container specs."""

    stack: str
    specs: tuple[ContainerSpec, ...]
    dry_run: bool = False
    remove_orphans: bool = False
    networks: Mapping[str, NetworkSpec] = field(default_factory=dict)
    volumes: Mapping[str, VolumeSpec] = field(default_factory=dict)
    #: the Compose project's folder and files (its containers' Compose labels)
    project_dir: str | None = None
    config_files: tuple[str, ...] = ()
    #: images to build before the bring-up (a Compose project's ``build:``), under its
    #: rollback: the missing ones, or all of them with ``rebuild``
    builds: tuple[BuildImage, ...] = ()
    rebuild: bool = False
    #: volume -> the archive written into it when this run creates it (a teardown's revert
    #: brings its snapshots back so)
    restore_volumes: Mapping[str, str] = field(default_factory=dict)
    #: volume -> the archive that takes the place of what it holds once the stack is up
    #: (a revert of a run that snapshotted it): what it holds is backed up first
    replace_volumes: Mapping[str, str] = field(default_factory=dict)

    def must_complete(self, name: str) -> bool:
        """A dependent waits for this container to exit 0 (a one-shot job)."""
        return any(s.depends_on.get(name) == "completed_successfully" for s in self.specs)

    def linked(self, name: str) -> bool:
        spec = next(s for s in self.specs if s.name == name)
        return bool(spec.depends_on) or any(name in s.depends_on for s in self.specs)


def parse(
    op: InfrastructureOperation, config: InfrastructureManagerConfig
) -> tuple[Orchestrate | None, list[Problem]]:
    if not isinstance(op.containers, list | tuple) or not op.containers:
        return None, [
            Problem("containers", "list at least one container, e.g. [{'image': ..., 'name': ...}]")
        ]
    specs, problems = parse_containers(op.containers)
    stack = op.stack or config.default_stack
    try:
        check_project_name(stack, "stack" if op.stack else "config.default_stack")
    except SpecProblem as e:
        problems.append(e.problem)
    if not problems:
        try:
            dependency_waves(specs)
        except CycleError as e:
            problems += e.problems
    if not (config.allow_sensitive_mounts or op.allow_sensitive_mounts):
        problems += _sensitive_problems(specs)
    networks, network_problems = parse_resources(op.networks, "networks")
    volumes, volume_problems = parse_resources(op.volumes, "volumes")
    problems += network_problems + volume_problems
    builds, build_problems = _parse_builds(op.params)
    problems += build_problems
    seeds, seed_problems = _parse_restores(op.params, "restore_volumes")
    replacing, replace_problems = _parse_restores(op.params, "replace_volumes")
    problems += seed_problems + replace_problems
    if problems:
        return None, problems
    command = Orchestrate(
        stack,
        tuple(specs),
        op.dry_run,
        op.remove_orphans,
        networks,
        volumes,
        op.project_dir,
        tuple(op.config_files),
        builds,
        bool((op.params or {}).get("rebuild", False)) if isinstance(op.params, dict) else False,
        seeds,
        replacing,
    )
    return command, []


def _parse_restores(params: object, key: str) -> tuple[dict[str, str], list[Problem]]:
    """``params.restore_volumes`` or ``params.replace_volumes``: volume -> an archive with
    its manifest beside it."""
    listed = params.get(key) if isinstance(params, dict) else None
    if listed is None:
        return {}, []
    if not isinstance(listed, dict):
        return {}, [Problem(f"params.{key}", "must map volume names to archives")]
    problems = []
    for volume, archive in listed.items():
        where = f"params.{key}.{volume}"
        if not Path(str(archive)).expanduser().is_file():
            problems.append(Problem(where, f"{archive} is not a file (pruned?)"))
            continue
        try:
            read_manifest(Path(str(archive)).expanduser())
        except ValueError as e:
            problems.append(Problem(where, str(e)))
    return {str(k): str(v) for k, v in listed.items()}, problems


def _parse_builds(params: object) -> tuple[tuple[BuildImage, ...], list[Problem]]:
    """``params``: ``builds`` (each a build's ``image_params``) and ``rebuild``."""
    if not isinstance(params, dict):
        return (), []  # the request's own check names it
    problems = [
        Problem(f"params.{key}", f"orchestrate_containers does not take {key!r}; it takes "
                "builds, rebuild, restore_volumes, replace_volumes")
        for key in params
        if key not in ("builds", "rebuild", "restore_volumes", "replace_volumes")
    ]  # fmt: skip
    if not isinstance(params.get("rebuild", False), bool):
        problems.append(Problem("params.rebuild", "must be True or False"))
    listed = params.get("builds") or []
    if not isinstance(listed, list | tuple):
        return (), [*problems, Problem("params.builds", "must be a list of builds")]
    builds = []
    for i, each in enumerate(listed):
        found, wrong = parse_build(each, f"params.builds[{i}]")
        problems += wrong
        if found is not None:
            builds.append(found)
    return tuple(builds), problems


def _sensitive_problems(specs: list[ContainerSpec]) -> list[Problem]:
    problems = []
    for index, spec in enumerate(specs):
        for mount in spec.sensitive_mounts():
            problems.append(
                spec_problem(
                    index,
                    spec.name,
                    "volumes",
                    f"bind-mounting {mount.source} gives the container control of the host; "
                    "set allow_sensitive_mounts=True to allow it",
                )
            )
        if spec.privileged:
            problems.append(
                spec_problem(
                    index,
                    spec.name,
                    "privileged",
                    "a privileged container controls the host; set allow_sensitive_mounts=True "
                    "to allow it",
                )
            )
    return problems


def desired_state(
    command: Orchestrate,
    environments: Mapping[str, Mapping[str, str]],
    existing: Mapping[str, ContainerInfo],
    files: Mapping[str, Mapping[str, str]] | None = None,
) -> Desired:
    """Fingerprints and hashes, salted with each existing container's salt (a new random
    one for a new container; none for a container made before salts, so it is not
    recreated just for that)."""
    salts = {
        s.name: existing[s.name].labels.get(L.SALT, "") if s.name in existing else token_hex(8)
        for s in command.specs
    }
    fingerprints = {
        s.name: s.field_fingerprints(environments[s.name], salts[s.name], (files or {}).get(s.name))
        for s in command.specs
    }
    hashes = {name: spec_hash(fp) for name, fp in fingerprints.items()}
    specs = list(command.specs)
    return Desired(
        command.stack, specs, environments, fingerprints, hashes, salts, dict(files or {})
    )


async def observe_and_plan(
    rt: Runtime, command: Orchestrate, environments: Mapping[str, Mapping[str, str]]
) -> tuple[StackPlan, dict[str, ContainerInfo], Desired, dict[str, ContainerDetails]]:
    """Read what the engine has for this request and plan against it; also the inspect of
    each container the plan compared from inspect data (its ready wait starts from it)."""
    engine = rt.engine
    names = [s.name for s in command.specs]
    wanted_images = sorted({s.image for s in command.specs})
    notes = []
    # Every running container is listed only when a host port or a written volume could
    # clash: on a busy host that is the longest listing of all.
    clash = any(p.host_port is not None for s in command.specs for p in s.ports) or any(
        m.kind == "volume" and not m.read_only for s in command.specs for m in s.volumes
    )

    async def stack_and_holders() -> tuple[list[ContainerInfo], list[ContainerInfo]]:
        """The stack's containers, then who holds the names it does not hold itself (the
        name listing is slow on a busy host; a re-run of a stack needs none)."""
        rows = services_of(await L.in_stack(rt.call, engine.list_containers, command.stack))
        own = {r.name for r in rows}
        free = [n for n in names if n not in own]
        return rows, (await rt.call(engine.list_containers, names=free) if free else [])

    try:
        (stack_rows, holders), running, networks, volumes, *image_ids = await rt.gather(
            stack_and_holders(),
            rt.call(engine.list_containers, state="running") if clash else _nothing(),
            rt.call(engine.list_networks),
            rt.call(engine.list_volumes),
            *(rt.call(engine.image_id, image) for image in wanted_images),
        )
    except EngineUnavailable:
        if not command.dry_run:
            raise
        # Binder and other engine-less places can still review a plan.
        stack_rows, holders, running, volumes = [], [], [], []
        image_ids = [None] * len(wanted_images)
        networks = [NetworkInfo(id=n, name=n, driver="", labels={}) for n in L.BUILTIN_NETWORKS]
        notes.append("No Docker engine is reachable: this plan assumes an empty engine.")
    # The names already on the engine (a v1 container "P_S_1") are identifiers too.
    rt.redact = rt.redact.extend(
        (), [command.stack, *(r.name for r in [*stack_rows, *holders, *running])]
    )
    existing, unmatched = match_containers(command.specs, stack_rows)
    desired = desired_state(command, environments, existing, resolve_files(command.specs, rt))
    image_by_ref = dict(zip(wanted_images, image_ids, strict=True))
    # The second and last round of reads, each needing the first: the host ports, and the
    # inspect of each container the request names (infranb's own for what was changed in
    # place, the others for the adoption check), all at once.
    taken, (compared, inspected), updated, (last_tagged, newer), image_volumes = await rt.gather(
        _taken_ports(rt, desired, list(existing.values()), running),
        compare_foreign(rt, desired, existing, image_by_ref),
        updated_in_place(rt, desired, existing),
        _pull_policy_reads(rt, command.specs, image_by_ref, existing),
        _image_volumes(rt, command.specs, image_by_ref, existing),
    )
    problems = _held_names(desired, holders, stack_rows) + taken
    if problems:
        raise ValidationError(problems)
    shared = _shared_volumes(command, stack_rows, running)
    if shared and not command.dry_run:
        raise ValidationError(shared)
    notes += [f"a real run would be refused: {p.path}: {p.message}" for p in shared]
    observed = {
        name: Observed(
            id=row.id,
            name=row.name,
            state=row.state,
            image_id=row.image_id,
            spec_hash=row.labels.get(L.SPEC_HASH, ""),
            fingerprints=decode_fingerprints(row.labels.get(L.SPEC_FIELDS, "")),
            exit_code=_exit_code(row.status),
            differences=compared.get(name),
            made_by=L.source_of(row.labels),
            service=row.labels.get(L.COMPOSE_SERVICE),
            updated=updated.get(name, ()),
        )
        for name, row in [*existing.items(), *((r.name, r) for r in unmatched)]
    }
    observation = Observation(
        containers=observed,
        image_ids=image_by_ref,
        networks=frozenset(n.name for n in networks),
        volumes=frozenset(v.name for v in volumes),
        last_tagged=last_tagged,
        read_at=datetime.now(UTC),
        newer_in_registry=newer,
        image_volumes=image_volumes,
    )
    plan = plan_stack(
        desired,
        observation,
        default_network=rt.config.default_network,
        warnings={
            s.name: container_warnings(s, rt.config.default_network, linked=command.linked(s.name))
            for s in desired.specs
        },
        remove_orphans=command.remove_orphans,
        update_order=rt.config.update_order,
    )
    plan.notes.extend(notes)
    missing = [
        f"network {n!r}" for n in plan.networks_to_create if _external(command.networks, n)
    ] + [f"volume {v!r}" for v in plan.volumes_to_create if _external(command.volumes, v)]
    if missing and not notes:  # without an engine, a dry run cannot know
        raise NotFound(
            f"external {', '.join(missing)} not found: infranb uses external networks and "
            "volumes but never creates them; create them first (docker network create / "
            "docker volume create) or drop external: true"
        )
    # The orphans too: the journal's prior state and remove_orphans look them up by name.
    return plan, {**{r.name: r for r in unmatched}, **existing}, desired, inspected


async def _pull_policy_reads(
    rt: Runtime,
    specs: Sequence[ContainerSpec],
    image_ids: Mapping[str, str | None],
    existing: Mapping[str, ContainerInfo],
) -> tuple[dict[str, datetime | None], frozenset[str]]:
    """What the pull policies that may pull a present image need (``always``, a schedule):
    when each image's tag was last set here, and which ones the registry has a newer image
    for (its manifest's digest against the ``RepoDigests`` of the image the tag names here,
    or, where the tag is gone, of the image the container runs; no layer is fetched). A
    registry that cannot be asked is no newer image: the pull then says what is wrong."""
    scheduled = sorted(
        {s.image for s in specs if refresh_after(s.pull_policy) and image_ids.get(s.image)}
    )
    # The image to compare with, per reference: the tag's, else a running container's.
    compared: dict[str, str] = {}
    for spec in specs:
        if spec.pull_policy == "always" or refresh_after(spec.pull_policy):
            here = image_ids.get(spec.image) or (
                existing[spec.name].image_id if spec.name in existing else None
            )
            if here:
                compared.setdefault(spec.image, here)
    pulled = sorted(compared)
    if not pulled:
        return {}, frozenset()

    async def registry_digest(reference: str) -> str | None:
        try:
            return await rt.call(rt.engine.registry_digest, reference)
        except InfraError:
            return None

    configs, images, *digests = await rt.gather(
        rt.gather(*(rt.call(rt.engine.image_config, r) for r in scheduled)),
        rt.call(rt.engine.list_images),
        *(registry_digest(r) for r in pulled),
    )
    tagged = {r: (c.last_tagged if c else None) for r, c in zip(scheduled, configs, strict=True)}
    local = {i.id: i.manifest_digests for i in images}
    newer = frozenset(
        r
        for r, digest in zip(pulled, digests, strict=True)
        if digest is not None and local.get(compared[r]) and digest not in local[compared[r]]
    )
    return tagged, newer


async def _image_volumes(
    rt: Runtime,
    specs: Sequence[ContainerSpec],
    image_ids: Mapping[str, str | None],
    existing: Mapping[str, ContainerInfo],
) -> dict[str, tuple[str, ...]]:
    """The VOLUMEs declared by the local images of the running containers that may be
    replaced start-first (two copies must not share the anonymous volume one keeps)."""
    default = rt.config.update_order
    wanted = sorted(
        {
            s.image
            for s in specs
            if image_ids.get(s.image)
            and s.name in existing
            and existing[s.name].state == "running"
            and ((s.update_config and s.update_config.order) or default) != "stop-first"
        }
    )
    configs = await rt.gather(*(rt.call(rt.engine.image_config, r) for r in wanted))
    return {r: tuple(c.volumes) for r, c in zip(wanted, configs, strict=True) if c is not None}


async def _nothing() -> list[ContainerInfo]:
    return []


def services_of(rows: Sequence[ContainerInfo]) -> list[ContainerInfo]:
    """The stack's containers less ``docker compose run`` ones (a one-off is not a
    service's container)."""
    return [r for r in rows if r.labels.get(L.COMPOSE_ONEOFF) != "True"]


def match_containers(
    specs: Sequence[ContainerSpec], stack_rows: Sequence[ContainerInfo]
) -> tuple[dict[str, ContainerInfo], list[ContainerInfo]]:
    """Which container of the stack is which spec's, and the ones none claims (orphans).

    A spec's container is the one of its name; else the one Compose's labels say is its
    service's of its number, whatever it is called (v1 names it ``P_S_1``, v2 ``P-S-1``).
    """
    by_name = {r.name: r for r in stack_rows}
    claimed: set[str] = set()
    existing: dict[str, ContainerInfo] = {}
    for spec in specs:
        row = by_name.get(spec.name)
        if row is None:
            of_service = sorted(
                (
                    r
                    for r in stack_rows
                    if r.labels.get(L.COMPOSE_SERVICE) == spec.service_name
                    and r.id not in claimed
                    and r.name not in {s.name for s in specs}
                ),
                key=lambda r: r.name,
            )
            # The service's container of this number (P-S-2 is number 2).
            row = next(
                (r for r in of_service if r.labels.get(L.COMPOSE_NUMBER) == str(spec.number)),
                None,
            )
        if row is not None and row.id not in claimed:
            existing[spec.name] = row
            claimed.add(row.id)
    return existing, [r for r in stack_rows if r.id not in claimed]


async def updated_in_place(
    rt: Runtime, desired: Desired, existing: Mapping[str, ContainerInfo]
) -> dict[str, tuple[str, ...]]:
    """For each of infranb's own containers, the live-updatable settings (restart, limits)
    someone changed in place since it was made (``docker update``, ``manager.update``):
    its labels cannot say, its inspect data can."""
    own = [s for s in desired.specs if s.name in existing and L.is_managed(existing[s.name].labels)]
    details = await rt.gather(
        *(rt.call(rt.engine.inspect_container, existing[s.name].id) for s in own)
    )
    found: dict[str, tuple[str, ...]] = {}
    for spec, details_ in zip(own, details, strict=True):
        if details_ is None or details_.config is None:
            continue
        asked = ContainerConfig(
            image_id="",
            restart=spec.restart or "no",
            mem_limit=spec.mem_limit or 0,
            cpus=spec.cpus or 0.0,
            options={"pids_limit": spec.pids_limit} if spec.pids_limit else {},
        )
        changed = live_differences(asked, details_.config)
        if changed:
            found[spec.name] = tuple(changed)
    return found


async def compare_foreign(
    rt: Runtime,
    desired: Desired,
    existing: Mapping[str, ContainerInfo],
    image_ids: Mapping[str, str | None],
) -> tuple[dict[str, tuple[str, ...]], dict[str, ContainerDetails]]:
    """For each container infranb did not make (it has no spec hash), the fields where its
    inspect data differs from the request (the adoption check), and that inspect."""
    foreign = [
        s for s in desired.specs if s.name in existing and not L.is_managed(existing[s.name].labels)
    ]
    if not foreign:
        return {}, {}
    found, details = await container_differences(
        rt, desired.environments, foreign, existing, image_ids
    )
    fields = {
        name: tuple(dict.fromkeys(d.field.split(".")[0] for d in diffs))
        for name, diffs in found.items()
    }
    return fields, details


async def container_differences(
    rt: Runtime,
    environments: Mapping[str, Mapping[str, str]],
    specs: Sequence[ContainerSpec],
    existing: Mapping[str, ContainerInfo],
    image_ids: Mapping[str, str | None],
) -> tuple[dict[str, list[Difference]], dict[str, ContainerDetails]]:
    """Every difference between what each spec asks and what its container runs, and the
    inspect each was read from (by name; a container gone meanwhile is left out)."""
    engine = rt.engine
    refs = sorted({s.image for s in specs})
    inspected, images_ = await rt.gather(
        rt.gather(*(rt.call(engine.inspect_container, existing[s.name].id) for s in specs)),
        rt.gather(*(rt.call(engine.image_config, ref) for ref in refs)),
    )
    image_of = dict(zip(refs, images_, strict=True))
    found: dict[str, list[Difference]] = {}
    details: dict[str, ContainerDetails] = {}
    for spec, read in zip(specs, inspected, strict=True):
        actual = read.config if read is not None else None
        if read is None or actual is None:
            continue
        details[spec.name] = read
        image = image_of[spec.image] or ImageConfig()
        want = desired_config(
            spec,
            environments[spec.name],
            image_ids.get(spec.image) or image.id or "(not on the engine)",
            image,
            default_network=rt.config.default_network,
        )
        found[spec.name] = differences(want, actual, image, shown=_shown(rt))
    return found, details


DRIFT_SCHEMA: Schema = {
    "container": "string",
    "service": "string",
    "made_by": ("infranb", "compose", "by hand"),
    "field": "string",
    "desired": "string",
    "actual": "string",
}


async def drift(command: Orchestrate, rt: Runtime) -> list[dict[str, str]]:
    """Every difference between what ``command`` asks and what runs in its stack, read from
    inspect data (whoever made the containers): one row per field, secrets masked; a
    missing container and a container the request does not name are rows too."""
    engine = rt.engine
    environments = resolve_environments(command.specs, rt)
    stack_rows = services_of(await L.in_stack(rt.call, engine.list_containers, command.stack))
    existing, unmatched = match_containers(command.specs, stack_rows)
    present = [s for s in command.specs if s.name in existing]
    found, _ = await container_differences(rt, environments, present, existing, {})
    rows = []
    for spec in command.specs:
        row = existing.get(spec.name)
        if row is None:
            rows.append(
                _drift_row(spec.name, spec.service_name, "", "container", "present", "(missing)")
            )
            continue
        made_by = L.source_of(row.labels) or "by hand"
        for d in found.get(spec.name, []):
            rows.append(
                _drift_row(row.name, spec.service_name, made_by, d.field, d.desired, d.actual)
            )
    for row in unmatched:
        rows.append(
            _drift_row(
                row.name,
                row.labels.get(L.COMPOSE_SERVICE, ""),
                L.source_of(row.labels) or "by hand",
                "container",
                "(not in the request)",
                row.state,
            )
        )
    return rows


def _drift_row(
    container: str, service: str, made_by: str, name: str, desired: str, actual: str
) -> dict[str, str]:
    return {
        "container": container,
        "service": service,
        "made_by": made_by,
        "field": name,
        "desired": desired,
        "actual": actual,
    }


def _shown(rt: Runtime) -> Callable[[str, str], str]:
    def shown(key: str, value: str) -> str:
        if is_secret_key(key, rt.config.secret_markers):
            return MASK
        return rt.redact(value)

    return shown


def _shared_volumes(
    command: Orchestrate, stack_rows: Sequence[ContainerInfo], running: Sequence[ContainerInfo]
) -> list[Problem]:
    """Named volumes this request would write that a running container outside the stack
    already mounts: two writers on one data volume (two databases on one data directory)
    are refused unless the volume is declared external (shared on purpose)."""
    ours = {r.id for r in stack_rows}
    holders: dict[str, list[ContainerInfo]] = {}
    for row in running:
        if row.id not in ours:
            for volume in row.volumes:
                holders.setdefault(volume, []).append(row)
    problems = []
    for index, spec in enumerate(command.specs):
        for mount in spec.volumes:
            if mount.kind != "volume" or mount.read_only or mount.source not in holders:
                continue
            if _external(command.volumes, mount.source):
                continue
            holder = holders[mount.source][0]
            stack = L.stack_of(holder.labels)
            whose = f" (stack {stack})" if stack else ""
            problems.append(
                spec_problem(
                    index,
                    spec.name,
                    "volumes",
                    f"volume {mount.source} is already mounted by running container "
                    f"{holder.name}{whose}: two writers on one data volume corrupt it. Stop "
                    f"that container first, or, to share it on purpose, declare the volume "
                    f"external (volumes={{{mount.source!r}: {{'external': True}}}}, or "
                    "external: true in the Compose file), or mount it read-only (:ro)",
                )
            )
    return problems


def compose_resource_labels(stack: str, label: str, name: str, key: str | None) -> dict[str, str]:
    """Compose's labels on a network or volume (``label`` names which): its project and the
    Compose file's key, so ``docker compose`` takes it as the project's own."""
    return {
        L.COMPOSE_PROJECT: stack,
        label: key or L.compose_key(stack, name),
        L.COMPOSE_VERSION: COMPOSE_VERSION,
    }


def _exit_code(status: str) -> int | None:
    """The code in the engine's status text, "Exited (0) 5 seconds ago"."""
    match = re.match(r"Exited \((-?\d+)\)", status)
    return int(match.group(1)) if match else None


def _external(resources: Mapping[str, NetworkSpec | VolumeSpec], name: str) -> bool:
    return name in resources and resources[name].external


async def _taken_ports(
    rt: Runtime,
    desired: Desired,
    matched: Sequence[ContainerInfo],
    running: Sequence[ContainerInfo],
) -> list[Problem]:
    """Host ports that a container other than ``matched`` (the request's own) publishes,
    or that a host process holds."""
    # The containers this run keeps or replaces, by id: a project docker-compose 1.29 made
    # names them "P_S_1", not as the request does, and they are its own all the same.
    own = {row.id for row in matched}
    published = [
        p
        for row in running
        if row.id not in own
        for p in (Published.parse(row.name, text) for text in row.ports)
        if p is not None
    ]
    own_ports = {
        (p.host_port, p.protocol)
        for row in running
        if row.id in own
        for p in (Published.parse(row.name, text) for text in row.ports)
        if p is not None
    }
    problems = []
    held = set()
    for index, spec, message in port_conflicts(desired.specs, published):
        problems.append(spec_problem(index, spec.name, "ports", message))
        held.add(spec.name)
    if not rt.engine.host.startswith("unix://"):
        return problems  # a remote engine's host ports cannot be probed from here
    probed = [
        (index, spec, port)
        for index, spec in enumerate(desired.specs)
        for port in spec.ports
        if port.host_port is not None
        and spec.name not in held
        and (port.host_port, port.protocol) not in own_ports
    ]
    taken = await rt.gather(
        *(rt.call(host_port_taken, p.host_ip, p.host_port, p.protocol) for _, _, p in probed)
    )
    for (index, spec, port), in_use in zip(probed, taken, strict=True):
        if in_use:
            address = f"{port.host_ip or '0.0.0.0'}:{port.host_port}/{port.protocol}"
            message = (
                f"port {address} is already in use by a process on the host; stop it or "
                "publish another port"
            )
            problems.append(spec_problem(index, spec.name, "ports", message))
    return problems


def host_port_taken(host_ip: str, port: int, protocol: str) -> bool:
    """Whether binding the port here fails (something on this host holds it)."""
    if protocol not in ("tcp", "udp"):
        return False
    family = socket.AF_INET6 if ":" in host_ip else socket.AF_INET
    kind = socket.SOCK_STREAM if protocol == "tcp" else socket.SOCK_DGRAM
    with socket.socket(family, kind) as probe:
        # SO_REUSEADDR: a port in TIME_WAIT is free for the engine too; a listener is not.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host_ip or ("::" if family == socket.AF_INET6 else "0.0.0.0"), port))
        except OSError as e:
            return e.errno == errno.EADDRINUSE
    return False


def _held_names(
    desired: Desired, holders: Iterable[ContainerInfo], stack_rows: Sequence[ContainerInfo]
) -> list[Problem]:
    """Names this request wants that a foreign container or another stack holds."""
    index = {s.name: i for i, s in enumerate(desired.specs)}
    ours = {r.id for r in stack_rows}
    problems = []
    for holder in holders:
        if holder.name not in index or holder.id in ours:
            continue
        if L.made_by_compose(holder.labels):
            message = (
                f"the name is held by a container of Compose project "
                f"{holder.labels[L.COMPOSE_PROJECT]!r}; tear that project down or choose "
                "another name"
            )
        elif not L.is_managed(holder.labels):
            message = (
                f"the name is held by container {holder.id[:12]} ({holder.image}), which infranb "
                "did not create; rename or remove it yourself, or choose another name"
            )
        elif L.stack_of(holder.labels) != desired.stack:
            message = (
                f"the name is held by a container of stack {L.stack_of(holder.labels)!r}; tear "
                "that stack down or choose another name"
            )
        else:
            continue
        problems.append(spec_problem(index[holder.name], holder.name, "name", message))
    return problems


class EventWatcher:
    """Follows the engine's events for one stack on a thread; wakes waiting tasks."""

    def __init__(self, stream: EventStream, stack: str) -> None:
        self._loop = asyncio.get_running_loop()
        self._counts: dict[str, int] = {}
        self._signals: dict[str, asyncio.Event] = {}
        #: container id -> (exit code, when it was heard) of each of its ``die`` events
        self.deaths: dict[str, list[tuple[int | None, float]]] = {}
        #: set on every ``die`` of any container of the stack
        self.died = asyncio.Event()
        self._stream = stream
        self._thread = threading.Thread(
            target=self._pump, daemon=True, name=f"infranb-events-{stack}"
        )
        self._thread.start()

    @classmethod
    async def follow(cls, rt: Runtime, stack: str) -> EventWatcher:
        """Subscribe (off the loop) to the stack's container events."""
        return cls(await rt.call(rt.engine.events, labels={L.STACK: stack}), stack)

    def _pump(self) -> None:
        for event in self._stream:
            if self._loop.is_closed():
                return
            self._loop.call_soon_threadsafe(self._record, event)

    def _record(self, event: EngineEvent) -> None:
        self._counts[event.id] = self._counts.get(event.id, 0) + 1
        if event.action == "die":
            code = event.attributes.get("exitCode")
            exit_code = int(code) if code is not None and code.lstrip("-").isdigit() else None
            self.deaths.setdefault(event.id, []).append((exit_code, time.monotonic()))
            self.died.set()
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


class ReplacementsKept(ContainerFailed):
    """Replacements that failed under ``failure_action: pause`` or ``continue``: their old
    containers run again and the rest of the run stands, so there is nothing to roll back."""


@dataclass
class RunChanges:
    """What this run changed, so a rollback can undo exactly that."""

    #: name -> (old id, temporary name, was running, old name)
    replaced: dict[str, tuple[str, str, bool, str]] = field(default_factory=dict)
    stopped: list[str] = field(default_factory=list)  # ids stopped for a restart
    #: old id -> what a start-first swap changed on it (the networks it left)
    swapped: dict[str, Swapped] = field(default_factory=dict)
    created_networks: list[str] = field(default_factory=list)
    created_volumes: list[str] = field(default_factory=list)
    #: old id -> (each volume it wrote to -> its snapshot, taken once it stopped; its inspect)
    snapshots: dict[str, tuple[dict[str, str], ContainerDetails]] = field(default_factory=dict)


async def run(command: Orchestrate, rt: Runtime, outcome: Outcome) -> None:
    """Build the images the request builds, then bring the stack to the desired state,
    recording what was done in ``outcome``. One rollback for both: on a failure or a cancel
    the builds are undone after the containers."""
    outcome.stack = command.stack
    outcome.dry_run = command.dry_run
    building = await _builds_to_run(command, rt)
    if command.dry_run:
        outcome.images += [preview_build(b) for b, _ in building]
        await _bring_up(command, rt, outcome, building=[b for b, _ in building])
        return
    built: list[tuple[str, str | None]] = []  # (tag, the image it named before)
    try:
        for action, previous in building:
            started = time.monotonic()
            image_id, size = await build(action, rt, outcome)
            built.append((action.tag, previous))
            seconds = round(time.monotonic() - started, 3)
            outcome.images.append(ImageOutcome(action.tag, "built", image_id, size, seconds))
        await _bring_up(command, rt, outcome)
    except BaseException as failure:
        if built:
            left = await asyncio.shield(unbuild(rt, built))
            if left:
                outcome.rolled_back = False
                outcome.remaining += left
                append_note(failure, f"left in place: {'; '.join(left)}")
        raise


async def _builds_to_run(command: Orchestrate, rt: Runtime) -> list[tuple[BuildImage, str | None]]:
    """The builds to run (the missing images, or all with ``rebuild``), each with the
    image its tag names now."""
    try:
        ids = await rt.gather(*(rt.call(rt.engine.image_id, b.tag) for b in command.builds))
    except EngineUnavailable:
        if not command.dry_run:
            raise
        ids = [None] * len(command.builds)  # a dry run without an engine plans them all
    return [
        (b, image_id)
        for b, image_id in zip(command.builds, ids, strict=True)
        if image_id is None or command.rebuild
    ]


async def _bring_up(
    command: Orchestrate, rt: Runtime, outcome: Outcome, *, building: Sequence[BuildImage] = ()
) -> None:
    """Plan against what runs, gate, and carry the plan out (a dry run's ``building``: the
    images it would build first, so not pulled)."""
    environments = resolve_environments(command.specs, rt)
    plan, existing, desired, inspected = await observe_and_plan(rt, command, environments)
    tags = {b.tag for b in building}
    if tags:
        plan.images_to_pull = [i for i in plan.images_to_pull if i not in tags]
        plan.steps = [replace(s, pull=False) if s.image in tags else s for s in plan.steps]
        plan.notes += [
            f"{b.tag} is built from {b.path} before the containers are created, not pulled"
            for b in building
        ]
    plan.steps, sizes = await _with_snapshots(rt, plan.steps, existing)
    outcome.plan = list(plan.steps)
    outcome.orphans = list(plan.orphans)
    outcome.warnings.extend(plan.notes)
    outcome.warnings.extend(f"{s.name}: {w}" for s in plan.steps for w in s.warnings)
    if outcome.orphans and not command.remove_orphans:
        outcome.warnings.append(
            f"orphan(s) kept: {', '.join(outcome.orphans)} (in the stack, not in this request); "
            "set remove_orphans=True to remove them"
        )
    never = [
        (i, s) for i, s in enumerate(desired.specs)
        if s.pull_policy == "never" and plan.image_ids.get(s.image) is None
    ]  # fmt: skip
    if never:
        raise ValidationError(
            spec_problem(
                i, s.name, "pull_policy", f"{s.image} is not on the engine and pull_policy is "
                "never; pull or build it first, or use pull_policy missing",
            )
            for i, s in never
        )  # fmt: skip
    if plan.images_to_pull and not rt.config.auto_pull_images:
        raise ValidationError(
            spec_problem(
                i,
                s.name,
                "image",
                f"{s.image} is not on the engine and auto_pull_images is off; pull it first "
                "(manage_images, action 'pull') or enable auto_pull_images",
            )
            for i, s in enumerate(desired.specs)
            if s.image in plan.images_to_pull
        )
    there = sorted(set(command.restore_volumes) - set(plan.volumes_to_create))
    if there:
        raise ValidationError(
            Problem(
                f"params.restore_volumes.{v}",
                f"volume {v} exists, so its snapshot {command.restore_volumes[v]} would not be "
                "written into it; remove the volume first, or write the snapshot over it with "
                f"manager.restore({command.restore_volumes[v]!r}, replace=True)",
            )
            for v in there
        )
    destructive = [f"recreate container {s.name}" for s in plan.steps if s.action == "recreate"]
    destructive += [f"remove container {name} (scale down)" for name in plan.scaled_down]
    if command.remove_orphans:
        destructive += [f"remove container {name}" for name in plan.orphans]
    destructive += [
        f"replace what volume {v} holds with {Path(a).name} (backed up first)"
        for v, a in command.replace_volumes.items()
    ]
    rt.gate(destructive, dry_run=command.dry_run, plan=outcome.plan)
    if command.dry_run:
        return
    rt.record_prior(prior_state(command.stack, existing, inspected))

    rt.emit("planned", command.stack, current=0, total=len(desired.specs))
    changes = RunChanges()
    watcher = await EventWatcher.follow(rt, command.stack)
    bring_up = BringUp(rt, command, desired, plan, existing, changes, watcher, outcome)
    bring_up.inspected = inspected
    bring_up.sizes = sizes  # the disk-usage report the plan read, not read again
    try:
        await bring_up.execute()
    except ReplacementsKept:
        raise  # each failed replacement put its old container back; the others stand
    except BaseException as failure:
        await after_failure(
            rt, command.stack, failure, lambda: _rollback(rt, desired, changes), outcome
        )
        raise
    finally:
        watcher.close()
    if command.replace_volumes:
        await _replace_volumes(command, rt, outcome)


async def _replace_volumes(command: Orchestrate, rt: Runtime, outcome: Outcome) -> None:
    """Once the stack is up: each volume of ``replace_volumes`` gets its archive in place of
    what it holds, as ``restore(replace=True)`` does (its users stopped, removed and made
    again around it). A failure undoes this stage (the volume as it was, its users back); the
    containers this run brought up stay, and the result says so."""
    seen = await observe_volumes(rt.config.backups_folder, rt)
    steps: list[Step] = []
    for i, (volume, archive) in enumerate(sorted(command.replace_volumes.items())):
        existing = next((v for v in seen.volumes if v.name == volume), None)
        users = sorted((c for c in seen.containers if volume in c.volumes), key=lambda c: c.name)
        if existing is None:
            continue  # made by this run: written into when it was created
        found = await rt.gather(*(rt.call(rt.engine.inspect_container, c.id) for c in users))
        rt.blueprints.update({d.name: d for d in found if d is not None and d.config})
        rt.volume_options[volume] = dict(existing.options)
        manifest = read_manifest(Path(archive))
        said = f"write {Path(archive).name} ({len(manifest.files)} files), then read it back"
        steps += replace_steps(
            existing, users, Path(archive), said, rt.config.backups_folder,
            markers=rt.config.secret_markers, sizes=seen.sizes,
            created_like=masked_options(existing.options), first_wave=10 * i,
        )  # fmt: skip
    outcome.plan += [s.row() for s in steps]
    try:
        await run_steps(steps, rt, outcome)
    except BaseException as failure:
        outcome.rolled_back = False  # the containers brought up stay
        outcome.remaining.append(
            f"the containers of stack {command.stack} are as this run brought them up; the "
            "volumes' data was not replaced (that stage was undone)"
        )
        append_note(failure, "the containers stay as this run brought them up")
        raise


class BringUp:
    """Carries out a plan, stage by stage; every decision was made by the planner."""

    def __init__(
        self,
        rt: Runtime,
        command: Orchestrate,
        desired: Desired,
        plan: StackPlan,
        existing: Mapping[str, ContainerInfo],
        changes: RunChanges,
        watcher: EventWatcher,
        outcome: Outcome,
    ) -> None:
        self.rt, self.command, self.desired, self.plan = rt, command, desired, plan
        self.existing, self.changes, self.watcher, self.outcome = (
            existing,
            changes,
            watcher,
            outcome,
        )
        loop = asyncio.get_running_loop()
        names = [s.name for s in desired.specs]
        self.ids: dict[str, str] = {}
        #: name -> its inspect from planning (an adopted container's ready wait starts there)
        self.inspected: dict[str, ContainerDetails] = {}
        #: the engine's volume sizes, once read (the plan may have read them)
        self.sizes: Mapping[str, int] | None = None
        #: image reference -> local id (pulls add theirs): the Compose image label
        self.image_ids: dict[str, str] = dict(plan.image_ids)
        self.seconds: dict[str, float] = {}
        #: name -> (step, seconds since the bring-up began): the result's timeline
        self.began = time.monotonic()
        self.marks: dict[str, list[tuple[str, float]]] = {n: [] for n in names}
        #: name -> (when this run started it, its deaths seen before that start)
        self.start_marks: dict[str, tuple[float, int]] = {}
        self.started = {n: asyncio.Event() for n in names}
        self.ready: dict[str, asyncio.Future[ContainerDetails]] = {
            n: loop.create_future() for n in names
        }
        #: name -> how a running container is replaced (the plan's, or stop-first when a
        #: pulled image turns out to declare a VOLUME)
        self.orders = {s.name: s.order for s in plan.steps}
        #: service -> its replaced containers, in the order they roll
        self.rolling: dict[str, list[str]] = {}
        for spec in desired.specs:
            if plan.step(spec.name).action == "recreate":
                self.rolling.setdefault(spec.service_name, []).append(spec.name)
        #: name -> set when its replacement's turn is over
        self.turn_done = {n: asyncio.Event() for n in names}
        #: name -> why its old container runs again (``failure_action`` pause or continue)
        self.kept_old: dict[str, str] = {}
        #: services whose update paused after a failed replacement
        self.paused: set[str] = set()

    def mark(self, name: str, step: str) -> None:
        self.marks[name].append((step, round(time.monotonic() - self.began, 3)))

    async def execute(self) -> None:
        # Pulls and creates come before any stop: the gap of a stop-first replacement is
        # one stop and one start, and an image that cannot be had stops nothing.
        await self.pull_images()
        await self.recheck_orders()
        resources = self.provision()
        created = self.create_containers(resources)
        try:
            await self.stop_restarted()
        except BaseException:
            pending = [*resources.values(), *created.values()]
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            raise
        await self.rt.gather(
            *resources.values(),
            *created.values(),
            *(self.start_when_ready(s, created) for s in self.desired.specs),
        )
        final = await self.verify()
        await self.finish(final)
        if self.kept_old:
            kept = "; ".join(self.kept_old.values())
            replaced = [
                s.name for s in self.plan.steps
                if s.action == "recreate" and s.name not in self.kept_old
            ]  # fmt: skip
            also = f"; replaced as planned: {', '.join(replaced)}" if replaced else ""
            raise ReplacementsKept(kept + also, resource=self.desired.stack, last_logs=[])

    async def recheck_orders(self) -> None:
        """A start-first replacement whose image was pulled just now: stop-first after all
        when the image declares a VOLUME (two copies would share it)."""
        rt = self.rt
        pulled = [
            s for s in self.desired.specs
            if self.orders.get(s.name) == "start-first" and self.plan.step(s.name).pull
        ]  # fmt: skip
        configs = await rt.gather(*(rt.call(rt.engine.image_config, s.image) for s in pulled))
        for spec, image in zip(pulled, configs, strict=True):
            blockers = start_first_blockers(spec, image.volumes if image else ())
            if blockers:
                self.orders[spec.name] = "stop-first"
                why = f"stop-first after the pull: it {'; it '.join(blockers)}"
                self.outcome.plan = [
                    replace(s, order="stop-first", order_reason=why) if s.name == spec.name else s
                    for s in self.outcome.plan
                ]
                self.outcome.warnings.append(f"{spec.name}: {why}")

    def start_first(self, name: str) -> bool:
        return self.orders.get(name) == "start-first"

    async def stop_restarted(self) -> None:
        """Stop the dependents that are restarted after a dependency's replacement,
        dependents first. A replaced container is stopped (stop-first) or swapped
        (start-first) in its own turn, as its service rolls (``start_when_ready``)."""
        to_stop = [s for s in self.plan.steps if s.action == "restart"]
        for wave in reversed(self.plan.waves):
            running = [
                self.existing[s.name]
                for s in to_stop
                if s.name in wave and self.existing[s.name].state == "running"
            ]
            await stop_containers(self.rt, running)
            self.changes.stopped.extend(c.id for c in running)

    async def wait_turn(self, spec: ContainerSpec) -> None:
        """Wait until ``spec`` may be replaced: ``parallelism`` of its service's containers
        at a time, in the plan's order (1 by default, so a service with replicas keeps an
        answer; 0: all at once). A turn ends when the replacement is ready, and ``delay``
        after it."""
        policy = spec.update_config
        parallelism = 1 if policy is None or policy.parallelism is None else policy.parallelism
        queue = self.rolling[spec.service_name]
        index = queue.index(spec.name)
        if parallelism and index >= parallelism:
            await self.turn_done[queue[index - parallelism]].wait()

    async def stop_and_move(self, spec: ContainerSpec) -> None:
        """Stop-first: the old container stops (its ``pre_stop`` hooks first) and is renamed
        out of the way (a rollback renames it back and starts it again)."""
        old = self.existing[spec.name]
        if old.state == "running":
            await stop_containers(self.rt, [old])
            self.changes.stopped.append(old.id)
        await self.snapshot(old)
        temporary = replaced_name(spec.name, old.id)
        await self.rt.call(self.rt.engine.rename_container, old.id, temporary)
        self.changes.replaced[spec.name] = (old.id, temporary, old.state == "running", old.name)

    async def snapshot(self, old: ContainerInfo) -> None:
        """With ``recreate_with_volume``: each volume the stopped old container wrote to and
        that holds data is backed up before its replacement starts; a rollback writes it
        back. A failed snapshot fails the run before the replacement starts."""
        rt = self.rt
        if "recreate_with_volume" not in rt.config.snapshot_before:
            return
        sizes = await self.volume_sizes()
        holding = [v for v in writable_volumes(old) if sizes.get(v, 0) > 0]
        details = self.inspected.get(old.name) or await rt.call(rt.engine.inspect_container, old.id)
        if not holding or details is None:
            return
        taken: dict[str, str] = {}
        self.changes.snapshots[old.id] = (taken, details)
        infos = {v.name: v for v in await rt.call(rt.engine.list_volumes)}
        for volume in holding:
            info = infos.get(volume)
            args = {
                "volume": volume, "folder": str(rt.config.backups_folder), "reason": "snapshot",
                "image": old.image_id, "quiesced": [old.name], "containers": [old.name],
                "stack": self.desired.stack, "driver": info.driver if info else "local",
                "labels": dict(info.labels) if info else {},
                "driver_opts": masked_options(info.options, rt.config.secret_markers)
                if info else {},
            }  # fmt: skip
            await take_backup(rt, Step("backup", volume, 0, args), self.outcome)
            taken[volume] = self.outcome.archives[-1].archive

    async def volume_sizes(self) -> Mapping[str, int]:
        """The engine's disk-usage report, read once per run (it is slow on big hosts)."""
        if self.sizes is None:
            self.sizes = await self.rt.call(self.rt.engine.volume_sizes)
        return self.sizes

    async def pull_images(self) -> None:
        """Pull missing images before anything is made: an unpullable image then touches
        nothing."""
        rt = self.rt

        async def pull(image: str) -> None:
            began = time.monotonic()
            image_id = await registry.pull(rt, image)
            self.image_ids[image] = image_id or ""
            seconds = round(time.monotonic() - began, 3)
            self.outcome.images.append(ImageOutcome(image, "pulled", image_id, None, seconds))
            rt.emit("pull", image, f"pulled in {seconds:.1f}s")

        await rt.gather(*(pull(i) for i in self.plan.images_to_pull))

    def provision(self) -> dict[tuple[str, str], asyncio.Task[None]]:
        """Begin creating the plan's networks and volumes; each container waits only for
        its own (``("network" | "volume", name)`` -> its creation). The engine makes one
        network at a time whatever the parallelism, so at most two creations wait at once
        and the other call slots go to the containers whose networks are there."""
        rt, plan = self.rt, self.plan
        networks_at_once = asyncio.Semaphore(2)

        async def create_network(name: str) -> None:
            async with networks_at_once:
                self.changes.created_networks.append(name)  # before the call: rollback checks
                options = self.command.networks.get(name) or NetworkSpec(name)
                labels = {
                    **options.labels,
                    **rt.labels(self.desired.stack),
                    **compose_resource_labels(
                        self.desired.stack, L.COMPOSE_NETWORK, name, options.key
                    ),
                }
                await rt.call(
                    rt.engine.create_network,
                    name,
                    labels,
                    driver=options.driver,
                    internal=options.internal,
                    options=options.driver_opts,
                    ipam=options.ipam,
                    attachable=options.attachable,
                    enable_ipv6=options.enable_ipv6,
                )
                rt.emit("network_created", name)

        async def create_volume(name: str) -> None:
            self.changes.created_volumes.append(name)
            options = self.command.volumes.get(name) or VolumeSpec(name)
            driver = options.driver or rt.config.volume_driver
            labels = {
                **options.labels,
                **rt.labels(self.desired.stack),
                **compose_resource_labels(self.desired.stack, L.COMPOSE_VOLUME, name, options.key),
            }
            await rt.call(
                rt.engine.create_volume, name, driver, labels, options=options.driver_opts
            )
            rt.emit("volume_created", name)
            if name in self.command.restore_volumes:
                # before any container mounts it: its users start on the data
                await restore_into(rt, name, self.command.restore_volumes[name], self.outcome)

        tasks = {
            ("network", n): asyncio.ensure_future(create_network(n))
            for n in plan.networks_to_create
        }
        tasks |= {
            ("volume", v): asyncio.ensure_future(create_volume(v)) for v in plan.volumes_to_create
        }
        return tasks

    def create_containers(
        self, resources: Mapping[tuple[str, str], asyncio.Task[None]]
    ) -> dict[str, asyncio.Task[str]]:
        """Begin creating every new container, each once its own networks and volumes exist
        (creating starts nothing), so a dependent only needs its start call once its
        dependencies are ready. At most ``max_parallel``
        creates wait at once, so the first containers' starts are not queued behind every
        other create (Podman starts 20 containers 0.4 s sooner so, as a threaded loop does)."""
        desired, rt = self.desired, self.rt
        limit = asyncio.Semaphore(rt.config.max_parallel)

        async def create(spec: ContainerSpec) -> str:
            needs = [("network", n) for n in self.plan.step(spec.name).networks]
            needs += [("volume", m.source) for m in spec.volumes if m.kind == "volume"]
            for need in needs:
                if need in resources:
                    await resources[need]
            async with limit:
                return await create_one(spec)

        async def create_one(spec: ContainerSpec) -> str:
            # A replacement is made while the old container still holds the name.
            recreate = self.plan.step(spec.name).action == "recreate"
            labels = rt.labels(
                desired.stack,
                **{
                    L.SPEC_HASH: desired.hashes[spec.name],
                    L.SPEC_FIELDS: encode_fingerprints(desired.fingerprints[spec.name]),
                    L.SALT: desired.salts[spec.name],
                    L.DEPENDS_ON: ",".join(spec.depends_on),
                    **pre_stop_label(spec, rt.config.secret_markers),
                },
                **spec.labels,
                **self.compose_labels(spec),
            )
            from_refs = [k for k, v in spec.environment.items() if isinstance(v, SecretRef)]
            if from_refs:  # names only, so later logs and probe output mask these values too
                labels[L.SECRET_KEYS] = ",".join(from_refs)
            networks = list(self.plan.step(spec.name).networks)
            environment = desired.environments[spec.name]
            keep = await self.kept_volumes(spec)
            cid = await rt.call(
                rt.engine.create_container,
                spec,
                environment,
                labels,
                networks,
                name=next_name(spec.name, rt.run_id) if recreate else None,
                keep_volumes=keep or None,
                aliases=not self.start_first(spec.name),
            )
            # Compose's secrets and configs from environment or content: copied in, as up does.
            for path, content in desired.files.get(spec.name, {}).items():
                await rt.call(
                    rt.engine.put_file, cid, path, content.encode(), spec.files[path].mode
                )
            rt.emit("container_created", spec.name)
            self.mark(spec.name, "created")
            return cid

        fresh = [
            s for s in desired.specs if self.plan.step(s.name).action in ("create", "recreate")
        ]
        return {s.name: asyncio.ensure_future(create(s)) for s in fresh}

    async def kept_volumes(self, spec: ContainerSpec) -> dict[str, str]:
        """The anonymous volumes of the container ``spec`` replaces, by container path, that
        the new one has too (its own anonymous mounts, its image's VOLUMEs): a recreate
        keeps their data, as Compose's does."""
        if self.plan.step(spec.name).action != "recreate":
            return {}
        rt = self.rt
        old = await rt.call(rt.engine.container_config, self.existing[spec.name].id)
        if old is None or not old.anonymous:
            return {}
        image = await rt.call(rt.engine.image_config, spec.image)
        wanted = {m.target for m in spec.volumes if m.kind == "volume" and not m.source}
        wanted |= set(image.volumes if image else ())
        wanted -= {m.target for m in spec.volumes if m.source}  # now named or bound
        return {t: v for t, v in old.anonymous.items() if t in wanted}

    def compose_labels(self, spec: ContainerSpec) -> dict[str, str]:
        """Compose's labels, as Compose v2 writes them, so ``docker compose ps``, ``logs``
        and ``down`` see this container as the project's. The config hash is infranb's
        spec hash (Compose's own is of its own model: its next ``up`` recreates once)."""
        command, desired = self.command, self.desired
        service_of = {s.name: s.service_name for s in desired.specs}
        labels = {
            L.COMPOSE_PROJECT: desired.stack,
            L.COMPOSE_SERVICE: spec.service_name,
            L.COMPOSE_NUMBER: str(spec.number),
            L.COMPOSE_ONEOFF: "False",
            L.COMPOSE_WORKING_DIR: command.project_dir or "",
            L.COMPOSE_DEPENDS_ON: ",".join(
                dict.fromkeys(
                    f"{service_of.get(dep, dep)}:{COMPOSE_CONDITIONS[condition]}:"
                    + ("true" if dep in spec.restart_with else "false")
                    for dep, condition in spec.depends_on.items()
                )
            ),
            L.COMPOSE_IMAGE: self.image_ids.get(spec.image, ""),
            L.COMPOSE_VERSION: COMPOSE_VERSION,
            L.COMPOSE_CONFIG_HASH: desired.hashes[spec.name],
        }
        if command.config_files:
            labels[L.COMPOSE_CONFIG_FILES] = ",".join(command.config_files)
        return labels

    async def start_when_ready(
        self, spec: ContainerSpec, created: Mapping[str, asyncio.Task[str]]
    ) -> None:
        """Wait for the dependencies' conditions, start, then wait until ready."""
        for dep, condition in spec.depends_on.items():
            if condition == "started":
                await self.started[dep].wait()
            else:  # ready, healthy, completed_successfully: what "ready" means was set per dep
                await self.ready[dep]
        cid = await created[spec.name] if spec.name in created else self.existing[spec.name].id
        self.ids[spec.name] = cid
        if self.plan.step(spec.name).action != "recreate":
            await self.bring_up_one(spec, cid)
            return
        await self.wait_turn(spec)
        policy = spec.update_config
        action = (policy.failure_action if policy else None) or "rollback"
        if spec.service_name in self.paused:
            said = f"{spec.name}: not replaced: its service's update paused (failure_action pause)"
            await self.keep_old(spec, cid, said)
        else:
            try:
                await self.bring_up_one(spec, cid)
            except ContainerFailed as failure:
                swapping = self.start_first(spec.name) and spec.name in self.changes.replaced
                if action == "rollback" or swapping:
                    raise
                said = (
                    f"{spec.name}: its replacement failed ({failure}); the old container runs "
                    f"again (failure_action {action})"
                )
                await self.keep_old(spec, cid, said)
                if action == "pause":
                    self.paused.add(spec.service_name)
        delay = (policy.delay if policy else None) or 0.0
        if delay and spec.name != self.rolling[spec.service_name][-1]:
            await asyncio.sleep(delay)  # before the service's next replacement
        self.turn_done[spec.name].set()

    async def keep_old(self, spec: ContainerSpec, cid: str, said: str) -> None:
        """Give up ``spec``'s replacement: remove it, put the old container back under its
        name and running as it was, and let dependents go on with it."""
        rt, old = self.rt, self.existing[spec.name]
        self.start_marks.pop(spec.name, None)  # what verify judges: the old one now
        with contextlib.suppress(NotFound):
            await rt.call(rt.engine.remove_container, cid, force=True)
        if self.changes.replaced.pop(spec.name, None) is not None:  # stop-first moved it
            await rt.call(rt.engine.rename_container, old.id, old.name)
        if old.id in self.changes.stopped:
            self.changes.stopped.remove(old.id)
            await rt.call(rt.engine.start_container, old.id)
        self.ids[spec.name] = old.id
        self.kept_old[spec.name] = said
        self.outcome.warnings.append(said)
        self.mark(spec.name, "kept the old one")
        must_exit = self.command.must_complete(spec.name)
        details = await _wait_until_ready(rt, self.watcher, spec, old.id, must_exit)
        self.started[spec.name].set()
        if not self.ready[spec.name].done():
            self.ready[spec.name].set_result(details)

    async def bring_up_one(self, spec: ContainerSpec, cid: str) -> None:
        """Start one container (after its old one stopped, for stop-first), then wait until
        it is ready (and, start-first, held and swapped in)."""
        began = time.monotonic()
        step = self.plan.step(spec.name)
        if step.action == "adopt":
            self.rt.emit("container_adopted", spec.name, step.reason)
        start_first = step.action == "recreate" and self.start_first(spec.name)
        if step.action == "recreate" and not start_first:
            await self.stop_and_move(spec)
            await self.rt.call(self.rt.engine.rename_container, cid, spec.name)
        if step.action not in ("unchanged", "adopt"):
            self.rt.emit("container_starting", spec.name)
            deaths_before = len(self.watcher.deaths.get(cid, ()))
            await self.rt.call(self.rt.engine.start_container, cid)
            self.start_marks[spec.name] = (time.monotonic(), deaths_before)
            self.mark(spec.name, "started")
            self.rt.emit("container_started", spec.name)
            # Compose runs them once the container started: a failing one fails the start.
            failed = await run_hooks(self.rt, cid, spec.name, spec.post_start, "post_start")
            if failed:
                raise await _failure(self.rt, spec.name, cid, failed[0])
        self.started[spec.name].set()
        must_exit = self.command.must_complete(spec.name)
        first = self.inspected.get(spec.name) if step.action == "adopt" else None
        details = await _wait_until_ready(self.rt, self.watcher, spec, cid, must_exit, first)
        if start_first:
            await self.hold(spec, cid)
            self.mark(spec.name, "held")
            await self.swap(spec, cid)
            self.mark(spec.name, "swapped")
        self.seconds[spec.name] = time.monotonic() - began
        self.mark(spec.name, "ready")
        self.ready[spec.name].set_result(details)
        self.rt.emit(
            "container_ready",
            spec.name,
            f"{details.health or details.state} after {self.seconds[spec.name]:.2f}s",
        )

    async def hold(self, spec: ContainerSpec, cid: str) -> None:
        """Keep a start-first replacement beside the old container until it has stayed up
        for its ``monitor`` (at least ``config.min_uptime``); a death fails the run before
        the old container is touched."""
        policy = spec.update_config
        monitor = max((policy.monitor if policy else None) or 0.0, self.rt.config.min_uptime)
        end = self.start_marks[spec.name][0] + monitor
        while (left := end - time.monotonic()) > 0 and not self._deaths_since_start(spec.name):
            await asyncio.sleep(min(0.05, left))
        deaths = self._deaths_since_start(spec.name)
        if deaths:
            code = deaths[0][0]
            message = (
                f"container {spec.name}'s replacement exited with code {code} within its "
                f"monitor window ({monitor:g}s); the old container kept serving"
            )
            raise await _failure(self.rt, spec.name, cid, message)

    async def swap(self, spec: ContainerSpec, cid: str) -> None:
        """The start-first swap (``infranb.ops.replacing``), each change recorded as made."""
        old = self.existing[spec.name]
        swapped = self.changes.swapped.setdefault(old.id, Swapped())
        moved: list[str] = []
        try:
            await swap(self.rt, spec, self.plan.step(spec.name).networks, cid, old, swapped, moved)
        finally:
            if moved:
                self.changes.replaced[spec.name] = (old.id, moved[0], True, old.name)

    async def verify(self) -> list[ContainerDetails | None]:
        """Every container this run started must have stayed up: no ``die`` during
        ``config.min_uptime`` after its start (a fast crash can follow a good start). The
        windows overlap the bring-up: what is left of the last one is waited for here, and
        a death ends the wait at once. A container that exited 0 is a one-shot. With the
        window off (0) the ready wait's look is the last one: it was taken a moment ago, and
        a death the event stream brought since still fails the run."""
        rt, specs = self.rt, self.desired.specs
        window = rt.config.min_uptime
        if window > 0 and self.start_marks:
            end = max(started for started, _ in self.start_marks.values()) + window
            while (left := end - time.monotonic()) > 0 and not self._failed_deaths():
                self.watcher.died.clear()
                if self._failed_deaths():  # a death between the check and the clear
                    break
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.watcher.died.wait(), left)
        # A container this run did not start was inspected by its ready wait a moment ago.
        final = await rt.gather(
            *(
                rt.call(rt.engine.inspect_container, self.ids[s.name])
                if s.name in self.start_marks and window > 0
                else self.ready[s.name]
                for s in specs
            )
        )
        for spec, details in zip(specs, final, strict=True):
            await self._judge(spec, details)
        return final

    def _deaths_since_start(self, name: str) -> list[tuple[int | None, float]]:
        if name not in self.start_marks:
            return []
        _, before = self.start_marks[name]
        return self.watcher.deaths.get(self.ids[name], [])[before:]

    def _failed_deaths(self) -> bool:
        """Whether a container this run started has died with a non-zero code."""
        return any(
            code != 0 for name in self.start_marks for code, _ in self._deaths_since_start(name)
        )

    async def _judge(self, spec: ContainerSpec, details: ContainerDetails | None) -> None:
        """Fail the run for a container that did not stay up; warn about an unawaited
        one-shot (exit 0 with nothing waiting on its completion)."""
        name, cid, rt = spec.name, self.ids[spec.name], self.rt
        must_exit = self.command.must_complete(name)
        failed = [(code, when) for code, when in self._deaths_since_start(name) if code != 0]
        if details is None:
            raise await _failure(rt, name, cid, f"container {name} is gone while starting")
        if failed:
            code, when = failed[0]
            code = code if code is not None else details.exit_code
            after = when - self.start_marks[name][0]
            # Inside its window this is the sentence a crash seen by the ready wait gets too:
            # which of the two sees it first is a matter of milliseconds.
            when_said = (
                "while starting"
                if after <= rt.config.min_uptime
                else f"during the bring-up, {after:.1f}s after its start"
            )
            again = " (its restart policy started it again)" if details.state != "exited" else ""
            message = f"container {name} exited with code {code} {when_said}{again}"
            raise await _failure(rt, name, cid, message)
        if details.state == "exited" and details.exit_code == 0:
            if not must_exit:
                rt.warnings.append(
                    f"container {name} exited 0 right after its start: a one-shot? Nothing "
                    "waits on it with depends_on: completed_successfully"
                )
            return
        if not _is_up(details, must_exit):
            message = f"container {name} {_describe(details)} while starting"
            raise await _failure(rt, name, cid, message)

    async def finish(self, final: list[ContainerDetails | None]) -> None:
        """Drop what was replaced, and orphans when asked; record the outcome."""
        rt, outcome = self.rt, self.outcome
        replaced_ids = [old_id for old_id, *_ in self.changes.replaced.values()]
        await rt.gather(*(rt.call(rt.engine.remove_container, i, force=True) for i in replaced_ids))
        if self.plan.scaled_down:
            rows = [self.existing[n] for n in self.plan.scaled_down]
            for name in await remove_containers(rt, rows):
                row = self.existing[name]
                outcome.removed.append(
                    RemovedResource("container", name, row.id, 0, L.stack_of(row.labels))
                )
        if self.command.remove_orphans and outcome.orphans:
            orphans = [self.existing[n] for n in outcome.orphans]
            for name in await remove_containers(rt, orphans):
                row = self.existing[name]
                outcome.removed.append(
                    RemovedResource("container", name, row.id, 0, L.stack_of(row.labels))
                )
        details = dict(zip([s.name for s in self.desired.specs], final, strict=True))
        by_name = {s.name: s for s in self.desired.specs}
        for wave in self.plan.waves:
            for name in wave:
                step, d = self.plan.step(name), details[name]
                adopted = step.action == "adopt"
                outcome.containers.append(
                    ContainerOutcome(
                        name=self.existing[name].name if adopted else name,
                        image=by_name[name].image,
                        action="kept" if name in self.kept_old else step.action,
                        wave=step.wave,
                        state=d.state if d else "gone",
                        health=d.health if d else None,
                        container_id=self.ids[name],
                        ports=d.ports if d and d.ports else step.ports,
                        networks=step.networks,
                        started_at=d.started_at if d else None,
                        seconds_to_ready=round(self.seconds.get(name, 0.0), 3),
                        timeline=tuple(self.marks[name]),
                    )
                )
        outcome.networks_created = sorted(self.changes.created_networks)
        outcome.volumes_created = sorted(self.changes.created_volumes)


def _is_up(details: ContainerDetails, must_exit: bool) -> bool:
    exited_ok = details.state == "exited" and details.exit_code == 0
    return details.state == "running" or (must_exit and exited_ok)


def _describe(details: ContainerDetails) -> str:
    if details.state in ("exited", "dead"):
        return f"exited with code {details.exit_code}"
    return f"is {details.state}"


async def _wait_until_ready(
    rt: Runtime,
    watcher: EventWatcher,
    spec: ContainerSpec,
    cid: str,
    must_exit: bool,
    first: ContainerDetails | None = None,
) -> ContainerDetails:
    """Wait for running (or healthy, with a healthcheck; or exit 0 when a dependent needs
    completion), reacting to engine events; fail on exit, unhealthy or timeout. ``first``:
    an inspect of this run's planning, looked at before asking the engine again."""
    deadline = time.monotonic() + rt.config.container_start_timeout
    checks = HealthChecks(rt)
    while True:
        seen = watcher.seen(cid)
        details = first or await rt.call(rt.engine.inspect_container, cid)
        first = None
        if details is None:
            raise await _failure(rt, spec.name, cid, f"container {spec.name} disappeared")
        if must_exit:
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
            if details.exit_code == 0:
                return details  # a one-shot: done, never a failure (verify may warn)
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
        wait = min(remaining, RECHECK_SECONDS)
        if details.health == "starting" and checks.needed:
            due = checks.due(details)
            if due <= 0:
                await checks.run(cid)
                continue
            wait = min(wait, due)
        await watcher.changed_since(cid, seen, wait)


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


async def _rollback(rt: Runtime, desired: Desired, changes: RunChanges) -> Undone:
    """Undo this run: remove what it created, put back what it replaced or stopped."""
    rt.emit("rollback", desired.stack, "rolling back")
    await rt.drain()  # calls already on a thread may still create something
    engine = rt.engine
    mine = {L.RUN: rt.run_id}
    created, networks_made, volumes_made = await rt.gather(
        rt.call(engine.list_containers, labels=mine),
        rt.call(engine.list_networks, labels=mine),
        rt.call(engine.list_volumes, labels=mine),
    )
    # What this run created goes with the anonymous volumes it made (one carried over from
    # a replaced container is mounted by name, so the engine keeps it).
    removed = await remove_containers(rt, created, volumes=True)
    restored = []
    data_kept: list[Kept] = []
    for old_id, _temporary, was_running, name in changes.replaced.values():
        await rt.call(engine.rename_container, old_id, name)
        if old_id in changes.swapped:
            await put_back(rt, old_id, changes.swapped[old_id])
        back_id = old_id
        if old_id in changes.snapshots:
            taken, details = changes.snapshots[old_id]
            try:
                back_id = await put_data_back(rt, old_id, name, taken, details)
                restored += [f"volume {v} from its snapshot" for v in taken]
            except InfraError as e:
                data_kept += [
                    Kept("volume", v, "failed", f"volume {v} keeps what the failed run wrote "
                         f"({e}); its snapshot is {a}: manager.restore(that, replace=True)")
                    for v, a in taken.items()
                ]  # fmt: skip
        if was_running:
            await rt.call(engine.start_container, back_id)
        restored.append(name)
    replaced_ids = {old_id for old_id, *_ in changes.replaced.values()}
    restarted = [cid for cid in changes.stopped if cid not in replaced_ids]
    await rt.gather(*(rt.call(engine.start_container, cid) for cid in restarted))
    made_volumes = {v.name for v in volumes_made} | set(changes.created_volumes)
    made_networks = {n.name for n in networks_made} | set(changes.created_networks)
    volumes, kept_volumes = await remove_volumes(rt, sorted(made_volumes))
    networks, kept_networks = await remove_networks(rt, sorted(made_networks), removed)
    parts = [f"removed {len(removed)} container(s)"]
    if networks:
        parts.append("network(s) " + ", ".join(networks))
    if volumes:
        parts.append("volume(s) " + ", ".join(volumes))
    if restored:
        parts.append("restored " + ", ".join(restored))
    if restarted:
        parts.append(f"restarted {len(restarted)} stopped container(s)")
    return "; ".join(parts), kept_volumes + kept_networks + data_kept


async def _with_snapshots(
    rt: Runtime, steps: list[PlanStep], existing: Mapping[str, ContainerInfo]
) -> tuple[list[PlanStep], Mapping[str, int] | None]:
    """With ``recreate_with_volume``, each stop-first recreate of a container that writes to
    a volume holding data says in its plan that the volume is snapshotted first (and how
    big it is); over ``snapshot_max_bytes`` the run is refused before anything is touched.
    Returns the steps and the volume sizes it read (None when it read none)."""
    if "recreate_with_volume" not in rt.config.snapshot_before:
        return steps, None
    replaced = {
        s.name: writable_volumes(existing[s.name])
        for s in steps
        if s.action == "recreate" and s.order != "start-first" and s.name in existing
    }
    if not any(replaced.values()):
        return steps, None
    try:
        sizes = await rt.call(rt.engine.volume_sizes)
    except EngineUnavailable:
        return steps, None  # a dry run without an engine
    told: list[PlanStep] = []
    held: dict[str, int] = {}
    for step in steps:
        holding = {v: sizes[v] for v in replaced.get(step.name, ()) if sizes.get(v, 0) > 0}
        held.update(holding)
        if holding:
            said = ", ".join(f"{v[:24]} ({n} bytes)" for v, n in holding.items())
            step = replace(step, warnings=(*step.warnings, (
                f"snapshot of {said} once it stops, before its replacement starts (the "
                "stop-first gap includes it); a rollback writes it back"
            )))  # fmt: skip
        told.append(step)
    if sum(held.values()) > rt.config.snapshot_max_bytes:
        biggest = max(held, key=lambda v: held[v])
        raise ValidationError([Problem(
            "config.snapshot_max_bytes",
            f"the snapshots this run takes before its recreates would hold "
            f"{sum(held.values())} bytes (volume {biggest}: {held[biggest]}), over "
            f"snapshot_max_bytes={rt.config.snapshot_max_bytes}; raise it, or set "
            "snapshot_before=() to replace them without a snapshot",
        )])  # fmt: skip
    return told, sizes


def writable_volumes(container: ContainerInfo) -> list[str]:
    """The volumes (named and anonymous) a container mounts writable."""
    return [v for v in container.volumes if v not in container.read_only_volumes]


async def put_data_back(
    rt: Runtime, old_id: str, name: str, taken: Mapping[str, str], details: ContainerDetails
) -> str:
    """The volumes a failed replacement's snapshot holds, exactly as they were: a volume can
    be emptied only by removing it, and only once no container references it, so the old
    container is made again from its own inspect around it. Refused (an ``InfraError``)
    when another container uses one of the volumes. Returns the old container's new id."""
    engine = rt.engine
    others = [
        c.name
        for c in await rt.call(engine.list_containers)
        if c.id != old_id and set(c.volumes) & set(taken)
    ]
    if others:
        raise InfraError(f"{', '.join(sorted(others))} also use(s) it")
    spec = remake_spec(name, details)  # before anything goes: one that cannot be read
    volumes = {v.name: v for v in await rt.call(engine.list_volumes)}
    await rt.call(engine.remove_container, old_id)
    for volume, archive in taken.items():
        info = volumes.get(volume)
        await rt.call(engine.remove_volume, volume)
        await rt.call(
            engine.create_volume, volume, info.driver if info else "local",
            dict(info.labels) if info else {}, options=dict(info.options) if info else None,
        )  # fmt: skip
        await restore_into(rt, volume, archive, Outcome())
    return await remake(rt, name, details, spec)


SCHEMA: Schema = {
    "name": "string",
    "image": "string",
    "action": ACTIONS,
    "wave": "Int64",
    "state": STATES,
    "health": ("starting", "healthy", "unhealthy"),
    "ports": "string",
    "networks": "string",
    "started_at": "datetime64[ns, UTC]",
    "seconds_to_ready": "Float64",
    "container_id": "string",
}


def rows(result: InfrastructureResult) -> Iterable[dict[str, Any]]:
    for c in result.containers:
        yield {
            "name": c.name,
            "image": c.image,
            "action": c.action,
            "wave": c.wave,
            "state": c.state,
            "health": c.health,
            "ports": ", ".join(c.ports),
            "networks": ", ".join(c.networks),
            "started_at": c.started_at,
            "seconds_to_ready": c.seconds_to_ready,
            "container_id": short_id(c.container_id),
        }


OPERATION = Operation(
    name="orchestrate_containers",
    summary="bring a stack up in dependency order; re-runs change only what changed",
    parse=parse,
    run=run,
    schema=SCHEMA,
    rows=rows,
    shown_fields=("stack", "containers", "remove_orphans", "dry_run"),
    first_columns=("name", "action", "state", "health", "seconds_to_ready"),
    plan_table=True,
    desired_state=True,
)
