"""Typed records: what the engine reports, and what operations did.

Leaf module: plain frozen dataclasses, no behaviour beyond small derived properties. The
engine implementations return the first kind; operations produce the second, and the
result, frames and HTML read them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from infranb.core.drift import ContainerConfig


def short_id(full: str | None) -> str:
    """An id as the docker CLI shows it: 12 hex digits, without the ``sha256:`` prefix."""
    return (full or "").removeprefix("sha256:")[:12]


#: container states as the engine names them, plus "gone" for one that disappeared
STATES = ("created", "running", "restarting", "paused", "exited", "dead", "removing", "gone")

# ------------------------------------------------------------------ engine


@dataclass(frozen=True)
class EngineInfo:
    version: str
    api_version: str
    os: str
    host: str
    containers: int
    images: int
    running: int = 0
    #: the engine's own id (stable across restarts)
    engine_id: str = ""
    #: what kind of engine answers: ``docker`` or ``podman`` (``memory`` for the fake)
    kind: str = "docker"

    @property
    def product(self) -> str:
        """``Docker 20.10.24`` / ``Podman 4.3.1``: the engine as its users name it."""
        if self.kind == "memory":
            return "the in-memory engine"
        return f"{self.kind.capitalize()} {self.version}"


@dataclass(frozen=True)
class EngineStatus:
    """What one engine of a fleet answered, or the one sentence saying why it did not."""

    engine: str  # the fleet's name for it
    host: str
    info: EngineInfo | None
    error: str | None = None

    @property
    def reachable(self) -> bool:
        return self.info is not None


@dataclass(frozen=True)
class ContainerInfo:
    """A container as listed by the engine (no per-container inspect)."""

    id: str
    name: str
    image: str
    image_id: str
    state: str
    status: str
    labels: Mapping[str, str]
    created: datetime
    ports: tuple[str, ...] = ()
    networks: tuple[str, ...] = ()
    size: int | None = None
    volumes: tuple[str, ...] = ()  # the volumes it mounts, named and anonymous
    #: those of ``volumes`` it mounts read-only (it cannot write to them)
    read_only_volumes: tuple[str, ...] = ()

    @property
    def health(self) -> str | None:
        for word in ("unhealthy", "healthy", "health: starting"):
            if f"({word})" in self.status:
                return word.removeprefix("health: ")
        return None


@dataclass(frozen=True)
class ContainerDetails:
    """The parts of ``docker inspect`` that infranb reads."""

    id: str
    name: str
    state: str
    exit_code: int | None
    health: str | None  # starting / healthy / unhealthy, None without a healthcheck
    failing_streak: int | None
    last_probe_output: str | None
    started_at: datetime | None
    image_id: str
    labels: Mapping[str, str]
    networks: tuple[str, ...]
    error: str = ""
    environment: Mapping[str, str] = field(default_factory=dict, repr=False)
    #: published ports as the engine bound them, "host_ip:host_port->port/proto"
    ports: tuple[str, ...] = ()
    #: what it runs, in ``infranb.core.drift``'s normal form (read by the same inspect)
    config: ContainerConfig | None = field(default=None, repr=False, compare=False)
    #: seconds between health checks (the engine's default where unset); None without one
    health_interval: float | None = None
    #: times the engine restarted it (its restart policy), whether the kernel's OOM killer
    #: ended its last run, and when that run ended
    restart_count: int = 0
    oom_killed: bool = False
    finished_at: datetime | None = None
    #: the image reference it was created from (``Config.Image``), kept after the tag moves
    image: str = ""
    #: the health check's last probes as the engine keeps them (Docker: 5), oldest first
    health_log: tuple[Probe, ...] = ()


@dataclass(frozen=True)
class ImageInfo:
    id: str
    tags: tuple[str, ...]
    size: int
    created: datetime
    labels: Mapping[str, str]
    dangling: bool
    #: ``repository@sha256:...`` for each registry it was pulled from or pushed to
    #: (``RepoDigests``); empty for an image built here and never pushed
    digests: tuple[str, ...] = ()

    @property
    def manifest_digests(self) -> frozenset[str]:
        """The manifest digests (``sha256:...``) registries know this image by."""
        return frozenset(d.split("@", 1)[1] for d in self.digests if "@" in d)


@dataclass(frozen=True)
class NetworkInfo:
    id: str
    name: str
    driver: str
    labels: Mapping[str, str]
    containers: tuple[str, ...] = ()


@dataclass(frozen=True)
class VolumeInfo:
    name: str
    driver: str
    labels: Mapping[str, str]
    mountpoint: str = ""
    #: the driver's options (``driver_opts``); a value may be a secret (a CIFS password)
    options: Mapping[str, str] = field(default_factory=dict, repr=False)
    #: when it was made, as the engine says it (``CreatedAt``): a volume made again differs
    created: str = ""


@dataclass(frozen=True)
class EngineEvent:
    """A container event: ``action`` is start, die, health_status: healthy, ..."""

    action: str
    id: str
    name: str
    attributes: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PastEvent:
    """One event the engine recorded, of any type (container, image, network, volume, ...)."""

    time: datetime
    type: str
    action: str
    id: str
    name: str
    attributes: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class DiskUse:
    """One line of the engine's disk usage (``docker system df -v``)."""

    kind: Literal["image", "container", "volume", "build cache"]
    name: str
    id: str
    size: int
    #: bytes shared with other images (an image's layers; 0 for the rest)
    shared_size: int
    #: how many containers use it (build cache: 1 when in use)
    in_use_by: int
    created: datetime | None = None


