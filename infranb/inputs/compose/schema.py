"""The compose-spec's keys and value types, for reading a file as Compose reads it.

Compose refuses a key the compose-spec does not define (``enviroment:`` is an error, not an
ignored key) and casts an interpolated string to the type the spec gives its key
(``init: ${INIT:-false}`` is the boolean false). No maintained Python package ships the
spec's JSON schema, so the key lists below are written from it at one revision: the
compose-spec schema as Docker Compose 2.40.3 (compose-go v2) embeds it. ``tests/compose``
checks them against that Compose binary.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from typing import Any

from infranb.core.errors import ComposeError

SERVICE_KEYS = frozenset(
    [
        "annotations",
        "attach",
        "blkio_config",
        "build",
        "cap_add",
        "cap_drop",
        "cgroup",
        "cgroup_parent",
        "command",
        "configs",
        "container_name",
        "cpu_count",
        "cpu_percent",
        "cpu_period",
        "cpu_quota",
        "cpu_rt_period",
        "cpu_rt_runtime",
        "cpu_shares",
        "cpus",
        "cpuset",
        "credential_spec",
        "depends_on",
        "deploy",
        "develop",
        "device_cgroup_rules",
        "devices",
        "dns",
        "dns_opt",
        "dns_search",
        "domainname",
        "entrypoint",
        "env_file",
        "environment",
        "expose",
        "extends",
        "external_links",
        "extra_hosts",
        "gpus",
        "group_add",
        "healthcheck",
        "hostname",
        "image",
        "init",
        "ipc",
        "isolation",
        "label_file",
        "labels",
        "links",
        "logging",
        "mac_address",
        "mem_limit",
        "mem_reservation",
        "mem_swappiness",
        "memswap_limit",
        "models",
        "network_mode",
        "networks",
        "oom_kill_disable",
        "oom_score_adj",
        "pid",
        "pids_limit",
        "platform",
        "ports",
        "post_start",
        "pre_stop",
        "privileged",
        "profiles",
        "provider",
        "pull_policy",
        "pull_refresh_after",
        "read_only",
        "restart",
        "runtime",
        "scale",
        "secrets",
        "security_opt",
        "shm_size",
        "stdin_open",
        "stop_grace_period",
        "stop_signal",
        "storage_opt",
        "sysctls",
        "tmpfs",
        "tty",
        "ulimits",
        "use_api_socket",
        "user",
        "userns_mode",
        "uts",
        "volumes",
        "volumes_from",
        "working_dir",
    ]
)
#: keys of the mappings inside a service, checked as strictly
NESTED_KEYS: dict[str, frozenset[str]] = {
    "healthcheck": frozenset(
        ["disable", "interval", "retries", "test", "timeout", "start_period", "start_interval"]
    ),
    "deploy": frozenset(
        [
            "mode",
            "endpoint_mode",
            "replicas",
            "labels",
            "rollback_config",
            "update_config",
            "resources",
            "restart_policy",
            "placement",
        ]
    ),
    "build": frozenset(
        [
            "context",
            "dockerfile",
            "dockerfile_inline",
            "entitlements",
            "args",
            "ssh",
            "labels",
            "cache_from",
            "cache_to",
            "no_cache",
            "additional_contexts",
            "network",
            "provenance",
            "sbom",
            "pull",
            "target",
            "shm_size",
            "extra_hosts",
            "isolation",
            "privileged",
            "secrets",
            "tags",
            "ulimits",
            "platforms",
        ]
    ),
    "logging": frozenset({"driver", "options"}),
    "extends": frozenset({"service", "file"}),
}
PORT_KEYS = frozenset(
    ["name", "mode", "host_ip", "target", "published", "protocol", "app_protocol"]
)
MOUNT_KEYS = frozenset(
    ["type", "source", "target", "read_only", "consistency", "bind", "volume", "tmpfs", "image"]
)
DEPENDS_KEYS = frozenset({"condition", "restart", "required"})

_TRUE = ("y", "yes", "true", "on")
_FALSE = ("n", "no", "false", "off")


def _boolean(value: str, where: str) -> bool:
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise ComposeError(f"{where}: {value!r} is not a boolean (true or false)")


def _integer(value: str, where: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise ComposeError(f"{where}: {value!r} is not a whole number") from None


def _number(value: str, where: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise ComposeError(f"{where}: {value!r} is not a number") from None


Cast = Callable[[str, str], Any]
#: the service fields whose string values Compose casts (after interpolation), by path;
#: "*" stands for any key of a mapping or any item of a list
CASTS: dict[tuple[str, ...], Cast] = {
    **{
        (key,): _boolean
        for key in ("init", "privileged", "read_only", "stdin_open", "tty", "oom_kill_disable")
    },
    **{
        (key,): _integer
        for key in (
            "scale",
            "pids_limit",
            "oom_score_adj",
            "cpu_shares",
            "cpu_count",
            "cpu_percent",
            "cpu_period",
            "cpu_quota",
            "cpu_rt_period",
            "cpu_rt_runtime",
            "mem_swappiness",
        )
    },
    ("cpus",): _number,
    ("healthcheck", "disable"): _boolean,
    ("healthcheck", "retries"): _integer,
    ("deploy", "replicas"): _integer,
    ("deploy", "restart_policy", "max_attempts"): _integer,
    ("deploy", "resources", "limits", "cpus"): _number,
    ("deploy", "resources", "limits", "pids"): _integer,
    ("deploy", "resources", "reservations", "cpus"): _number,
    ("ports", "*", "target"): _integer,
    ("volumes", "*", "read_only"): _boolean,
    ("volumes", "*", "bind", "create_host_path"): _boolean,
    ("volumes", "*", "volume", "nocopy"): _boolean,
    ("depends_on", "*", "required"): _boolean,
    ("depends_on", "*", "restart"): _boolean,
    ("env_file", "*", "required"): _boolean,
    ("ulimits", "*"): _integer,
    ("ulimits", "*", "soft"): _integer,
    ("ulimits", "*", "hard"): _integer,
}
#: top-level networks/volumes fields cast the same way
RESOURCE_CASTS: dict[str, Cast] = {
    "external": _boolean,
    "internal": _boolean,
    "attachable": _boolean,
    "enable_ipv6": _boolean,
}


def cast_service(raw: Mapping[str, Any], where: Callable[..., str], service: str) -> dict[str, Any]:
    """``raw`` with the strings at typed paths cast, as compose-go does after interpolation
    (so ``disable: ${X:-true}`` with ``X=false`` is false)."""

    def walk(value: Any, path: tuple[str, ...]) -> Any:
        cast = _cast_for(path)
        if isinstance(value, str) and cast is not None:
            return cast(value.strip(), f"{where(*path[:2])}: service {service!r}: {'.'.join(path)}")
        if isinstance(value, Mapping):
            return {k: walk(v, (*path, str(k))) for k, v in value.items()}
        if isinstance(value, list) and path:
            return [walk(v, (*path, "*")) for v in value]
        return value

    return {k: walk(v, (str(k),)) for k, v in raw.items()}


def _cast_for(path: tuple[str, ...]) -> Cast | None:
    found = CASTS.get(path)
    if found is not None or len(path) < 2:
        return found
    # A mapping's keys (depends_on's services, ulimits' names) match "*" too.
    for index in range(len(path)):
        generic = (*path[:index], "*", *path[index + 1 :])
        if generic in CASTS:
            return CASTS[generic]
    return None


def cast_resource(options: Mapping[str, Any], where: str) -> dict[str, Any]:
    """A top-level network's or volume's options, cast like a service's."""
    return {
        k: RESOURCE_CASTS[k](v.strip(), f"{where}.{k}")
        if isinstance(v, str) and k in RESOURCE_CASTS
        else v
        for k, v in options.items()
    }


