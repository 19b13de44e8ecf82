"""A stack as Kubernetes objects, pure: from container specs to plain dicts, with what was
converted from which keys and what was not, and why (``infranb.kubernetes`` reads the
sources: a Compose project, a request, a stack on an engine).

Each service (the containers of one Compose service, or one container) becomes a
Deployment (a Job when another service waits for it to complete); its ports and its name a
ClusterIP Service, so the names containers use to reach
each other keep working; a writable named volume a PersistentVolumeClaim; a healthcheck a
probe; limits and reservations resources; a file (a Compose config) a ConfigMap; a secret or
a secret-marked environment value a ``secretKeyRef`` to one Secret the manifests name but
never fill. What has no Kubernetes equivalent a cluster would accept as written is listed in
``not_converted`` with the reason, never dropped in silence.
"""

from __future__ import annotations

import copy
import dataclasses
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from infranb.core.secrets import SecretRef, is_secret_key
from infranb.core.specs import ContainerSpec, Healthcheck, UpdatePolicy

#: what every object carries besides Kubernetes' recommended labels
STACK_LABEL = "infranb.stack"
#: the fields a conversion reads (the others, when set, are listed as not converted)
CONVERTED_FIELDS = frozenset(
    {
        "name", "image", "command", "entrypoint", "environment", "ports", "volumes",
        "healthcheck", "labels", "restart", "user", "working_dir", "mem_limit", "cpus",
        "mem_reservation", "service", "container_number", "files", "expose", "depends_on",
        "networks", "aliases", "tty", "stdin_open", "read_only", "privileged", "cap_add", "tmpfs",
        "cap_drop", "stop_grace_period", "hostname", "restart_with", "pull_policy",
        "pid", "ipc", "group_add", "shm_size", "update_config",
    }
)  # fmt: skip
#: the reason a set field is not converted (the rest get ``NO_EQUIVALENT``)
REASONS = {
    "extra_hosts": "a pod's hostAliases apply to every container of the pod; add them to the "
    "Deployment by hand if the cluster's DNS does not already resolve these names",
    "sysctls": "a pod's securityContext.sysctls needs the cluster to allow each one "
    "(most are unsafe by default)",
    "network_mode": "pods have their own network; a shared namespace is a second container "
    "in the same pod, which is a design choice",
    "dns": "a pod's dnsConfig replaces the cluster's resolver for the whole pod",
    "ulimits": "Kubernetes has no per-container ulimits",
    "devices": "a device is a cluster's device plugin, not a path",
    "logging": "the cluster's logging stack collects stdout and stderr",
    "post_start": "lifecycle hooks run inside the container there, not as infranb runs them",
    "pre_stop": "lifecycle hooks run inside the container there, not as infranb runs them",
    "stop_signal": "Kubernetes sends SIGTERM; its lifecycle.stopSignal is behind the "
    "ContainerStopSignals feature gate (1.33+) and needs the pod's spec.os, so it is not "
    "written (make the image stop on SIGTERM)",
    "init": "no init flag: a pod with shareProcessNamespace: true has its pause process as "
    "PID 1, which reaps zombies (not set here: the containers then see each other's processes)",
    "domainname": "a pod's subdomain works only with a headless Service of that name",
    "security_opt": "seccomp and AppArmor profiles are securityContext fields of their own, "
    "and labels are the node's SELinux",
}
NO_EQUIVALENT = "no Kubernetes field says this for a Deployment's container"
#: why a published host port is not converted
EXPOSE = (
    "a cluster exposes a Service with a NodePort, a LoadBalancer or an Ingress, its "
    "operator's choice (the Service here is ClusterIP)"
)
#: why a dependency is not converted (yet)
TOGETHER = (
    "the pods of a Deployment start together; a readiness probe on the dependency and "
    "retries in the client are the Kubernetes way (an init container that waits is made "
    "for service_healthy only)"
)
#: the Secret the manifests name for secret values (filled with kubectl, never written)
SECRET_SUFFIX = "-secrets"


