"""Read Compose files into one merged model: files, YAML, interpolation, merge, extends, include.

Pure: reads files, never an engine. Every service leaves here in one canonical shape (long
syntax everywhere: ports and volumes as dicts, environment and labels as mappings,
``depends_on`` with its condition), so the merge rules and the conversion to container specs
each deal with one form.
"""

from __future__ import annotations

import difflib
import os
import posixpath
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from infranb.core.errors import ComposeError
from infranb.inputs.compose.interpolation import Interpolator, parse_env_file
from infranb.inputs.compose.schema import cast_resource, cast_service, check_keys

#: the names Compose looks for in a folder, in its order, and the override it adds
COMPOSE_FILES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")
OVERRIDE_FILES = {
    "compose.yaml": ("compose.override.yaml", "compose.override.yml"),
    "compose.yml": ("compose.override.yml", "compose.override.yaml"),
    "docker-compose.yaml": ("docker-compose.override.yaml", "docker-compose.override.yml"),
    "docker-compose.yml": ("docker-compose.override.yml", "docker-compose.override.yaml"),
}
TOP_LEVEL_KEYS = (
    "version", "name", "include", "services", "networks", "volumes", "secrets", "configs",
    "models",
)  # fmt: skip
CONDITIONS = ("service_started", "service_healthy", "service_completed_successfully")


@dataclass
class Model:
    """A project's files merged: top-level sections by key, services canonical."""

    services: dict[str, dict[str, Any]] = field(default_factory=dict)
    networks: dict[str, dict[str, Any]] = field(default_factory=dict)
    volumes: dict[str, dict[str, Any]] = field(default_factory=dict)
    secrets: dict[str, dict[str, Any]] = field(default_factory=dict)
    configs: dict[str, dict[str, Any]] = field(default_factory=dict)
    name: str | None = None
    #: top-level keys infranb does not apply, with the file they came from
    other: dict[str, str] = field(default_factory=dict)
    #: services that came from an ``include``, with the file they came from
    included: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def __repr__(self) -> str:
        # Services hold environment values (passwords from .env): only names are shown.
        return (
            f"Model(services={list(self.services)}, networks={list(self.networks)}, "
            f"volumes={list(self.volumes)})"
        )


def find_files(path: str | os.PathLike[str]) -> list[Path]:
    """The files of a project given as a folder (its compose file and override) or a file."""
    given = Path(path).expanduser()
    if given.is_file():
        return [given.resolve()]
    if not given.is_dir():
        raise ComposeError(f"{given}: no such file or folder")
    for name in COMPOSE_FILES:
        if (given / name).is_file():
            found = [(given / name).resolve()]
            for override in OVERRIDE_FILES[name]:
                if (given / override).is_file():
                    found.append((given / override).resolve())
                    break
            return found
    raise ComposeError(f"{given}: no {' / '.join(COMPOSE_FILES)} in this folder")


def read_yaml(
    path: Path, interpolate: Interpolator, lines: dict[tuple[str, ...], int] | None = None
) -> dict[str, Any]:
    """One file, interpolated on the YAML nodes (so an error can name its line); anchors,
    aliases and ``<<`` merge keys resolved by the YAML loader. ``lines`` gets the line of
    each key of each service (``("web", "ports")``) and of each top-level key."""
    try:
        text = path.read_text()
    except OSError as e:
        raise ComposeError(f"{path}: cannot read it ({e.strerror})") from None
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return {}
        _interpolate_node(node, interpolate, str(path), set())
        if lines is not None:
            _key_lines(node, lines)
        data = loader.construct_document(node)
    except yaml.YAMLError as e:
        raise ComposeError(f"{path}: not valid YAML: {e}") from None
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        raise ComposeError(f"{path}: a Compose file is a mapping with a 'services' key")
    return data


def _key_lines(root: yaml.Node, lines: dict[tuple[str, ...], int]) -> None:
    """The line of each top-level key, each service and each key of a service (and one
    level below: ``("web", "healthcheck", "test")``), for errors that point at them."""
    if not isinstance(root, yaml.MappingNode):
        return
    for key, value in root.value:
        lines[(str(key.value),)] = key.start_mark.line + 1
        if key.value != "services" or not isinstance(value, yaml.MappingNode):
            continue
        for service, body in value.value:
            lines[("services", str(service.value))] = service.start_mark.line + 1
            if not isinstance(body, yaml.MappingNode):
                continue
            for field_key, field_value in body.value:
                where = (str(service.value), str(field_key.value))
                lines[where] = field_key.start_mark.line + 1
                if isinstance(field_value, yaml.MappingNode):
                    for sub_key, _ in field_value.value:
                        lines[(*where, str(sub_key.value))] = sub_key.start_mark.line + 1


