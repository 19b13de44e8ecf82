"""What a container runs, compared with what a request asks: the adoption check and ``drift``.

A container made by ``docker compose`` (or by hand) carries no infranb spec hash, so the
comparison is made from its inspect data. Both sides are put in one normal form, a
``ContainerConfig``: the engine module reads the running one, ``desired_config`` makes the
wanted one from a spec and its image's defaults (what the engine itself would fill in), and
``differences`` lists every field that is not the same. Pure: no engine here.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from infranb.core.labels import BUILTIN_NETWORKS, RESERVED_PREFIXES
from infranb.core.options import OPTIONS, configured
from infranb.core.options import shown as option_text
from infranb.core.specs import MOUNT_MODES, ContainerSpec, Healthcheck

NANO = 1_000_000_000


@dataclass(frozen=True)
class ImageConfig:
    """An image's defaults, which a container gets for what it does not set."""

    command: tuple[str, ...] = ()
    entrypoint: tuple[str, ...] = ()
    environment: Mapping[str, str] = field(default_factory=dict, repr=False)
    user: str = ""
    working_dir: str = ""
    healthcheck: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    #: the image's id ("" when not known)
    id: str = ""
    #: container paths the image declares as volumes (``VOLUME``)
    volumes: tuple[str, ...] = ()
    #: when a tag last pointed at it here (a pull, a build, a tag): a scheduled pull
    #: policy (``daily``) pulls again once this is older than its window
    last_tagged: datetime | None = field(default=None, compare=False)
    #: the ports the image declares (``EXPOSE``), "port/proto", sorted
    exposed: tuple[str, ...] = field(default=(), compare=False)


@dataclass(frozen=True)
class ContainerConfig:
    """A container's configuration in one normal form (strings and sorted tuples)."""

    image_id: str
    command: tuple[str, ...] = ()
    entrypoint: tuple[str, ...] = ()
    environment: Mapping[str, str] = field(default_factory=dict, repr=False)
    #: "host_ip:host_port->port/proto", host_port "" when the engine picks it
    ports: tuple[str, ...] = ()
    #: "source:target[:ro]" of named volumes and bind mounts (anonymous volumes left out)
    mounts: tuple[str, ...] = ()
    #: network -> the DNS aliases the container has on it
    networks: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    restart: str = "no"
    #: "" for none; else the engine form and its timings, as one line
    healthcheck: str = ""
    user: str = ""
    working_dir: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    mem_limit: int = 0
    cpus: float = 0.0
    privileged: bool = False
    cap_add: tuple[str, ...] = ()
    cap_drop: tuple[str, ...] = ()
    tmpfs: tuple[str, ...] = ()
    extra_hosts: tuple[str, ...] = ()
    #: the healthcheck in a request's form (to make the container again), None for none
    healthcheck_request: Mapping[str, Any] | None = field(default=None, compare=False)
    #: run options set (``infranb.core.options``), in their request form; defaults left out
    options: Mapping[str, Any] = field(default_factory=dict)
    #: network -> fixed addresses ({"ipv4_address": ...}) where one was asked
    addresses: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    #: container path -> the anonymous volume mounted there (a recreate carries it over)
    anonymous: Mapping[str, str] = field(default_factory=dict, compare=False)
    #: run options the engine does not report (Podman: sysctls, log options): not compared
    unreported: frozenset[str] = field(default=frozenset(), compare=False)
    #: run options the engine fills from its own defaults (Podman: ulimits, pids_limit,
    #: shm_size): compared only where a request sets them, for the entries it sets
    engine_filled: frozenset[str] = field(default=frozenset(), compare=False)
    #: the ports the container exposes, its image's included ("port/proto", sorted): read
    #: by a conversion to Kubernetes, not compared (an image's EXPOSE is not a request's)
    exposed: tuple[str, ...] = field(default=(), compare=False)


@dataclass(frozen=True)
class Difference:
    """One field where what runs is not what is asked."""

    field: str
    desired: str
    actual: str


def healthcheck_request(
    test: tuple[str, ...] | list[str] | None,
    interval: float | None = None,
    timeout: float | None = None,
    retries: int | None = None,
    start_period: float | None = None,
) -> dict[str, Any] | None:
    """A healthcheck as a request gives it (timings in seconds); None for none."""
    if not test:
        return None
    if list(test) == ["NONE"]:
        return {"disable": True}
    found: dict[str, Any] = {"test": list(test)}
    for key, value in (
        ("interval", interval),
        ("timeout", timeout),
        ("start_period", start_period),
    ):
        if value:
            found[key] = f"{value:g}s"
    if retries:
        found["retries"] = retries
    return found


