"""Swarm services from container specs: the ``deploy`` key, the service spec, the plan.

Pure: nothing here talks to an engine. ``parse_deploy`` reads a container's ``deploy`` key
(the compose-spec ``deploy`` section); ``service_spec`` turns a ``ContainerSpec`` and its
``DeploySpec`` into the engine's service spec (API JSON); ``plan_services`` decides, per
service, create / update (naming the changed fields) / unchanged, and which services of
the stack are orphans. The engine calls and the waiting live in ``infranb.ops.deploy``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from infranb.core import labels as L
from infranb.core.records import NodeInfo
from infranb.core.specs import (
    NAME_RE,
    NANO,
    ContainerSpec,
    SpecProblem,
    UpdatePolicy,
    changed_fields,
    decode_fingerprints,
    encode_fingerprints,
    parse_duration,
    parse_size,
    parse_update_policy,
    spec_hash,
)

DEPLOY_KEYS = (
    "mode",
    "replicas",
    "placement",
    "resources",
    "restart_policy",
    "update_config",
    "rollback_config",
    "labels",
    "endpoint_mode",
)
PLACEMENT_KEYS = ("constraints", "preferences", "max_replicas_per_node")
RESTART_KEYS = ("condition", "delay", "max_attempts", "window")
RESOURCE_KEYS = ("cpus", "memory")
#: the label on every task container of a stack (never ``infranb.managed``: a container
#: cleanup must not remove what Swarm would only start again)
TASK_STACK = "infranb.swarm-stack"

#: what a Swarm operation or view says on an engine that is no swarm manager
#: what Swarm operations say on an engine kind that has no Swarm (``swarm_role`` "none")
NO_SWARM = (
    "Podman has no Swarm: deploy_stack and the Swarm views need a Docker engine in swarm "
    "mode; run the stack with orchestrate_containers (manager.up) instead"
)


def not_a_manager(role: str) -> str:
    """Why Swarm operations cannot run on an engine whose ``swarm_role`` is ``role``."""
    return NO_SWARM if role == "none" else NOT_A_MANAGER


NOT_A_MANAGER = (
    "this engine is not a swarm manager: deploy_stack needs one. Make this engine one with "
    "`docker swarm init` (add --advertise-addr ADDRESS when it has several), join workers "
    "with the command it prints, or point the manager at a manager node (docker_host=...)"
)


@dataclass(frozen=True)
class RestartPolicy:
    condition: Literal["none", "on-failure", "any"] = "any"
    delay: float | None = None
    max_attempts: int | None = None
    window: float | None = None

    def api(self) -> dict[str, Any]:
        out: dict[str, Any] = {"Condition": self.condition}
        if self.delay is not None:
            out["Delay"] = int(self.delay * NANO)
        if self.max_attempts is not None:
            out["MaxAttempts"] = self.max_attempts
        if self.window is not None:
            out["Window"] = int(self.window * NANO)
        return out


@dataclass(frozen=True)
class DeploySpec:
    """How a container runs as a Swarm service (compose-spec ``deploy``)."""

    mode: Literal["replicated", "global"] = "replicated"
    replicas: int = 1
    constraints: tuple[str, ...] = ()
    #: spread descriptors, e.g. ``("node.id",)``
    spread: tuple[str, ...] = ()
    max_replicas_per_node: int | None = None
    #: ``{"limits": {"cpus": 0.5, "memory": 67108864}, "reservations": {...}}``
    resources: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    restart_policy: RestartPolicy | None = None
    update_config: UpdatePolicy | None = None
    rollback_config: UpdatePolicy | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    endpoint_mode: Literal["vip", "dnsrr"] = "vip"


@dataclass(frozen=True)
class SecretFile:
    """A file whose content becomes a Swarm secret, mounted read-only at ``target``."""

    name: str
    file: str
    target: str


def parse_secrets(raw: object, where: str) -> tuple[SecretFile, ...]:
    """A container's ``secrets``: ``[{"file": "db_password.txt", "name": "db_password",
    "target": "/run/secrets/db_password"}]`` (``name`` defaults to the file's name without
    its extension, ``target`` to ``/run/secrets/<name>``)."""
    if not isinstance(raw, list | tuple):
        raise SpecProblem(where, "secrets is a list, e.g. [{'file': 'db_password.txt'}]")
    out = []
    for index, item in enumerate(raw):
        here = f"{where}[{index}]"
        if not isinstance(item, Mapping) or not isinstance(item.get("file"), str):
            raise SpecProblem(here, "each secret is a dict with a 'file' (a path)")
        _known(item, ("file", "name", "target"), here)
        file = str(item["file"])
        name = str(item.get("name") or os.path.splitext(os.path.basename(file))[0])
        if not NAME_RE.match(name):
            raise SpecProblem(f"{here}.name", f"{name!r} is not a valid secret name")
        target = str(item.get("target") or name)
        if not target.startswith("/"):
            target = "/run/secrets/" + target
        out.append(SecretFile(name, file, target))
    return tuple(out)


def secret_name(stack: str, secret: SecretFile, content: bytes, key: str) -> str:
    """The Swarm secret's name: secrets are immutable, so a digest of the content is part of
    the name and a changed file is a new secret (and a rolling update of its services). The
    digest is keyed with the stack's ``key`` (``infranb.secret-key`` on its services), so
    ``docker secret ls`` cannot be used to confirm a guessed value offline."""
    digest = hmac.new(key.encode(), content, hashlib.sha256).hexdigest()[:10]
    return f"{stack}_{secret.name}_{digest}"


def parse_deploy(raw: object, where: str) -> DeploySpec:
    """A container's ``deploy`` key; raises ``SpecProblem`` naming the field."""
    if not isinstance(raw, Mapping):
        raise SpecProblem(where, "deploy must be a dict, e.g. {'replicas': 2}")
    _known(raw, DEPLOY_KEYS, where)
    mode = raw.get("mode", "replicated")
    if mode not in ("replicated", "global"):
        raise SpecProblem(f"{where}.mode", f"{mode!r} must be 'replicated' or 'global'")
    replicas = raw.get("replicas", 1)
    if isinstance(replicas, bool) or not isinstance(replicas, int) or replicas < 0:
        raise SpecProblem(f"{where}.replicas", f"{replicas!r} must be a whole number, 0 or more")
    if mode == "global" and "replicas" in raw:
        raise SpecProblem(f"{where}.replicas", "a global service runs one task per node")
    placement = raw.get("placement") or {}
    if not isinstance(placement, Mapping):
        raise SpecProblem(f"{where}.placement", "placement must be a dict")
    _known(placement, PLACEMENT_KEYS, f"{where}.placement")
    constraints = _strings(placement.get("constraints") or [], f"{where}.placement.constraints")
    for text in constraints:
        if not any(op in text for op in ("==", "!=")):
            raise SpecProblem(
                f"{where}.placement.constraints",
                f"{text!r} is not a constraint; write e.g. 'node.role==manager'",
            )
    spread: list[str] = []
    for item in placement.get("preferences") or []:
        if not isinstance(item, Mapping) or set(item) != {"spread"}:
            raise SpecProblem(
                f"{where}.placement.preferences", "each preference is {'spread': 'node.id'}"
            )
        spread.append(str(item["spread"]))
    per_node = placement.get("max_replicas_per_node")
    if per_node is not None and (isinstance(per_node, bool) or not isinstance(per_node, int)):
        raise SpecProblem(f"{where}.placement.max_replicas_per_node", "use a whole number")
    endpoint_mode = raw.get("endpoint_mode", "vip")
    if endpoint_mode not in ("vip", "dnsrr"):
        raise SpecProblem(f"{where}.endpoint_mode", f"{endpoint_mode!r} must be 'vip' or 'dnsrr'")
    labels = raw.get("labels") or {}
    if isinstance(labels, list | tuple):
        labels = dict(str(item).partition("=")[::2] for item in labels)
    if not isinstance(labels, Mapping) or any(
        str(k).startswith(L.RESERVED_PREFIXES) for k in labels
    ):
        raise SpecProblem(
            f"{where}.labels",
            "labels are a dict of strings; 'infranb.', 'com.docker.compose.' and "
            "'com.docker.stack.' ones are set by infranb itself",
        )
    return DeploySpec(
        mode=mode,
        replicas=replicas,
        constraints=tuple(constraints),
        spread=tuple(spread),
        max_replicas_per_node=per_node,
        resources=_resources(raw.get("resources"), f"{where}.resources"),
        restart_policy=_restart(raw.get("restart_policy"), f"{where}.restart_policy"),
        update_config=_update(raw.get("update_config"), f"{where}.update_config"),
        rollback_config=_update(raw.get("rollback_config"), f"{where}.rollback_config"),
        labels={str(k): str(v) for k, v in labels.items()},
        endpoint_mode=endpoint_mode,
    )


