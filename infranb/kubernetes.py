"""A stack as Kubernetes manifests: ``manifests(source)``.

``source`` is a Compose ``Project``, an ``orchestrate_containers`` request, or a stack's
name read from an engine through ``manager`` (what runs, as ``drift`` reads it). The result
is a ``Manifests``: the objects as plain dicts, ``to_yaml()``, ``write(folder)``, what was
converted from which keys (``converted``) and what was not, with the reason
(``not_converted``), and ``validate()`` against the Kubernetes OpenAPI schemas
(``kubernetes-validate``, strict). No value of a secret is ever written: secret values
become ``secretKeyRef``s to a Secret the manifests name (``secret_name``) and
``kubectl_secret_line()`` shows how to fill it. The mapping is ``infranb.core.kubernetes``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from infranb.core import labels as L
from infranb.core.errors import EngineUnavailable, InfraError
from infranb.core.kubernetes import Conversion, convert, dns_name
from infranb.core.request import InfrastructureOperation
from infranb.core.secrets import DEFAULT_SECRET_MARKERS
from infranb.core.specs import CONDITION_ALIASES, ContainerSpec, parse_containers

if TYPE_CHECKING:
    import pandas as pd

    from infranb.inputs.compose import Project
    from infranb.manager import InfrastructureManager

#: the Kubernetes version the manifests are checked against (kubernetes-validate bundles
#: the schemas of 1.25 to 1.37)
KUBERNETES_VERSION = "1.37.0"

CONVERTED_SCHEMA = {"service": "string", "kind": "string", "name": "string", "from": "string"}
NOT_CONVERTED_SCHEMA = {"service": "string", "key": "string", "reason": "string"}


@dataclasses.dataclass
class Manifests:
    """The Kubernetes objects of one stack, and what the conversion did and did not do."""

    stack: str
    objects: list[dict[str, Any]]
    conversion: Conversion
    namespace: str | None = None
    #: the services as read (for the stack's picture)
    specs: Sequence[ContainerSpec] = ()

    @property
    def converted(self) -> pd.DataFrame:
        """One row per object: the service, its kind and name, and the keys it came from."""
        from infranb.core.frames import frame

        return frame(self.conversion.converted, CONVERTED_SCHEMA)

    @property
    def not_converted(self) -> pd.DataFrame:
        """One row per key a service sets that no object says, with the reason."""
        from infranb.core.frames import frame

        return frame(self.conversion.not_converted, NOT_CONVERTED_SCHEMA)

    @property
    def names(self) -> dict[str, str]:
        """The names changed to DNS-1123 names: original -> name in the manifests."""
        return dict(self.conversion.names)

    @property
    def secret_name(self) -> str | None:
        """The Secret the manifests refer to (never written by them), if any."""
        return dns_name(self.stack + "-secrets", 253) if self.conversion.secret_keys else None

    def kubectl_secret_lines(self) -> list[str]:
        """The commands that fill the Secrets the manifests name, with placeholders for
        the values (a file secret: the host file it came from, where there is one)."""
        where = f" -n {self.namespace}" if self.namespace else ""
        lines = []
        if self.secret_name:
            keys = sorted(set(self.conversion.secret_keys))
            given = " ".join(f"--from-literal={k}=..." for k in keys)
            lines.append(f"kubectl create secret generic {self.secret_name}{where} {given}")
        for name, source in sorted(self.conversion.secret_files.items()):
            lines.append(
                f"kubectl create secret generic {name}{where} --from-file=content="
                + (source or "FILE")
            )
        return lines

    def to_yaml(self) -> str:
        """Every object as one YAML stream (``---`` between objects)."""
        import yaml

        return "---\n".join(yaml.safe_dump(o, sort_keys=False) for o in self.objects)

    def write(self, folder: str | Path) -> list[Path]:
        """One file per object, named by kind and name (``deployment-web.yaml``)."""
        import yaml

        target = Path(folder)
        target.mkdir(parents=True, exist_ok=True)
        written = []
        for o in self.objects:
            path = target / f"{o['kind'].lower()}-{o['metadata']['name']}.yaml"
            path.write_text(yaml.safe_dump(o, sort_keys=False))
            written.append(path)
        return written

    def validate(self, version: str = KUBERNETES_VERSION) -> list[str]:
        """Each object checked against Kubernetes ``version``'s OpenAPI schemas in strict
        mode (an unknown field is an error): one sentence per problem, [] when all pass."""
        problems = []
        for o in self.objects:
            for error in _validator(version, o["kind"], o["apiVersion"]).iter_errors(o):
                where = ".".join(str(p) for p in error.absolute_path)
                problems.append(f"{o['kind']} {o['metadata']['name']}: {where}: {error.message}")
        return problems

    def __repr__(self) -> str:
        kinds: dict[str, int] = {}
        for o in self.objects:
            kinds[o["kind"]] = kinds.get(o["kind"], 0) + 1
        said = ", ".join(f"{n} {k}" for k, n in kinds.items())
        return (
            f"<Manifests of {self.stack}: {said or 'nothing'}; "
            f"{len(self.conversion.not_converted)} key(s) not converted>"
        )

    def _repr_html_(self) -> str:
        from infranb.notebook.tables import css, esc, table

        secrets = "".join(
            f'<div class="inb-muted">{esc(line)}</div>' for line in self.kubectl_secret_lines()
        )
        return (
            f'<div class="inb-wrap"><style>{css()}</style>'
            f'<div class="inb-header"><span class="inb-title">{esc(repr(self))}</span></div>'
            + self._picture()
            + self._mapping()
            + secrets
            # whole values: a reason cut in the middle would not say what to do
            + "<h4>converted</h4>"
            + table(self.converted, longest=0)
            + "<h4>not converted</h4>"
            + table(self.not_converted, longest=0)
            + "</div>"
        )

    def _picture(self) -> str:
        """The stack as its Deployments in dependency waves (a service's containers are
        one box, named as in the manifests)."""
        from infranb.core.errors import CycleError
        from infranb.core.planning import dependency_waves
        from infranb.notebook.pictures import Node, stack_diagram

        service_of = {s.name: s.service or s.name for s in self.specs}
        services: dict[str, ContainerSpec] = {}
        for spec in self.specs:
            depends = {service_of.get(d, d): c for d, c in spec.depends_on.items()}
            services.setdefault(
                service_of[spec.name],
                dataclasses.replace(spec, name=service_of[spec.name], depends_on=depends),
            )
        try:
            waves = dependency_waves(list(services.values()))
        except CycleError:
            return ""
        shown = {**self.names}
        nodes = [
            Node(
                shown.get(name, name),
                number,
                "request",
                tuple((shown.get(d, d), c) for d, c in services[name].depends_on.items()),
            )
            for number, wave in enumerate(waves)
            for name in wave
        ]
        return stack_diagram(nodes) if nodes else ""

    def _mapping(self) -> str:
        from infranb.notebook.tables import esc

        if not self.names:
            return ""
        said = ", ".join(f"{old} → {new}" for old, new in sorted(self.names.items()))
        return f'<div class="inb-muted">names as DNS-1123 names: {esc(said)}</div>'


@functools.lru_cache(maxsize=64)
def _validator(version: str, kind: str, api_version: str) -> Any:
    """A strict validator of one kind, from the schemas kubernetes-validate ships (the
    ``-strict`` set: an unknown field is an error), made once: reading the shared
    definitions for every object was 30 ms each."""
    import jsonschema
    import referencing
    from kubernetes_validate.utils import schema_contents

    folder = f"kubernetes-json-schema/v{version}-local-strict"
    # "apps/v1" -> "apps-v1", "rbac.authorization.k8s.io/v1" -> "rbac-v1", as the files are
    group, _, api = api_version.rpartition("/")
    name = f"{kind.lower()}-{group.split('.')[0]}-{api}" if group else f"{kind.lower()}-{api}"
    schema = schema_contents(f"{folder}/{name}.json", version)
    definitions = schema_contents(f"{folder}/_definitions.json", version)
    registry = referencing.Resource.from_contents(schema) @ referencing.Registry()
    registry = referencing.Resource.from_contents(definitions) @ registry
    return jsonschema.validators.Draft202012Validator(schema, registry=registry)


def manifests(
    source: Project | InfrastructureOperation | str,
    *,
    namespace: str | None = None,
    manager: InfrastructureManager | None = None,
) -> Manifests:
    """The Kubernetes objects of a Compose project, an orchestrate request, or a stack on
    ``manager``'s engine (its containers as they run)."""
    markers: Iterable[str] = manager.config.secret_markers if manager else DEFAULT_SECRET_MARKERS
    built: list[str] = []
    configs: dict[str, str] = {}
    secrets: set[str] = set()
    if isinstance(source, str):
        if manager is None:
            raise ValueError(
                f"manifests({source!r}) reads the stack from an engine: pass manager=..."
            )
        try:
            stack, specs = source, _running(manager, source)
        except EngineUnavailable as e:
            if manager.config.no_engine != "note":
                raise
            print(f"{e} Skipped: manifests({source!r}).")
            return Manifests(source, [], Conversion())
    elif isinstance(source, InfrastructureOperation):
        if source.operation != "orchestrate_containers":
            raise ValueError(
                f"manifests() converts an orchestrate_containers request (its containers); "
                f"this one is {source.operation}"
            )
        stack, specs = source.stack or "stack", _parsed(source.containers)
        secrets = _secret_paths(source.containers)
    elif callable(getattr(source, "operation", None)) and hasattr(source, "builds"):
        op = source.operation()
        stack, specs = op.stack or source.name, _parsed(op.containers)
        built = [str(b.image_params.get("tag")) for b in source.builds()]
        configs, secrets = _project_files(source)
        secrets |= _secret_paths(op.containers)
    else:
        raise TypeError(
            "manifests() takes a Compose Project (infranb.compose.load), an "
            "orchestrate_containers request, or a stack's name with manager=; got "
            f"{type(source).__name__}"
        )
    waiting = {s.image for s in specs if "healthy" in s.depends_on.values()}
    tools: dict[str, set[str] | None] = {}
    ports: dict[str, tuple[str, ...]] = {}
    if manager is not None:
        try:
            tools = {i: _image_tools(manager, i) for i in sorted(waiting)}
            ports = _image_ports(manager, specs)
        except EngineUnavailable as e:
            if manager.config.no_engine != "note":
                raise
            tools, ports = {}, {}
            print(f"{e} The images were not looked at: what needs them is listed as not converted.")
    conversion = convert(
        stack, specs, namespace=namespace, markers=markers, built=built, config_files=configs,
        secret_paths=secrets, image_tools={i: t for i, t in tools.items() if t is not None},
        image_ports=ports,
    )  # fmt: skip
    if not isinstance(source, str | InfrastructureOperation):
        _unread_keys(conversion, source)
    return Manifests(stack, conversion.objects, conversion, namespace, tuple(specs))