@dataclass
class Conversion:
    """What a conversion made: the objects, and the rows of its two tables."""

    objects: list[dict[str, Any]] = field(default_factory=list)
    converted: list[dict[str, str]] = field(default_factory=list)
    not_converted: list[dict[str, str]] = field(default_factory=list)
    #: original name -> DNS-1123 name, where they differ
    names: dict[str, str] = field(default_factory=dict)
    #: (kind of name, name) -> what has it: two things never get one name
    taken: dict[tuple[str, str], str] = field(default_factory=dict, repr=False)
    #: the Secret's keys (values are never known here)
    secret_keys: list[str] = field(default_factory=list)
    #: Secrets of one file each: name -> the host file that fills it ("" when it is not a
    #: file here: its content comes from the environment or the request)
    secret_files: dict[str, str] = field(default_factory=dict)

    def add(self, service: str, kind: str, name: str, keys: Iterable[str]) -> None:
        self.converted.append(
            {"service": service, "kind": kind, "name": name, "from": ", ".join(keys)}
        )

    def skip(self, service: str, key: str, reason: str) -> None:
        self.not_converted.append({"service": service, "key": key, "reason": reason})


def dns_name(text: str, limit: int = 63) -> str:
    """``text`` as a DNS-1123 label: lowercase letters, digits and ``-``, starting and ending
    with a letter or digit, at most ``limit`` characters."""
    name = re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")
    name = re.sub(r"-{2,}", "-", name)[:limit].rstrip("-")
    return name or "x"


def labels(stack: str, service: str, component: str | None = None) -> dict[str, str]:
    """Kubernetes' recommended labels, and the stack's."""
    found = {
        "app.kubernetes.io/name": service,
        "app.kubernetes.io/part-of": stack,
        "app.kubernetes.io/managed-by": "infranb",
        STACK_LABEL: stack,
    }
    if component:
        found["app.kubernetes.io/component"] = component
    return found