def _interpolate_node(
    node: yaml.Node, interpolate: Interpolator, path: str, seen: set[int]
) -> None:
    # An aliased node is shared: interpolating it twice would expand "$$x" to "$x" and then
    # read $x as a variable.
    if id(node) in seen:
        return
    seen.add(id(node))
    if isinstance(node, yaml.ScalarNode):
        if "$" in node.value and node.tag.endswith(":str"):
            line = node.start_mark.line + 1
            node.value = interpolate(node.value, lambda: f"{path}:{line}: ")
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _interpolate_node(item, interpolate, path, seen)
    elif isinstance(node, yaml.MappingNode):
        for _key, value in node.value:  # keys are not interpolated, as in Compose
            _interpolate_node(value, interpolate, path, seen)


def project_variables(
    directory: Path,
    env_files: Sequence[str | os.PathLike[str]] | None,
    environ: Mapping[str, str],
    origins: dict[str, str] | None = None,
) -> dict[str, str]:
    """The variables interpolation reads: the ``.env`` file (or ``env_files``, in order),
    overridden by the environment. ``origins`` gets the file each variable not overridden
    came from."""
    files = [Path(f).expanduser() for f in env_files] if env_files is not None else []
    if env_files is None and (directory / ".env").is_file():
        files = [directory / ".env"]
    values: dict[str, str] = {}
    for file in files:
        file = file if file.is_absolute() else directory / file
        try:
            text = file.read_text()
        except OSError as e:
            raise ComposeError(f"{file}: cannot read this env file ({e.strerror})") from None
        found = parse_env_file(text, str(file), {**values, **environ})
        values.update(found)
        if origins is not None:
            origins.update({k: str(file.resolve()) for k in found if k not in environ})
    return {**values, **environ}


#: the variable Compose sets to the project name in force, for interpolation
PROJECT_NAME_VARIABLE = "COMPOSE_PROJECT_NAME"


def name_key(files: Sequence[Path], variables: Mapping[str, str]) -> str:
    """The top-level ``name:`` of the last file that has one, interpolated ("" for none),
    read on its own, before the project: compose-go reads it so to know the name first."""
    found = ""
    interpolate = Interpolator({k: v for k, v in variables.items() if k != PROJECT_NAME_VARIABLE})
    for path in files:
        try:
            data = yaml.safe_load(path.read_text())
        except (OSError, yaml.YAMLError):
            continue  # the project's own read says what is wrong with the file
        if isinstance(data, dict) and data.get("name"):
            found = interpolate(str(data["name"]))
    return found


class ProjectVariables(Mapping[str, str]):
    """The variables a project interpolates with, ``COMPOSE_PROJECT_NAME`` among them as
    the project name in force (compose-go sets it so: ``-p p`` makes it ``p`` whatever
    ``.env`` says). That name may come from the files' ``name:`` key, so it is worked out
    (by ``name_in_force``) only when something reads it."""

    def __init__(self, values: Mapping[str, str], name_in_force: Callable[[], str]) -> None:
        self._values = dict(values)
        self._name_in_force: Callable[[], str] | None = name_in_force

    def _resolve(self) -> None:
        if self._name_in_force is not None:
            resolve, self._name_in_force = self._name_in_force, None
            self._values[PROJECT_NAME_VARIABLE] = resolve()

    @property
    def name(self) -> str | None:
        """The project name, when something has read it already (else None)."""
        return None if self._name_in_force else self._values[PROJECT_NAME_VARIABLE]

    def __getitem__(self, key: str) -> str:
        if key == PROJECT_NAME_VARIABLE:
            self._resolve()
        return self._values[key]

    def __contains__(self, key: object) -> bool:
        return key == PROJECT_NAME_VARIABLE or key in self._values

    def __iter__(self) -> Iterator[str]:
        self._resolve()
        return iter(self._values)

    def __len__(self) -> int:
        self._resolve()
        return len(self._values)


# ---------------------------------------------------------------- loading a project


