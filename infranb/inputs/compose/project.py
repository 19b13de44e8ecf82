"""A loaded Compose project, and its translation into infranb requests.

Pure: ``Project`` holds the merged model and the container dicts made from it; nothing here
talks to an engine. ``manager.up(project)`` runs what ``builds()`` and ``operation()`` return.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from infranb.core import hooks
from infranb.core.errors import ComposeError, Problem
from infranb.core.options import OPTIONS
from infranb.core.request import InfrastructureOperation
from infranb.core.secrets import SecretRef, is_secret_key, masked_container
from infranb.core.specs import MOUNT_PROPAGATION, normal_project_name, parse_containers
from infranb.inputs.compose.interpolation import Interpolator, parse_env_file
from infranb.inputs.compose.loader import (
    PROJECT_NAME_VARIABLE,
    Loader,
    Model,
    ProjectVariables,
    find_files,
    name_key,
    project_variables,
)

if TYPE_CHECKING:
    import pandas as pd

#: service keys infranb applies (the rest is listed in ``unsupported`` or ``not_applicable``)
APPLIED = frozenset(
    {
        "image", "build", "container_name", "command", "entrypoint", "environment", "env_file",
        "ports", "expose", "volumes", "tmpfs", "networks", "depends_on", "healthcheck",
        "restart", "user", "working_dir", "hostname", "extra_hosts", "labels", "cap_add",
        "cap_drop", "init", "stop_signal", "stop_grace_period", "profiles", "secrets",
        "configs", "privileged", "mem_limit", "cpus", "deploy", "scale", "extends",
        "post_start", "pre_stop", *OPTIONS,
    }
)  # fmt: skip
#: keys that do not change how a container runs: listed, never refused
NOT_APPLICABLE = {
    "attach": "which logs 'compose up' attaches to: no effect on the container",
    "develop": "compose watch (file sync while developing): no effect on the container",
    "pull_refresh_after": "when to pull again: no effect on the container",
    "ports.name": "a port's name: no effect on the container",
    "ports.app_protocol": "a port's application protocol: no effect on the container",
    "ports.mode": "Swarm's ingress/host publishing: 'up' publishes on the host either way",
    "volumes.consistency": "macOS file sharing: no effect on Linux",
    "links (by service name)": "the service's name resolves on the project's network already",
    "deploy.mode": "Swarm only ('up' runs replicas)",
    "deploy.placement": "Swarm only",
    "deploy.rollback_config": "Swarm only",
    "deploy.endpoint_mode": "Swarm only",
    "deploy.labels": "Swarm service labels: 'up' does not put them on containers",
    "deploy.restart_policy.delay": "Swarm only ('up' applies the condition and attempts)",
    "deploy.restart_policy.window": "Swarm only ('up' applies the condition and attempts)",
    "deploy.resources.reservations.cpus": "not applied by 'up' either",
}
REASONS = {
    "links": "a link with an alias: give the service that alias on the network instead",
    "external_links": "links to containers outside the project: not applied",
    "volumes_from": "mounts another container's volumes: not applied",
    "gpus": "GPU devices: not applied",
    "annotations": "OCI annotations need a newer engine API (1.43)",
    "blkio_config": "block IO limits: not applied",
    "credential_spec": "Windows only",
    "isolation": "Windows only",
    "label_file": "labels from a file: not applied",
    "use_api_socket": "the engine's socket inside the container: not applied",
    "provider": "a provider service is not a container: not applied",
    "models": "AI models: not applied",
}
CONDITIONS = {
    "service_started": "started",
    "service_healthy": "healthy",
    "service_completed_successfully": "completed_successfully",
}
HEALTHCHECK_APPLIED = ("test", "interval", "timeout", "retries", "start_period", "disable")
REASONS_HEALTHCHECK = {"start_interval": "needs a newer engine (API 1.44)"}
BUILD_APPLIED = ("context", "dockerfile", "args", "target", "labels")
NETWORK_APPLIED = (
    "name", "external", "driver", "labels", "internal", "driver_opts", "ipam", "attachable",
    "enable_ipv6",
)  # fmt: skip
VOLUME_APPLIED = ("name", "external", "driver", "labels", "driver_opts")
PORT_APPLIED = ("target", "published", "host_ip", "protocol")
MOUNT_APPLIED = ("type", "source", "target", "read_only", "tmpfs", "bind", "volume", "options")
#: long-syntax mount options applied (others are listed)
BIND_APPLIED = ("create_host_path", "selinux", "propagation")
#: the short-syntax modes a mount keeps (cached, delegated, consistent: macOS only)
APPLIED_MODES = ("z", "Z", "nocopy", *MOUNT_PROPAGATION)
VOLUME_OPTIONS_APPLIED = ("nocopy",)


class ContainerDicts(list[dict[str, Any]]):
    """The container dicts of a project's request; shown with secret values masked."""

    def __repr__(self) -> str:
        return repr([masked_container(c) for c in self])