def convert(
    stack: str,
    specs: Sequence[ContainerSpec],
    *,
    namespace: str | None = None,
    markers: Iterable[str] = (),
    built: Iterable[str] = (),
    config_files: Mapping[str, str] | None = None,
    secret_paths: Iterable[str] = (),
    image_tools: Mapping[str, Collection[str]] | None = None,
    image_ports: Mapping[str, Collection[str]] | None = None,
) -> Conversion:
    """The objects of ``stack`` from its container specs (the containers of one service
    become one Deployment with as many replicas). ``markers``: the keys whose values are
    secrets; ``built``: images built from a context and never pushed (no cluster can pull
    them); ``config_files``: host file -> its text, for the binds that are Compose configs
    (ConfigMaps); ``secret_paths``: the container paths of secret files (a request's
    ``"secret": True``; ``/run/secrets/`` always is), and the host files of Compose's file
    secrets: Secrets named, never filled.
    ``image_ports``: image -> the ports it declares (``EXPOSE``, "5432/tcp"), for the
    services that publish and expose none (their Service is made from them)."""
    out = Conversion()
    stack_name = _named(out, stack, "stack")
    secret = _unique(out, "secret", "(the stack's values)", stack_name + SECRET_SUFFIX)
    services: dict[str, list[ContainerSpec]] = {}
    for spec in specs:
        services.setdefault(spec.service or spec.name, []).append(spec)
    name_of = {s: _named(out, s) for s in services}
    ports_of = dict(image_ports or {})
    built = set(built)
    answers = {}
    for service, group in services.items():
        if group[0].image in built:  # not converted: nothing will answer for it
            continue
        numbers = sorted(
            {p.container_port for p in group[0].ports} | dict(_exposed(group[0], ports_of)).keys()
        )
        if numbers:
            answers[service] = (name_of[service], numbers[0])
            for spec in group:  # a dependency may name one container of the service
                answers[spec.name] = answers[service]
    unconverted = {
        n for s, g in services.items() if g[0].image in built for n in (s, *[c.name for c in g])
    }
    service_of = {spec.name: service for service, group in services.items() for spec in group}
    files = Files(
        dict(config_files or {}),
        set(secret_paths),
        dict(image_tools or {}),
        answers,
        ports_of,
        unconverted,
        service_of,
        stack_name,
        namespace,
        name_of,
    )
    claims: dict[str, str] = {}
    # reached by name (a dependency that must start or be healthy), or run to completion
    depended_on = {
        service_of.get(d, d)
        for spec in specs
        for d, c in spec.depends_on.items()
        if c != "completed_successfully"
    }
    one_shots = {service_of.get(d, d) for spec in specs
                 for d, c in spec.depends_on.items() if c == "completed_successfully"}  # fmt: skip
    for service, group in services.items():
        spec = group[0]
        name = name_of[service]
        if spec.image in built:
            out.skip(service, "build", f"{spec.image} is built here and not in a registry a "
                     "cluster can pull from: push it, then use its reference as image")  # fmt: skip
            continue
        container, pod, used = _container(out, service, spec, name, secret, markers, claims, files)
        template: dict[str, Any] = {
            "metadata": {"labels": labels(stack_name, name)},
            "spec": {"containers": [container], **pod},
        }
        meta = _meta(name, labels(stack_name, name), namespace)
        if spec.labels:  # the service's own labels, kept as annotations (any text fits)
            meta["annotations"] = {str(k): str(v) for k, v in spec.labels.items()}
            used.append("labels")
        if service in one_shots:
            out.objects.append(_job(out, service, spec, meta, template, used))
            out.add(service, "Job", name, ["image", *used, "depends_on (completed)"])
        else:
            out.objects.append(_deployment(out, service, group, meta, template, used))
            out.add(service, "Deployment", name, ["image", *used, "replicas"])
        ports = sorted(
            {(p.container_port, p.protocol) for p in spec.ports} | _exposed(spec, ports_of)
        )
        if ports:
            out.objects.append(_service(name, stack_name, ports, namespace))
            origin = "ports" if spec.ports else "expose" if spec.expose else "the image's EXPOSE"
            out.add(service, "Service", name, [origin, "name"])
        elif service in depended_on:
            out.skip(service, "name", f"{service} publishes, exposes and declares no port (as "
                     "far as known), so no Service is made and its dependents cannot reach it "
                     "by name: add expose: with its port, or pass manager= with its image on "
                     "that engine to read the image's EXPOSE")  # fmt: skip
        for p in spec.ports:
            if p.host_port is not None:
                out.skip(service, "ports", f"{p} publishes host port {p.host_port}: " + EXPOSE)
        _not_converted(out, service, spec)
    for volume, service in claims.items():
        out.objects.append(_claim(volume, stack_name, namespace))
        out.add(service, "PersistentVolumeClaim", volume, ["volumes"])
    if out.secret_keys:
        out.add(stack, "Secret (named, not filled)", secret, sorted(set(out.secret_keys)))
    # What a Deployment uses first (an apply or a play of the stream in order finds it),
    # the Deployments in the request's order (dependencies first, as a request has them).
    out.objects.sort(key=lambda o: KIND_ORDER.get(o["kind"], len(KIND_ORDER)))
    return out


def _deployment(
    out: Conversion,
    service: str,
    group: Sequence[ContainerSpec],
    meta: dict[str, Any],
    template: dict[str, Any],
    used: list[str],
) -> dict[str, Any]:
    """A service that keeps running: as many pods as it has containers."""
    spec = group[0]
    if spec.restart in (None, "always", "unless-stopped"):
        if spec.restart:
            used.append("restart")
    else:
        out.skip(service, "restart", f"restart: {spec.restart}: a Deployment's pods always "
                 "restart (restartPolicy Always); a Job runs to completion instead")  # fmt: skip
    rollout: dict[str, Any] = {}
    if spec.update_config is not None:
        rollout = _strategy(out, service, spec.update_config)
        used.append("update_config")
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta,
        "spec": {
            "replicas": len(group),
            "selector": {"matchLabels": {"app.kubernetes.io/name": meta["name"],
                                         STACK_LABEL: meta["labels"][STACK_LABEL]}},
            **rollout,
            "template": template,
        },
    }  # fmt: skip