def _known(raw: Mapping[Any, Any], known: Sequence[str], where: str) -> None:
    for key in raw:
        if key not in known:
            raise SpecProblem(f"{where}.{key}", f"unknown key {key!r}; known: {', '.join(known)}")


def _strings(value: object, where: str) -> list[str]:
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise SpecProblem(where, "use a list of strings")
    return list(value)


def _seconds(value: object, where: str) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return parse_duration(value, where)


def _update(raw: object, where: str) -> UpdatePolicy | None:
    return parse_update_policy(raw, where)


def _restart(raw: object, where: str) -> RestartPolicy | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise SpecProblem(where, "use a dict, e.g. {'condition': 'on-failure'}")
    _known(raw, RESTART_KEYS, where)
    condition = raw.get("condition", "any")
    if condition not in ("none", "on-failure", "any"):
        raise SpecProblem(f"{where}.condition", "use 'none', 'on-failure' or 'any'")
    attempts = raw.get("max_attempts")
    if attempts is not None and (isinstance(attempts, bool) or not isinstance(attempts, int)):
        raise SpecProblem(f"{where}.max_attempts", "use a whole number")
    return RestartPolicy(
        condition=condition,
        delay=_seconds(raw["delay"], f"{where}.delay") if "delay" in raw else None,
        max_attempts=attempts,
        window=_seconds(raw["window"], f"{where}.window") if "window" in raw else None,
    )