@dataclass(frozen=True)
class StatsSample:
    """One resource-usage sample of a running container (CPU % as ``docker stats``)."""

    name: str
    cpu_percent: float
    memory_bytes: int
    memory_limit_bytes: int
    memory_percent: float | None
    net_rx_bytes: int
    net_tx_bytes: int
    block_read_bytes: int
    block_write_bytes: int
    pids: int | None
    #: when the engine read it (a series of samples has one each)
    read_at: datetime | None = None


@dataclass(frozen=True)
class PullProgress:
    """One progress report of a pull: a layer's status and, while downloading, its bytes."""

    layer: str
    status: str
    current: int | None = None
    total: int | None = None


# ------------------------------------------------------------------ outcomes


@dataclass(frozen=True)
class ContainerOutcome:
    """What orchestrate did with one container."""

    name: str
    image: str
    action: str
    wave: int | None
    state: str
    health: str | None = None
    container_id: str | None = None
    ports: tuple[str, ...] = ()
    networks: tuple[str, ...] = ()
    started_at: datetime | None = None
    seconds_to_ready: float | None = None
    #: (step, seconds since the bring-up began): created, started, ready as this run saw them
    timeline: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class ImageOutcome:
    """One image pulled, built, tagged or removed (in a dry run: pull, build, tag, remove)."""

    reference: str
    action: str
    image_id: str | None = None
    size: int | None = None
    seconds: float | None = None
    #: in a dry run, what would happen (and why)
    detail: str | None = None


@dataclass(frozen=True)
class RemovedResource:
    """One resource cleanup removed (or, in a dry run, would remove)."""

    kind: Literal["container", "image", "network", "volume", "service", "secret"]
    name: str
    id: str
    bytes_reclaimed: int = 0
    stack: str | None = None


@dataclass(frozen=True)
class FieldChange:
    """One setting a live ``update`` changed, as the engine reports it before and after."""

    container: str
    field: str
    before: str
    after: str


@dataclass(frozen=True)
class CopiedPath:
    """A file or folder ``copy_to`` put into a container (in a dry run: would put)."""

    container: str
    host_path: str
    container_path: str
    bytes: int


@dataclass(frozen=True)
class VolumeArchive:
    """A volume written to an archive (a backup, or a snapshot before a change), or an
    archive written into a volume (a restore)."""

    volume: str
    #: "backup", "snapshot", "before-restore" or "restore"
    action: str
    archive: str
    #: the bytes of the volume's files (the archive's own size is in its manifest)
    bytes: int
    files: int
    sha256: str
    seconds: float
    #: the containers stopped or paused while it was read
    quiesced: tuple[str, ...] = ()
    #: a restore's read-back: every file equal to the manifest (None: not a restore)
    verified: bool | None = None
    #: the read-back's own seconds (a restore's)
    verify_seconds: float | None = None


@dataclass(frozen=True)
class Probe:
    """One run of a container's health check: when it started, its exit code, its output."""

    start: datetime | None
    exit_code: int | None
    output: str