def _job(
    out: Conversion,
    service: str,
    spec: ContainerSpec,
    meta: dict[str, Any],
    template: dict[str, Any],
    used: list[str],
) -> dict[str, Any]:
    """A one-shot (another service waits for it to complete): a Job that runs it once, or
    again on failure as many times as ``restart: on-failure:N`` says."""
    policy, _, count = (spec.restart or "no").partition(":")
    if policy == "on-failure":
        template["spec"]["restartPolicy"] = "OnFailure"
        retries = int(count) if count.isdigit() else 6  # Kubernetes' own default
        used.append("restart")
    else:
        template["spec"]["restartPolicy"] = "Never"
        retries = 0  # Compose runs it once
        if spec.restart == "no":
            used.append("restart")
        elif spec.restart:
            out.skip(service, "restart", f"restart: {spec.restart}: a Job runs to completion; "
                     "it restarts only on failure")  # fmt: skip
    if spec.update_config is not None:
        out.skip(service, "update_config", "a Job is not rolled out: it runs once")
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": meta,
        "spec": {"backoffLimit": retries, "template": template},
    }


def _strategy(out: Conversion, service: str, policy: UpdatePolicy) -> dict[str, Any]:
    """``update_config`` as a Deployment's rolling update: start-first adds ``parallelism``
    new pods before old ones go (maxSurge, maxUnavailable 0), stop-first takes that many
    away first; ``monitor`` is how long a new pod must stay ready (minReadySeconds)."""
    batch: int | str = "100%" if policy.parallelism == 0 else (policy.parallelism or 1)
    if policy.order == "start-first":
        rolling = {"maxSurge": batch, "maxUnavailable": 0}
    else:
        rolling = {"maxSurge": 0, "maxUnavailable": batch}
    found: dict[str, Any] = {"strategy": {"type": "RollingUpdate", "rollingUpdate": rolling}}
    if policy.monitor:
        found["minReadySeconds"] = max(1, round(policy.monitor))
    if policy.delay:
        out.skip(service, "update_config.delay", "a Deployment does not pause between "
                 "batches (minReadySeconds, from monitor, is the closest)")  # fmt: skip
    if policy.failure_action or policy.max_failure_ratio is not None:
        out.skip(service, "update_config.failure_action", "a Deployment stops a rollout "
                 "that makes no progress (progressDeadlineSeconds) and does not roll back by "
                 "itself: kubectl rollout undo")  # fmt: skip
    return found


KIND_ORDER = {"ConfigMap": 0, "PersistentVolumeClaim": 1, "Service": 2, "Job": 3, "Deployment": 4}


def _unique(out: Conversion, space: str, owner: str, text: str) -> str:
    """``text`` as a DNS-1123 label that nothing else of ``space`` has ("web_1" and "web-1"
    are "web-1" and "web-1-2"); the same owner always gets the same name."""
    base = dns_name(text)
    name, number = base, 1
    while out.taken.setdefault((space, name), owner) != owner:
        number += 1
        suffix = f"-{number}"
        name = base[: 63 - len(suffix)].rstrip("-") + suffix
    return name


def _named(out: Conversion, original: str, space: str = "service") -> str:
    """A service's, the stack's or a volume's name in the manifests, shown in ``names``
    where it differs."""
    name = _unique(out, space, original, original)
    if name != original:
        out.names[original] = name
    return name


def _meta(name: str, found: Mapping[str, str], namespace: str | None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "labels": dict(found)}
    if namespace:
        meta["namespace"] = namespace
    return meta


def _exposed(
    spec: ContainerSpec, image_ports: Mapping[str, Collection[str]]
) -> set[tuple[int, str]]:
    """The ports ``expose`` names; where a service neither publishes nor exposes one, those
    its image declares (when the image was looked at)."""
    found = set()
    declared = spec.expose or ((not spec.ports and image_ports.get(spec.image)) or ())
    for item in declared:
        port, _, protocol = str(item).partition("/")
        if port.isdigit():
            found.add((int(port), protocol or "tcp"))
    return found


def _service(
    name: str, stack: str, ports: Sequence[tuple[int, str]], namespace: str | None
) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta(name, labels(stack, name), namespace),
        "spec": {
            "type": "ClusterIP",
            "selector": {"app.kubernetes.io/name": name, STACK_LABEL: stack},
            "ports": [
                {"name": f"{protocol}-{port}", "port": port, "targetPort": port,
                 "protocol": protocol.upper()}
                for port, protocol in ports
            ],
        },
    }  # fmt: skip


