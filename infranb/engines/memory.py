"""``MemoryEngine``: a faithful in-memory ``Engine`` for fast tests of the operations' logic.

It keeps containers, images, networks and volumes in dictionaries and answers the way the
Docker engine does where the operations depend on it (the contract suite in
``tests/contract`` runs the same checks against it and the real engine, so it cannot drift):
names are unique, a running container cannot be removed without force, a network with
endpoints or a volume in use cannot be removed, an image in use cannot be removed, events
arrive on every subscribed stream, health goes ``starting`` then ``healthy``.

What containers do is a small model, not a process: a container runs until stopped; a
command ending in ``exit N`` exits with N as it starts; a healthcheck whose test mentions
``false`` turns ``unhealthy``, any other turns ``healthy`` after its interval (at most
``health_delay`` seconds). It is never the proof that an operation works against Docker:
the integration tests are.
"""

from __future__ import annotations

import collections
import copy
import hashlib
import io
import itertools
import os
import queue
import re
import tarfile
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from secrets import token_hex
from typing import Any

from infranb.core.drift import ContainerConfig, ImageConfig, desired_config
from infranb.core.errors import (
    BuildFailed,
    Conflict,
    EngineError,
    NotFound,
    NotSwarmManager,
    PullFailed,
)
from infranb.core.labels import BUILTIN_NETWORKS, SPEC_HASH
from infranb.core.records import (
    ContainerDetails,
    ContainerInfo,
    DiskUse,
    EngineEvent,
    EngineInfo,
    ImageInfo,
    NetworkInfo,
    NodeInfo,
    PastEvent,
    Probe,
    PullProgress,
    SecretInfo,
    ServiceInfo,
    StatsSample,
    TaskInfo,
    VolumeInfo,
)
from infranb.core.specs import ContainerSpec

_EXIT = re.compile(r"exit\s+(\d+)\s*$")
#: what a command prints, as far as this model goes: the words of its ``echo`` steps
_ECHO = re.compile(r"(?:^|[;&|\s])echo\s+([^;&|]*)")


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _echoes(command: str) -> list[str]:
    return [words.strip().strip("'\"") for words in _ECHO.findall(command)]


_ids = itertools.count(1)


def _new_id(kind: str) -> str:
    return hashlib.sha256(f"{kind}-{next(_ids)}-{os.getpid()}".encode()).hexdigest()


def _with_tag(ref: str) -> str:
    last = ref.rsplit("/", 1)[-1]
    return ref if ":" in last or "@" in ref else f"{ref}:latest"


_ENGINE_NUMBERS = itertools.count(1)


def _repository(tagged: str) -> str:
    """The repository of a tagged reference (``host:5000/app:1`` -> ``host:5000/app``)."""
    head, _, last = tagged.rpartition("/")
    name = last.split("@")[0].split(":")[0]
    return f"{head}/{name}" if head else name


@dataclass
class _Image:
    id: str
    tags: list[str]
    size: int
    labels: dict[str, str]
    platform: str = "linux/amd64"
    created: datetime = field(default_factory=lambda: datetime.now(UTC))
    #: repository@digest for each registry it was pushed to or pulled from
    digests: list[str] = field(default_factory=list)


@dataclass
class _Container:
    id: str
    name: str
    image: str
    image_id: str
    labels: dict[str, str]
    environment: dict[str, str]
    networks: list[str]
    volumes: list[str]
    ports: tuple[str, ...]
    command: str
    healthcheck: str | None
    health_interval: float
    state: str = "created"
    exit_code: int | None = None
    health: str | None = None
    started_at: datetime | None = None
    created: datetime = field(default_factory=lambda: datetime.now(UTC))
    #: (when, line) as the container printed it
    logs: list[tuple[datetime, str]] = field(default_factory=list)
    #: what it was made from (its configuration, for ``container_config``)
    spec: ContainerSpec | None = None
    #: container path -> anonymous volume
    anonymous: dict[str, str] = field(default_factory=dict)
    #: files written into it (put_file), by path
    files: dict[str, bytes] = field(default_factory=dict)
    #: network -> the names it answers to there besides its own (its DNS aliases)
    aliases: dict[str, list[str]] = field(default_factory=dict)
    #: its health check's runs, oldest first (the engine keeps the last 5)
    probes: list[Probe] = field(default_factory=list)
    #: a failure ``fail_health`` set: the probe output every check gives until it is cleared
    #: (by a restart, unless it stays)
    failing: str | None = None
    failing_stays: bool = False
    finished_at: datetime | None = None
    oom_killed: bool = False
    restart_count: int = 0


class _Stream:
    """Events for one subscriber; ``close`` ends the iteration from any thread."""

    _END = object()

    def __init__(self, labels: Mapping[str, str], on_close: Callable[[_Stream], None]) -> None:
        self.labels = dict(labels)
        self._queue: queue.Queue[object] = queue.Queue()
        self._on_close = on_close

    def put(self, event: EngineEvent) -> None:
        self._queue.put(event)

    def __iter__(self) -> Iterator[EngineEvent]:
        while True:
            item = self._queue.get()
            if item is self._END:
                return
            assert isinstance(item, EngineEvent)
            yield item

    def close(self) -> None:
        self._on_close(self)
        self._queue.put(self._END)


class _Feed:
    """Items for one follower, as they come; ``close`` ends the iteration from any thread."""

    _END = object()

    def __init__(self, keep: Callable[[Any], Any], on_close: Callable[[_Feed], None]) -> None:
        self._keep, self._on_close = keep, on_close
        self._queue: queue.Queue[object] = queue.Queue()

    def put(self, item: Any) -> None:
        kept = self._keep(item)
        if kept is not None:
            self._queue.put(kept)

    def __iter__(self) -> Iterator[Any]:
        while (item := self._queue.get()) is not self._END:
            yield item

    def close(self) -> None:
        self._on_close(self)
        self._queue.put(self._END)


def _wanted(event: PastEvent, filters: Mapping[str, Sequence[str]] | None) -> bool:
    """Whether ``event`` passes the events API's ``filters`` (type, container, event,
    label)."""
    for key, values in (filters or {}).items():
        if key == "type" and event.type not in values:
            return False
        if key in ("container", "name") and not (event.name in values or event.id in values):
            return False
        if key == "event" and event.action.partition(":")[0] not in values:
            return False
        if key == "label":
            for label in values:
                k, _, v = label.partition("=")
                if k not in event.attributes or (v and event.attributes[k] != v):
                    return False
    return True


