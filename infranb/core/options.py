"""Run options: the container settings beyond the basics that ``docker compose up`` applies
(``ulimits``, ``dns``, ``network_mode``, ``logging``, ...), one table for all of them.

Each option has a parser that turns what a request (or a Compose file) gives into one normal
form, the *request form* (a string, a bool, an int, a sorted list or a mapping), so that
fingerprints, the engine module, ``drift`` and a revert all deal with one shape. The engine
module maps the request form to the engine's fields; ``drift`` compares request forms.
Pure: no engine here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from infranb.core.errors import SpecProblem

#: Compose's network_mode values besides a network's name
NETWORK_MODE_PREFIXES = ("container:", "service:")


def _text(value: object, where: str) -> str:
    if isinstance(value, str) and value:
        return value
    raise SpecProblem(where, f"{value!r}: use a non-empty string")


def _flag(value: object, where: str) -> bool:
    if isinstance(value, bool):
        return value
    raise SpecProblem(where, f"{value!r}: use True or False")


def _integer(value: object, where: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        return int(value)
    raise SpecProblem(where, f"{value!r}: use a whole number")


_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?")
_SCALE = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}


def size(value: object, where: str, *, unlimited: bool = False) -> int:
    """Bytes from an integer or a string such as ``"512m"``, ``"1gb"``, ``"1.5g"``;
    ``unlimited`` also allows -1 (``memswap_limit: -1``)."""
    if unlimited and value in (-1, "-1"):
        return -1
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str):
        match = _SIZE.fullmatch(value.strip().lower())
        if match:
            return int(float(match.group(1)) * _SCALE[match.group(2)])
    raise SpecProblem(where, f"{value!r} is not a size; use bytes or a string like '512m'")


def _strings(value: object, where: str) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple) and all(
        isinstance(v, str | int) and not isinstance(v, bool) for v in value
    ):
        return [str(v) for v in value]
    raise SpecProblem(where, f"{value!r}: use a list of strings")


def _string_map(value: object, where: str) -> dict[str, str]:
    if isinstance(value, Mapping):
        return {str(k): "" if v is None else _scalar(v) for k, v in sorted(value.items())}
    if isinstance(value, list | tuple):
        pairs = {}
        for item in value:
            key, found, rest = str(item).partition("=")
            if not found:
                raise SpecProblem(where, f"{item!r} must look like 'KEY=VALUE'")
            pairs[key] = rest
        return dict(sorted(pairs.items()))
    raise SpecProblem(where, "use a mapping or a list of 'KEY=VALUE'")


def _scalar(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _ulimits(value: object, where: str) -> dict[str, dict[str, int]]:
    """``{"nofile": 65535}`` or ``{"nofile": {"soft": 1024, "hard": 65535}}``."""
    if not isinstance(value, Mapping):
        raise SpecProblem(where, 'use a mapping like {"nofile": {"soft": 1024, "hard": 65535}}')
    limits = {}
    for name, limit in sorted(value.items()):
        if isinstance(limit, Mapping):
            unknown = set(limit) - {"soft", "hard"}
            if unknown or not {"soft", "hard"} <= set(limit):
                raise SpecProblem(f"{where}.{name}", "give both 'soft' and 'hard' (and only those)")
            soft = _integer(limit["soft"], f"{where}.{name}.soft")
            hard = _integer(limit["hard"], f"{where}.{name}.hard")
        else:
            soft = hard = _integer(limit, f"{where}.{name}")
        if soft > hard and hard != -1:
            raise SpecProblem(f"{where}.{name}", f"soft limit {soft} is above hard limit {hard}")
        limits[str(name)] = {"soft": soft, "hard": hard}
    return limits


def _logging(value: object, where: str) -> dict[str, Any]:
    """``{"driver": "json-file", "options": {"max-size": "10m"}}``."""
    if not isinstance(value, Mapping):
        raise SpecProblem(where, 'use a mapping like {"driver": "json-file", "options": {...}}')
    unknown = set(value) - {"driver", "options"}
    if unknown:
        raise SpecProblem(where, f"unknown key {sorted(unknown)[0]!r}; use driver and options")
    found: dict[str, Any] = {}
    if value.get("driver") is not None:
        found["driver"] = _text(value["driver"], f"{where}.driver")
    if value.get("options"):
        found["options"] = _string_map(value["options"], f"{where}.options")
    return found


def _network_mode(value: object, where: str) -> str:
    text = _text(value, where)
    if text in ("host", "none", "bridge") or text.startswith(NETWORK_MODE_PREFIXES):
        return text
    if re.fullmatch(r"[a-zA-Z0-9][a-zA-Z0-9_.-]*", text):
        return text  # a network's name, as the engine allows
    raise SpecProblem(where, f"{text!r}: use host, none, bridge, container:NAME or service:NAME")


def _pull_policy(value: object, where: str) -> str:
    text = _text(value, where)
    if text == "if_not_present":
        return "missing"
    if text in PULL_POLICIES or refresh_after(text) is not None:
        return text
    raise SpecProblem(
        where,
        f"{text!r}: use one of {', '.join(PULL_POLICIES)}, daily, weekly or every_<duration> "
        "(e.g. every_12h, every_2d)",
    )


_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(w|d|h|m|s|ms)")


def refresh_after(policy: str | None) -> timedelta | None:
    """How old an image's tag may get before a bring-up pulls it again, for the pull
    policies Compose v2 reads as a schedule (``daily``, ``weekly``, ``every_<duration>``,
    the duration in weeks, days, hours, minutes and seconds: ``every_1d12h``); None for
    the others."""
    if policy == "daily":
        return timedelta(days=1)
    if policy == "weekly":
        return timedelta(weeks=1)
    if not policy or not policy.startswith("every_"):
        return None
    text = policy.removeprefix("every_")
    parts = _DURATION_PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        return None
    unit = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes", "s": "seconds",
            "ms": "milliseconds"}  # fmt: skip
    total = sum((timedelta(**{unit[u]: float(n)}) for n, u in parts), timedelta())
    return total if total > timedelta() else None


def _ipc(value: object, where: str) -> str:
    return _text(value, where)


@dataclass(frozen=True)
class Option:
    """One run option: its parser, and whether it is part of the container's configuration
    (``pull_policy`` is not: it says when to pull, the container is the same)."""

    name: str
    parse: Callable[[object, str], Any]
    configures: bool = True
    doc: str = ""


PULL_POLICIES = ("missing", "always", "never", "build")

#: every run option, by the Compose key it comes from (and the request key it is)
OPTIONS: dict[str, Option] = {
    o.name: o
    for o in (
        Option("network_mode", _network_mode, doc="host, none, bridge, container:N, service:N"),
        Option("ulimits", _ulimits),
        Option("shm_size", size),
        Option("dns", _strings),
        Option("dns_search", _strings),
        Option("dns_opt", _strings),
        Option("sysctls", _string_map),
        Option("security_opt", _strings),
        Option("tty", _flag),
        Option("stdin_open", _flag),
        Option("read_only", _flag),
        Option("platform", _text),
        Option("pull_policy", _pull_policy, configures=False),
        Option("logging", _logging),
        Option("devices", _strings),
        Option("pid", _text),
        Option("ipc", _ipc),
        Option("cgroup", _text),
        Option("group_add", _strings),
        Option("mem_reservation", size),
        Option("memswap_limit", lambda v, w: size(v, w, unlimited=True)),
        Option("pids_limit", _integer),
        Option("oom_score_adj", _integer),
        Option("oom_kill_disable", _flag),
        Option("cpu_shares", _integer),
        Option("cpuset", _text),
        Option("domainname", _text),
        Option("mac_address", _text),
        Option("userns_mode", _text),
        Option("runtime", _text),
        Option("cgroup_parent", _text),
        Option("storage_opt", _string_map),
        Option("device_cgroup_rules", _strings),
    )
}


def parse_options(raw: Mapping[str, Any], where: str) -> dict[str, Any]:
    """The run options ``raw`` sets, each in its request form (unset ones left out)."""
    found = {}
    for name, option in OPTIONS.items():
        value = raw.get(name)
        if value is None:
            continue
        parsed = option.parse(value, f"{where}.{name}")
        if parsed in ((), [], {}):
            continue
        found[name] = tuple(parsed) if isinstance(parsed, list) else parsed
    if str(found.get("network_mode", "")).startswith("service:"):
        raise SpecProblem(
            f"{where}.network_mode",
            "service:NAME is Compose's form; a request names the container: container:NAME",
        )
    return found


def configured(options: Mapping[str, Any]) -> dict[str, Any]:
    """The options that are part of the container's configuration (compared by ``drift``)."""
    return {k: v for k, v in options.items() if OPTIONS[k].configures}


def shown(value: object) -> str:
    """One line for an option's value in a plan or a drift table."""
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={shown(v)}" for k, v in value.items())
    if isinstance(value, tuple | list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