def _claim(volume: str, stack: str, namespace: str | None) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": _meta(volume, labels(stack, volume, "storage"), namespace),
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": "1Gi"}},
        },
    }


@dataclass(frozen=True)
class Files:
    """What the conversion knows of files: the configs' texts by host path, and which
    paths are secrets."""

    configs: Mapping[str, str]
    secrets: set[str]
    #: image -> the programs it has (``sh``, ``nc``), where the image could be looked at
    tools: Mapping[str, Collection[str]] = field(default_factory=dict)
    #: service -> (its Service's name, its first port): what a dependent waits for
    answers: Mapping[str, tuple[str, int]] = field(default_factory=dict)
    #: image -> the ports it declares, for services that name none
    image_ports: Mapping[str, Collection[str]] = field(default_factory=dict)
    #: services and their containers' names that are not converted (built here)
    unconverted: Collection[str] = ()
    #: container name -> its service
    service_of: Mapping[str, str] = field(default_factory=dict)
    #: the stack's name and the namespace, as the objects carry them
    stack: str = ""
    namespace: str | None = None
    #: service -> its name in the manifests
    names: Mapping[str, str] = field(default_factory=dict)

    def service_name(self, service: str) -> str:
        return self.names.get(service, service)

    def is_secret(self, path: str) -> bool:
        return path in self.secrets or path.startswith("/run/secrets/")


def _container(
    out: Conversion,
    service: str,
    spec: ContainerSpec,
    name: str,
    secret: str,
    markers: Iterable[str],
    claims: dict[str, str],
    files: Files,
) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    """The pod's container, the pod's other fields, and the keys they were made from."""
    used: list[str] = []
    container: dict[str, Any] = {"name": name, "image": spec.image}
    pod: dict[str, Any] = {}
    if spec.entrypoint is not None:
        container["command"] = _argv(spec.entrypoint)
        used.append("entrypoint")
    if spec.command is not None:
        container["args"] = _argv(spec.command)
        used.append("command")
    env = _environment(out, spec.environment, secret, tuple(markers))
    if env:
        container["env"] = env
        used.append("environment")
    ports = sorted(
        {(p.container_port, p.protocol) for p in spec.ports} | _exposed(spec, files.image_ports)
    )
    if ports:
        container["ports"] = [
            {"containerPort": port, "protocol": protocol.upper()} for port, protocol in ports
        ]
    if spec.working_dir:
        container["workingDir"] = spec.working_dir
        used.append("working_dir")
    pull = {"always": "Always", "never": "Never", "missing": "IfNotPresent"}.get(
        spec.pull_policy or ""
    )
    if pull:
        container["imagePullPolicy"] = pull
        used.append("pull_policy")
    mounts, volumes = _volumes(out, service, spec, name, claims, files)
    if mounts:
        container["volumeMounts"] = mounts
        pod["volumes"] = volumes
        used.append("volumes")
    if spec.healthcheck is not None and not spec.healthcheck.disabled and spec.healthcheck.test:
        probe = _probe(spec.healthcheck)
        # Two copies: one dict twice would be written as a YAML anchor and alias.
        container["livenessProbe"] = probe
        container["readinessProbe"] = copy.deepcopy(probe)
        used.append("healthcheck")
    resources = _resources(spec)
    if resources:
        container["resources"] = resources
        used += [k for k in ("mem_limit", "cpus", "mem_reservation") if getattr(spec, k)]
    security = _security(spec)
    if security:
        container["securityContext"] = security
        used += [k for k in ("user", "read_only", "privileged", "cap_add", "cap_drop")
                 if getattr(spec, k)]  # fmt: skip
    if spec.tty:
        container["tty"] = True
        used.append("tty")
    if spec.stdin_open:
        container["stdin"] = True
        used.append("stdin_open")
    if spec.stop_grace_period is not None:
        pod["terminationGracePeriodSeconds"] = int(spec.stop_grace_period)
        used.append("stop_grace_period")
    if spec.hostname:
        pod["hostname"] = dns_name(spec.hostname)
        used.append("hostname")
    used += _host_namespaces_and_groups(out, service, spec, pod)
    if spec.shm_size:
        # Kubernetes' way to size /dev/shm: a memory-backed emptyDir mounted over it
        container.setdefault("volumeMounts", []).append({"name": "dshm", "mountPath": "/dev/shm"})
        pod.setdefault("volumes", []).append(
            {"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": str(spec.shm_size)}}
        )
        used.append("shm_size")
    waits = []
    for named, condition in spec.depends_on.items():
        dependency = files.service_of.get(named, named)  # a request may name a container
        if condition == "completed_successfully":
            out.skip(service, f"depends_on.{dependency}", f"condition {condition}: "
                     f"{dependency} is a Job; a pod that waits for a Job to finish needs the "
                     "API from inside the cluster (kubectl wait), which is not made here: "
                     "apply the Job and wait for it before the rest")  # fmt: skip
            continue
        if condition != "healthy":
            out.skip(service, f"depends_on.{dependency}", f"condition {condition}: " + TOGETHER)
            continue
        wait, why = _wait_for(dependency, spec.image, files)
        if wait is None:
            out.skip(service, f"depends_on.{dependency}", why)
            continue
        waits.append(wait)
        used.append(f"depends_on.{dependency}")
    if waits:
        pod["initContainers"] = waits
    return container, pod, used