#: Compose keys infranb's reader leaves as Swarm's that a cluster has a word for
SWARM_KEYS = {
    "deploy.placement": "a pod's nodeSelector or affinity, by the cluster's node labels "
    "(not converted: the nodes' labels are the cluster's)",
    "deploy.mode": "mode: global is a DaemonSet (not made here)",
    "deploy.labels": "labels on the Deployment itself (not converted)",
    "deploy.endpoint_mode": "a Service's clusterIP: None is a headless Service (not made here)",
    "deploy.rollback_config": "kubectl rollout undo (a Deployment keeps its history)",
}


def _unread_keys(conversion: Conversion, project: Project) -> None:
    """The Compose keys the project reader does not read (they never reached the specs):
    listed as not converted, so no key of the file is left out in silence."""
    for row in project.unsupported.itertuples(index=False):
        conversion.skip(str(row.service), str(row.key), f"not read by infranb: {row.reason}")
    for row in project.not_applicable.itertuples(index=False):
        if str(row.key) in SWARM_KEYS:
            conversion.skip(str(row.service), str(row.key), SWARM_KEYS[str(row.key)])


#: where an image keeps what an init container needs to wait for a dependency
TOOL_PATHS = {"sh": ("/bin/sh", "/usr/bin/sh"), "nc": ("/bin/nc", "/usr/bin/nc")}