def request_of(
    config: ContainerConfig, *, name: str, service: str | None, image: str
) -> dict[str, Any]:
    """The request's container dict that makes this container again, as it runs (every
    field explicit: the image's defaults are written out). What a revert of a run that
    replaced a container infranb did not make puts back."""
    spec: dict[str, Any] = {"name": name, "image": image}
    if service:
        spec["service"] = service
    spec["command"] = list(config.command)
    if config.entrypoint:
        spec["entrypoint"] = list(config.entrypoint)
    if config.environment:
        spec["environment"] = dict(config.environment)
    ports = []
    for text in config.ports:
        host, _, inner = text.partition("->")
        ip, _, port = host.rpartition(":")
        ports.append(":".join(p for p in (ip, port) if p) + (":" if ip or port else "") + inner)
    if ports:
        spec["ports"] = ports
    if config.mounts:
        spec["volumes"] = list(config.mounts)
    # The engine's own names for it (its name, its short id) come back by themselves.
    spec["networks"] = {
        net: {"aliases": [a for a in aliases if a != name and not _short_id(a)]}
        for net, aliases in config.networks.items()
    }
    for key in ("restart", "user", "working_dir"):
        value = getattr(config, key)
        if value and value != "no":
            spec[key] = value
    own = {k: v for k, v in config.labels.items() if not k.startswith(RESERVED_PREFIXES)}
    if own:
        spec["labels"] = own
    if config.healthcheck_request is not None:
        spec["healthcheck"] = dict(config.healthcheck_request)
    if config.mem_limit:
        spec["mem_limit"] = config.mem_limit
    if config.cpus:
        spec["cpus"] = config.cpus
    if config.privileged:
        spec["privileged"] = True
    for key in ("cap_add", "cap_drop", "tmpfs"):
        if getattr(config, key):
            spec[key] = list(getattr(config, key))
    if config.extra_hosts:
        spec["extra_hosts"] = dict(h.partition(":")[::2] for h in config.extra_hosts)
    for key, value in config.options.items():
        spec[key] = list(value) if isinstance(value, tuple) else value
    if "network_mode" in spec:
        spec.pop("networks")
    for net, fixed in config.addresses.items():
        if net in spec.get("networks", {}):
            spec["networks"][net].update(fixed)
    return spec


def _short_id(text: str) -> bool:
    return len(text) == 12 and all(c in "0123456789abcdef" for c in text)


def healthcheck_text(
    test: tuple[str, ...] | list[str] | None,
    interval: float | None = None,
    timeout: float | None = None,
    retries: int | None = None,
    start_period: float | None = None,
) -> str:
    """One line for a healthcheck (timings in seconds; unset ones and the engine's
    defaults, which Docker and Podman share, left out: they are the same check)."""
    if not test:
        return ""
    parts = [" ".join(test)]
    for key, value in (
        ("interval", interval),
        ("timeout", timeout),
        ("retries", retries),
        ("start_period", start_period),
    ):
        if value and value != HEALTHCHECK_DEFAULTS.get(key):
            parts.append(f"{key}={value:g}")
    return " ".join(parts)


def _healthcheck(hc: Healthcheck | None, image: ImageConfig) -> str:
    if hc is None:
        return image.healthcheck
    if hc.disabled:
        return "NONE"
    if not hc.test:
        # The engine takes the image's test; given timings replace the image's ones, which
        # this normal form cannot split from its text: only "the image's" is comparable.
        timed = any((hc.interval, hc.timeout, hc.retries, hc.start_period))
        return IMAGE_TEST if timed else image.healthcheck
    return healthcheck_text(hc.test, hc.interval, hc.timeout, hc.retries, hc.start_period)


#: what an engine uses for a healthcheck timing the container does not set
HEALTHCHECK_DEFAULTS: Mapping[str, float] = {"interval": 30, "timeout": 30, "retries": 3}

#: a desired healthcheck of the image's test with other timings: not compared
IMAGE_TEST = "(the image's test)"


def mount_text(mount: Any) -> str:
    """A mount as ``drift`` compares it: no ``nocopy`` (it only matters when a volume is
    first made, and the engine does not report it), and no ``z`` on a volume (Docker
    reports ``z`` on every volume it labels itself, asked or not; ``Z`` it reports as asked)."""
    left_out = {"nocopy", "z"} if mount.kind == "volume" else {"nocopy"}
    modes = (("ro",) if mount.read_only else ()) + tuple(
        sorted((o for o in mount.options if o not in left_out), key=MOUNT_MODES.index)
    )
    head = f"{mount.source}:{mount.target}" if mount.source else mount.target
    return head + (":" + ",".join(modes) if modes else "")


def _words(value: tuple[str, ...] | str | None) -> tuple[str, ...]:
    if value is None:
        return ()
    return tuple(shlex.split(value)) if isinstance(value, str) else tuple(value)