def _host_namespaces_and_groups(
    out: Conversion, service: str, spec: ContainerSpec, pod: dict[str, Any]
) -> list[str]:
    """``pid: host``, ``ipc: host`` and numeric ``group_add``, which are the pod's in
    Kubernetes (one service's pod has one container, so nothing else shares them)."""
    used = []
    for key, field_name in (("pid", "hostPID"), ("ipc", "hostIPC")):
        value = getattr(spec, key)
        if value == "host":
            pod[field_name] = True
            used.append(key)
        elif value:
            out.skip(service, key, f"{key}: {value}: a pod shares only the host's namespace "
                     "or its own (shareProcessNamespace), not another container's")  # fmt: skip
    numbers = [g for g in spec.group_add if g.isdigit()]
    if numbers:
        pod.setdefault("securityContext", {})["supplementalGroups"] = [int(g) for g in numbers]
        used.append("group_add")
    names = [g for g in spec.group_add if not g.isdigit()]
    if names:
        out.skip(service, "group_add", f"{', '.join(names)}: supplementalGroups take numbers "
                 "(the group's id in the image)")  # fmt: skip
    return used


#: how an init container waits for a dependency's Service to answer: ``nc -z`` where the
#: nc has it (OpenBSD's, GNU's); busybox's plain nc has no ``-z`` but connects and quits on
#: an empty stdin (measured on Debian's busybox 1.35); ``-w 1`` bounds both.
WAIT = (
    "until nc -z -w 1 {host} {port} 2>/dev/null || nc -w 1 {host} {port} </dev/null "
    "2>/dev/null; do echo waiting for {host}:{port}; sleep 1; done"
)


def _wait_for(dependency: str, image: str, files: Files) -> tuple[dict[str, Any] | None, str]:
    """An init container that waits until the dependency's Service answers on its first
    port, run from the service's own image: only when that image is known to have a shell
    and ``nc``; else None and why."""
    if dependency in files.unconverted:
        return None, f"{dependency} is not converted (its own row says why): nothing would answer"
    if dependency not in files.answers:
        return None, (
            f"{dependency} has no port: no Service answers for it, so nothing can be waited "
            "for (a readiness probe on it, and retries in the client)"
        )
    tools = files.tools.get(image)
    if tools is None:
        return None, (
            f"waiting for {dependency} takes a shell and nc in {image}, which is not on this "
            "engine to be looked at (pass manager= with the image pulled, or add an init "
            "container by hand)"
        )
    if not {"sh", "nc"} <= set(tools):
        missing = ", ".join(sorted({"sh", "nc"} - set(tools)))
        return None, (
            f"waiting for {dependency} takes a shell and nc; {image} has no {missing} (an "
            "init container of an image that has them, added by hand)"
        )
    host, port = files.answers[dependency]
    return {
        "name": dns_name(f"wait-for-{host}"),
        "image": image,
        "command": ["sh", "-c", WAIT.format(host=host, port=port)],
    }, ""