@dataclass(frozen=True)
class Unsupported:
    service: str  # "(networks)", "(volumes)", "(project)" for top-level keys
    key: str
    reason: str


def _frame(rows: Sequence[Unsupported]) -> pd.DataFrame:
    import pandas as pd

    found = [(u.service, u.key, u.reason) for u in rows]
    return pd.DataFrame(list(dict.fromkeys(found)), columns=["service", "key", "reason"])


def _plain_link(link: object) -> bool:
    """``db`` or ``db:db``: a name every container on the network resolves already."""
    target, _, alias = str(link).partition(":")
    return not alias or alias == target


def _device(value: object) -> str:
    """A device as ``host:container[:permissions]`` from either syntax."""
    if isinstance(value, Mapping):
        parts = [str(value.get("source", "")), str(value.get("target") or value.get("source"))]
        if value.get("permissions"):
            parts.append(str(value["permissions"]))
        return ":".join(parts)
    return str(value)


def load(
    path: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    project_name: str | None = None,
    profiles: Sequence[str] | None = None,
    env_files: Sequence[str | os.PathLike[str]] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Project:
    """Load a Compose project: a folder (its compose file and override), a file, or a list of
    files merged in order like ``-f a -f b``.

    ``environ`` replaces ``os.environ`` for interpolation (and wins over the ``.env`` file,
    or ``env_files`` when given). The name is ``project_name``, else ``COMPOSE_PROJECT_NAME``,
    else the top-level ``name:``, else the folder's name, normalised as Compose does (the
    order compose-go follows); ``${COMPOSE_PROJECT_NAME}`` in the files is that name.
    ``profiles`` (default: ``COMPOSE_PROFILES``) enables services that name a profile.
    """
    paths = [path] if isinstance(path, str | os.PathLike) else list(path)
    if not paths:
        raise ComposeError("give a folder, a compose file or a list of files")
    files = find_files(paths[0]) if len(paths) == 1 else [Path(p).resolve() for p in paths]
    for file in files:
        if not file.is_file():
            raise ComposeError(f"{file}: no such file")
    directory = files[0].parent
    environment = dict(os.environ if environ is None else environ)
    origins: dict[str, str] = {}
    found = project_variables(directory, env_files, environment, origins)
    if environ is None:  # the process's own: a revert can read these variables again
        origins.update({k: "" for k in environment})

    def name_in_force(key: Callable[[], str]) -> str:
        # compose-go's order (cli/options.go): -p, COMPOSE_PROJECT_NAME from the
        # environment and then .env (``found`` has the environment's winning), the
        # ``name:`` key, the folder's name.
        given = project_name or found.get(PROJECT_NAME_VARIABLE) or key() or directory.name
        return normal_project_name(given)

    variables = ProjectVariables(found, lambda: name_in_force(lambda: name_key(files, found)))
    interpolate = Interpolator(variables)
    model = Loader(interpolate, variables).load(files, directory)
    name = variables.name or name_in_force(lambda: model.name or "")
    if not name:
        raise ComposeError(
            f"{files[0]}: no usable project name (from {directory.name!r}); pass project_name='...'"
        )
    if profiles is None:
        profiles = [p for p in variables.get("COMPOSE_PROFILES", "").split(",") if p]
    warnings = list(model.warnings)
    warnings += [
        f"The {v} variable is not set: it was replaced by an empty string."
        for v in interpolate.unset
    ]
    return Project(
        name, directory, files, model, {**found, PROJECT_NAME_VARIABLE: name}, tuple(profiles),
        warnings,
        (interpolate.whole, origins),
    )  # fmt: skip


class Project:
    """A Compose project, loaded and merged; see ``infranb.compose.load``."""

    def __init__(
        self,
        name: str,
        directory: Path,
        files: Sequence[Path],
        model: Model,
        variables: Mapping[str, str],
        profiles: Sequence[str],
        warnings: list[str],
        references: tuple[Mapping[str, str], Mapping[str, str]] | None = None,
    ) -> None:
        self.name = name
        self.directory = directory
        self.files = list(files)
        self.model = model
        self.profiles = tuple(profiles)
        self.warnings = warnings
        self._variables = dict(variables)  # kept private: values may be secrets
        # value -> the variable it was whole; variable -> its file ("" for the environment)
        whole, origins = references or ({}, {})
        self._whole, self._origins = dict(whole), dict(origins)
        self._unsupported: list[Unsupported] = []
        self._not_applicable: list[Unsupported] = []
        self._swarm_bases: dict[str, dict[str, Any]] = {}
        self.services = {
            name: service for name, service in model.services.items() if self._active(service)
        }
        self.networks = self._networks()
        self.volumes = self._volumes()
        self.containers = self._containers()

    # ---------------------------------------------------------------- names

    def container_name(self, service: str, number: int = 1) -> str:
        """``container_name``, else Compose's ``<project>-<service>-<number>``."""
        given = self.model.services[service].get("container_name")
        return str(given) if given else f"{self.name}-{service}-{number}"

    def container_names(self, service: str) -> list[str]:
        """The names of all of a service's containers (its replicas)."""
        return [self.container_name(service, n) for n in range(1, self.replicas(service) + 1)]

    def image(self, service: str) -> str:
        """The image a service runs; a build-only service gets ``<project>-<service>``."""
        given = self.model.services[service].get("image")
        return str(given) if given else f"{self.name}-{service}".lower()

    def network_name(self, key: str) -> str:
        options = self.model.networks.get(key) or {}
        if options.get("name"):
            return str(options["name"])
        return key if options.get("external") else f"{self.name}_{key}"

    def volume_name(self, key: str) -> str:
        options = self.model.volumes.get(key) or {}
        if options.get("name"):
            return str(options["name"])
        return key if options.get("external") else f"{self.name}_{key}"

    # ---------------------------------------------------------------- requests

    def operation(self, **fields: Any) -> InfrastructureOperation:
        """The ``orchestrate_containers`` request that brings the project up; ``fields``
        (``dry_run``, ``remove_orphans``, ...) are passed to the request."""
        return InfrastructureOperation(
            operation="orchestrate_containers",
            stack=self.name,
            containers=[dict(c) for c in self.containers],
            networks={k: dict(v) for k, v in self.networks.items()},
            volumes={k: dict(v) for k, v in self.volumes.items()},
            project_dir=str(self.directory.resolve()),
            config_files=[str(f.resolve()) for f in self.files],
            **fields,
        )

    def deploy(self, **fields: Any) -> InfrastructureOperation:
        """The ``deploy_stack`` request that runs the project as Swarm services: one service
        per Compose service (named as Compose names them), its ``deploy:`` key applied,
        networks as overlay networks. ``fields`` are passed to the request."""
        from infranb.core.swarm import DEPLOY_KEYS

        service_of = {n: s for s in self.services for n in self.container_names(s)}
        containers = []
        for service in self.services:
            # The container before deploy: and the run options: Swarm reads deploy itself.
            entry = {**self._swarm_bases[service], "name": service}
            entry.pop("service", None)  # a Swarm service is named by its service already
            for path in entry.pop("files", {}):  # Swarm takes secrets as its own objects
                self.warnings.append(
                    f"service {service!r}: {path} (from environment or content) is not "
                    "applied by deploy(); give it as a file: secret"
                )
            if "depends_on" in entry:
                entry["depends_on"] = {
                    service_of.get(k, k): v for k, v in entry["depends_on"].items()
                }
            deploy = self.services[service].get("deploy") or {}
            kept = {k: v for k, v in deploy.items() if k in DEPLOY_KEYS}
            if kept:
                entry["deploy"] = kept
            self._as_swarm_secrets(service, entry)
            containers.append(entry)
        # A swarm's services meet on overlay networks; Compose's default driver is bridge.
        networks = {
            name: {
                **options,
                "driver": "overlay" if options["driver"] == "bridge" else options["driver"],
            }
            for name, options in self.networks.items()
        }
        return InfrastructureOperation(
            operation="deploy_stack",
            stack=self.name,
            containers=containers,
            networks=networks,
            **fields,
        )

    def _as_swarm_secrets(self, service: str, entry: dict[str, Any]) -> None:
        """File secrets become Swarm secrets (instead of the bind mounts ``up`` uses)."""
        secrets = []
        for ref in self.services[service].get("secrets") or []:
            name = str(ref["source"])
            file = (self.model.secrets.get(name) or {}).get("file")
            if not file:
                continue
            target = str(ref.get("target") or name)
            if not target.startswith("/"):
                target = "/run/secrets/" + target
            mount = f"{file}:{target}:ro"
            entry["volumes"] = [v for v in entry.get("volumes", []) if v != mount]
            secrets.append({"file": str(file), "name": name, "target": target})
        if not entry.get("volumes"):
            entry.pop("volumes", None)
        if secrets:
            entry["secrets"] = secrets

    def builds(self) -> list[InfrastructureOperation]:
        """One ``manage_images`` build request per service with ``build:``."""
        requests = []
        tags: set[str] = set()
        for service, spec in self.services.items():
            build = spec.get("build")
            if not build or self.image(service) in tags:
                continue  # services sharing one tag (and build) build it once
            tags.add(self.image(service))
            params: dict[str, Any] = {
                "action": "build",
                "path": build["context"],
                "tag": self.image(service),
            }
            if build.get("dockerfile"):
                params["dockerfile"] = str(build["dockerfile"])
            args = {}
            for key, value in (build.get("args") or {}).items():
                if value is not None:
                    args[key] = str(value)
                elif key in self._variables:  # "ARG" alone: the value where Compose runs
                    args[key] = self._variables[key]
            if args:
                params["buildargs"] = args
            if build.get("target"):
                params["target"] = str(build["target"])
            if build.get("labels"):
                params["labels"] = dict(build["labels"])
            requests.append(InfrastructureOperation(operation="manage_images", image_params=params))
        return requests

    # ---------------------------------------------------------------- tables

    def to_frame(self) -> pd.DataFrame:
        """One row per service (profiles applied)."""
        import pandas as pd

        rows = []
        for service, spec in self.services.items():
            container = self._swarm_bases[service]
            names = self.container_names(service)
            health = spec.get("healthcheck") or {}
            test = health.get("test")
            rows.append(
                {
                    "service": service,
                    "container": names[0]
                    if len(names) == 1
                    else f"{names[0]} .. {names[-1]}"
                    if names
                    else "(0 replicas)",
                    "replicas": len(names),
                    "image": container["image"],
                    "build": self._shown_path((spec.get("build") or {}).get("context", "")),
                    "ports": ", ".join(container.get("ports", [])),
                    "networks": ", ".join(container.get("networks") or [])
                    or f"network_mode {spec.get('network_mode')}",
                    "depends_on": ", ".join(
                        f"{dep} ({CONDITIONS[opts['condition']]})"
                        for dep, opts in (spec.get("depends_on") or {}).items()
                        if dep in self.services
                    ),
                    "healthcheck": "disabled"
                    if health.get("disable")
                    else (" ".join(test) if isinstance(test, list) else str(test or "")),
                    "profiles": ", ".join(spec.get("profiles", [])),
                }
            )
        columns = [
            "service", "container", "replicas", "image", "build", "ports", "networks",
            "depends_on", "healthcheck", "profiles",
        ]  # fmt: skip
        return pd.DataFrame(rows, columns=columns)

    def _shown_path(self, path: str) -> str:
        """A path inside the project folder as ``./relative``; others as they are."""
        if path and os.path.isabs(path) and Path(path).is_relative_to(self.directory):
            return "./" + str(Path(path).relative_to(self.directory))
        return path

    @property
    def unsupported(self) -> pd.DataFrame:
        """Every key of the files that changes how a container runs and that infranb does
        not apply: service, key, reason. ``up`` refuses a project with any, unless
        ``allow_unapplied=True``."""
        return _frame(self._unsupported)

    @property
    def not_applicable(self) -> pd.DataFrame:
        """Keys that do not change a container (``attach``, ``develop``, Swarm-only
        ``deploy`` keys, a port's name): service, key, reason."""
        return _frame(self._not_applicable)

    def unapplied_problems(self) -> list[Problem]:
        """One problem per unapplied key, for a refusal that says what to do."""
        return [
            Problem(
                f"services.{u.service}.{u.key}" if not u.service.startswith("(") else u.key,
                f"{u.reason}; the container would run differently from the file. Pass "
                "allow_unapplied=True (to up() or the config) to run without it",
            )
            for u in dict.fromkeys(self._unsupported)
        ]

    def __repr__(self) -> str:
        files = ", ".join(f.name for f in self.files)
        return (
            f"<compose project {self.name!r}: {len(self.services)} service(s) from {files}, "
            f"{len(self.unsupported)} unsupported key(s)>"
        )

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        face = hooks.display()
        bundle: dict[str, str] = face.select(face.compose_bundle(self), include, exclude)
        return bundle

    def _repr_html_(self) -> str:
        html: str = hooks.display().compose_bundle(self)["text/html"]
        return html

    # ---------------------------------------------------------------- translation

    def _note(self, service: str, key: str, reason: str) -> None:
        """A key of the files that is not applied: ``not_applicable`` when it does not
        change the container, else ``unsupported`` (which ``up`` refuses unless
        ``allow_unapplied``)."""
        if key in NOT_APPLICABLE:
            self._not_applicable.append(Unsupported(service, key, NOT_APPLICABLE[key]))
        else:
            self._unsupported.append(Unsupported(service, key, reason))

    def _active(self, service: Mapping[str, Any]) -> bool:
        wanted = service.get("profiles") or []
        return not wanted or "*" in self.profiles or bool(set(wanted) & set(self.profiles))

    def _used_networks(self) -> list[str]:
        used: list[str] = []
        for spec in self.services.values():
            for key in spec.get("networks") or {"default": None}:
                if key not in used:
                    used.append(key)
        return used

    def _networks(self) -> dict[str, dict[str, Any]]:
        for key in self.model.other:
            self._note("(project)", key, REASONS.get(key, "top-level key not applied"))
        networks = {}
        for key in self._used_networks():
            if key != "default" and key not in self.model.networks:
                users = [
                    s for s, spec in self.services.items() if key in (spec.get("networks") or {})
                ]
                raise ComposeError(
                    f"{self.files[0]}: service {users[0]!r} uses network {key!r}, which is not "
                    "declared under the top-level 'networks:'"
                )
            options = self.model.networks.get(key) or {}
            for option in options:
                if option not in NETWORK_APPLIED and not option.startswith("x-"):
                    self._note("(networks)", f"{key}.{option}", "network option not applied")
            networks[self.network_name(key)] = {
                "driver": str(options.get("driver") or "bridge"),
                "labels": dict(options.get("labels") or {}),
                "internal": bool(options.get("internal", False)),
                "external": bool(options.get("external", False)),
                "key": key,
                **{
                    k: options[k]
                    for k in ("driver_opts", "ipam", "attachable", "enable_ipv6")
                    if options.get(k)
                },
            }
        return networks

    def _volumes(self) -> dict[str, dict[str, Any]]:
        volumes = {}
        for key, options in self.model.volumes.items():
            options = options or {}
            for option in options:
                if option not in VOLUME_APPLIED and not option.startswith("x-"):
                    self._note("(volumes)", f"{key}.{option}", "volume option not applied")
            volumes[self.volume_name(key)] = {
                "driver": options.get("driver"),
                "labels": dict(options.get("labels") or {}),
                "external": bool(options.get("external", False)),
                "key": key,
                **({"driver_opts": options["driver_opts"]} if options.get("driver_opts") else {}),
            }
        return volumes

    def _containers(self) -> ContainerDicts:
        containers = ContainerDicts()
        for name, spec in self.services.items():
            first = self._container(name, spec)
            for number in range(1, self.replicas(name) + 1):
                if number == 1:
                    containers.append(first)
                else:
                    containers.append(
                        {
                            **first,
                            "name": self.container_name(name, number),
                            "container_number": number,
                        }
                    )
        # Two services of alternative profiles may publish one host port: a clash only if
        # both run, which the request made from this project refuses.
        _specs, problems = parse_containers(containers, check_ports=False)
        if problems:
            first_problem = problems[0]
            index = int(first_problem.path.split("]")[0].removeprefix("containers["))
            key = first_problem.path.partition(".")[2]
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            service = containers[index].get("service", "?")
            raise ComposeError(
                f"{self.files[0]}: service {service!r}: {key}: {first_problem.message}{more}"
            )
        return containers

    def replicas(self, service: str) -> int:
        """How many containers ``up`` runs for a service: ``deploy.replicas`` or ``scale``."""
        spec = self.model.services[service]
        scale = spec.get("scale")
        replicas = (spec.get("deploy") or {}).get("replicas")
        for key, value in (("scale", scale), ("deploy.replicas", replicas)):
            if value is not None and (
                not isinstance(value, int) or isinstance(value, bool) or value < 0
            ):
                raise ComposeError(
                    f"{self.files[0]}: service {service!r}: {key} {value!r} must be a whole "
                    "number >= 0"
                )
        if scale is not None and replicas is not None and scale != replicas:
            raise ComposeError(
                f"{self.files[0]}: service {service!r}: scale ({scale}) and deploy.replicas "
                f"({replicas}) disagree; keep one of them"
            )
        count = scale if scale is not None else replicas if replicas is not None else 1
        if count > 1 and spec.get("container_name"):
            raise ComposeError(
                f"{self.files[0]}: service {service!r}: container_name "
                f"{spec['container_name']!r} names one container, but {count} replicas are "
                "asked: drop container_name or the replicas"
            )
        return int(count)

    def _container(self, service: str, spec: Mapping[str, Any]) -> dict[str, Any]:
        if not spec.get("image") and not spec.get("build"):
            raise ComposeError(
                f"{self.files[0]}: service {service!r} needs an 'image' or a 'build'"
            )
        for key in spec:
            if key == "links" and all(_plain_link(link) for link in spec[key] or []):
                self._note(service, "links (by service name)", "")
            elif key not in APPLIED and not key.startswith("x-"):
                self._note(service, key, REASONS.get(key, "not applied by infranb"))
        for key in spec.get("build") or {}:
            if key not in BUILD_APPLIED:
                self._note(service, f"build.{key}", "build option not applied")
        container: dict[str, Any] = {
            "name": self.container_name(service),
            "service": service,
            "image": self.image(service),
        }
        for key in ("command", "entrypoint"):
            if spec.get(key) is not None:
                value = spec[key]
                container[key] = value if isinstance(value, str) else [str(v) for v in value]
        environment = self._environment(service, spec)
        if environment:
            container["environment"] = environment
        ports = self._ports(service, spec.get("ports") or [])
        if ports:
            container["ports"] = ports
        volumes, tmpfs, files = self._mounts(service, spec)
        if volumes:
            container["volumes"] = volumes
        if files:
            container["files"] = files
        tmpfs += list(spec.get("tmpfs") or [])
        if tmpfs:
            container["tmpfs"] = tmpfs
        depends = self._depends_on(service, spec.get("depends_on") or {})
        for link in spec.get("links") or []:  # a link orders the start, as in Compose
            target = str(link).partition(":")[0]
            if target in self.services:
                for name in self.container_names(target):
                    depends.setdefault(name, "started")
        mode = spec.get("network_mode")
        if mode:
            if spec.get("networks"):
                raise ComposeError(
                    f"{self.files[0]}: service {service!r}: network_mode and networks exclude "
                    "each other (as in Compose); keep one"
                )
            container["network_mode"] = self._network_mode(service, str(mode), depends)
        else:
            container["networks"] = self._service_networks(service, spec)
        if depends:
            container["depends_on"] = depends
        health = spec.get("healthcheck")
        if health:
            check = self._healthcheck(service, health)
            if check:
                container["healthcheck"] = check
        for key in (
            "labels", "restart", "user", "working_dir", "hostname", "init", "cap_add",
            "cap_drop", "privileged", "stop_signal", "stop_grace_period", "mem_limit",
            "extra_hosts", "expose",
        ):  # fmt: skip
            if spec.get(key) not in (None, [], {}, ""):  # "${HOST:-}" sets nothing
                value = spec[key]
                container[key] = str(value) if key in ("user", "restart") else value
        if spec.get("cpus") is not None:
            container["cpus"] = float(spec["cpus"])
        self._swarm_bases[service] = dict(container)
        # Lifecycle hooks: execs, as Compose v2 runs them (a Swarm service has none).
        for key in ("post_start", "pre_stop"):
            if spec.get(key):
                container[key] = [
                    {k: v for k, v in hook.items() if v not in (None, [], {}, "")}
                    for hook in spec[key]
                ]
        self._deploy(service, spec.get("deploy") or {}, container)
        self._run_options(service, spec, container)
        return container

    def _run_options(
        self, service: str, spec: Mapping[str, Any], container: dict[str, Any]
    ) -> None:
        """The run options (``infranb.core.options``) as the file gives them."""
        for key in OPTIONS:
            value = spec.get(key)
            if value is None or key == "network_mode":
                continue
            if key == "platform" and value == "":
                continue  # "${PLATFORM:-}": no platform asked
            if key == "pull_policy":
                value = "missing" if str(value) == "if_not_present" else str(value)
            if key == "devices":
                value = [_device(d) for d in value]
            container[key] = value

    def _deploy(self, service: str, deploy: Mapping[str, Any], container: dict[str, Any]) -> None:
        """What ``docker compose up`` applies from ``deploy:``: the restart policy (when no
        ``restart`` is given), limits and reservations; replicas are counted by ``replicas``.
        ``update_config`` is infranb's own: Compose ignores it outside Swarm."""
        for key in deploy:
            if key not in ("replicas", "restart_policy", "resources", "update_config"):
                self._note(service, f"deploy.{key}", "not applied by 'up'")
        # How a change replaces the service's containers: honoured on one engine too.
        if deploy.get("update_config"):
            container["update_config"] = dict(deploy["update_config"])
        policy = deploy.get("restart_policy") or {}
        for key in policy:
            if key not in ("condition", "max_attempts"):
                self._note(service, f"deploy.restart_policy.{key}", "not applied by 'up'")
        if policy and "restart" not in container:
            condition = str(policy.get("condition") or "any")
            names = {"none": "no", "any": "always", "on-failure": "on-failure"}
            if condition not in names:
                raise ComposeError(
                    f"{self.files[0]}: service {service!r}: deploy.restart_policy.condition "
                    f"{condition!r} must be none, on-failure or any"
                )
            restart = names[condition]
            if restart == "on-failure" and policy.get("max_attempts"):
                restart += f":{int(policy['max_attempts'])}"
            container["restart"] = restart
        resources = deploy.get("resources") or {}
        limits = resources.get("limits") or {}
        reservations = resources.get("reservations") or {}
        for key in resources:
            if key not in ("limits", "reservations"):
                self._note(service, f"deploy.resources.{key}", "not applied by 'up'")
        for key in limits:
            if key not in ("cpus", "memory", "pids"):
                self._note(service, f"deploy.resources.limits.{key}", "not applied")
        for key in reservations:
            if key not in ("memory", "cpus"):
                self._note(service, f"deploy.resources.reservations.{key}", "not applied "
                           "(GPUs and generic resources)")  # fmt: skip
        if limits.get("cpus") is not None and "cpus" not in container:
            container["cpus"] = float(limits["cpus"])
        if limits.get("memory") is not None and "mem_limit" not in container:
            container["mem_limit"] = limits["memory"]
        if limits.get("pids") is not None:
            container.setdefault("pids_limit", int(limits["pids"]))
        if reservations.get("memory") is not None:
            container.setdefault("mem_reservation", reservations["memory"])
        if "cpus" in reservations:
            self._note(service, "deploy.resources.reservations.cpus", "")

    def _network_mode(self, service: str, mode: str, depends: dict[str, str]) -> str:
        """Compose's ``service:NAME`` is the first container of that service, which starts
        first (as Compose orders it)."""
        if not mode.startswith("service:"):
            return mode
        other = mode.partition(":")[2]
        if other not in self.services:
            raise ComposeError(
                f"{self.files[0]}: service {service!r}: network_mode {mode!r} names no service "
                "of this run"
            )
        name = self.container_name(other)
        depends.setdefault(name, "started")
        return f"container:{name}"

    def _environment(self, service: str, spec: Mapping[str, Any]) -> dict[str, str | SecretRef]:
        """The service's environment. A secret (by its key) that came whole from a variable
        or an ``env_file`` is a reference to it (``SecretRef``): the container gets the
        value, the journal only where to read it again, so a revert can."""
        environment: dict[str, str | SecretRef] = {}
        for env_file in spec.get("env_file") or []:
            path = Path(env_file["path"])
            if not path.is_file():
                if env_file.get("required", True):
                    raise ComposeError(
                        f"{self.files[0]}: service {service!r}: env_file {path} does not exist "
                        "(mark it required: false if it is optional)"
                    )
                continue
            values = parse_env_file(path.read_text(), str(path), self._variables)
            for key, value in values.items():
                secret = is_secret_key(key) and value
                environment[key] = (
                    SecretRef("env_file", key, str(path.resolve())) if secret else value
                )
        for key, value in (spec.get("environment") or {}).items():
            if value is None:  # "KEY" alone: the value where Compose runs, if set there
                if key in self._variables:
                    environment[key] = self._reference(key, key, self._variables[key])
                continue
            if isinstance(value, bool):
                value = "true" if value else "false"
            text = str(value)
            variable = self._whole.get(text)
            environment[key] = self._reference(key, variable, text) if variable else text
        return environment

    def _reference(self, key: str, variable: str, value: str) -> str | SecretRef:
        """``value`` of ``variable``: a reference when it is a secret a revert can re-read."""
        if not is_secret_key(key) or variable not in self._origins:
            return value
        origin = self._origins[variable]
        return SecretRef("dotenv", variable, origin) if origin else SecretRef("env", variable)

    def _ports(self, service: str, ports: Sequence[Mapping[str, Any]]) -> list[str]:
        shown = []
        for port in ports:
            for key in port:
                if key not in PORT_APPLIED:
                    self._note(service, f"ports.{key}", "port option not applied")
            published = port.get("published")
            if published and "-" in str(published):
                self._note(service, "ports", f"a host port range ({published}) for one "
                           "container port: publish one host port instead")  # fmt: skip
                continue
            ip = port.get("host_ip") or ""
            target = f"{port['target']}/{port.get('protocol') or 'tcp'}"
            if ip:
                shown.append(f"{ip}:{published or ''}:{target}")
            elif published:
                shown.append(f"{published}:{target}")
            else:
                shown.append(target)
        return shown

    def _mounts(
        self, service: str, spec: Mapping[str, Any]
    ) -> tuple[list[str], list[str], dict[str, Any]]:
        volumes: list[str] = []
        tmpfs: list[str] = []
        files: dict[str, Any] = {}
        for mount in spec.get("volumes") or []:
            for key in mount:
                if key not in MOUNT_APPLIED:
                    self._note(service, f"volumes.{key}", "mount option not applied")
            target, kind, source = mount["target"], mount["type"], mount.get("source")
            modes = ["ro"] if mount.get("read_only") else []
            modes += [m for m in mount.get("options") or [] if m in APPLIED_MODES]
            for key, value in (mount.get("bind") or {}).items():
                if key == "selinux" and value in ("z", "Z"):
                    modes.append(str(value))
                elif key == "propagation" and value in MOUNT_PROPAGATION:
                    if value != "rprivate":  # the engine's default
                        modes.append(str(value))
                elif key not in BIND_APPLIED:
                    self._note(service, f"volumes.bind.{key}", "bind option not applied")
            for key, value in (mount.get("volume") or {}).items():
                if key == "nocopy" and value:
                    modes.append("nocopy")
                elif key not in VOLUME_OPTIONS_APPLIED:
                    self._note(service, f"volumes.volume.{key}", "volume option not applied")
            suffix = ":" + ",".join(dict.fromkeys(modes)) if modes else ""
            if kind == "tmpfs":
                size = (mount.get("tmpfs") or {}).get("size")
                tmpfs.append(f"{target}:size={size}" if size else target)
            elif kind == "bind":
                # The engine makes a missing host folder (binds), as Compose has it do.
                volumes.append(f"{source}:{target}{suffix}")
            elif kind == "volume" and source:
                if source not in self.model.volumes:
                    raise ComposeError(
                        f"{self.files[0]}: service {service!r} mounts volume {source!r}, which "
                        "is not declared under the top-level 'volumes:'"
                    )
                volumes.append(f"{self.volume_name(source)}:{target}{suffix}")
            elif kind == "volume":
                # Anonymous: the engine names it; it goes with the container (down -v).
                volumes.append(target)
                if suffix:
                    self._note(service, f"volumes ({target})", f"{suffix[1:]} on an anonymous "
                               "volume: name the volume to apply it")  # fmt: skip
            else:
                self._note(service, f"volumes ({target})", f"mount type {kind!r} not applied")
        for section, default_dir in (("secrets", "/run/secrets/"), ("configs", "/")):
            for ref in spec.get(section) or []:
                mount_to = self._file_mount(service, section, ref, default_dir, files)
                if mount_to:
                    volumes.append(mount_to)
        return volumes, tmpfs, files

    def _file_mount(
        self,
        service: str,
        section: str,
        ref: Mapping[str, Any],
        default_dir: str,
        files: dict[str, Any],
    ) -> str | None:
        """A file secret or config as a read-only bind; one from ``environment:`` or
        ``content:`` as a file copied into the container (``files``), as ``up`` does."""
        name = str(ref["source"])
        declared = getattr(self.model, section).get(name)
        if declared is None:
            raise ComposeError(
                f"{self.files[0]}: service {service!r} uses {section[:-1]} {name!r}, which is "
                f"not declared under the top-level '{section}:'"
            )
        target = str(ref.get("target") or name)
        if not target.startswith("/"):
            target = default_dir + target
        copied = declared.get("environment") is not None or declared.get("content") is not None
        for key in ref:
            if key not in ("source", "target") and not (key == "mode" and copied):
                self._note(service, f"{section}.{key}", "ownership is not applied")
        if declared.get("file"):
            return f"{declared['file']}:{target}:ro"
        if declared.get("environment") is not None:
            variable = str(declared["environment"])
            if variable not in self._variables:
                raise ComposeError(
                    f"{self.files[0]}: {section[:-1]} {name!r} reads the variable {variable}, "
                    "which is not set (in the environment or .env)"
                )
            origin = self._origins.get(variable)
            content: str | SecretRef = self._variables[variable]
            if section == "secrets" and origin is not None:
                content = (
                    SecretRef("dotenv", variable, origin) if origin else SecretRef("env", variable)
                )
        elif declared.get("content") is not None:
            content = str(declared["content"])
        else:
            source = next((k for k in declared if k != "name"), "?")
            self._note(service, f"{section}.{name}", f"a {section[:-1]} from {source!r}: "
                       "file, environment and content sources are applied")  # fmt: skip
            return None
        mode = ref.get("mode")
        files[target] = {
            "content": content,
            "mode": int(str(mode), 8) if isinstance(mode, str) else int(mode or 0o444),
            "secret": section == "secrets",
        }
        return None

    def _service_networks(self, service: str, spec: Mapping[str, Any]) -> dict[str, Any]:
        networks: dict[str, Any] = {}
        for key, options in (spec.get("networks") or {"default": None}).items():
            aliases = [service]
            endpoint: dict[str, Any] = {}
            for option, value in (options or {}).items():
                if option == "aliases":
                    aliases += [str(a) for a in value or []]
                elif option in ("ipv4_address", "ipv6_address"):
                    if value:
                        endpoint[option] = str(value)
                else:
                    self._note(service, f"networks.{key}.{option}", "network option not applied")
            if endpoint and self.replicas(service) > 1:
                raise ComposeError(
                    f"{self.files[0]}: service {service!r}: a fixed address on {key!r} names "
                    f"one container, but {self.replicas(service)} replicas are asked"
                )
            networks[self.network_name(key)] = {"aliases": list(dict.fromkeys(aliases)), **endpoint}
        return networks

    def _depends_on(self, service: str, depends: Mapping[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for dep, options in depends.items():
            if dep not in self.services:
                if not options.get("required", True):
                    self.warnings.append(
                        f"service {service!r}: optional dependency {dep!r} is not part of this "
                        "run; started without it"
                    )
                    continue
                if dep in self.model.services:
                    wanted = ", ".join(self.model.services[dep].get("profiles", []))
                    raise ComposeError(
                        f"{self.files[0]}: service {service!r} depends on {dep!r}, whose "
                        f"profile ({wanted}) is not enabled: pass profiles=[...] to load()"
                    )
                raise ComposeError(
                    f"{self.files[0]}: service {service!r} depends on {dep!r}, which is not "
                    "a service of this project"
                )
            # A service's dependency is on each of its containers (its replicas); with
            # restart: true, this one is restarted after the dependency is replaced.
            for name in self.container_names(dep):
                condition = CONDITIONS[options["condition"]]
                result[name] = (
                    {"condition": condition, "restart": True}
                    if options.get("restart")
                    else condition
                )
        return result

    def _healthcheck(self, service: str, health: Mapping[str, Any]) -> dict[str, Any] | None:
        for key in health:
            if key not in HEALTHCHECK_APPLIED:
                reason = REASONS_HEALTHCHECK.get(key, "healthcheck option not applied")
                self._note(service, f"healthcheck.{key}", reason)
        test = health.get("test")
        if health.get("disable") or test == ["NONE"]:
            return {"disable": True}
        # "disable: false" alone keeps the image's healthcheck, as Compose has it.
        check = {
            k: health[k]
            for k in HEALTHCHECK_APPLIED
            if k != "disable" and health.get(k) is not None
        }
        return check