def desired_config(
    spec: ContainerSpec,
    environment: Mapping[str, str],
    image_id: str,
    image: ImageConfig,
    *,
    default_network: str,
) -> ContainerConfig:
    """What a container made from ``spec`` has, by the engine's rules: an unset field is
    the image's; an entrypoint given without a command clears the image's command."""
    entrypoint = _words(spec.entrypoint) if spec.entrypoint is not None else image.entrypoint
    if spec.command is not None:
        command = _words(spec.command)
    else:
        command = () if spec.entrypoint is not None else image.command
    mode = spec.network_mode
    if mode is None:
        networks: tuple[str, ...] = spec.networks or (default_network,)
    else:  # another container's namespace shows no network of its own
        networks = () if mode.startswith("container:") else (mode,)
    restart = spec.restart or "no"
    return ContainerConfig(
        image_id=image_id,
        command=command,
        entrypoint=entrypoint,
        environment={**image.environment, **environment},
        ports=tuple(
            sorted(
                f"{p.host_ip}:{p.host_port or ''}->{p.container_port}/{p.protocol}"
                for p in spec.ports
            )
        ),
        # Anonymous volumes are left out on both sides: an image's VOLUME makes them too.
        mounts=tuple(sorted(mount_text(m) for m in spec.volumes if m.source)),
        # Only the aliases asked for: each engine also gives a container its own names.
        networks={
            n: () if n in BUILTIN_NETWORKS else tuple(sorted(set(spec.aliases.get(n, ()))))
            for n in networks
        },
        options={
            k: v
            for k, v in configured(spec.options).items()
            # twice the memory limit is what the engine gives without one
            if not (k == "memswap_limit" and v == 2 * (spec.mem_limit or 0))
        },
        addresses={n: dict(a) for n, a in spec.addresses.items()},
        exposed=tuple(
            sorted(
                set(image.exposed)
                | {f"{p.container_port}/{p.protocol}" for p in spec.ports}
                | {e if "/" in e else f"{e}/tcp" for e in spec.expose}
            )
        ),
        restart=restart,
        healthcheck=_healthcheck(spec.healthcheck, image),
        healthcheck_request=None
        if spec.healthcheck is None
        else healthcheck_request(
            spec.healthcheck.test,
            spec.healthcheck.interval,
            spec.healthcheck.timeout,
            spec.healthcheck.retries,
            spec.healthcheck.start_period,
        ),
        user=spec.user if spec.user is not None else image.user,
        working_dir=spec.working_dir if spec.working_dir is not None else image.working_dir,
        labels=dict(spec.labels),
        mem_limit=spec.mem_limit or 0,
        cpus=spec.cpus or 0.0,
        privileged=spec.privileged,
        cap_add=tuple(sorted(spec.cap_add)),
        cap_drop=tuple(sorted(spec.cap_drop)),
        tmpfs=tuple(sorted(f"{k}:{v}" if v else k for k, v in spec.tmpfs.items())),
        extra_hosts=tuple(sorted(f"{k}:{v}" for k, v in spec.extra_hosts.items())),
    )


def _joined(values: tuple[str, ...]) -> str:
    return " ".join(shlex.quote(v) for v in values)


def _own_labels(labels: Mapping[str, str], image: ImageConfig) -> dict[str, str]:
    """The labels a request could have set: not the image's, not who-made-it labels."""
    return {
        k: v
        for k, v in labels.items()
        if not k.startswith(RESERVED_PREFIXES) and image.labels.get(k) != v
    }