def check_keys(raw: Mapping[str, Any], where: Callable[..., str], service: str) -> None:
    """Refuse a key the compose-spec does not define, naming the file, its line, the
    service and the nearest valid key (Compose refuses the file too)."""
    for key, value in raw.items():
        if key.startswith("x-"):
            continue
        if key not in SERVICE_KEYS:
            _unknown(where(key), service, key, SERVICE_KEYS)
        nested = NESTED_KEYS.get(key)
        if nested is not None and isinstance(value, Mapping):
            for sub in value:
                if not str(sub).startswith("x-") and sub not in nested:
                    _unknown(where(key, str(sub)), service, f"{key}.{sub}", nested)
        if key == "ports" and isinstance(value, list):
            _check_items(value, PORT_KEYS, where(key), service, key)
        if key == "volumes" and isinstance(value, list):
            _check_items(value, MOUNT_KEYS, where(key), service, key)
        if key == "depends_on" and isinstance(value, Mapping):
            for dep, options in value.items():
                for sub in options or {}:
                    if sub not in DEPENDS_KEYS:
                        _unknown(where(key), service, f"depends_on.{dep}.{sub}", DEPENDS_KEYS)


def _check_items(
    items: list[Any], known: frozenset[str], where: str, service: str, key: str
) -> None:
    for item in items:
        if isinstance(item, Mapping):
            for sub in item:
                if not str(sub).startswith("x-") and sub not in known:
                    _unknown(where, service, f"{key}[].{sub}", known)


def _unknown(where: str, service: str, key: str, known: frozenset[str]) -> None:
    last = key.rpartition(".")[2]
    close = difflib.get_close_matches(last, sorted(known), n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise ComposeError(
        f"{where}: service {service!r}: {key!r} is not a Compose key{hint} "
        "(Compose refuses the file too)"
    )