def _image_ports(
    manager: InfrastructureManager, specs: Sequence[ContainerSpec]
) -> dict[str, tuple[str, ...]]:
    """The ports the images declare (``EXPOSE``) of the services that name none, where the
    image is on the manager's engine: what their Services are made from."""
    found = {}
    for image in sorted({s.image for s in specs if not s.ports and not s.expose}):
        config = manager.engine.image_config(image)
        if config is not None and config.exposed:
            found[image] = config.exposed
    return found


def _image_tools(manager: InfrastructureManager, image: str) -> set[str] | None:
    """The programs of ``TOOL_PATHS`` that ``image`` has, read from a container of it that
    is created and never started (removed after); None when the image is not local."""
    engine = manager.engine
    if engine.image_id(image) is None:
        return None
    name = f"infranb-look-{uuid.uuid4().hex[:8]}"
    spec = ContainerSpec(name=name, image=image, command=("true",), network_mode="none")
    cid = engine.create_container(spec, {}, {**L.managed(), "infranb.helper": "look"}, [])
    try:
        found = set()
        for tool, paths in TOOL_PATHS.items():
            for path in paths:
                with contextlib.suppress(InfraError):
                    engine.get_archive(cid, path)
                    found.add(tool)
                    break
        return found
    finally:
        with contextlib.suppress(InfraError):
            engine.remove_container(cid, force=True)