def differences(
    desired: ContainerConfig,
    actual: ContainerConfig,
    image: ImageConfig,
    *,
    shown: Callable[[str, str], str] = lambda key, value: value,
) -> list[Difference]:
    """Every field where ``actual`` is not ``desired``, in a fixed order. Aliases compare as
    "at least these" (Compose adds the container's own names); labels as the ones a request
    can set. ``shown(key, value)`` renders an environment value (to mask secrets)."""
    found: list[Difference] = []

    def add(name: str, want: object, have: object) -> None:
        if want != have:
            found.append(Difference(name, _text(want), _text(have)))

    add("image", desired.image_id, actual.image_id)
    add("command", _joined(desired.command), _joined(actual.command))
    add("entrypoint", _joined(desired.entrypoint), _joined(actual.entrypoint))
    for key in sorted(set(desired.environment) | set(actual.environment)):
        want, have = desired.environment.get(key), actual.environment.get(key)
        if want != have:
            found.append(
                Difference(
                    f"environment.{key}",
                    "(unset)" if want is None else shown(key, want),
                    "(unset)" if have is None else shown(key, have),
                )
            )
    add("ports", desired.ports, _as_asked(actual.ports, desired.ports))
    add("volumes", desired.mounts, actual.mounts)
    add("networks", tuple(sorted(desired.networks)), tuple(sorted(actual.networks)))
    for net, aliases in sorted(desired.networks.items()):
        have_aliases = actual.networks.get(net)
        missing = [a for a in aliases if have_aliases is not None and a not in have_aliases]
        if missing:
            found.append(
                Difference(f"networks.{net}.aliases", _text(aliases), _text(have_aliases or ()))
            )
    add("restart", desired.restart, actual.restart)
    if desired.healthcheck != IMAGE_TEST:
        add("healthcheck", desired.healthcheck, actual.healthcheck)
    add("user", desired.user, actual.user)
    add("working_dir", desired.working_dir or "/", actual.working_dir or "/")  # same folder
    own = _own_labels(actual.labels, image)
    for key in sorted(set(desired.labels) | set(own)):
        add(f"labels.{key}", desired.labels.get(key, "(unset)"), own.get(key, "(unset)"))
    add("mem_limit", desired.mem_limit, actual.mem_limit)
    add("cpus", desired.cpus, actual.cpus)
    add("privileged", desired.privileged, actual.privileged)
    add("cap_add", desired.cap_add, actual.cap_add)
    add("cap_drop", desired.cap_drop, actual.cap_drop)
    add("tmpfs", desired.tmpfs, actual.tmpfs)
    add("extra_hosts", desired.extra_hosts, actual.extra_hosts)
    for key in [k for k in OPTIONS if k in desired.options or k in actual.options]:
        wanted: Any = desired.options.get(key)
        running: Any = actual.options.get(key)
        if key in actual.unreported:
            continue
        if key in actual.engine_filled:
            if wanted is None:
                continue
            if isinstance(wanted, Mapping) and isinstance(running, Mapping):
                running = {k: v for k, v in running.items() if k in wanted}
        if key == "network_mode" and str(wanted).startswith("container:"):
            # The engine reports the other container by id, the request by name.
            wanted, running = "container", str(running).partition(":")[0]
        if key == "security_opt":
            wanted, running = _security_options(wanted), _security_options(running)
        if wanted != running:
            found.append(
                Difference(
                    key,
                    "(unset)" if wanted is None else option_text(wanted),
                    "(unset)" if running is None else option_text(running),
                )
            )
    for net in sorted(set(desired.addresses) | set(actual.addresses)):
        want_fixed, have_fixed = desired.addresses.get(net, {}), actual.addresses.get(net, {})
        if want_fixed and want_fixed != have_fixed:
            found.append(
                Difference(
                    f"networks.{net}.address",
                    option_text(want_fixed),
                    option_text(have_fixed) or "(any)",
                )
            )
    return found


def _as_asked(actual: tuple[str, ...], desired: tuple[str, ...]) -> tuple[str, ...]:
    """Actual ports, where the host port the engine chose for a request that left it to the
    engine (``127.0.0.1::80``) is written as that request (Podman reports the chosen one)."""
    shown = []
    for port in actual:
        host, _, target = port.partition("->")
        ip = host.rpartition(":")[0]
        any_port = f"{ip}:->{target}"
        shown.append(any_port if any_port in desired and port not in desired else port)
    return tuple(sorted(shown))


def _security_options(value: object) -> object:
    """``no-new-privileges`` is ``no-new-privileges:true`` (engines report either)."""
    if not isinstance(value, tuple | list):
        return value
    return tuple(sorted("no-new-privileges:true" if v == "no-new-privileges" else v for v in value))


def _text(value: object) -> str:
    if isinstance(value, tuple):
        return ", ".join(str(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


#: what an engine changes on a container in place (``manager.update``); the rest needs a
#: recreate
LIVE_FIELDS = ("restart", "mem_limit", "cpus", "pids_limit")


def live_values(config: ContainerConfig) -> dict[str, Any]:
    """A container's live-updatable settings, as ``manager.update`` takes them."""
    return {
        "restart": config.restart or "no",
        "mem_limit": config.mem_limit or 0,
        "cpus": config.cpus or 0.0,
        "pids_limit": max(int(config.options.get("pids_limit") or 0), 0),  # -1: none
    }


def live_differences(desired: ContainerConfig, actual: ContainerConfig) -> list[str]:
    """The live-updatable settings where a container no longer has what its request asks
    (someone updated it in place): its fingerprints cannot tell, its inspect data can. A
    setting the engine fills from its own defaults counts only where the request sets it."""
    want, have = live_values(desired), live_values(actual)
    return [
        name
        for name in LIVE_FIELDS
        if want[name] != have[name]
        and not (name == "pids_limit" and "pids_limit" in actual.engine_filled and not want[name])
    ]