def _argv(value: tuple[str, ...] | str) -> list[str]:
    return ["/bin/sh", "-c", value] if isinstance(value, str) else list(value)


def _environment(
    out: Conversion,
    environment: Mapping[str, str | SecretRef],
    secret: str,
    markers: tuple[str, ...],
) -> list[dict[str, Any]]:
    env: list[dict[str, Any]] = []
    for key, value in environment.items():
        marked = is_secret_key(key, markers) if markers else is_secret_key(key)
        if isinstance(value, SecretRef) or marked:
            out.secret_keys.append(key)
            env.append({"name": key, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}})
        else:
            env.append({"name": key, "value": str(value)})
    return env


def _volumes(
    out: Conversion,
    service: str,
    spec: ContainerSpec,
    name: str,
    claims: dict[str, str],
    files: Files,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    mounts: list[dict[str, Any]] = []
    volumes: list[dict[str, Any]] = []
    for index, mount in enumerate(spec.volumes):
        if mount.kind == "bind" and mount.source in files.configs:
            config = _unique(out, "config", f"{service}:{mount.target}",
                             f"{name}-{PurePosixPath(mount.target).name}")  # fmt: skip
            _config_map(out, service, config, mount.target, files.configs[mount.source], files)
            volumes.append({"name": config, "configMap": {"name": config}})
            mounts.append({"name": config, "mountPath": mount.target, "subPath": "content",
                           "readOnly": True})  # fmt: skip
            continue
        if mount.kind == "bind" and (
            mount.source in files.secrets or files.is_secret(mount.target)
        ):
            _secret_file(out, service, name, mount.target, mount.source, mounts, volumes)
            continue
        if mount.kind == "bind":
            out.skip(service, "volumes", f"{mount.source}:{mount.target} is a folder of this "
                     "host; a cluster's nodes do not have it (a ConfigMap, or a volume with "
                     "the data, instead)")  # fmt: skip
            continue
        if not mount.source:
            vol = f"anonymous-{index}"
            volumes.append({"name": vol, "emptyDir": {}})
        else:
            vol = _named(out, mount.source, "volume")
            claims.setdefault(vol, service)
            volumes.append({"name": vol, "persistentVolumeClaim": {"claimName": vol}})
        entry: dict[str, Any] = {"name": vol, "mountPath": mount.target}
        if mount.read_only:
            entry["readOnly"] = True
        mounts.append(entry)
    for index, (path, options) in enumerate(sorted(spec.tmpfs.items())):
        vol = f"tmpfs-{index}"
        size = re.search(r"size=(\d+)", options or "")
        empty: dict[str, Any] = {"medium": "Memory"}
        if size:
            empty["sizeLimit"] = size.group(1)
        volumes.append({"name": vol, "emptyDir": empty})
        mounts.append({"name": vol, "mountPath": path})
    for path, content in sorted(spec.files.items()):
        if isinstance(content.content, SecretRef) or files.is_secret(path):
            _secret_file(out, service, name, path, "", mounts, volumes)
            continue
        config = _unique(out, "config", f"{service}:{path}", f"{name}-{PurePosixPath(path).name}")
        _config_map(out, service, config, path, content.content, files)
        volumes.append({"name": config, "configMap": {"name": config}})
        mounts.append({"name": config, "mountPath": path, "subPath": "content",
                       "readOnly": True})  # fmt: skip
    return mounts, volumes


def _config_map(
    out: Conversion, service: str, name: str, path: str, text: str, files: Files
) -> None:
    meta = _meta(name, labels(files.stack, files.service_name(service), "config"),
                 files.namespace)  # fmt: skip
    out.objects.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta,
                        "data": {"content": text}})  # fmt: skip
    out.add(service, "ConfigMap", name, [f"configs ({path})"])


def _secret_file(
    out: Conversion,
    service: str,
    name: str,
    path: str,
    source: str,
    mounts: list[dict[str, Any]],
    volumes: list[dict[str, Any]],
) -> None:
    """A secret file: mounted from a Secret of its own that the manifests name, never
    fill (``kubectl create secret generic NAME --from-file=content=...``)."""
    secret = _unique(out, "secret", f"{service}:{path}", f"{name}-{PurePosixPath(path).name}")
    out.secret_files[secret] = source
    volumes.append({"name": secret, "secret": {"secretName": secret}})
    mounts.append({"name": secret, "mountPath": path, "subPath": "content", "readOnly": True})
    out.add(service, "Secret (named, not filled)", secret, [f"secrets ({path})"])


