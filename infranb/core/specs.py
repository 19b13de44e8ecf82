"""Parse the user's container dicts into typed ``ContainerSpec`` records, once, at the edge.

The request keeps the spec's shape (a list of dicts); everything after parsing works on
these frozen records. Parsing never touches the engine: each problem is reported as a
``SpecProblem`` naming the container and the field.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import posixpath
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from infranb.core.errors import Problem, SpecProblem
from infranb.core.labels import RESERVED_PREFIXES
from infranb.core.options import OPTIONS, parse_options, size
from infranb.core.secrets import SecretRef, mask_url_credentials

NAME_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]+$")
MAX_NAME_LENGTH = 128
#: the engine's names, one character long too: a stack to look at or tear down (Compose's too)
STACK_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")
#: Compose's rule for project names, which every stack infranb brings up is
PROJECT_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")

Condition = Literal["ready", "started", "healthy", "completed_successfully"]
CONDITION_ALIASES: dict[str, Condition] = {
    "started": "started",
    "service_started": "started",
    "healthy": "healthy",
    "service_healthy": "healthy",
    "completed_successfully": "completed_successfully",
    "service_completed_successfully": "completed_successfully",
}

CONTAINER_KEYS = (
    "image",
    "name",
    "command",
    "entrypoint",
    "environment",
    "ports",
    "volumes",
    "networks",
    "depends_on",
    "healthcheck",
    "labels",
    "restart",
    "user",
    "working_dir",
    "init",
    "hostname",
    "extra_hosts",
    "mem_limit",
    "cpus",
    "cap_add",
    "cap_drop",
    "privileged",
    "tmpfs",
    "expose",
    "stop_signal",
    "stop_grace_period",
    "service",
    "container_number",
    "files",
    "post_start",
    "pre_stop",
    "update_config",
    *OPTIONS,
)
#: the keys of a lifecycle hook, as Compose v2 takes them
HOOK_KEYS = ("command", "user", "privileged", "working_dir", "environment")
HEALTHCHECK_KEYS = ("test", "interval", "timeout", "retries", "start_period", "disable")
RESTART_POLICIES = ("no", "always", "unless-stopped", "on-failure")
SENSITIVE_PATHS = (
    "/",
    "/etc",
    "/root",
    "/var/run/docker.sock",
    "/run/docker.sock",
    "/proc",
    "/sys",
    "/dev",
    "/boot",
    "/var/lib/docker",
    "/home",
)


@dataclass(frozen=True)
class PortBinding:
    container_port: int
    protocol: str = "tcp"
    host_port: int | None = None  # None: the engine picks a free port
    host_ip: str = ""

    @property
    def key(self) -> str:
        return f"{self.container_port}/{self.protocol}"

    def __str__(self) -> str:
        host = f"{self.host_ip}:" if self.host_ip else ""
        published = f"{host}{self.host_port}" if self.host_port else f"{host}auto"
        return f"{published}->{self.key}"


@dataclass(frozen=True)
class Mount:
    #: a volume name, an absolute host path for a bind mount, "" for an anonymous volume
    source: str
    target: str
    kind: Literal["volume", "bind"]
    read_only: bool = False
    #: "z"/"Z" (relabel for SELinux), "nocopy" (do not fill a new volume from the image),
    #: a bind's propagation ("rshared", "slave", ... as ``MOUNT_PROPAGATION``)
    options: tuple[str, ...] = ()

    def __str__(self) -> str:
        modes = (("ro",) if self.read_only else ()) + self.options
        head = f"{self.source}:{self.target}" if self.source else self.target
        return head + (":" + ",".join(modes) if modes else "")


@dataclass(frozen=True)
class Healthcheck:
    #: engine form: ("CMD", ...), ("CMD-SHELL", "..."), ("NONE",); () keeps the image's test
    test: tuple[str, ...]
    interval: float | None = None
    timeout: float | None = None
    retries: int | None = None
    start_period: float | None = None

    @property
    def disabled(self) -> bool:
        return self.test == ("NONE",)


@dataclass(frozen=True)
class FileSpec:
    """A file written into a container before it starts (Compose's secrets and configs from
    ``environment:`` or ``content:`` sources, copied in as ``up`` does)."""

    #: the text, or a secret reference read when the run starts (kept out of the repr)
    content: str | SecretRef = field(repr=False)
    mode: int = 0o444


@dataclass(frozen=True)
class Hook:
    """A lifecycle hook (Compose's ``post_start`` / ``pre_stop``): one exec in the
    container, as Compose v2 runs it."""

    command: tuple[str, ...] | str
    user: str | None = None
    privileged: bool = False
    working_dir: str | None = None
    environment: Mapping[str, str] = field(default_factory=dict, repr=False)

    def to_dict(self, *, without: Iterable[str] = ()) -> dict[str, Any]:
        """The hook as a request dict (the environment keys in ``without`` left out)."""
        left_out = set(without)
        return {
            "command": list(self.command) if isinstance(self.command, tuple) else self.command,
            "user": self.user,
            "privileged": self.privileged,
            "working_dir": self.working_dir,
            "environment": {k: v for k, v in self.environment.items() if k not in left_out},
        }


@dataclass(frozen=True)
class ContainerSpec:
    """One container of a stack, typed and normalised."""

    name: str
    image: str
    command: tuple[str, ...] | str | None = None
    entrypoint: tuple[str, ...] | str | None = None
    #: kept out of the repr: values may be secrets
    environment: Mapping[str, str | SecretRef] = field(default_factory=dict, repr=False)
    ports: tuple[PortBinding, ...] = ()
    volumes: tuple[Mount, ...] = ()
    networks: tuple[str, ...] = ()
    #: extra DNS names per network, besides the container's name
    aliases: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    depends_on: Mapping[str, Condition] = field(default_factory=dict)
    healthcheck: Healthcheck | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    restart: str | None = None
    user: str | None = None
    working_dir: str | None = None
    init: bool | None = None
    hostname: str | None = None
    extra_hosts: Mapping[str, str] = field(default_factory=dict)
    mem_limit: int | None = None
    cpus: float | None = None
    cap_add: tuple[str, ...] = ()
    cap_drop: tuple[str, ...] = ()
    privileged: bool = False
    #: container path -> mount options ("size=64m"), a memory-backed filesystem
    tmpfs: Mapping[str, str] = field(default_factory=dict)
    #: ports the container listens on for other containers, published nowhere
    expose: tuple[str, ...] = ()
    stop_signal: str | None = None
    stop_grace_period: float | None = None
    #: the Compose service this container is (its Compose labels); None: the container's name
    service: str | None = None
    #: which of the service's containers this is (``P-S-2`` is 2); None: 1
    container_number: int | None = None
    #: network -> {"ipv4_address": ..., "ipv6_address": ...}: fixed addresses on it
    addresses: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    #: container path -> a file written into the container before it starts
    files: Mapping[str, FileSpec] = field(default_factory=dict, repr=False)
    #: lifecycle hooks: execs run after its start (a failure fails the start) and before
    #: every stop infranb makes (a failure is a warning)
    post_start: tuple[Hook, ...] = ()
    pre_stop: tuple[Hook, ...] = ()
    #: the dependencies after whose replacement it is restarted (``depends_on``'s
    #: ``restart: true``); without it a dependency's replacement leaves it running
    restart_with: tuple[str, ...] = ()
    #: how a change replaces it (Compose's ``deploy.update_config``); None: the engine
    #: kind's defaults. It changes no container, so it is not in the spec's hash.
    update_config: UpdatePolicy | None = None
    # Run options (``infranb.core.options``), each in its request form; None/() when unset.
    network_mode: str | None = None
    ulimits: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    shm_size: int | None = None
    dns: tuple[str, ...] = ()
    dns_search: tuple[str, ...] = ()
    dns_opt: tuple[str, ...] = ()
    sysctls: Mapping[str, str] = field(default_factory=dict)
    security_opt: tuple[str, ...] = ()
    tty: bool | None = None
    stdin_open: bool | None = None
    read_only: bool | None = None
    platform: str | None = None
    #: when to pull: "missing" (default), "always", "never", "build"
    pull_policy: str | None = None
    logging: Mapping[str, Any] = field(default_factory=dict)
    devices: tuple[str, ...] = ()
    pid: str | None = None
    ipc: str | None = None
    cgroup: str | None = None
    group_add: tuple[str, ...] = ()
    mem_reservation: int | None = None
    memswap_limit: int | None = None
    pids_limit: int | None = None
    oom_score_adj: int | None = None
    oom_kill_disable: bool | None = None
    cpu_shares: int | None = None
    cpuset: str | None = None
    domainname: str | None = None
    mac_address: str | None = None
    userns_mode: str | None = None
    runtime: str | None = None
    cgroup_parent: str | None = None
    storage_opt: Mapping[str, str] = field(default_factory=dict)
    device_cgroup_rules: tuple[str, ...] = ()

    @property
    def options(self) -> dict[str, Any]:
        """The run options this spec sets, by name, in their request form."""
        found = {}
        for name in OPTIONS:
            value = getattr(self, name)
            if is_set(value):
                found[name] = value
        return found

    @property
    def number(self) -> int:
        return self.container_number or 1

    @property
    def service_name(self) -> str:
        return self.service or self.name

    def sensitive_mounts(self) -> list[Mount]:
        """Bind mounts of host paths that give a container power over the host."""
        return [
            m
            for m in self.volumes
            if m.kind == "bind" and os.path.normpath(m.source) in SENSITIVE_PATHS
        ]

    def field_fingerprints(
        self,
        resolved_env: Mapping[str, str],
        salt: str = "",
        resolved_files: Mapping[str, str] | None = None,
    ) -> dict[str, str]:
        """A short hash per field; compared with a container's labels to explain a recreate.

        Environment values are hashed with ``salt`` (random per container, kept in a label):
        an 8-hex hash of a bare password could be looked up in a table; a salted one cannot.
        """
        values: dict[str, Any] = {
            "image": self.image,
            "command": self.command,
            "entrypoint": self.entrypoint,
            "ports": sorted(str(p) for p in self.ports),
            "volumes": sorted(str(m) for m in self.volumes),
            "networks": sorted(self.networks),
            "healthcheck": None if self.healthcheck is None else repr(self.healthcheck),
            "labels": sorted(self.labels.items()),
            "restart": self.restart,
            "user": self.user,
            "working_dir": self.working_dir,
            "init": self.init,
            "hostname": self.hostname,
            "extra_hosts": sorted(self.extra_hosts.items()),
            "mem_limit": self.mem_limit,
            "cpus": self.cpus,
            "cap_add": sorted(self.cap_add),
            "cap_drop": sorted(self.cap_drop),
            "privileged": self.privileged,
        }
        # Fields added after 0.1 count only when set, so older containers are not recreated.
        added: dict[str, Any] = {
            "aliases": sorted((k, sorted(v)) for k, v in self.aliases.items()),
            "tmpfs": sorted(self.tmpfs.items()),
            "expose": sorted(self.expose),
            "stop_signal": self.stop_signal,
            "stop_grace_period": self.stop_grace_period,
            "addresses": sorted((k, sorted(v.items())) for k, v in self.addresses.items()),
            "restart_with": sorted(self.restart_with),
        }
        added.update({k: v for k, v in self.options.items() if OPTIONS[k].configures})
        values.update({key: value for key, value in added.items() if is_set(value)})
        prints = {key: _digest(value) for key, value in values.items()}
        # One entry per variable, so a plan can name the variable that changed.
        for key in sorted(resolved_env):
            prints[f"environment.{key}"] = environment_fingerprint(key, resolved_env[key], salt)
        # A hook's environment may hold a secret: salted, as the container's is.
        for when in ("post_start", "pre_stop"):
            hooks = getattr(self, when)
            if hooks:
                prints[when] = _digest([salt, [h.to_dict() for h in hooks]])
        # A file's content is salted too: it may be a secret.
        for path in sorted(self.files):
            content = (resolved_files or {}).get(path, "")
            prints[f"files.{path}"] = file_fingerprint(path, content, self.files[path].mode, salt)
        return prints


def is_set(value: object) -> bool:
    """A field a spec sets: not None and not empty (False and 0 are set)."""
    return value is not None and not (isinstance(value, tuple | list | Mapping) and not value)


def environment_fingerprint(key: str, value: str, salt: str = "") -> str:
    """The fingerprint of one environment variable, as ``field_fingerprints`` makes it."""
    return _digest([salt, key, value] if salt else [key, value])


def file_fingerprint(path: str, content: str, mode: int, salt: str = "") -> str:
    """The fingerprint of one file written into a container (salted: it may be a secret)."""
    return _digest([salt, path, content, mode])


def _digest(value: object) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def spec_hash(fingerprints: Mapping[str, str]) -> str:
    """The ``infranb.spec-hash`` label: one hash over every field fingerprint."""
    text = json.dumps(sorted(fingerprints.items()))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def encode_fingerprints(fingerprints: Mapping[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(fingerprints.items()))


def decode_fingerprints(label: str) -> dict[str, str]:
    pairs = (item.partition("=") for item in label.split(",") if item)
    return {k: v for k, _, v in pairs}


def changed_fields(old: Mapping[str, str], new: Mapping[str, str]) -> list[str]:
    """The fields whose fingerprints differ (present on one side only counts as changed)."""
    return sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))


# ---------------------------------------------------------------- parsing helpers

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(us|ms|h|m|s)")
_DURATION_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(value: object, where: str) -> float:
    """Seconds from a number or a Compose-style string such as ``"500ms"`` or ``"1m30s"``."""
    if isinstance(value, bool):
        raise SpecProblem(where, f"{value!r} is not a duration; use seconds or a string like '5s'")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and value.strip():
        text = value.strip()
        parts = _DURATION_PART.findall(text)
        if not parts or "".join(n + u for n, u in parts) != text:
            raise SpecProblem(
                where, f"{value!r} is not a duration; use seconds or a string like '1m30s', '500ms'"
            )
        seconds = sum(float(n) * _DURATION_UNITS[u] for n, u in parts)
    else:
        raise SpecProblem(where, f"{value!r} is not a duration; use seconds or a string like '5s'")
    if seconds < 0:
        raise SpecProblem(where, f"{value!r} is negative; use 0 or more seconds")
    if 0 < seconds < 0.001:
        raise SpecProblem(where, f"{value!r} is too short; the engine needs at least 1ms")
    return seconds  # 0 is the engine's default (Compose writes "0s" for it)


def parse_size(value: object, where: str) -> int:
    """Bytes from an integer or a string such as ``"512m"``, ``"1g"`` or ``"1.5gb"``."""
    found = size(value, where)
    if found <= 0:
        raise SpecProblem(where, f"{value!r} is not a size; use bytes or a string like '512m'")
    return found


def _port_number(text: object, where: str, what: str) -> int:
    try:
        number = int(str(text))
    except ValueError:
        number = -1
    if not 1 <= number <= 65535:
        raise SpecProblem(where, f"{text!r} is not a valid {what} port (1-65535)")
    return number


def _container_port(text: str, where: str) -> tuple[int, str]:
    port, _, protocol = str(text).partition("/")
    protocol = protocol or "tcp"
    if protocol not in ("tcp", "udp", "sctp"):
        raise SpecProblem(where, f"protocol {protocol!r} must be tcp, udp or sctp")
    return _port_number(port, where, "container"), protocol


def _host_side(value: object, where: str) -> tuple[str, int | None]:
    """(host ip, host port) from 8080, "8080", "127.0.0.1:8080", ("127.0.0.1", 8080) or None."""
    if value is None:
        return "", None
    if isinstance(value, tuple | list):
        if len(value) != 2:
            raise SpecProblem(where, f"{value!r} must be (host_ip, host_port)")
        return str(value[0]), _port_number(value[1], where, "host")
    text = str(value)
    ip, sep, port = text.rpartition(":")
    if sep and not port:  # "127.0.0.1:" as in "127.0.0.1::80": that address, any port
        return ip, None
    return (ip if sep else ""), _port_number(port, where, "host")


def parse_ports(value: object, where: str) -> tuple[PortBinding, ...]:
    """Ports as ``{"80": "8080"}`` (container → host) or ``["8080:80", "127.0.0.1:53:53/udp"]``."""
    bindings: list[PortBinding] = []
    if isinstance(value, Mapping):
        for container, host in value.items():
            port, protocol = _container_port(str(container), where)
            ip, host_port = _host_side(host, where)
            bindings.append(PortBinding(port, protocol, host_port, ip))
    elif isinstance(value, list | tuple):
        for item in value:
            if not isinstance(item, str | int) or isinstance(item, bool):
                raise SpecProblem(where, f"{item!r} must be a string like '8080:80'")
            text = str(item)
            host_part, sep, container = text.rpartition(":")
            port, protocol = _container_port(container, where)
            ip, host_port = _host_side(host_part, where) if sep else ("", None)
            bindings.append(PortBinding(port, protocol, host_port, ip))
    else:
        raise SpecProblem(where, 'use a dict like {"80": "8080"} or a list like ["8080:80"]')
    return tuple(bindings)


def _is_host_path(source: str) -> bool:
    return source.startswith(("/", "./", "../", "~")) or source in (".", "..")


#: a bind mount's propagation modes (the engine's default is rprivate)
MOUNT_PROPAGATION = ("shared", "rshared", "slave", "rslave", "private", "rprivate")
MOUNT_MODES = ("ro", "rw", "z", "Z", "nocopy", *MOUNT_PROPAGATION)


def _mount(source: str, target: str, mode: str, where: str) -> Mount:
    if not target.startswith("/"):
        raise SpecProblem(
            where, f"mount target {target!r} must be an absolute path in the container"
        )
    modes = [m for m in mode.split(",") if m]
    for m in modes:
        if m not in MOUNT_MODES:
            raise SpecProblem(
                where, f"mount mode {m!r} must be one of {', '.join(MOUNT_MODES)} (comma-separated)"
            )
    if "ro" in modes and "rw" in modes:
        raise SpecProblem(where, f"mount mode {mode!r} says both ro and rw")
    if len(set(modes) & {"z", "Z"}) > 1 or len(set(modes) & set(MOUNT_PROPAGATION)) > 1:
        raise SpecProblem(where, f"mount mode {mode!r} gives two relabels or two propagations")
    propagation = set(modes) & set(MOUNT_PROPAGATION)
    read_only = "ro" in modes
    options = tuple(m for m in modes if m not in ("ro", "rw"))
    target = posixpath.normpath(target)  # "/etc/x/" is "/etc/x", as Compose has it
    if _is_host_path(source):
        host = os.path.abspath(os.path.expanduser(source))
        if "nocopy" in options:
            raise SpecProblem(where, "nocopy is for volumes, not host paths")
        return Mount(host, target, "bind", read_only, options)
    if propagation:  # the engine refuses it ("BindOptions must not be specified")
        raise SpecProblem(
            where, f"{min(propagation)} is a host path's propagation; a volume has none"
        )
    if not source:  # an anonymous volume: the engine names it
        return Mount("", target, "volume", read_only, options)
    if not NAME_RE.match(source):
        raise SpecProblem(
            where,
            f"volume name {source!r} must match [a-zA-Z0-9][a-zA-Z0-9_.-]+ "
            "(start host paths with / or ./)",
        )
    return Mount(source, target, "volume", read_only, options)


def parse_volumes(value: object, where: str) -> tuple[Mount, ...]:
    """Volumes as ``{"db-data": "/data"}``, ``{"./src": {"bind": "/src", "mode": "ro"}}``
    or ``["db-data:/data", "./src:/src:ro"]``."""
    mounts: list[Mount] = []
    if isinstance(value, Mapping):
        for source, target in value.items():
            if isinstance(target, Mapping):
                bind, mode = str(target.get("bind", "")), str(target.get("mode", ""))
            elif isinstance(target, str):
                bind, _, mode = target.partition(":")
            else:
                raise SpecProblem(where, f"{source!r} must map to a container path")
            mounts.append(_mount(str(source), bind, mode, where))
    elif isinstance(value, list | tuple):
        for item in value:
            if not isinstance(item, str) or item.count(":") not in (0, 1, 2):
                raise SpecProblem(
                    where,
                    f"{item!r} must look like 'volume:/path', './dir:/path:ro' or '/path' "
                    "(an anonymous volume)",
                )
            if ":" not in item:
                mounts.append(_mount("", item, "", where))
                continue
            source, target, *rest = item.split(":")
            if not source:
                raise SpecProblem(where, f"{item!r}: a mount needs a source before the ':'")
            mounts.append(_mount(source, target, rest[0] if rest else "", where))
    else:
        raise SpecProblem(
            where, 'use a dict like {"db-data": "/data"} or a list like ["db-data:/data"]'
        )
    targets = [m.target for m in mounts]
    for target in targets:
        if targets.count(target) > 1:
            raise SpecProblem(where, f"container path {target!r} is mounted twice")
    return tuple(mounts)


def _string_map(value: object, where: str, sep: str = "=") -> dict[str, str]:
    if isinstance(value, Mapping):
        return {str(k): ("" if v is None else str(v)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        result: dict[str, str] = {}
        for index, item in enumerate(value):
            key, found, val = str(item).partition(sep)
            if not found or not key:
                # The entry is not echoed: it may be a secret written with the wrong separator.
                raise SpecProblem(
                    f"{where}[{index}]", f"must look like 'KEY{sep}VALUE' (no {sep!r} found)"
                )
            result[key] = val
        return result
    raise SpecProblem(where, f"use a dict or a list of 'KEY{sep}VALUE' strings")


_ENV_KEY = re.compile(r"^[^=\x00]+$")


def parse_environment(value: object, where: str) -> dict[str, str | SecretRef]:
    """Environment as a dict (values may be ``SecretRef``) or a list of ``KEY=VALUE``."""
    env: dict[str, str | SecretRef] = {}
    if isinstance(value, Mapping):
        for key, val in value.items():
            if not isinstance(key, str) or not _ENV_KEY.match(key):
                raise SpecProblem(where, f"{key!r} is not a valid variable name")
            if isinstance(val, SecretRef):
                env[key] = val
            elif val is None or isinstance(val, str | int | float | bool):
                env[key] = "" if val is None else str(val)
            else:
                raise SpecProblem(
                    f"{where}.{key}", "values must be strings, numbers or secret refs"
                )
            if isinstance(env[key], str) and "\x00" in str(env[key]):
                raise SpecProblem(f"{where}.{key}", "values cannot contain NUL characters")
        return env
    return dict(_string_map(value, where))


def _command(value: object, where: str) -> tuple[str, ...] | str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise SpecProblem(where, "use a string or a list of strings")


def _string_list(value: object, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise SpecProblem(where, "use a list of strings")


def parse_healthcheck(value: object, where: str) -> Healthcheck:
    """A healthcheck dict in Compose's shape; ``{"disable": True}`` turns the image's off."""
    if not isinstance(value, Mapping):
        raise SpecProblem(where, "use a dict with test, interval, timeout, retries, start_period")
    _reject_unknown(value, HEALTHCHECK_KEYS, where)
    disable = value.get("disable")
    if disable is not None and not isinstance(disable, bool):
        raise SpecProblem(f"{where}.disable", f"{disable!r}: use True or False")
    if disable:
        return Healthcheck(("NONE",))
    test = value.get("test")
    if test is None:
        test_tuple: tuple[str, ...] = ()  # the image's test, with these timings
    elif isinstance(test, str) and test.strip():
        test_tuple = ("CMD-SHELL", test)
    elif isinstance(test, list | tuple) and test and all(isinstance(t, str) for t in test):
        test_tuple = tuple(test)
        if test_tuple[0] not in ("CMD", "CMD-SHELL", "NONE"):
            test_tuple = ("CMD", *test_tuple)
    else:
        raise SpecProblem(f"{where}.test", "use a shell string or a list like ['CMD', 'wget', ...]")
    retries = value.get("retries")
    if retries is not None and (
        not isinstance(retries, int) or isinstance(retries, bool) or retries < 0
    ):
        raise SpecProblem(f"{where}.retries", f"{retries!r} must be a whole number")
    retries = retries or None  # 0: the engine's default

    def duration(key: str) -> float | None:
        raw = value.get(key)
        seconds = None if raw is None else parse_duration(raw, f"{where}.{key}")
        return seconds or None  # 0: the engine's default

    return Healthcheck(
        test_tuple, duration("interval"), duration("timeout"), retries, duration("start_period")
    )


def restarted_with(value: object) -> tuple[str, ...]:
    """The dependencies after whose replacement a container is restarted (``depends_on``'s
    ``{"db": {"restart": True}}``, as Compose v2 reads it); checked by ``parse_depends_on``."""
    if not isinstance(value, Mapping):
        return ()
    return tuple(
        str(name)
        for name, cond in value.items()
        if isinstance(cond, Mapping) and cond.get("restart") is True
    )


def parse_depends_on(value: object, where: str) -> dict[str, Condition]:
    """``["db"]`` or ``{"db": "healthy"}`` / ``{"db": {"condition": "service_healthy"}}``."""
    if isinstance(value, str):
        value = [value]
    if isinstance(value, list | tuple):
        if not all(isinstance(v, str) for v in value):
            raise SpecProblem(where, "use a list of container names")
        return dict.fromkeys(value, "ready")
    if isinstance(value, Mapping):
        result: dict[str, Condition] = {}
        for name, cond in value.items():
            if isinstance(cond, Mapping):
                unknown = set(cond) - {"condition", "restart", "required"}
                if unknown:
                    raise SpecProblem(
                        f"{where}.{name}",
                        f"{', '.join(sorted(map(str, unknown)))}: a dependency takes condition, "
                        "restart and required",
                    )
                if cond.get("restart") is not None and not isinstance(cond["restart"], bool):
                    raise SpecProblem(f"{where}.{name}.restart", "use True or False")
                cond = cond.get("condition")
            if cond is None:
                result[str(name)] = "ready"
                continue
            if cond not in CONDITION_ALIASES:
                raise SpecProblem(
                    f"{where}.{name}",
                    f"condition {cond!r} must be started, healthy or completed_successfully",
                )
            result[str(name)] = CONDITION_ALIASES[cond]
        return result
    raise SpecProblem(where, 'use a list of names or a dict like {"db": "healthy"}')


NETWORK_ENDPOINT_KEYS = ("aliases", "ipv4_address", "ipv6_address")


def parse_files(value: object, where: str) -> dict[str, FileSpec]:
    """Files as ``{"/run/secrets/token": "text" | secret_from_env("X") | {"content": ...,
    "mode": 0o400, "secret": True}}``: written into the container before it starts. A secret
    one's content (``secret``, or under ``/run/secrets/``) is masked wherever it is shown."""
    if not isinstance(value, Mapping):
        raise SpecProblem(where, 'use a dict like {"/run/secrets/token": secret_from_env("X")}')
    files = {}
    for path, item in value.items():
        here = f"{where}.{path}"
        if not isinstance(path, str) or not path.startswith("/") or path.endswith("/"):
            raise SpecProblem(here, "the key is an absolute file path in the container")
        if isinstance(item, str | SecretRef):
            item = {"content": item}
        if not isinstance(item, Mapping) or not isinstance(item.get("content"), str | SecretRef):
            raise SpecProblem(here, "give the content: a string or a secret reference")
        _reject_unknown(item, ("content", "mode", "secret"), here)
        mode = item.get("mode", 0o444)
        if not isinstance(mode, int) or isinstance(mode, bool) or not 0 <= mode <= 0o7777:
            raise SpecProblem(f"{here}.mode", f"{mode!r} must be a file mode like 0o400")
        files[posixpath.normpath(path)] = FileSpec(item["content"], mode)
    return files


def parse_networks(
    value: object, where: str
) -> tuple[tuple[str, ...], dict[str, tuple[str, ...]], dict[str, dict[str, str]]]:
    """Networks as ``["front", "back"]`` or ``{"front": {"aliases": ["www"], "ipv4_address":
    "172.20.0.5"}, "back": None}``: the names, the aliases and the fixed addresses."""
    aliases: dict[str, tuple[str, ...]] = {}
    addresses: dict[str, dict[str, str]] = {}
    if isinstance(value, Mapping):
        names = [str(k) for k in value]
        for net, options in value.items():
            if options is None:
                continue
            if not isinstance(options, Mapping):
                raise SpecProblem(f"{where}.{net}", 'use None or {"aliases": [...]}')
            _reject_unknown(options, NETWORK_ENDPOINT_KEYS, f"{where}.{net}")
            if options.get("aliases"):
                found = _string_list(options["aliases"], f"{where}.{net}.aliases")
                aliases[str(net)] = tuple(dict.fromkeys(found))
            fixed = {k: str(options[k]) for k in ("ipv4_address", "ipv6_address") if options.get(k)}
            if fixed:
                addresses[str(net)] = fixed
    else:
        names = list(_string_list(value, where))
    for net in names:
        check_name(net, where, "network name")
    return tuple(dict.fromkeys(names)), aliases, addresses


def parse_tmpfs(value: object, where: str) -> dict[str, str]:
    """tmpfs mounts as ``["/run", "/tmp:size=64m"]`` or ``{"/tmp": "size=64m"}``."""
    if isinstance(value, Mapping):
        mounts = {str(k): "" if v is None else str(v) for k, v in value.items()}
    else:
        mounts = dict(item.partition(":")[::2] for item in _string_list(value, where))
    for target in mounts:
        if not target.startswith("/"):
            raise SpecProblem(where, f"tmpfs target {target!r} must be an absolute path")
    return mounts


def parse_expose(value: object, where: str) -> tuple[str, ...]:
    """Exposed ports as ``["3000", "53/udp"]`` (numbers allowed)."""
    if not isinstance(value, list | tuple):
        raise SpecProblem(where, 'use a list like ["3000", "53/udp"]')
    keys = []
    for item in value:
        port, protocol = _container_port(str(item), where)
        keys.append(f"{port}/{protocol}")
    return tuple(dict.fromkeys(keys))


def _signal(value: object, where: str) -> str:
    if isinstance(value, str) and re.fullmatch(r"(SIG)?[A-Z0-9+-]+|\d+", value):
        return value
    raise SpecProblem(where, f"{value!r} is not a signal; use a name like 'SIGTERM'")


def _reject_unknown(value: Mapping[Any, Any], known: Sequence[str], where: str) -> None:
    for key in value:
        if key not in known:
            # A high cutoff: "ulimits" must not suggest "mem_limit".
            close = difflib.get_close_matches(str(key), known, n=1, cutoff=0.75)
            hint = f"; did you mean {close[0]!r}?" if close else f"; known keys: {', '.join(known)}"
            raise SpecProblem(f"{where}.{key}", f"unknown key {key!r}{hint}")


def check_name(value: object, where: str, what: str = "name", *, shortest: int = 2) -> str:
    """A name that follows the engine's rule ``[a-zA-Z0-9][a-zA-Z0-9_.-]+`` (``shortest=1``:
    one character will do, as in a Compose project's name)."""
    if not isinstance(value, str) or not value:
        raise SpecProblem(where, f"a {what} is required (a non-empty string)")
    pattern = STACK_RE if shortest == 1 else NAME_RE
    if len(value) > MAX_NAME_LENGTH or not pattern.match(value):
        shown = value if len(value) <= 40 else value[:40] + "…"
        raise SpecProblem(
            where,
            f"{shown!r} is not a valid {what}: use letters, digits, '_', '.', '-', starting with "
            f"a letter or digit, {shortest} to {MAX_NAME_LENGTH} characters",
        )
    return value


def check_stack_name(value: object, where: str = "stack") -> str:
    """A stack's name as the engine's labels can carry it (a Compose project's, an older
    stack's); ``check_project_name`` is the rule for a stack infranb brings up."""
    return check_name(value, where, "stack name", shortest=1)


def normal_project_name(text: str) -> str:
    """Compose's normalisation of a project name: lowercase, without the characters its
    rule refuses, starting with a letter or digit ('' when nothing is left)."""
    return re.sub(r"^[^a-z0-9]+", "", re.sub(r"[^a-z0-9_-]", "", text.lower()))


def check_project_name(value: object, where: str = "stack") -> str:
    """A stack infranb brings up is a Compose project, so its name follows Compose's rule
    (neither CLI can name a project labelled otherwise: v2 refuses ``-p MyShop``, 1.29
    lowercases it)."""
    name = check_stack_name(value, where)
    if not PROJECT_RE.match(name):
        normal = normal_project_name(name)
        instead = f", e.g. {normal!r}" if normal else ""
        raise SpecProblem(
            where,
            f"{name!r} is not a Compose project name, and the stack a bring-up makes is one "
            "(docker compose finds it by that name): use lowercase letters, digits, '_' and "
            f"'-', starting with a letter or digit{instead}; a stack already named so can "
            "still be checked and torn down",
        )
    return name


def parse_container(raw: object, index: int) -> ContainerSpec:
    """Parse one container dict of a request; raises ``SpecProblem`` naming the field.

    The problem's path is canonical (``containers[1].ports``); its text also names the
    container when the name is readable (``containers[1] (web).ports: ...``).
    """
    where = f"containers[{index}]"
    try:
        return _parse_container(raw, where)
    except SpecProblem as e:
        label = raw.get("name") if isinstance(raw, Mapping) else None
        if isinstance(label, str) and NAME_RE.match(label):
            raise e.shown_with(where, label) from None
        raise


def _parse_container(raw: object, where: str) -> ContainerSpec:
    if not isinstance(raw, Mapping):
        raise SpecProblem(where, "each container must be a dict with at least 'image' and 'name'")
    _reject_unknown(raw, CONTAINER_KEYS, where)
    image = raw.get("image")
    if not isinstance(image, str) or not image.strip() or any(c.isspace() for c in image):
        raise SpecProblem(f"{where}.image", "an image reference is required, e.g. 'nginx:1.27'")
    name = check_name(raw.get("name"), f"{where}.name", "container name")

    def get(key: str, parse: Any) -> Any:
        return parse(raw[key], f"{where}.{key}") if raw.get(key) is not None else None

    labels = get("labels", _string_map) or {}
    for key in labels:
        if key.startswith(RESERVED_PREFIXES):
            raise SpecProblem(
                f"{where}.labels",
                f"{key!r}: labels starting with {', '.join(map(repr, RESERVED_PREFIXES))} say "
                "who made a container and for which stack; infranb sets them itself",
            )
    restart = raw.get("restart")
    if restart is not None and (
        not isinstance(restart, str) or restart.partition(":")[0] not in RESTART_POLICIES
    ):
        raise SpecProblem(
            f"{where}.restart", f"{restart!r} must be one of {', '.join(RESTART_POLICIES)}[:N]"
        )
    cpus = raw.get("cpus")
    if cpus is not None and (
        isinstance(cpus, bool) or not isinstance(cpus, int | float) or cpus <= 0
    ):
        raise SpecProblem(f"{where}.cpus", f"{cpus!r} must be a positive number of CPUs")
    networks, aliases, addresses = get("networks", parse_networks) or ((), {}, {})
    options = parse_options(raw, where)
    if options.get("network_mode") and networks:
        raise SpecProblem(
            f"{where}.network_mode",
            "a container with network_mode joins no networks; drop one of the two",
        )
    if options.get("network_mode", "").startswith(("host", "container:")) and raw.get("ports"):
        raise SpecProblem(
            f"{where}.ports",
            f"network_mode {options['network_mode']} shares another network stack: "
            "it cannot publish ports",
        )
    files = get("files", parse_files) or {}
    number = raw.get("container_number")
    if number is not None and (
        not isinstance(number, int) or isinstance(number, bool) or number < 1
    ):
        raise SpecProblem(f"{where}.container_number", f"{number!r} must be a whole number >= 1")
    for key in ("init", "privileged"):
        if raw.get(key) is not None and not isinstance(raw[key], bool):
            raise SpecProblem(f"{where}.{key}", "use True or False")
    for key in ("user", "working_dir", "hostname"):
        if raw.get(key) is not None and not isinstance(raw[key], str):
            raise SpecProblem(f"{where}.{key}", "use a string")
    return ContainerSpec(
        name=name,
        image=image.strip(),
        command=get("command", _command),
        entrypoint=get("entrypoint", _command),
        environment=get("environment", parse_environment) or {},
        ports=get("ports", parse_ports) or (),
        volumes=get("volumes", parse_volumes) or (),
        networks=networks,
        aliases=aliases,
        depends_on=get("depends_on", parse_depends_on) or {},
        restart_with=restarted_with(raw.get("depends_on")),
        healthcheck=get("healthcheck", parse_healthcheck),
        labels=labels,
        restart=restart,
        user=raw.get("user"),
        working_dir=raw.get("working_dir"),
        init=raw.get("init"),
        hostname=raw.get("hostname"),
        extra_hosts=get("extra_hosts", lambda v, w: _string_map(v, w, ":")) or {},
        mem_limit=get("mem_limit", parse_size),
        cpus=float(cpus) if cpus is not None else None,
        cap_add=get("cap_add", _string_list) or (),
        cap_drop=get("cap_drop", _string_list) or (),
        privileged=bool(raw.get("privileged", False)),
        tmpfs=get("tmpfs", parse_tmpfs) or {},
        expose=get("expose", parse_expose) or (),
        stop_signal=get("stop_signal", _signal),
        stop_grace_period=get("stop_grace_period", parse_duration),
        service=_service_name(raw.get("service"), f"{where}.service"),
        container_number=number,
        addresses=addresses,
        files=files,
        post_start=get("post_start", parse_hooks) or (),
        pre_stop=get("pre_stop", parse_hooks) or (),
        update_config=get("update_config", parse_update_policy),
        **options,
    )


def parse_hooks(value: object, where: str) -> tuple[Hook, ...]:
    """Lifecycle hooks: a list of ``{command, user, privileged, working_dir, environment}``
    (the environment a dict or ``KEY=VALUE`` list of plain values)."""
    if not isinstance(value, list | tuple):
        raise SpecProblem(where, "use a list of hooks, e.g. [{'command': ['touch', '/ready']}]")
    hooks = []
    for i, raw in enumerate(value):
        at = f"{where}[{i}]"
        if not isinstance(raw, Mapping):
            raise SpecProblem(at, "a hook is a dict with at least 'command'")
        _reject_unknown(raw, HOOK_KEYS, at)
        command = _command(raw.get("command"), f"{at}.command")
        if not command:
            raise SpecProblem(f"{at}.command", "a hook needs a command")
        environment = {}
        for key, item in (
            parse_environment(raw.get("environment") or {}, f"{at}.environment")
        ).items():
            if isinstance(item, SecretRef):
                raise SpecProblem(
                    f"{at}.environment.{key}",
                    "a hook takes plain values; put a secret it needs in the container's "
                    "environment, which its exec inherits",
                )
            environment[key] = item
        for key in ("user", "working_dir"):
            if raw.get(key) is not None and not isinstance(raw[key], str):
                raise SpecProblem(f"{at}.{key}", "use a string")
        if raw.get("privileged") is not None and not isinstance(raw["privileged"], bool):
            raise SpecProblem(f"{at}.privileged", "use True or False")
        hooks.append(
            Hook(command, raw.get("user"), bool(raw.get("privileged", False)),
                 raw.get("working_dir"), environment)
        )  # fmt: skip
    return tuple(hooks)


def _service_name(value: object, where: str) -> str | None:
    """A Compose service name (``[a-zA-Z0-9][a-zA-Z0-9_.-]*``), or None."""
    if value is None:
        return None
    if not isinstance(value, str) or not re.fullmatch(r"[a-zA-Z0-9][a-zA-Z0-9_.-]*", value):
        raise SpecProblem(
            where, f"{value!r} is not a Compose service name: letters, digits, '_', '.', '-'"
        )
    return value


def parse_containers(
    raw: Sequence[object], *, check_ports: bool = True
) -> tuple[list[ContainerSpec], list[Problem]]:
    """Parse every container; return the specs that parsed and the problems found.

    Also checks what needs the whole request: duplicate names, ``depends_on`` naming a
    container outside the request, and (``check_ports``) a host port published twice.
    """
    specs: list[ContainerSpec] = []
    problems: list[Problem] = []
    index_of: dict[str, int] = {}
    for index, item in enumerate(raw):
        try:
            spec = parse_container(item, index)
        except SpecProblem as e:
            problems.append(e.problem)
            continue
        specs.append(spec)
        index_of.setdefault(spec.name, index)

    def problem(spec: ContainerSpec, key: str, message: str) -> Problem:
        return spec_problem(index_of[spec.name], spec.name, key, message)

    seen: set[str] = set()
    for spec in specs:
        if spec.name in seen:
            problems.append(problem(spec, "name", f"the name {spec.name!r} is used twice"))
        seen.add(spec.name)
    for spec in specs:
        for dep in spec.depends_on:
            if dep == spec.name:
                problems.append(problem(spec, "depends_on", "a container cannot depend on itself"))
            elif dep not in seen:
                problems.append(
                    problem(
                        spec,
                        "depends_on",
                        f"{dep!r} is not a container of this request "
                        f"(known: {', '.join(sorted(seen))})",
                    )
                )
    published: dict[tuple[str, int, str], str] = {}
    for spec in specs if check_ports else []:
        for port in spec.ports:
            if port.host_port is None:
                continue
            key = (port.host_ip or "0.0.0.0", port.host_port, port.protocol)
            if key in published:
                problems.append(
                    problem(
                        spec,
                        "ports",
                        f"host port {port.host_port}/{port.protocol} is already published by "
                        f"{published[key]!r}",
                    )
                )
            published[key] = spec.name
    return specs, problems


def registry_of(ref: str) -> str:
    """The registry an image reference pulls from (Docker Hub when its first part is no
    host name); credentials inside it are masked."""
    first, sep, _ = ref.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        return mask_url_credentials(first)
    return "docker.io"


def spec_problem(index: int, name: str, key: str, message: str) -> Problem:
    """A problem with field ``key`` of the container at ``index`` (named ``name``)."""
    return Problem(
        f"containers[{index}].{key}", message, shown_as=f"containers[{index}] ({name}).{key}"
    )


# ---------------------------------------------------------------- networks and volumes


@dataclass(frozen=True)
class NetworkSpec:
    """How a network the containers join is made (or that it must already exist)."""

    name: str
    driver: str = "bridge"
    labels: Mapping[str, str] = field(default_factory=dict)
    internal: bool = False
    #: made outside this stack: used, never created or removed
    external: bool = False
    #: the Compose file's key (the Compose label); None: the name less "<stack>_"
    key: str | None = None
    #: the driver's options (``driver_opts``)
    driver_opts: Mapping[str, str] = field(default_factory=dict)
    #: addresses: {"driver": ..., "config": [{"subnet": ..., "gateway": ...}], "options": ...}
    ipam: Mapping[str, Any] = field(default_factory=dict)
    attachable: bool = False
    enable_ipv6: bool = False


@dataclass(frozen=True)
class VolumeSpec:
    """How a named volume the containers mount is made (or that it must already exist)."""

    name: str
    driver: str | None = None  # None: config.volume_driver
    labels: Mapping[str, str] = field(default_factory=dict)
    external: bool = False
    #: the Compose file's key (the Compose label); None: the name less "<stack>_"
    key: str | None = None
    #: the driver's options (``driver_opts``: a local volume's type, device, o)
    driver_opts: Mapping[str, str] = field(default_factory=dict)


NETWORK_KEYS = (
    "driver", "labels", "internal", "external", "key", "driver_opts", "ipam", "attachable",
    "enable_ipv6",
)  # fmt: skip
VOLUME_KEYS = ("driver", "labels", "external", "key", "driver_opts")
IPAM_KEYS = ("driver", "config", "options")
IPAM_POOL_KEYS = ("subnet", "ip_range", "gateway", "aux_addresses")


def _ipam(value: object, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise SpecProblem(where, 'use {"config": [{"subnet": "172.28.0.0/16"}]}')
    _reject_unknown(value, IPAM_KEYS, where)
    pools = value.get("config") or []
    if not isinstance(pools, list | tuple):
        raise SpecProblem(f"{where}.config", "use a list of pools")
    for index, pool in enumerate(pools):
        if not isinstance(pool, Mapping):
            raise SpecProblem(f"{where}.config[{index}]", 'use {"subnet": ...}')
        _reject_unknown(pool, IPAM_POOL_KEYS, f"{where}.config[{index}]")
    found: dict[str, Any] = {"config": [dict(p) for p in pools]}
    if value.get("driver"):
        found["driver"] = str(value["driver"])
    if value.get("options"):
        found["options"] = _string_map(value["options"], f"{where}.options")
    return found


def parse_resources(
    raw: object, what: Literal["networks", "volumes"]
) -> tuple[dict[str, Any], list[Problem]]:
    """``{"shop-net": {"driver": "bridge", "labels": {...}, "external": False}}`` per network
    (or volume) into ``NetworkSpec``/``VolumeSpec`` records, with the problems found."""
    if not raw:
        return {}, []
    if not isinstance(raw, Mapping):
        return {}, [Problem(what, f'use a dict like {{"name": {{"labels": {{...}}}}}} for {what}')]
    records: dict[str, Any] = {}
    problems: list[Problem] = []
    for name, options in raw.items():
        where = f"{what}.{name}"
        try:
            check_name(name, where, what[:-1] + " name")
            options = options or {}
            if not isinstance(options, Mapping):
                raise SpecProblem(where, "use a dict of options (or None)")
            _reject_unknown(options, NETWORK_KEYS if what == "networks" else VOLUME_KEYS, where)
            labels = _string_map(options.get("labels") or {}, f"{where}.labels")
            reserved = [k for k in labels if k.startswith(RESERVED_PREFIXES)]
            if reserved:
                raise SpecProblem(
                    f"{where}.labels",
                    f"{reserved[0]!r}: labels starting with "
                    f"{', '.join(map(repr, RESERVED_PREFIXES))} say who made a {what[:-1]} and "
                    "for which stack; infranb sets them itself",
                )
            compose_key = options.get("key")
            if compose_key is not None and (not isinstance(compose_key, str) or not compose_key):
                raise SpecProblem(f"{where}.key", "use the Compose file's key, a string")
            for key in ("internal", "external"):
                if not isinstance(options.get(key, False), bool):
                    raise SpecProblem(f"{where}.{key}", "use True or False")
            driver = options.get("driver")
            if driver is not None and not isinstance(driver, str):
                raise SpecProblem(f"{where}.driver", "use a driver name such as 'bridge'")
            driver_opts = _string_map(options.get("driver_opts") or {}, f"{where}.driver_opts")
            if what == "networks":
                for key in ("attachable", "enable_ipv6"):
                    if not isinstance(options.get(key, False), bool):
                        raise SpecProblem(f"{where}.{key}", "use True or False")
                records[name] = NetworkSpec(
                    name,
                    driver or "bridge",
                    labels,
                    options.get("internal", False),
                    options.get("external", False),
                    compose_key,
                    driver_opts,
                    _ipam(options.get("ipam"), f"{where}.ipam"),
                    options.get("attachable", False),
                    options.get("enable_ipv6", False),
                )
            else:
                records[name] = VolumeSpec(
                    name, driver, labels, options.get("external", False), compose_key, driver_opts
                )
        except SpecProblem as e:
            problems.append(e.problem)
    return records, problems


# How a container is replaced: the compose-spec's ``deploy.update_config``, read once for
# every engine kind. A field the file leaves out stays None; Swarm and a single engine each
# fill in their own defaults.
UPDATE_KEYS = ("parallelism", "delay", "failure_action", "monitor", "max_failure_ratio", "order")
ORDERS = ("stop-first", "start-first")
FAILURE_ACTIONS = ("rollback", "pause", "continue")
NANO = 1_000_000_000

Order = Literal["stop-first", "start-first"]
FailureAction = Literal["pause", "continue", "rollback"]


@dataclass(frozen=True)
class UpdatePolicy:
    """``update_config`` / ``rollback_config`` as written: None where the file is silent."""

    parallelism: int | None = None
    delay: float | None = None
    failure_action: FailureAction | None = None
    monitor: float | None = None
    max_failure_ratio: float | None = None
    order: Order | None = None

    def api(self) -> dict[str, Any]:
        """Swarm's ``UpdateConfig``, Swarm's defaults where the policy is silent."""
        out: dict[str, Any] = {
            "Parallelism": 1 if self.parallelism is None else self.parallelism,
            "Delay": int((self.delay or 0.0) * NANO),
            "FailureAction": self.failure_action or "pause",
            "Order": self.order or "stop-first",
        }
        if self.monitor is not None:
            out["Monitor"] = int(self.monitor * NANO)
        if self.max_failure_ratio is not None:
            out["MaxFailureRatio"] = self.max_failure_ratio
        return out


def parse_update_policy(raw: object, where: str) -> UpdatePolicy | None:
    """``update_config`` from a Compose file's ``deploy`` or a request dict; ``where`` names
    it in an error. Durations are seconds or Compose's ``"10s"``."""
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise SpecProblem(where, "use a dict, e.g. {'order': 'start-first', 'monitor': '5s'}")
    for key in raw:
        if key not in UPDATE_KEYS:
            raise SpecProblem(
                f"{where}.{key}", f"unknown key {key!r}; known: {', '.join(UPDATE_KEYS)}"
            )

    def seconds(key: str) -> float | None:
        value = raw.get(key)
        if value is None:
            return None
        if isinstance(value, int | float) and not isinstance(value, bool):
            if value < 0:
                raise SpecProblem(f"{where}.{key}", "use 0 or more seconds")
            return float(value)
        return parse_duration(value, f"{where}.{key}")

    action = raw.get("failure_action")
    if action is not None and action not in FAILURE_ACTIONS:
        raise SpecProblem(f"{where}.failure_action", "use 'rollback', 'pause' or 'continue'")
    order = raw.get("order")
    if order is not None and order not in ORDERS:
        raise SpecProblem(f"{where}.order", "use 'stop-first' or 'start-first'")
    parallelism = raw.get("parallelism")
    if parallelism is not None and (
        isinstance(parallelism, bool) or not isinstance(parallelism, int) or parallelism < 0
    ):
        raise SpecProblem(f"{where}.parallelism", "use a whole number (0: all at once)")
    ratio = raw.get("max_failure_ratio")
    if ratio is not None and (
        isinstance(ratio, bool) or not isinstance(ratio, int | float) or not 0 <= ratio <= 1
    ):
        raise SpecProblem(f"{where}.max_failure_ratio", "use a fraction from 0 to 1")
    return UpdatePolicy(
        parallelism=parallelism,
        delay=seconds("delay"),
        failure_action=action,
        monitor=seconds("monitor"),
        max_failure_ratio=float(ratio) if ratio is not None else None,
        order=order,
    )