class MemoryEngine:
    """An engine in memory. ``images`` are present locally; ``registry`` can be pulled."""

    def __init__(
        self,
        images: Sequence[str] = (),
        *,
        registry: Mapping[str, str] | None = None,
        health_delay: float = 0.05,
        host: str | None = None,
        swarm_nodes: int = 0,
        runs_healthchecks: bool = True,
    ) -> None:
        self._lock = threading.RLock()
        # Each engine is a host of its own (a journal tells one stack's runs on two apart).
        self._host = host or f"memory://{next(_ENGINE_NUMBERS)}"
        #: False: health checks run only when ``run_healthcheck`` is called (as on Podman)
        self._runs_healthchecks = runs_healthchecks
        self.health_delay = health_delay
        self.images: dict[str, _Image] = {}
        self.execs: list[tuple[str, str, str | None, dict[str, str]]] = []
        self.containers: dict[str, _Container] = {}
        self.networks: dict[str, NetworkInfo] = {
            n: NetworkInfo(_new_id("net"), n, "bridge" if n == "bridge" else n, {})
            for n in BUILTIN_NETWORKS
        }
        self.volumes: dict[str, VolumeInfo] = {}
        #: what each volume holds: path ("" for its root) -> (its tar entry, its bytes)
        self.volume_data: dict[str, dict[str, tuple[tarfile.TarInfo, bytes]]] = {}
        #: reference -> platform of images a pull can fetch
        self.registry: dict[str, str] = {_with_tag(r): p for r, p in (registry or {}).items()}
        #: images pushed to the registry, by reference (a pull gives the same image back)
        self._pushed: dict[str, _Image] = {}
        self.calls: list[str] = []  # every method called, in order (for tests of dry runs)
        self._streams: list[_Stream] = []
        #: the last 256 events, as an engine keeps them (containers' only, here)
        self._history: collections.deque[PastEvent] = collections.deque(maxlen=256)
        self._feeds: list[_Feed] = []
        self._timers: list[threading.Timer] = []
        #: a swarm of this many nodes (0: not in a swarm); the first is the manager
        self.nodes = [
            NodeInfo(f"node{i}", f"mem-{i}", "manager" if i == 1 else "worker", "active",
                     "ready", f"10.0.0.{i}", leader=i == 1)
            for i in range(1, swarm_nodes + 1)
        ]  # fmt: skip
        self.services: dict[str, ServiceInfo] = {}
        self.tasks: dict[str, list[TaskInfo]] = {}
        self.secrets: dict[str, SecretInfo] = {}
        for ref in images:
            self.add_image(ref)

    # ------------------------------------------------------------------ set-up helpers

    def add_image(self, ref: str, *, size: int = 1_000_000, platform: str = "linux/amd64") -> str:
        image = _Image(_new_id("img"), [_with_tag(ref)], size, {}, platform)
        with self._lock:
            self._untag(_with_tag(ref))
            self.images[image.id] = image
        return image.id

    def fail_health(
        self, ref: str, output: str = "probe failed", *, stays: bool = False, now: bool = True
    ) -> None:
        """Make a running container's health check fail with ``output`` from now on and (with
        ``now``) run it, so it reports unhealthy; a restart clears it unless it ``stays``."""
        with self._lock:
            c = self._find(ref)
            c.failing, c.failing_stays = output, stays
            if now:
                self._probe(c)

    def crash(self, ref: str, code: int = 1, *, oom: bool = False) -> None:
        """Make a running container exit by itself with ``code`` (no stop or kill event)."""
        with self._lock:
            c = self._find(ref)
            if c.state == "running":
                c.oom_killed = oom
                self._exit(c, code)

    def census(self) -> tuple[frozenset[str], ...]:
        """Every container, network, volume and image id (for leak checks in tests)."""
        with self._lock:
            return (
                frozenset(self.containers),
                frozenset(n.id for n in self.networks.values()),
                frozenset(self.volumes),
                frozenset(self.images),
            )

    # ------------------------------------------------------------------ engine

    @property
    def host(self) -> str:
        return self._host

    def close(self) -> None:
        for timer in self._timers:
            timer.cancel()
        for stream in list(self._streams):
            stream.close()

    def info(self) -> EngineInfo:
        self._called("info")
        return EngineInfo(
            "memory",
            "1.41",
            "memory (python)",
            self._host,
            len(self.containers),
            len(self.images),
            kind="memory",
        )

    def _called(self, name: str) -> None:
        self.calls.append(name)

    # ------------------------------------------------------------------ containers

    def _find(self, ref: str) -> _Container:
        found = self.containers.get(ref) or next(
            (
                c
                for c in self.containers.values()
                if c.name == ref or (len(ref) >= 12 and c.id.startswith(ref))
            ),
            None,
        )
        if found is None:
            raise NotFound(f"No such container: {ref}", resource=ref)
        return found

    def list_containers(
        self,
        *,
        labels: Mapping[str, str] | None = None,
        names: Sequence[str] | None = None,
        state: str | None = None,
        size: bool = False,
    ) -> list[ContainerInfo]:
        self._called("list_containers")
        with self._lock:
            rows = [
                c
                for c in self.containers.values()
                if _matches(c.labels, labels)
                and (names is None or c.name in names)
                and (state is None or c.state == state)
            ]
            return [self._info(c, size) for c in rows]

    def _info(self, c: _Container, size: bool = False) -> ContainerInfo:
        health = {
            "starting": " (health: starting)",
            "healthy": " (healthy)",
            "unhealthy": " (unhealthy)",
        }
        status = ("Up" if c.state == "running" else f"Exited ({c.exit_code})") + health.get(
            c.health or "", ""
        )
        return ContainerInfo(
            id=c.id,
            name=c.name,
            image=c.image,
            image_id=c.image_id,
            state=c.state,
            status=status if c.state != "created" else "Created",
            labels=dict(c.labels),
            created=c.created,
            ports=c.ports,
            networks=tuple(c.networks),
            size=0 if size else None,
            volumes=(*c.volumes, *c.anonymous.values()),
            read_only_volumes=tuple(
                self._mounted(c, m.target)[0]
                for m in (c.spec.volumes if c.spec else ())
                if m.kind == "volume" and m.read_only
            ),
        )

    def inspect_container(self, ref: str) -> ContainerDetails | None:
        self._called("inspect_container")
        with self._lock:
            try:
                c = self._find(ref)
            except NotFound:
                return None
            return ContainerDetails(
                id=c.id,
                name=c.name,
                state=c.state,
                exit_code=c.exit_code if c.exit_code is not None else 0,
                health=c.health,
                failing_streak=(3 if c.health == "unhealthy" else 0) if c.health else None,
                last_probe_output=(c.probes[-1].output if c.probes else "") if c.health else None,
                started_at=c.started_at,
                image_id=c.image_id,
                image=c.image,
                labels=dict(c.labels),
                networks=tuple(c.networks),
                environment=dict(c.environment),
                ports=c.ports if c.state == "running" else (),
                config=self._config_of(c) if c.spec is not None else None,
                health_interval=None
                if c.healthcheck is None
                else min(c.health_interval or self.health_delay, self.health_delay),
                restart_count=c.restart_count,
                oom_killed=c.oom_killed,
                finished_at=c.finished_at,
                health_log=tuple(c.probes[-5:]),
            )

    def container_config(self, ref: str) -> ContainerConfig | None:
        self._called("container_config")
        details = self.inspect_container(ref)
        return details.config if details else None

    def _config_of(self, c: _Container) -> ContainerConfig:
        """The configuration the container was made with, as the engine would report it:
        its networks with its own name as an alias (as Docker gives one)."""
        assert c.spec is not None
        image = self._image(c.image)
        made = desired_config(
            c.spec,
            c.environment,
            c.image_id,
            ImageConfig(labels=dict(image.labels) if image else {}),
            default_network=c.networks[0] if c.networks else "bridge",
        )
        return replace(
            made,
            anonymous=dict(c.anonymous),
            labels=dict(c.labels),
            networks={n: tuple(sorted({c.name, *c.aliases.get(n, ())})) for n in c.networks},
        )

    def create_container(
        self,
        spec: ContainerSpec,
        environment: Mapping[str, str],
        labels: Mapping[str, str],
        networks: Sequence[str],
        *,
        name: str | None = None,
        keep_volumes: Mapping[str, str] | None = None,
        aliases: bool = True,
    ) -> str:
        self._called("create_container")
        container_name = name or spec.name
        with self._lock:
            if any(c.name == container_name for c in self.containers.values()):
                raise Conflict(
                    f"creating container {container_name}: the name is already in use",
                    resource=container_name,
                )
            image_id = self.image_id(spec.image)
            if image_id is None:
                raise NotFound(f"creating container {container_name}: No such image: {spec.image}")
            for net in networks:
                if net not in self.networks:
                    raise NotFound(f"creating container {container_name}: network {net} not found")
            volumes = [m.source for m in spec.volumes if m.kind == "volume" and m.source]
            for volume in volumes:  # the engine creates a missing named volume, unlabelled
                self.volumes.setdefault(volume, VolumeInfo(volume, "local", {}, created=_now()))
            keep = dict(keep_volumes or {})
            anonymous = {}
            for m in spec.volumes:
                if m.kind == "volume" and not m.source:
                    anonymous[m.target] = keep.pop(m.target, "") or token_hex(32)
                    made = VolumeInfo(anonymous[m.target], "local", {}, created=_now())
                    self.volumes.setdefault(anonymous[m.target], made)
            anonymous.update(keep)
            hc = spec.healthcheck
            container = _Container(
                id=_new_id("ctr"),
                name=container_name,
                image=spec.image,
                image_id=image_id,
                labels=dict(labels),
                environment=dict(environment),
                networks=list(networks),
                volumes=volumes,
                ports=tuple(str(p).replace("auto", "32768") for p in spec.ports),
                command=" ".join(spec.command)
                if isinstance(spec.command, tuple)
                else spec.command or "",
                healthcheck=None if hc is None or hc.disabled else " ".join(hc.test),
                health_interval=(hc.interval or 0.0) if hc else 0.0,
                spec=spec,
                anonymous=anonymous,
                aliases={
                    n: [spec.name, *spec.aliases.get(n, ())] if aliases else []
                    for n in networks
                    if n not in BUILTIN_NETWORKS
                },
            )
            self.containers[container.id] = container
            self._emit(container, "create")
            return container.id

    def put_file(self, ref: str, path: str, data: bytes, mode: int = 0o444) -> None:
        self._called("put_file")
        with self._lock:
            self._find(ref).files[path] = data

    def put_archive(self, ref: str, folder: str, archive: bytes) -> None:
        """Its files and folders' files become the container's files."""
        import io
        import tarfile

        self._called("put_archive")
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar, self._lock:
            c = self._find(ref)
            for member in tar.getmembers():
                if member.isfile():
                    handle = tar.extractfile(member)
                    path = f"{folder.rstrip('/')}/{member.name}"
                    c.files[path] = handle.read() if handle else b""

    def get_archive(self, ref: str, path: str) -> bytes:
        """A file put into it, or the files under a folder, as Docker archives them."""
        import io
        import tarfile

        self._called("get_archive")
        with self._lock:
            c = self._find(ref)
            base = path.rstrip("/")
            found = {p: d for p, d in c.files.items() if p == base or p.startswith(base + "/")}
        if not found:
            raise NotFound(f"copying {ref}:{path}: Could not find the file {path}", resource=ref)
        parent = base.rpartition("/")[0]
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as tar:
            for file_path, data in sorted(found.items()):
                info = tarfile.TarInfo(file_path[len(parent) :].lstrip("/"))
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
        return buffer.getvalue()

    def _mounted(self, c: _Container, path: str) -> tuple[str, bool]:
        """The volume mounted at ``path`` ("/data", "/data/.") and whether read-only; ("",
        False) where none is."""
        base = path.rstrip("/").removesuffix("/.") or "/"
        for m in c.spec.volumes if c.spec else ():
            if m.kind == "volume" and m.target.rstrip("/") == base:
                return (m.source or c.anonymous.get(m.target, "")), m.read_only
        return "", False

    def get_archive_stream(self, ref: str, path: str) -> Iterator[bytes]:
        """A volume's mount point as Docker archives it (a "." entry, then "./path"), in
        chunks of 64 KiB; any other path as ``get_archive``."""
        self._called("get_archive_stream")
        with self._lock:
            volume, _ = self._mounted(self._find(ref), path)
            entries = sorted(self.volume_data.get(volume, {}).items()) if volume else None
        if entries is None:
            data = self.get_archive(ref, path)
        else:
            buffer = io.BytesIO()
            with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
                if "" not in dict(entries):
                    root = tarfile.TarInfo(".")
                    root.type, root.mode = tarfile.DIRTYPE, 0o755
                    tar.addfile(root)
                for name, (info, body) in entries:
                    entry = copy.copy(info)
                    entry.name = f"./{name}" if name else "."
                    if entry.islnk():
                        entry.linkname = f"./{entry.linkname}"
                    tar.addfile(entry, io.BytesIO(body) if entry.isreg() else None)
            data = buffer.getvalue()
        return iter([data[i : i + 65536] for i in range(0, len(data), 65536)] or [b""])

    def put_archive_stream(self, ref: str, folder: str, chunks: Iterable[bytes]) -> None:
        """Into a volume's mount point, its entries become the volume's (a read-only mount
        refuses, as Docker's does); anywhere else as ``put_archive``."""
        self._called("put_archive_stream")
        data = b"".join(chunks)
        with self._lock:
            volume, read_only = self._mounted(self._find(ref), folder)
            if not volume:
                return self.put_archive(ref, folder, data)
            if read_only:
                raise EngineError(
                    f"copying into {ref}:{folder}: mounted volume is marked read-only",
                    resource=ref,
                )
            held = self.volume_data.setdefault(volume, {})
            with tarfile.open(fileobj=io.BytesIO(data)) as tar:
                for member in tar:
                    name = member.name.removeprefix("./").strip("/")
                    name = "" if name == "." else name
                    body = b""
                    if member.isreg():
                        handle = tar.extractfile(member)
                        body = handle.read() if handle else b""
                    if member.islnk():
                        member.linkname = member.linkname.removeprefix("./").strip("/")
                    held[name] = (member, body)
        return None

    def pause_container(self, ref: str) -> None:
        self._called("pause_container")
        with self._lock:
            c = self._find(ref)
            if c.state != "running":
                raise Conflict(f"pausing container {ref}: it is not running", resource=ref)
            c.state = "paused"

    def unpause_container(self, ref: str) -> None:
        self._called("unpause_container")
        with self._lock:
            c = self._find(ref)
            if c.state != "paused":
                raise Conflict(f"unpausing container {ref}: it is not paused", resource=ref)
            c.state = "running"

    def start_container(self, ref: str) -> None:
        self._called("start_container")
        with self._lock:
            c = self._find(ref)
            if c.state == "running":
                return
            self._check_ports_free(c)
            c.state, c.exit_code, c.started_at = "running", None, datetime.now(UTC)
            c.oom_killed = False
            if not c.failing_stays:
                c.failing = None
            c.logs += [(c.started_at, line) for line in _echoes(c.command)]
            self._emit(c, "start")
            exit_code = _EXIT.search(c.command)
            if exit_code:
                self._exit(c, int(exit_code.group(1)))
                return
            if c.healthcheck is not None:
                c.health = "starting"
                if self._runs_healthchecks:
                    self._schedule_health(c)

    def _check_ports_free(self, c: _Container) -> None:
        """A fixed host port another running container publishes fails the start."""
        held = {
            (p.host_ip, p.host_port, p.protocol)
            for other in self.containers.values()
            if other.state == "running" and other.spec is not None
            for p in other.spec.ports
            if p.host_port is not None
        }
        for p in c.spec.ports if c.spec is not None else ():
            if p.host_port is not None and (p.host_ip, p.host_port, p.protocol) in held:
                raise EngineError(
                    f"starting container {c.name}: port {p.host_ip or '0.0.0.0'}:"
                    f"{p.host_port} is already in use by another container",
                    resource=c.name,
                )

    def runs_healthchecks(self) -> bool:
        return self._runs_healthchecks

    def archives_keep_owners(self) -> bool:
        return True

    def run_healthcheck(self, ref: str) -> str | None:
        """Run the health check once now (the verdict is the one its timer would give)."""
        self._called("run_healthcheck")
        with self._lock:
            c = self._find(ref)
            if c.healthcheck is None or c.state != "running":
                return None
            self._probe(c)
            return c.health

    def _probe(self, c: _Container) -> None:
        """One run of ``c``'s health check: its verdict and a probe in its log."""
        verdict = "unhealthy" if c.failing is not None else _verdict(c.healthcheck or "")
        output = c.failing if c.failing is not None else ("" if verdict == "healthy" else "false")
        c.probes = [*c.probes, Probe(datetime.now(UTC), 0 if verdict == "healthy" else 1, output)]
        c.probes = c.probes[-5:]
        if c.health != verdict:
            c.health = verdict
            self._emit(c, f"health_status: {verdict}")

    def _schedule_health(self, c: _Container) -> None:
        started = c.started_at

        def turn() -> None:
            with self._lock:
                if c.id in self.containers and c.state == "running" and c.started_at == started:
                    self._probe(c)

        timer = threading.Timer(
            min(c.health_interval or self.health_delay, self.health_delay), turn
        )
        timer.daemon = True
        self._timers.append(timer)
        timer.start()

    def _exit(self, c: _Container, code: int) -> None:
        c.state, c.exit_code, c.health = "exited", code, None
        c.finished_at = datetime.now(UTC)
        self._emit(c, "die", exitCode=str(code))

    def stop_container(self, ref: str, timeout: float = 10) -> None:
        self._called("stop_container")
        with self._lock:
            c = self._find(ref)
            if c.state == "running":
                # A process ended by SIGTERM exits 143, as on a real engine.
                self._emit(c, "kill", signal="15")
                self._exit(c, 143)
                self._emit(c, "stop")

    def update_container(self, ref: str, changes: Mapping[str, Any]) -> None:
        """The settings change in what the container reports (its configuration)."""
        self._called("update_container")
        with self._lock:
            c = self._find(ref)
            if c.spec is None:
                return
            fields: dict[str, Any] = {}
            if "restart" in changes:
                fields["restart"] = changes["restart"] or None
            if "mem_limit" in changes:
                fields["mem_limit"] = int(changes["mem_limit"] or 0) or None
            if "cpus" in changes:
                fields["cpus"] = float(changes["cpus"] or 0) or None
            if "pids_limit" in changes:
                fields["pids_limit"] = int(changes["pids_limit"] or 0) or None
            c.spec = replace(c.spec, **fields)

    def restart_container(self, ref: str, timeout: float = 10) -> None:
        self._called("restart_container")
        self.stop_container(ref, timeout)
        self.start_container(ref)

    def remove_container(self, ref: str, *, force: bool = False, volumes: bool = False) -> None:
        self._called("remove_container")
        with self._lock:
            c = self._find(ref)
            if c.state == "running" and not force:
                raise Conflict(
                    f"removing container {ref}: You cannot remove a running container; stop it "
                    "first or use force",
                    resource=ref,
                )
            if c.state == "running":
                self._exit(c, 137)
            del self.containers[c.id]
            if volumes:  # its anonymous volumes go with it, unless another one mounts them
                held = {v for o in self.containers.values() for v in o.anonymous.values()}
                for volume in set(c.anonymous.values()) - held:
                    self.volumes.pop(volume, None)
                    self.volume_data.pop(volume, None)
            self._emit(c, "destroy")

    def rename_container(self, ref: str, new_name: str) -> None:
        self._called("rename_container")
        with self._lock:
            c = self._find(ref)
            if any(o.name == new_name for o in self.containers.values() if o is not c):
                raise Conflict(f"renaming container {ref} to {new_name}: name in use", resource=ref)
            c.name = new_name

    def container_logs(
        self,
        ref: str,
        *,
        tail: int | None = 50,
        since: datetime | None = None,
        timestamps: bool = False,
        until: datetime | None = None,
        stream: str | None = None,
    ) -> list[str]:
        """Everything a container prints here is on stdout."""
        self._called("container_logs")
        with self._lock:
            logged = [(when, line) for when, line in self._find(ref).logs]
        if stream == "stderr":
            logged = []
        if since is not None:
            logged = [(when, line) for when, line in logged if when >= since]
        if until is not None:
            logged = [(when, line) for when, line in logged if when <= until]
        lines = [
            f"{when.strftime('%Y-%m-%dT%H:%M:%S.%fZ')} {line}" if timestamps else line
            for when, line in logged
        ]
        return lines[-tail:] if tail else lines

    def container_log_lines(
        self,
        ref: str,
        *,
        tail: int | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[tuple[str, str]]:
        self._called("container_log_lines")
        lines = self.container_logs(ref, tail=tail, since=since, until=until, timestamps=True)
        return [("stdout", line) for line in lines]

    def container_stats(self, ref: str) -> StatsSample:
        self._called("container_stats")
        with self._lock:
            c = self._find(ref)
        return StatsSample(c.name, 0.0, 0, 0, None, 0, 0, 0, 0, 1 if c.state == "running" else 0)

    def container_stats_series(self, ref: str, samples: int) -> list[StatsSample]:
        """Samples a second apart by their times (without the wait a real engine has)."""
        self._called("container_stats_series")
        sample = self.container_stats(ref)
        now = datetime.now(UTC)
        return [replace(sample, read_at=now + timedelta(seconds=i)) for i in range(samples)]

    def container_top(self, ref: str) -> tuple[list[str], list[list[str]]]:
        """One process, the container's command (as ``top`` lists it)."""
        self._called("container_top")
        with self._lock:
            c = self._find(ref)
            if c.state != "running":
                raise Conflict(f"listing the processes of {ref}: container is not running")
            return ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"], [
                ["root", "1", "0", "0", "00:00", "?", "00:00:00", c.command or "sh"]
            ]

    def container_changes(self, ref: str) -> list[tuple[str, str]]:
        """The files put into it, as added (what else a command writes is not simulated)."""
        self._called("container_changes")
        with self._lock:
            c = self._find(ref)
            return [("A", path) for path in sorted(c.files)]

    def past_events(
        self,
        since: datetime,
        until: datetime,
        filters: Mapping[str, Sequence[str]] | None = None,
    ) -> list[PastEvent]:
        self._called("past_events")
        with self._lock:
            found = [e for e in self._history if since <= e.time <= until]
        return [e for e in found if _wanted(e, filters)]

    def event_feed(self, filters: Mapping[str, Sequence[str]] | None = None) -> _Feed:
        """Container events from now on (the only ones this engine has)."""
        self._called("event_feed")
        feed = _Feed(lambda e: e if _wanted(e, filters) else None, self._unfeed)
        with self._lock:
            self._feeds.append(feed)
        return feed

    def _unfeed(self, feed: _Feed) -> None:
        with self._lock:
            if feed in self._feeds:
                self._feeds.remove(feed)

    def log_feed(self, ref: str, stream: str, since: datetime | None = None) -> _Feed:
        """The lines since ``since``; nothing new comes (these containers print nothing
        while they run), so it ends when closed."""
        self._called("log_feed")
        lines = (
            self.container_logs(ref, tail=None, since=since, timestamps=True, stream=stream)
            if since is not None
            else []
        )
        feed = _Feed(lambda line: line, lambda _feed: None)
        for line in lines:
            feed.put(line)
        return feed

    def disk_usage(self) -> list[DiskUse]:
        self._called("disk_usage")
        with self._lock:
            users = collections.Counter(c.image_id for c in self.containers.values())
            mounted = collections.Counter(v for c in self.containers.values() for v in c.volumes)
            rows = [
                DiskUse(
                    "image", ", ".join(i.tags) or "<none>", i.id, i.size, 0, users[i.id], i.created
                )
                for i in self.images.values()
            ]
            rows += [
                DiskUse(
                    "container",
                    c.name,
                    c.id,
                    sum(map(len, c.files.values())),
                    0,
                    int(c.state == "running"),
                    c.created,
                )
                for c in self.containers.values()
            ]
            rows += [DiskUse("volume", v, v, 0, 0, mounted[v], None) for v in self.volumes]
        return rows

    def exec_in(
        self,
        ref: str,
        command: str | Sequence[str],
        *,
        user: str | None = None,
        privileged: bool = False,
        workdir: str | None = None,
        environment: Mapping[str, str] | None = None,
    ) -> tuple[int, str]:
        self._called("exec_in")
        with self._lock:
            c = self._find(ref)
            if c.state != "running":
                raise Conflict(
                    f"running a command in {ref}: container is not running", resource=ref
                )
        text = command if isinstance(command, str) else " ".join(command)
        # what ran, in order, for tests: (container, command, user, environment)
        self.execs.append((c.name, text, user, dict(environment or {})))
        words = text.split()
        if len(words) == 2 and words[0] == "cat":  # a file put_file wrote
            if words[1] in c.files:
                return 0, c.files[words[1]].decode()
            return 1, f"cat: can't open '{words[1]}': No such file or directory\n"
        code = _EXIT.search(text)
        output = "".join(f"{line}\n" for line in _echoes(text))
        return (int(code.group(1)) if code else 0), output

    def events(self, *, labels: Mapping[str, str]) -> _Stream:
        self._called("events")
        stream = _Stream(labels, self._unsubscribe)
        with self._lock:
            self._streams.append(stream)
        return stream

    def _unsubscribe(self, stream: _Stream) -> None:
        with self._lock:
            if stream in self._streams:
                self._streams.remove(stream)

    def _emit(self, c: _Container, action: str, **attributes: str) -> None:
        event = EngineEvent(action, c.id, c.name, {"name": c.name, **c.labels, **attributes})
        past = PastEvent(datetime.now(UTC), "container", action, c.id, c.name, event.attributes)
        self._history.append(past)
        for feed in self._feeds:
            feed.put(past)
        for stream in self._streams:
            if _matches(c.labels, stream.labels):
                stream.put(event)

    # ------------------------------------------------------------------ images

    def _image(self, ref: str) -> _Image | None:
        tagged = _with_tag(ref)
        return self.images.get(ref) or next(
            (
                i
                for i in self.images.values()
                if tagged in i.tags
                or (
                    len(ref) >= 12
                    and i.id.removeprefix("sha256:").startswith(ref.removeprefix("sha256:"))
                )
            ),
            None,
        )

    def image_id(self, ref: str) -> str | None:
        self._called("image_id")
        with self._lock:
            image = self._image(ref)
            return image.id if image else None

    def image_config(self, ref: str) -> ImageConfig | None:
        self._called("image_config")
        with self._lock:
            image = self._image(ref)
            if image is None:
                return None
            return ImageConfig(labels=dict(image.labels), id=image.id, last_tagged=image.created)

    def list_images(self) -> list[ImageInfo]:
        self._called("list_images")
        with self._lock:
            return [
                ImageInfo(
                    i.id,
                    tuple(i.tags),
                    i.size,
                    i.created,
                    dict(i.labels),
                    not i.tags,
                    tuple(i.digests),
                )
                for i in self.images.values()
            ]

    def image_size(self, ref: str) -> int | None:
        self._called("image_size")
        with self._lock:
            image = self._image(ref)
            if image is None:
                raise NotFound(f"inspecting image {ref}: No such image", resource=ref)
            return image.size

    def pull_image(
        self,
        ref: str,
        on_progress: Callable[[PullProgress], None] | None = None,
        *,
        platform: str | None = None,
    ) -> str:
        self._called("pull_image")
        tagged = _with_tag(ref)
        if tagged not in self.registry:
            raise PullFailed(f"pulling {ref}: manifest for {tagged} not found", resource=ref)
        if platform and platform != self.registry[tagged]:
            raise PullFailed(
                f"pulling {ref}: no matching manifest for {platform} in the manifest list entries",
                resource=ref,
            )
        if on_progress is not None:
            on_progress(PullProgress("layer1", "Downloading", 1, 2))
            on_progress(PullProgress("layer1", "Pull complete"))
        pushed = self._pushed.get(tagged)
        digest = f"{_repository(tagged)}@{self.registry_digest(ref)}"
        if pushed is not None:  # what was pushed comes back as the same image, as in a registry
            with self._lock:
                self._untag(tagged)
                image = self.images.setdefault(pushed.id, replace(pushed, tags=[]))
                image.tags.append(tagged)
                if digest not in image.digests:
                    image.digests.append(digest)
            return pushed.id
        image_id = self.add_image(ref, platform=self.registry[tagged])
        with self._lock:
            self.images[image_id].digests.append(digest)
        return image_id

    def registry_digest(self, ref: str) -> str:
        """The registry's digest of ``ref``: of the image pushed under it, else of the
        reference and its platform (a registry the test seeded)."""
        self._called("registry_digest")
        tagged = _with_tag(ref)
        with self._lock:
            if tagged not in self.registry:
                raise NotFound(
                    f"asking the registry for {ref}: manifest for {tagged} not found",
                    resource=ref,
                )
            pushed = self._pushed.get(tagged)
            source = pushed.id if pushed is not None else f"{tagged} {self.registry[tagged]}"
        return "sha256:" + hashlib.sha256(source.encode()).hexdigest()

    def push_image(
        self, ref: str, on_progress: Callable[[PullProgress], None] | None = None
    ) -> None:
        self._called("push_image")
        with self._lock:
            image = self._image(ref)
            if image is None:
                raise NotFound(f"pushing {ref}: An image does not exist locally", resource=ref)
            self.registry[_with_tag(ref)] = image.platform
            self._pushed[_with_tag(ref)] = replace(
                image, tags=list(image.tags), digests=list(image.digests)
            )
            digest = f"{_repository(_with_tag(ref))}@{self.registry_digest(ref)}"
            if digest not in image.digests:
                image.digests.append(digest)
        if on_progress is not None:
            on_progress(PullProgress("layer1", "Pushed"))

    def build_image(
        self,
        path: str,
        tag: str,
        *,
        dockerfile: str | None = None,
        buildargs: Mapping[str, str] | None = None,
        nocache: bool = False,
        pull: bool = False,
        labels: Mapping[str, str] | None = None,
        target: str | None = None,
        on_log: Callable[[str], None] | None = None,
    ) -> tuple[str, list[str]]:
        self._called("build_image")
        file = os.path.join(path, dockerfile or "Dockerfile")
        if not os.path.isfile(file):
            raise BuildFailed(f"building {tag}: cannot find {file}", resource=tag, logs=[])
        with open(file) as text:
            logs = [line.strip() for line in text if line.strip()]
        for line in logs:
            if on_log is not None:
                on_log(line)
        image_id = self.add_image(tag)
        with self._lock:
            self.images[image_id].labels = dict(labels or {})
        return image_id, logs

    def import_image(self, archive: bytes) -> str:
        self._called("import_image")
        image_id = "sha256:" + hashlib.sha256(archive + token_hex(8).encode()).hexdigest()
        with self._lock:
            self.images[image_id] = _Image(image_id, [], len(archive), {})
        return image_id

    def tag_image(self, ref: str, target: str) -> None:
        self._called("tag_image")
        with self._lock:
            image = self._image(ref)
            if image is None:
                raise NotFound(f"tagging {ref} as {target}: No such image", resource=ref)
            self._untag(_with_tag(target))
            image.tags.append(_with_tag(target))

    def _untag(self, ref: str) -> None:
        for image in self.images.values():
            if ref in image.tags:
                image.tags.remove(ref)

    def remove_image(self, ref: str, *, force: bool = False) -> list[str]:
        self._called("remove_image")
        with self._lock:
            image = self._image(ref)
            if image is None:
                raise NotFound(f"removing image {ref}: No such image", resource=ref)
            tagged = _with_tag(ref)
            if tagged in image.tags and len(image.tags) > 1:
                image.tags.remove(tagged)
                return [tagged]
            users = [c.name for c in self.containers.values() if c.image_id == image.id]
            if users and not force:
                raise Conflict(
                    f"removing image {ref}: image is being used by container {users[0]}",
                    resource=ref,
                )
            del self.images[image.id]
            return [*image.tags, image.id]

    # ------------------------------------------------------------------ networks, volumes

    def list_networks(self, *, labels: Mapping[str, str] | None = None) -> list[NetworkInfo]:
        self._called("list_networks")
        with self._lock:
            return [n for n in self.networks.values() if _matches(n.labels, labels)]

    def _network(self, ref: str) -> NetworkInfo:
        found = self.networks.get(ref) or next(
            (n for n in self.networks.values() if n.id == ref), None
        )
        if found is None:
            raise NotFound(f"network {ref} not found", resource=ref)
        return found

    def network_containers(self, ref: str) -> list[str]:
        self._called("network_containers")
        with self._lock:
            name = self._network(ref).name
            return [
                c.name
                for c in self.containers.values()
                if name in c.networks and c.state == "running"
            ]

    def create_network(
        self,
        name: str,
        labels: Mapping[str, str],
        *,
        driver: str = "bridge",
        internal: bool = False,
        options: Mapping[str, str] | None = None,
        ipam: Mapping[str, Any] | None = None,
        attachable: bool = False,
        enable_ipv6: bool = False,
    ) -> str:
        self._called("create_network")
        with self._lock:
            if name in self.networks:
                raise Conflict(
                    f"creating network {name}: network with name {name} already exists",
                    resource=name,
                )
            network = NetworkInfo(_new_id("net"), name, driver, dict(labels))
            self.networks[name] = network
            return network.id

    def answers(self, network: str, name: str) -> list[str]:
        """The running containers a lookup of ``name`` on ``network`` finds (its own name or
        an alias there), as the engine's DNS would answer: what a client reaches."""
        with self._lock:
            return sorted(
                c.name
                for c in self.containers.values()
                if c.state == "running"
                and network in c.networks
                and (c.name == name or name in c.aliases.get(network, ()))
            )

    def connect(self, network: str, container: str, aliases: Sequence[str] = ()) -> None:
        self._called("connect")
        with self._lock:
            name = self._network(network).name
            c = self._find(container)
            if name in c.networks:
                raise Conflict(
                    f"connecting {c.name} to network {name}: it is already connected",
                    resource=name,
                )
            c.networks.append(name)
            c.aliases[name] = list(aliases)

    def disconnect(self, network: str, container: str) -> None:
        self._called("disconnect")
        with self._lock:
            name = self._network(network).name
            c = self._find(container)
            if name in c.networks:
                c.networks.remove(name)
            c.aliases.pop(name, None)

    def remove_network(self, ref: str) -> None:
        self._called("remove_network")
        with self._lock:
            network = self._network(ref)
            if network.name in BUILTIN_NETWORKS:
                raise Conflict(
                    f"removing network {ref}: {network.name} is a pre-defined network", resource=ref
                )
            users = [
                c.name
                for c in self.containers.values()
                if network.name in c.networks and c.state == "running"
            ]
            if users:
                raise Conflict(
                    f"removing network {ref}: network has active endpoints", resource=ref
                )
            for c in self.containers.values():
                if network.name in c.networks:
                    c.networks.remove(network.name)
            del self.networks[network.name]

    def list_volumes(self, *, labels: Mapping[str, str] | None = None) -> list[VolumeInfo]:
        self._called("list_volumes")
        with self._lock:
            return [v for v in self.volumes.values() if _matches(v.labels, labels)]

    def create_volume(
        self,
        name: str,
        driver: str,
        labels: Mapping[str, str],
        *,
        options: Mapping[str, str] | None = None,
    ) -> None:
        self._called("create_volume")
        with self._lock:
            # Like the engine: creating an existing volume again is not an error.
            self.volumes.setdefault(name, VolumeInfo(name, driver, dict(labels), created=_now()))

    def remove_volume(self, name: str) -> None:
        self._called("remove_volume")
        with self._lock:
            if name not in self.volumes:
                raise NotFound(f"removing volume {name}: no such volume", resource=name)
            users = [c.name for c in self.containers.values() if name in c.volumes]
            if users:
                raise Conflict(
                    f"removing volume {name}: volume is in use by {users[0]}", resource=name
                )
            del self.volumes[name]
            self.volume_data.pop(name, None)

    def volume_sizes(self) -> dict[str, int]:
        self._called("volume_sizes")
        with self._lock:
            return {
                name: sum(len(body) for _, body in self.volume_data.get(name, {}).values())
                for name in self.volumes
            }

    # ------------------------------------------------------------------ swarm
    # Tasks settle at once: running when the image is here and the command does not exit
    # non-zero; failed or rejected otherwise. An update whose tasks fail rolls back when
    # its failure_action says so, else it pauses, as Swarm does.

    def swarm_role(self) -> str:
        self._called("swarm_role")
        return "manager" if self.nodes else "inactive"

    def _manager_only(self, what: str) -> None:
        if not self.nodes:
            raise NotSwarmManager(f"{what}: this engine is not a swarm manager")

    def list_nodes(self) -> list[NodeInfo]:
        self._called("list_nodes")
        self._manager_only("listing swarm nodes")
        return list(self.nodes)

    def list_services(self, *, labels: Mapping[str, str] | None = None) -> list[ServiceInfo]:
        self._called("list_services")
        self._manager_only("listing services")
        with self._lock:
            return [s for s in self.services.values() if _matches(s.labels, labels)]

    def inspect_service(self, ref: str) -> ServiceInfo | None:
        self._called("inspect_service")
        with self._lock:
            return self._service(ref)

    def _service(self, ref: str) -> ServiceInfo | None:
        return self.services.get(ref) or next(
            (s for s in self.services.values() if s.name == ref), None
        )

    def create_service(self, spec: Mapping[str, Any]) -> str:
        self._called("create_service")
        self._manager_only("creating a service")
        with self._lock:
            name = str(spec["Name"])
            if self._service(name) is not None:
                raise Conflict(f"creating service {name}: name conflicts", resource=name)
            for net in spec["TaskTemplate"].get("Networks", []):
                self._network(net["Target"])
            service = ServiceInfo(_new_id("svc"), name, 1, dict(spec.get("Labels") or {}), spec)
            self.services[service.id] = service
            self.tasks[service.id] = self._schedule(service)
            return service.id

    def update_service(self, ref: str, version: int, spec: Mapping[str, Any]) -> None:
        self._called("update_service")
        with self._lock:
            old = self._service(ref)
            if old is None:
                raise NotFound(f"updating service {ref}: no such service", resource=ref)
            if version != old.version:
                raise EngineError(f"updating service {ref}: update out of sequence", resource=ref)
            new = ServiceInfo(old.id, old.name, old.version + 1, dict(spec.get("Labels") or {}),
                              spec, old.spec, "completed")  # fmt: skip
            tasks = self._schedule(new)
            if any(t.state != "running" for t in tasks):
                action = (spec.get("UpdateConfig") or {}).get("FailureAction", "pause")
                if action == "rollback":
                    new = replace(old, version=old.version + 2, previous_spec=spec,
                                  update_state="rollback_completed",
                                  update_message="rollback completed")  # fmt: skip
                    tasks = self._schedule(new) + tasks
                else:
                    new = replace(new, update_state="paused",
                                  update_message="update paused due to failure")  # fmt: skip
            self.services[old.id] = new
            self.tasks[old.id] = tasks + [replace(t, desired_state="shutdown", state="shutdown")
                                          for t in self.tasks.get(old.id, [])]  # fmt: skip

    def _schedule(self, service: ServiceInfo) -> list[TaskInfo]:
        template = service.spec["TaskTemplate"]
        container = template["ContainerSpec"]
        constraints = (template.get("Placement") or {}).get("Constraints", [])
        nodes = [
            n for n in self.nodes if "node.role==manager" not in constraints or n.role == "manager"
        ]
        count = len(nodes) if service.replicas is None else service.replicas
        image = str(container["Image"])
        exit_code = _EXIT.search(" ".join(container.get("Args", [])))
        tasks = []
        for slot in range(1, count + 1):
            node = nodes[(slot - 1) % len(nodes)] if nodes else None
            state, error, code = "running", "", None
            if node is None:
                state, error = "pending", "no suitable node (scheduling constraints not satisfied)"
            elif self._image(image) is None:
                state, error = "rejected", f"No such image: {image}"
            elif exit_code and exit_code.group(1) != "0":
                code = int(exit_code.group(1))
                state, error = "failed", f"task: non-zero exit ({code})"
            tasks.append(
                TaskInfo(
                    _new_id("task"),
                    service.id,
                    slot,
                    node.id if node else "",
                    state,
                    "running",
                    state,
                    error,
                    code,
                    _new_id("ctr") if state == "running" else "",
                    image,
                    spec_hash=container.get("Labels", {}).get(SPEC_HASH, ""),
                )
            )
        return tasks

    def remove_service(self, ref: str) -> None:
        self._called("remove_service")
        with self._lock:
            service = self._service(ref)
            if service is None:
                raise NotFound(f"removing service {ref}: no such service", resource=ref)
            del self.services[service.id]
            self.tasks.pop(service.id, None)

    def list_secrets(self, *, labels: Mapping[str, str] | None = None) -> list[SecretInfo]:
        self._called("list_secrets")
        self._manager_only("listing secrets")
        with self._lock:
            return [s for s in self.secrets.values() if _matches(s.labels, labels)]

    def create_secret(self, name: str, data: bytes, labels: Mapping[str, str]) -> str:
        self._called("create_secret")
        self._manager_only("creating a secret")
        with self._lock:
            if any(s.name == name for s in self.secrets.values()):
                raise Conflict(f"creating secret {name}: name conflicts", resource=name)
            secret = SecretInfo(_new_id("secret"), name, dict(labels))
            self.secrets[secret.id] = secret
            return secret.id

    def remove_secret(self, ref: str) -> None:
        self._called("remove_secret")
        with self._lock:
            secret = self.secrets.get(ref) or next(
                (s for s in self.secrets.values() if s.name == ref), None
            )
            if secret is None:
                raise NotFound(f"removing secret {ref}: no such secret", resource=ref)
            in_use = [
                s.name
                for s in self.services.values()
                for ref_ in s.spec["TaskTemplate"]["ContainerSpec"].get("Secrets", [])
                if ref_["SecretID"] == secret.id
            ]
            if in_use:
                raise Conflict(
                    f"removing secret {ref}: secret is in use by {in_use[0]}", resource=ref
                )
            del self.secrets[secret.id]

    def list_tasks(self, *, services: Sequence[str]) -> list[TaskInfo]:
        self._called("list_tasks")
        with self._lock:
            found = [self._service(ref) for ref in services]
            return [t for s in found if s is not None for t in self.tasks.get(s.id, [])]


def _matches(have: Mapping[str, str], wanted: Mapping[str, str] | None) -> bool:
    """The engine's label filter: every wanted key present, with the value when one is given."""
    return all(k in have and (not v or have[k] == v) for k, v in (wanted or {}).items())


__all__ = ["MemoryEngine"]


def _verdict(healthcheck: str) -> str:
    """A test that mentions ``false`` fails; any other passes."""
    return "unhealthy" if "false" in healthcheck.split() else "healthy"