def _resources(raw: object, where: str) -> dict[str, dict[str, float]]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise SpecProblem(where, "use {'limits': {'cpus': '0.5', 'memory': '64M'}}")
    _known(raw, ("limits", "reservations"), where)
    out: dict[str, dict[str, float]] = {}
    for kind, values in raw.items():
        if not isinstance(values, Mapping):
            raise SpecProblem(f"{where}.{kind}", "use {'cpus': '0.5', 'memory': '64M'}")
        _known(values, RESOURCE_KEYS, f"{where}.{kind}")
        parsed: dict[str, float] = {}
        if values.get("cpus") is not None:
            try:
                parsed["cpus"] = float(values["cpus"])
            except (TypeError, ValueError):
                raise SpecProblem(f"{where}.{kind}.cpus", "use a number, e.g. '0.5'") from None
        if values.get("memory") is not None:
            parsed["memory"] = float(parse_size(values["memory"], f"{where}.{kind}.memory"))
        out[str(kind)] = parsed
    return out


# ---------------------------------------------------------------- service specs


def service_name(stack: str, name: str) -> str:
    """The engine's name of a stack's service (as ``docker stack deploy`` names it)."""
    return f"{stack}_{name}"


def default_network(stack: str) -> str:
    return f"{stack}_default"


def service_networks(spec: ContainerSpec, stack: str) -> tuple[str, ...]:
    """A service with no network joins the stack's default overlay network."""
    return spec.networks or (default_network(stack),)


def _duration(seconds: float | None) -> int | None:
    return None if seconds is None else int(seconds * NANO)