@dataclass
class Loader:
    """Loads and merges files with one set of variables; follows extends and include."""

    interpolate: Interpolator
    variables: Mapping[str, str]
    _cache: dict[Path, dict[str, Any]] = field(default_factory=dict)
    #: per file, the line of each key (see ``read_yaml``)
    lines: dict[Path, dict[tuple[str, ...], int]] = field(default_factory=dict)
    #: the (file, service) pairs being extended, to catch a cycle
    _extending: list[tuple[Path, str]] = field(default_factory=list)

    def raw(self, path: Path) -> dict[str, Any]:
        if path not in self._cache:
            self.lines[path] = {}
            self._cache[path] = read_yaml(path, self.interpolate, self.lines[path])
        return self._cache[path]

    def where(self, path: Path, *keys: str) -> str:
        """``file:line`` of the deepest of ``keys`` the file has a line for."""
        found = self.lines.get(path, {})
        for end in range(len(keys), 0, -1):
            if keys[:end] in found:
                return f"{path}:{found[keys[:end]]}"
        return str(path)

    def load(self, files: Sequence[Path], directory: Path, chain: tuple[Path, ...] = ()) -> Model:
        """Merge ``files`` in order (``-f a -f b``); relative paths are relative to
        ``directory``, the project folder, as Compose has it."""
        model = Model()
        for path in files:
            data = self.raw(path)
            if not isinstance(data.get("services", {}), dict):
                raise ComposeError(f"{path}: 'services' must be a mapping of service names")
            for key, value in data.items():
                if key == "include":
                    self._include(model, value, path, directory, chain)
                elif key == "name":
                    model.name = str(value)
                elif key == "version":
                    model.warnings.append(
                        f"{path.name}: 'version' is obsolete and ignored (as Compose does)"
                    )
                elif key in ("networks", "volumes", "secrets", "configs"):
                    section = _section(value, key, path)
                    for name, options in section.items():
                        options = _resolve_resource(key, name, options, directory)
                        merged = getattr(model, key)
                        merged[name] = _deep_merge(merged.get(name, {}), options)
                elif key == "services":
                    services = {
                        name: self._service(name, value or {}, path, directory, chain)
                        for name, value in (value or {}).items()
                    }
                    for name, service in services.items():
                        if name in model.included:
                            raise ComposeError(
                                f"{path}: service {name!r} is defined both here and in the "
                                f"included {model.included[name]}; rename one of them"
                            )
                        base = model.services.get(name)
                        model.services[name] = (
                            service if base is None else merge_service(base, service)
                        )
                elif key in ("configs", "secrets", "models"):
                    model.other[key] = path.name
                elif not key.startswith("x-"):
                    close = difflib.get_close_matches(key, TOP_LEVEL_KEYS, n=1, cutoff=0.6)
                    hint = f"; did you mean {close[0]!r}?" if close else ""
                    raise ComposeError(
                        f"{self.where(path, key)}: unknown top-level key {key!r}{hint} "
                        f"(Compose refuses it; the keys are {', '.join(TOP_LEVEL_KEYS)}, x-*)"
                    )
        return model

    def _service(
        self, name: str, raw: object, path: Path, directory: Path, chain: tuple[Path, ...]
    ) -> dict[str, Any]:
        if not isinstance(raw, dict):
            raise ComposeError(f"{path}: service {name!r} must be a mapping")
        raw = cast_service(raw, lambda *keys: self.where(path, name, *keys), name)
        check_keys(raw, lambda *keys: self.where(path, name, *keys), name)
        service = normalise_service(name, raw, directory, str(path))
        extends = service.pop("extends", None)
        if extends is None:
            return service
        if isinstance(extends, str):
            extends = {"service": extends}
        if not isinstance(extends, dict) or "service" not in extends:
            raise ComposeError(f"{path}: service {name!r}: extends needs a 'service'")
        base_name = str(extends["service"])
        if extends.get("file"):
            base_path = (path.parent / str(extends["file"])).resolve()
            base_dir = base_path.parent  # its relative paths are relative to its own folder
        else:
            base_path, base_dir = path, directory
        key = (base_path, base_name)
        if key in self._extending:
            raise ComposeError(f"{path}: service {name!r}: extends forms a cycle at {base_name!r}")
        base_data = self.raw(base_path)
        base_raw = (base_data.get("services") or {}).get(base_name)
        if base_raw is None:
            raise ComposeError(
                f"{path}: service {name!r} extends {base_name!r}, which {base_path.name} "
                "does not define"
            )
        self._extending.append(key)
        try:
            base = self._service(base_name, base_raw, base_path, base_dir, chain)
        finally:
            self._extending.pop()
        return merge_service(base, service)

    def _include(
        self, model: Model, value: object, path: Path, directory: Path, chain: tuple[Path, ...]
    ) -> None:
        items = value if isinstance(value, list) else [value]
        for item in items:
            spec = {"path": item} if isinstance(item, str) else item
            if not isinstance(spec, dict) or "path" not in spec:
                raise ComposeError(f"{path}: each include is a path or a mapping with 'path'")
            paths = spec["path"] if isinstance(spec["path"], list) else [spec["path"]]
            files = [(path.parent / str(p)).resolve() for p in paths]
            for file in files:
                if file in chain or file == path:
                    raise ComposeError(f"{path}: include of {file} forms a cycle")
                if not file.is_file():
                    raise ComposeError(f"{path}: included file {file} does not exist")
            sub_dir = (path.parent / str(spec.get("project_directory", files[0].parent))).resolve()
            env_files = spec.get("env_file")
            if isinstance(env_files, str):
                env_files = [env_files]
            variables = project_variables(
                sub_dir,
                [sub_dir / f for f in env_files] if env_files else None,
                dict(self.variables),
            )
            # The including project's variables win over the included project's .env.
            sub = Loader(Interpolator({**variables, **self.variables}), variables)
            included = sub.load(files, sub_dir, (*chain, path))
            self.interpolate.unset.extend(sub.interpolate.unset)
            for section in ("services", "networks", "volumes", "secrets", "configs"):
                target = getattr(model, section)
                for name, options in getattr(included, section).items():
                    if name in target and section == "services":
                        raise ComposeError(
                            f"{path}: service {name!r} is defined both here and in the "
                            f"included {files[0].name}; rename one of them"
                        )
                    target.setdefault(name, options)
                    if section == "services":
                        model.included[name] = files[0].name
            model.warnings.extend(included.warnings)