_HTTP_FETCH = re.compile(
    r"^(?:curl\s+(?:-[a-zA-Z]+\s+)*|wget\s+(?:-[a-zA-Z-]+\s+)*)"
    r"https?://(?:localhost|127\.0\.0\.1)(?::(\d+))?(/\S*)?\s*$"
)


def _probe(check: Healthcheck) -> dict[str, Any]:
    """A probe from a healthcheck: ``httpGet`` where the test is a plain fetch of a local
    URL (curl or wget), else ``exec``."""
    kind, *rest = check.test
    text = rest[0] if kind == "CMD-SHELL" and rest else " ".join(rest)
    fetch = _HTTP_FETCH.match(text.strip())
    probe: dict[str, Any]
    if fetch:
        probe = {"httpGet": {"path": fetch.group(2) or "/", "port": int(fetch.group(1) or 80)}}
    elif kind == "CMD-SHELL":
        probe = {"exec": {"command": ["/bin/sh", "-c", text]}}
    else:
        probe = {"exec": {"command": list(rest)}}
    if check.interval:
        probe["periodSeconds"] = max(1, round(check.interval))
    if check.timeout:
        probe["timeoutSeconds"] = max(1, round(check.timeout))
    if check.retries:
        probe["failureThreshold"] = check.retries
    if check.start_period:
        probe["initialDelaySeconds"] = round(check.start_period)
    return probe


def _resources(spec: ContainerSpec) -> dict[str, Any]:
    limits: dict[str, Any] = {}
    requests: dict[str, Any] = {}
    if spec.mem_limit:
        limits["memory"] = str(spec.mem_limit)
    if spec.cpus:
        limits["cpu"] = f"{round(spec.cpus * 1000)}m"
    if spec.mem_reservation:
        requests["memory"] = str(spec.mem_reservation)
    return {k: v for k, v in (("limits", limits), ("requests", requests)) if v}


def _security(spec: ContainerSpec) -> dict[str, Any]:
    found: dict[str, Any] = {}
    if spec.user:
        user, _, group = spec.user.partition(":")
        if user.isdigit():
            found["runAsUser"] = int(user)
        if group.isdigit():
            found["runAsGroup"] = int(group)
    if spec.read_only:
        found["readOnlyRootFilesystem"] = True
    if spec.privileged:
        found["privileged"] = True
    caps = {}
    if spec.cap_add:
        caps["add"] = list(spec.cap_add)
    if spec.cap_drop:
        caps["drop"] = list(spec.cap_drop)
    if caps:
        found["capabilities"] = caps
    return found


def _not_converted(out: Conversion, service: str, spec: ContainerSpec) -> None:
    """Every set field the conversion did not read, with its reason."""
    defaults = ContainerSpec(name=spec.name, image=spec.image)
    for f in dataclasses.fields(spec):
        if f.name in CONVERTED_FIELDS or f.name.startswith("_"):
            continue
        if getattr(spec, f.name) != getattr(defaults, f.name):
            out.skip(service, f.name, REASONS.get(f.name, NO_EQUIVALENT))
    extra = [n for n in spec.networks if n not in ("default", "bridge")]
    if len(extra) > 1:
        apart = "keeping them apart is a NetworkPolicy (not written here)"
        out.skip(service, "networks", f"networks {', '.join(extra)}: a cluster's pods share "
                 f"one network; {apart}")  # fmt: skip
    aliases = sorted({a for names in spec.aliases.values() for a in names} - {service, spec.name})
    if aliases:
        out.skip(service, "aliases", f"{', '.join(aliases)}: a Service answers to its own name "
                 "only; each alias would be a Service of its own (not made here)")  # fmt: skip
    if spec.user and not spec.user.partition(":")[0].isdigit():
        out.skip(service, "user", f"user {spec.user!r} is a name: runAsUser takes a number")