def service_spec(
    spec: ContainerSpec,
    deploy: DeploySpec,
    stack: str,
    environment: Mapping[str, str],
    labels: Mapping[str, str],
    secrets: Sequence[tuple[SecretFile, str, str]] = (),
) -> dict[str, Any]:
    """The engine's service spec (API JSON) for one container spec of a stack; ``secrets``
    are (secret, its Swarm name, its Swarm id)."""
    container: dict[str, Any] = {
        "Image": spec.image,
        # The spec hash on each task tells an update's new tasks from the old ones.
        "Labels": {**spec.labels, TASK_STACK: stack, L.SPEC_HASH: labels.get(L.SPEC_HASH, "")},
        "Env": [f"{k}={v}" for k, v in sorted(environment.items())],
    }
    if spec.entrypoint is not None:
        container["Command"] = _argv(spec.entrypoint)
    if spec.command is not None:
        container["Args"] = _argv(spec.command)
    optional: tuple[tuple[str, object], ...] = (
        ("User", spec.user),
        ("Dir", spec.working_dir),
        ("Hostname", spec.hostname),
        ("StopSignal", spec.stop_signal),
        ("StopGracePeriod", _duration(spec.stop_grace_period)),
        ("Init", spec.init),
    )
    for key, value in optional:
        if value is not None:
            container[key] = value
    if spec.volumes:
        container["Mounts"] = [
            {
                "Type": m.kind,
                "Source": m.source,
                "Target": m.target,
                "ReadOnly": m.read_only,
            }
            for m in spec.volumes
        ]
    if spec.extra_hosts:
        container["Hosts"] = [f"{ip} {host}" for host, ip in sorted(spec.extra_hosts.items())]
    if spec.healthcheck is not None:
        check = spec.healthcheck
        health: dict[str, Any] = {"Test": list(check.test)}
        timings: tuple[tuple[str, float | int | None], ...] = (
            ("Interval", check.interval),
            ("Timeout", check.timeout),
            ("Retries", check.retries),
            ("StartPeriod", check.start_period),
        )
        for key, timing in timings:
            if timing is not None:
                health[key] = timing if key == "Retries" else _duration(timing)
        container["Healthcheck"] = health
    if secrets:
        container["Secrets"] = [
            {
                "SecretName": name,
                "SecretID": secret_id,
                "File": {"Name": secret.target, "UID": "0", "GID": "0", "Mode": 0o444},
            }
            for secret, name, secret_id in secrets
        ]
    if spec.cap_add:
        container["CapabilityAdd"] = list(spec.cap_add)
    if spec.cap_drop:
        container["CapabilityDrop"] = list(spec.cap_drop)
    task: dict[str, Any] = {
        "ContainerSpec": container,
        "Networks": [
            {"Target": net, "Aliases": [spec.name, *spec.aliases.get(net, ())]}
            for net in service_networks(spec, stack)
        ],
    }
    resources = _resources_api(spec, deploy)
    if resources:
        task["Resources"] = resources
    if deploy.restart_policy is not None:
        task["RestartPolicy"] = deploy.restart_policy.api()
    placement: dict[str, Any] = {}
    if deploy.constraints:
        placement["Constraints"] = list(deploy.constraints)
    if deploy.spread:
        placement["Preferences"] = [{"Spread": {"SpreadDescriptor": s}} for s in deploy.spread]
    if deploy.max_replicas_per_node is not None:
        placement["MaxReplicas"] = deploy.max_replicas_per_node
    if placement:
        task["Placement"] = placement
    service: dict[str, Any] = {
        "Name": service_name(stack, spec.name),
        "Labels": {**deploy.labels, **labels},
        "TaskTemplate": task,
        "Mode": {"Global": {}}
        if deploy.mode == "global"
        else {"Replicated": {"Replicas": deploy.replicas}},
        "EndpointSpec": {
            "Mode": deploy.endpoint_mode,
            "Ports": [
                {
                    "Protocol": p.protocol,
                    "TargetPort": p.container_port,
                    **({"PublishedPort": p.host_port} if p.host_port else {}),
                    # The routing mesh needs a virtual IP; DNS round robin publishes per node.
                    "PublishMode": "ingress" if deploy.endpoint_mode == "vip" else "host",
                }
                for p in spec.ports
            ],
        },
    }
    if deploy.update_config is not None:
        service["UpdateConfig"] = deploy.update_config.api()
    if deploy.rollback_config is not None:
        service["RollbackConfig"] = deploy.rollback_config.api()
    return service


def _argv(value: tuple[str, ...] | str) -> list[str]:
    return ["/bin/sh", "-c", value] if isinstance(value, str) else list(value)