def _secret_paths(containers: Sequence[object]) -> set[str]:
    """The container paths a request marks ``"secret": True`` among its files."""
    return {
        str(path)
        for c in containers
        if isinstance(c, dict)
        for path, item in (c.get("files") or {}).items()
        if isinstance(item, dict) and item.get("secret")
    }


def _project_files(project: Project) -> tuple[dict[str, str], set[str]]:
    """A Compose project's file configs (host path -> text: ConfigMaps) and file secrets
    (host paths: Secrets named, never read)."""
    configs: dict[str, str] = {}
    secrets: set[str] = set()
    for section in ("configs", "secrets"):
        for declared in (getattr(project.model, section, None) or {}).values():
            file = declared.get("file") if isinstance(declared, dict) else None
            if not file:
                continue
            path = Path(file) if Path(file).is_absolute() else project.directory / file
            if section == "secrets":
                secrets |= {str(file), str(path)}
            elif path.is_file():
                configs[str(file)] = configs[str(path)] = path.read_text()
    return configs, secrets


def _parsed(containers: Sequence[object]) -> list[ContainerSpec]:
    specs, problems = parse_containers(containers, check_ports=False)
    if problems:
        raise ValueError("; ".join(str(p) for p in problems))
    return specs


def _running(manager: InfrastructureManager, stack: str) -> list[ContainerSpec]:
    """The stack's containers as they run, as the requests that would make them again."""
    from infranb.core.drift import request_of

    found = {
        c.id: c
        for selector in L.stack_selectors(stack)
        for c in manager.engine.list_containers(labels=selector)
    }
    containers = []
    # Compose's depends_on label names services; the request names containers.
    container_of = {
        c.labels[L.COMPOSE_SERVICE]: c.name
        for c in sorted(found.values(), key=lambda c: c.name, reverse=True)
        if c.labels.get(L.COMPOSE_SERVICE)
    }
    for info in sorted(found.values(), key=lambda c: c.name):
        config = manager.engine.container_config(info.id)
        if config is None:
            continue
        service = info.labels.get(L.COMPOSE_SERVICE)
        request = request_of(config, name=info.name, service=service, image=info.image)
        if config.exposed:  # the image's too: a Service needs the port a name is reached on
            request["expose"] = list(config.exposed)
        depends = _depends_on(info.labels.get(L.COMPOSE_DEPENDS_ON, ""), container_of)
        if depends:
            request["depends_on"] = depends
        containers.append(request)
    if not containers:
        raise ValueError(f"stack {stack} has no container on {manager.engine.host}")
    return _parsed(containers)


def _depends_on(label: str, container_of: dict[str, str]) -> dict[str, str]:
    """Compose's ``com.docker.compose.depends_on`` label (``db:service_healthy:false,...``,
    which infranb writes too) as a request's ``depends_on``, for the services that run."""
    found: dict[str, str] = {}
    for entry in filter(None, label.split(",")):
        service, _, rest = entry.partition(":")
        condition = CONDITION_ALIASES.get(rest.partition(":")[0])
        if service in container_of and condition:
            found[container_of[service]] = condition
    return found


__all__ = ["KUBERNETES_VERSION", "Manifests", "manifests"]