def _section(value: object, key: str, path: Path) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ComposeError(f"{path}: top-level {key!r} must be a mapping of names")
    return {str(k): v for k, v in value.items()}


def _resolve_resource(section: str, name: str, options: object, directory: Path) -> dict[str, Any]:
    options = dict(options or {}) if isinstance(options, dict | type(None)) else {}
    options = cast_resource(options, f"{section}.{name}")
    if section in ("secrets", "configs") and isinstance(options.get("file"), str):
        options["file"] = _host_path(options["file"], directory)
    if "labels" in options:
        options["labels"] = _mapping(options["labels"], "=")
    return options


# ---------------------------------------------------------------- one service, canonical


def normalise_service(name: str, raw: Mapping[str, Any], directory: Path, source: str) -> dict:
    """A service in long syntax, its relative paths made absolute against ``directory``."""
    service: dict[str, Any] = {}
    for key, value in raw.items():
        where = f"{source}: service {name!r}: {key}"
        normalise = _NORMALISERS.get(key)
        service[key] = normalise(value, directory, where) if normalise else value
    return service


def _host_path(path: str, directory: Path) -> str:
    expanded = os.path.expanduser(path)
    return os.path.normpath(expanded if os.path.isabs(expanded) else directory / expanded)


def _mapping(value: object, sep: str, where: str = "") -> dict[str, Any]:
    if value is None:
        return {}
    if isinstance(value, dict):
        return {str(k): v for k, v in value.items()}
    if isinstance(value, list):
        result: dict[str, Any] = {}
        for item in value:
            key, found, rest = str(item).partition(sep)
            result[key] = rest if found else None
        return result
    raise ComposeError(f"{where} must be a mapping or a list of 'KEY{sep}VALUE'")


def _environment(value: object, _directory: Path, where: str) -> dict[str, Any]:
    return _mapping(value, "=", where)


def _labels(value: object, _directory: Path, where: str) -> dict[str, str]:
    return {k: "" if v is None else _scalar(v) for k, v in _mapping(value, "=", where).items()}


def _extra_hosts(value: object, _directory: Path, where: str) -> dict[str, str]:
    if isinstance(value, list):
        hosts = {}
        for item in value:
            text = str(item)
            sep = "=" if "=" in text else ":"
            host, _, address = text.partition(sep)
            hosts[host] = address
        return hosts
    return {k: _scalar(v) for k, v in _mapping(value, "=", where).items()}