def _resources_api(spec: ContainerSpec, deploy: DeploySpec) -> dict[str, Any]:
    out: dict[str, Any] = {}
    limits = dict(deploy.resources.get("limits", {}))
    # A container's own cpus/mem_limit count as limits when deploy gives none.
    if spec.cpus is not None:
        limits.setdefault("cpus", spec.cpus)
    if spec.mem_limit is not None:
        limits.setdefault("memory", float(spec.mem_limit))
    for kind, values in (
        ("Limits", limits),
        ("Reservations", deploy.resources.get("reservations")),
    ):
        if values:
            entry: dict[str, int] = {}
            if "cpus" in values:
                entry["NanoCPUs"] = int(values["cpus"] * NANO)
            if "memory" in values:
                entry["MemoryBytes"] = int(values["memory"])
            out[kind] = entry
    return out


def fingerprints(
    spec: ContainerSpec,
    deploy: DeploySpec,
    environment: Mapping[str, str],
    salt: str,
    secrets: Sequence[tuple[str, str]] = (),
) -> dict[str, str]:
    """One short hash per field (the container's fields, each ``deploy`` key, the secrets
    as (target, Swarm name)), so a plan names what changed; environment values are salted,
    as for containers."""
    prints = spec.field_fingerprints(environment, salt)
    if secrets:
        text = json.dumps(sorted(secrets))
        prints["secrets"] = hashlib.sha256(text.encode()).hexdigest()[:8]
    for key in DEPLOY_KEYS:
        value = getattr(deploy, key, None)
        if key == "placement":
            value = (deploy.constraints, deploy.spread, deploy.max_replicas_per_node)
        text = json.dumps(value, sort_keys=True, default=repr)
        prints[f"deploy.{key}"] = hashlib.sha256(text.encode()).hexdigest()[:8]
    return prints


def fingerprint_labels(prints: Mapping[str, str], salt: str) -> dict[str, str]:
    return {
        L.SPEC_HASH: spec_hash(prints),
        L.SPEC_FIELDS: encode_fingerprints(prints),
        L.SALT: salt,
    }


# ---------------------------------------------------------------- plan

SERVICE_ACTIONS = ("create", "update", "unchanged", "remove")


@dataclass(frozen=True)
class ServiceStep:
    """What a deploy does to one service."""

    name: str
    action: str
    image: str
    wave: int
    replicas: int | None  # None: global
    changed: tuple[str, ...] = ()

    @property
    def reason(self) -> str:
        if self.action == "update":
            return "changed: " + ", ".join(self.changed)
        return {"create": "new service", "remove": "orphan (not in this request)"}.get(
            self.action, ""
        )


def plan_services(
    wanted: Sequence[tuple[ContainerSpec, DeploySpec, dict[str, str]]],
    waves: Sequence[Sequence[str]],
    existing: Mapping[str, Mapping[str, str]],
) -> tuple[list[ServiceStep], list[str]]:
    """Steps in wave order, and the orphans: ``wanted`` is (spec, deploy, fingerprints);
    ``existing`` maps each service of the stack (short name) to its labels."""
    wave_of = {name: index for index, names in enumerate(waves) for name in names}
    steps = []
    for spec, deploy, prints in wanted:
        labels = existing.get(spec.name)
        replicas = None if deploy.mode == "global" else deploy.replicas
        changed: tuple[str, ...] = ()
        if labels is None:
            action = "create"
        elif labels.get(L.SPEC_HASH) == spec_hash(prints):
            action = "unchanged"
        else:
            old = decode_fingerprints(labels.get(L.SPEC_FIELDS, ""))
            action, changed = "update", tuple(changed_fields(old, prints))
        steps.append(
            ServiceStep(spec.name, action, spec.image, wave_of[spec.name], replicas, changed)
        )
    steps.sort(key=lambda s: s.wave)
    names = {spec.name for spec, _, _ in wanted}
    orphans = sorted(name for name in existing if name not in names)
    return steps, orphans


def node_labels(nodes: Sequence[NodeInfo]) -> dict[str, str]:
    """A readable name per node id: the hostname, with the address when hostnames repeat."""
    counts: dict[str, int] = {}
    for node in nodes:
        counts[node.hostname] = counts.get(node.hostname, 0) + 1
    return {
        n.id: n.hostname if counts[n.hostname] == 1 else f"{n.hostname}@{n.address}" for n in nodes
    }