@dataclass(frozen=True)
class Evidence:
    """What a container looked like before a heal touched it (masked where it is text)."""

    state: str
    health: str | None
    exit_code: int | None
    oom_killed: bool
    restart_count: int
    #: seconds its last run lasted (to its exit, or to now while it runs)
    up_seconds: float | None
    probes: tuple[Probe, ...] = ()
    logs: tuple[str, ...] = ()

    def summary(self) -> str:
        """One line: the failing probe or the exit, and the last log line."""
        parts: list[str] = []
        failing = [p for p in self.probes if p.exit_code not in (0, None)]
        if self.health == "unhealthy" and failing:
            last = failing[-1]
            parts.append(f"probe exit {last.exit_code}: {last.output.strip()[:80]!r}")
        elif self.state in ("exited", "dead"):
            parts.append(f"exit {self.exit_code}" + (", OOM-killed" if self.oom_killed else ""))
        if self.up_seconds is not None:
            parts.append(f"up {self.up_seconds:.0f} s")
        if self.restart_count:
            parts.append(f"{self.restart_count} engine restart(s)")
        if self.logs:
            parts.append(f"log: {self.logs[-1][:80]!r}")
        return "; ".join(parts)

    def to_json(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "health": self.health,
            "exit_code": self.exit_code,
            "oom_killed": self.oom_killed,
            "restart_count": self.restart_count,
            "up_seconds": self.up_seconds,
            "probes": [
                {"start": p.start.isoformat() if p.start else None, "exit_code": p.exit_code,
                 "output": p.output}
                for p in self.probes
            ],
            "logs": list(self.logs),
        }  # fmt: skip


@dataclass(frozen=True)
class HealRecord:
    """What a heal did to one container: its state before, the action (``restart``,
    ``start``, ``over budget``, ``skipped: <why>``, ``healthy: nothing to do``), its health
    after, how long it took, and the evidence taken before anything was touched."""

    name: str
    state_before: str
    action: str
    health_after: str | None = None
    seconds: float | None = None
    evidence: Evidence | None = None
    container_id: str | None = None


@dataclass(frozen=True)
class HealthRecord:
    """The last observed health of one requested container."""

    name: str
    status: str
    state: str | None
    exit_code: int | None = None
    failing_streak: int | None = None
    last_output: str | None = None
    checked_at: datetime | None = None
    container_id: str | None = None


@dataclass(frozen=True)
class ProgressEvent:
    """A step of a running operation, for forms and progress bars.

    ``kind`` is one of: planned (``total`` containers), pull, push, build, network_created,
    volume_created, container_created, container_starting, container_started,
    container_ready, container_adopted, container_failed, container_removed, rollback.
    """

    kind: str
    resource: str
    message: str = ""
    current: int | None = None
    total: int | None = None


# ---------------------------------------------------------------- Swarm


@dataclass(frozen=True)
class NodeInfo:
    """A node of the swarm the engine manages."""

    id: str
    hostname: str
    role: str  # manager | worker
    availability: str  # active | pause | drain
    state: str  # ready | down | unknown
    address: str
    leader: bool = False
    engine_version: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ServiceInfo:
    """A Swarm service: its spec (API JSON, as the engine keeps it) and its update state."""

    id: str
    name: str
    version: int
    labels: Mapping[str, str]
    spec: Mapping[str, Any] = field(repr=False, default_factory=dict)
    previous_spec: Mapping[str, Any] | None = field(repr=False, default=None)
    #: updating | paused | completed | rollback_started | rollback_paused | rollback_completed
    update_state: str | None = None
    update_message: str = ""

    @property
    def image(self) -> str:
        image = str(self.spec.get("TaskTemplate", {}).get("ContainerSpec", {}).get("Image", ""))
        return image.partition("@")[0]  # the engine pins a digest; show the reference asked

    @property
    def replicas(self) -> int | None:
        """Desired tasks (None: a global service, one per eligible node)."""
        mode = self.spec.get("Mode", {})
        return None if "Global" in mode else int(mode.get("Replicated", {}).get("Replicas", 1))


@dataclass(frozen=True)
class TaskInfo:
    """One task of a service: where it runs and how it is doing."""

    id: str
    service_id: str
    slot: int | None
    node_id: str
    state: str  # new … running | complete | failed | rejected | shutdown …
    desired_state: str
    message: str
    error: str
    exit_code: int | None
    container_id: str
    image: str
    created: datetime | None = None
    updated: datetime | None = None
    #: the ``infranb.spec-hash`` of the spec it runs (an update's new tasks have the new one)
    spec_hash: str = ""


@dataclass(frozen=True)
class SecretInfo:
    """A Swarm secret (the engine never gives its content back)."""

    id: str
    name: str
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ServiceOutcome:
    """What a deploy did to one service, and how it ended."""

    service: str
    image: str
    action: str  # create | update | unchanged | remove
    replicas_running: int = 0
    replicas_desired: int | None = None
    update_state: str | None = None
    wave: int | None = None
    changed: tuple[str, ...] = ()
    nodes: tuple[str, ...] = ()