def _scalar(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


_PORT = re.compile(
    r"^(?:(?:\[(?P<ip6>[^\]]+)\]|(?P<ip>[^:\[\]]*)):)??"
    r"(?:(?P<published>\d*(?:-\d+)?):)?"
    r"(?P<target>\d+(?:-\d+)?)(?:/(?P<protocol>\w+))?$"
)


def _ports(value: object, _directory: Path, where: str) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise ComposeError(f"{where} must be a list")
    ports: list[dict[str, Any]] = []
    for item in value:
        if isinstance(item, dict):
            port = dict(item)
            port.setdefault("protocol", "tcp")
            port["target"] = int(port["target"])
            published = port.get("published")
            port["published"] = None if published in (None, "") else str(published)
            port["host_ip"] = str(port.get("host_ip") or "")
            ports.extend(_expand_port_range(port, where))
            continue
        match = _PORT.match(str(item))
        if match is None:
            raise ComposeError(f"{where}: {item!r} is not a port like '8080:80' or '80/udp'")
        port = {
            "target": match.group("target"),
            "published": match.group("published") or None,
            "host_ip": match.group("ip6") or match.group("ip") or "",
            "protocol": match.group("protocol") or "tcp",
        }
        ports.extend(_expand_port_range(port, where))
    return _unique(ports)


def _expand_port_range(port: dict[str, Any], where: str) -> list[dict[str, Any]]:
    """``9000-9001:9000-9001`` is two bindings; a single port is one."""
    target, published = str(port["target"]), port["published"]

    def bounds(text: str) -> tuple[int, int]:
        low, _, high = text.partition("-")
        return int(low), int(high or low)

    low, high = bounds(target)
    if published is None:
        return [{**port, "target": p, "published": None} for p in range(low, high + 1)]
    p_low, p_high = bounds(published)
    if high == low and p_high != p_low:
        return [{**port, "target": low, "published": published}]  # any port of the range
    if p_high - p_low != high - low:
        raise ComposeError(f"{where}: the ranges {published} and {target} differ in length")
    return [{**port, "target": low + i, "published": str(p_low + i)} for i in range(high - low + 1)]


#: a short-syntax mount's modes, as compose-go reads them (``format/volume.go``): access,
#: relabel, nocopy, a bind's propagation, and macOS's consistency (no effect on Linux)
_SHORT_MODES = {
    "ro", "rw", "z", "Z", "nocopy", "cached", "delegated", "consistent",
    "shared", "rshared", "slave", "rslave", "private", "rprivate",
}  # fmt: skip


def _volumes(value: object, directory: Path, where: str) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise ComposeError(f"{where} must be a list")
    mounts: list[dict[str, Any]] = []
    for item in value:
        if isinstance(item, dict):
            mount = dict(item)
            if "target" not in mount:
                raise ComposeError(f"{where}: a long-syntax mount needs a 'target'")
            mount.setdefault("type", "volume")
            mount["target"] = posixpath.normpath(str(mount["target"]))
            mount["read_only"] = bool(mount.get("read_only", False))
            if mount["type"] == "bind" and mount.get("source"):
                mount["source"] = _host_path(str(mount["source"]), directory)
            mounts.append(mount)
            continue
        parts = str(item).split(":")
        modes: set[str] = set()
        if len(parts) >= 2 and set(parts[-1].split(",")) <= _SHORT_MODES and parts[-1]:
            modes = set(parts.pop().split(","))
        if len(parts) == 1:
            mount = {"type": "volume", "source": None, "target": parts[0]}
        elif len(parts) == 2:
            source, target = parts
            host = source.startswith((".", "/", "~"))
            mount = {
                "type": "bind" if host else "volume",
                "source": _host_path(source, directory) if host else source,
                "target": target,
            }
        else:
            raise ComposeError(f"{where}: {item!r} is not 'source:target[:mode]'")
        mount["target"] = posixpath.normpath(mount["target"])
        if mount["type"] == "bind":
            mount["bind"] = {"create_host_path": True}  # short syntax: Compose makes the folder
        mount["read_only"] = "ro" in modes
        if modes - {"ro", "rw"}:
            mount["options"] = sorted(modes - {"ro", "rw"})
        mounts.append(mount)
    return mounts


def _networks(value: object, _directory: Path, where: str) -> dict[str, Any]:
    if isinstance(value, list):
        return {str(n): None for n in value}
    if isinstance(value, dict):
        return {str(k): (dict(v) if isinstance(v, dict) else None) for k, v in value.items()}
    raise ComposeError(f"{where} must be a list or a mapping of networks")


def _depends_on(value: object, _directory: Path, where: str) -> dict[str, dict[str, Any]]:
    if isinstance(value, list):
        return {str(n): {"condition": "service_started", "required": True} for n in value}
    if not isinstance(value, dict):
        raise ComposeError(f"{where} must be a list or a mapping of services")
    result = {}
    for name, options in value.items():
        options = dict(options or {})
        condition = options.get("condition", "service_started")
        if condition not in CONDITIONS:
            raise ComposeError(
                f"{where}.{name}: condition {condition!r} must be one of {', '.join(CONDITIONS)}"
            )
        options["condition"] = condition
        options["required"] = bool(options.get("required", True))
        result[str(name)] = options
    return result


def _env_file(value: object, directory: Path, where: str) -> list[dict[str, Any]]:
    items = value if isinstance(value, list) else [value]
    files = []
    for item in items:
        if isinstance(item, str):
            files.append({"path": _host_path(item, directory), "required": True})
        elif isinstance(item, dict) and "path" in item:
            required = item.get("required", True)
            files.append({"path": _host_path(str(item["path"]), directory), "required": required})
        else:
            raise ComposeError(f"{where}: each env file is a path or a mapping with 'path'")
    return files


def _build(value: object, directory: Path, where: str) -> dict[str, Any]:
    if not isinstance(value, str | dict):
        raise ComposeError(f"{where} must be a path or a mapping with 'context'")
    build = {"context": value} if isinstance(value, str) else dict(value)
    context = str(build.get("context", "."))
    if "://" not in context and not context.startswith("git@"):
        build["context"] = _host_path(context, directory)
    if "args" in build:
        build["args"] = _mapping(build["args"], "=", where)
    if "labels" in build:
        build["labels"] = {
            k: "" if v is None else str(v) for k, v in _mapping(build["labels"], "=").items()
        }
    return build


def _string_list(value: object, _directory: Path, where: str) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [str(v) for v in value]
    raise ComposeError(f"{where} must be a list of strings")


def _file_refs(value: object, _directory: Path, where: str) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise ComposeError(f"{where} must be a list")
    refs = []
    for item in value:
        if isinstance(item, str):
            refs.append({"source": item})
        elif isinstance(item, dict) and "source" in item:
            refs.append(dict(item))
        else:
            raise ComposeError(f"{where}: each entry is a name or a mapping with 'source'")
    return refs


_NORMALISERS: dict[str, Callable[[Any, Path, str], Any]] = {
    "environment": _environment,
    "labels": _labels,
    "extra_hosts": _extra_hosts,
    "ports": _ports,
    "expose": lambda v, d, w: [str(p) for p in _string_list(v, d, w)] if v is not None else [],
    "volumes": _volumes,
    "networks": _networks,
    "depends_on": _depends_on,
    "env_file": _env_file,
    "build": _build,
    "tmpfs": _string_list,
    "cap_add": _string_list,
    "cap_drop": _string_list,
    "profiles": _string_list,
    "dns": _string_list,
    "secrets": _file_refs,
    "configs": _file_refs,
}


# ---------------------------------------------------------------- merge rules


def merge_service(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Compose's merge of one service over another (``-f a -f b``, ``extends``)."""
    merged = dict(base)
    for key, value in override.items():
        old = merged.get(key)
        if old is None or key in ("command", "entrypoint"):
            merged[key] = value
        elif key == "volumes":
            merged[key] = _merge_by(old, value, lambda m: m["target"])
        elif key in ("secrets", "configs"):
            merged[key] = _merge_by(old, value, lambda r: r.get("target") or r["source"])
        elif isinstance(old, dict) and isinstance(value, dict):
            merged[key] = _deep_merge(old, value)
        elif isinstance(old, list) and isinstance(value, list):
            merged[key] = _unique([*old, *value])
        else:
            merged[key] = value
    return merged


def _merge_by(old: list[Any], new: list[Any], key: Callable[[Any], str]) -> list[Any]:
    by_key = {key(item): item for item in old}
    for item in new:
        by_key[key(item)] = item
    return list(by_key.values())


def _deep_merge(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(old)
    for key, value in new.items():
        if isinstance(merged.get(key), dict) and isinstance(value, dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value  # lists inside (a healthcheck's test) are replaced
    return merged


def _unique(items: list[Any]) -> list[Any]:
    seen: list[Any] = []
    for item in items:
        if item not in seen:
            seen.append(item)
    return seen
