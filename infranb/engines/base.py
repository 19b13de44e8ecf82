"""``Engine``: what the operations and views need from a container engine, as typing protocols.

The protocol is split by object (``ContainerEngine``, ``ImageEngine``, ``NetworkEngine``,
``VolumeEngine``, ``SwarmEngine``); ``Engine`` is all of them. ``infranb.engines.docker``
implements it over the docker SDK, ``infranb.engines.memory`` in memory. Every method blocks
and returns infranb's typed records (``infranb.core.records``); failures raise infranb's
errors (``infranb.core.errors``). Selection is by typed arguments
(``labels={"infranb.stack": "shop"}``, ``names=["web"]``): building the engine's filter
syntax is the implementation's job. Inject another implementation with
``InfrastructureManager(engine=...)``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from infranb.core.drift import ContainerConfig, ImageConfig
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
    PullProgress,
    SecretInfo,
    ServiceInfo,
    StatsSample,
    TaskInfo,
    VolumeInfo,
)
from infranb.core.specs import ContainerSpec


class EventStream(Protocol):
    """Container events, in order; ``close`` (from any thread) ends the iteration."""

    def __iter__(self) -> Iterator[EngineEvent]: ...

    def close(self) -> None: ...


class Feed(Protocol):
    """Items of a live stream (events, log lines); ``close`` (from any thread) ends it."""

    def __iter__(self) -> Iterator[Any]: ...

    def close(self) -> None: ...


class ContainerEngine(Protocol):
    """Containers: what runs, its logs, stats and events."""

    @property
    def host(self) -> str:
        """Where the engine is (``unix:///var/run/docker.sock``, ``memory://…``)."""
        ...

    def close(self) -> None: ...

    def info(self) -> EngineInfo: ...

    def list_containers(
        self,
        *,
        labels: Mapping[str, str] | None = None,
        names: Sequence[str] | None = None,
        state: str | None = None,
        size: bool = False,
    ) -> list[ContainerInfo]:
        """Containers (running or not) carrying every label given (a value of ``""`` only
        asks for the key), with one of the exact ``names``, in ``state``."""
        ...

    def inspect_container(self, ref: str) -> ContainerDetails | None: ...

    def container_config(self, ref: str) -> ContainerConfig | None:
        """What the container runs, in ``infranb.core.drift``'s normal form; ``None`` when
        it does not exist."""
        ...

    def runs_healthchecks(self) -> bool:
        """Whether the engine runs each container's health check at its interval by itself
        (Docker does; Podman without systemd does not, and infranb runs them while it waits)."""
        ...

    def archives_keep_owners(self) -> bool:
        """Whether the archive endpoints carry each file's owner both ways (Docker's do;
        Podman 4.3's report and write every file as the container's user)."""
        ...

    def run_healthcheck(self, ref: str) -> str | None:
        """Run the container's health check once where the engine does not run them itself,
        and return its health state (``None``: no healthcheck, or not running); ``NotFound``
        when there is no such container."""
        ...

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
        """Create (not start) a container. ``aliases=False``: on its networks it answers to
        its own name only, not to its aliases (a start-first replacement takes them later)."""
        ...

    def put_file(self, ref: str, path: str, data: bytes, mode: int = 0o444) -> None:
        """Write a file into a container (created or running), its folders made."""
        ...

    def put_archive(self, ref: str, folder: str, archive: bytes) -> None:
        """Unpack a tar archive into a folder of the container."""
        ...

    def get_archive(self, ref: str, path: str) -> bytes:
        """A path of the container (file or folder) as a tar archive; ``NotFound`` if none."""
        ...

    def get_archive_stream(self, ref: str, path: str) -> Iterator[bytes]:
        """``get_archive`` in chunks as the engine sends them: a volume of any size passes
        through without sitting in memory. Closing the iterator ends the transfer."""
        ...

    def put_archive_stream(self, ref: str, folder: str, chunks: Iterable[bytes]) -> None:
        """``put_archive`` from chunks, sent as they come."""
        ...

    def start_container(self, ref: str) -> None: ...

    def pause_container(self, ref: str) -> None:
        """Freeze every process of a running container (the cgroup freezer)."""
        ...

    def unpause_container(self, ref: str) -> None: ...

    def stop_container(self, ref: str, timeout: float = 10) -> None: ...

    def restart_container(self, ref: str, timeout: float = 10) -> None: ...

    def remove_container(self, ref: str, *, force: bool = False, volumes: bool = False) -> None:
        """Remove a container; ``volumes`` also removes its anonymous volumes."""
        ...

    def rename_container(self, ref: str, new_name: str) -> None: ...

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
        """Last log lines; ``stream`` "stdout" or "stderr" for one of them."""
        ...

    def container_log_lines(
        self,
        ref: str,
        *,
        tail: int | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[tuple[str, str]]:
        """Both streams in one read, in order: (stdout or stderr, "<RFC3339> <text>")."""
        ...

    def container_stats(self, ref: str) -> StatsSample: ...

    def container_stats_series(self, ref: str, samples: int) -> list[StatsSample]:
        """``samples`` samples a second apart (each with its ``read_at``); fewer when the
        container stops meanwhile."""
        ...

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
        """Run ``command`` in a running container (as ``user``, in ``workdir``, with
        ``environment`` added to the container's); (exit code, combined output)."""
        ...

    def update_container(self, ref: str, changes: Mapping[str, Any]) -> None:
        """Change live-updatable settings (``LIVE_FIELDS``) of a container in place; an
        engine that cannot raises ``EngineError`` saying so."""
        ...

    def container_top(self, ref: str) -> tuple[list[str], list[list[str]]]:
        """The processes of a running container: column titles and rows, as ``top``."""
        ...

    def container_changes(self, ref: str) -> list[tuple[str, str]]:
        """Filesystem changes since the container was made: (A, C or D, path)."""
        ...

    def event_feed(self, filters: Mapping[str, Sequence[str]] | None = None) -> Feed:
        """Events of every type from now on, as they come (``close`` ends it, from any
        thread)."""
        ...

    def log_feed(self, ref: str, stream: str, since: datetime | None = None) -> Feed:
        """New log lines of one ``stream`` as the container prints them, each
        "<RFC3339> <text>"; with ``since``, the lines since then first."""
        ...

    def past_events(
        self,
        since: datetime,
        until: datetime,
        filters: Mapping[str, Sequence[str]] | None = None,
    ) -> list[PastEvent]:
        """Recorded events of every type between two times, oldest first (an engine keeps
        only its last 256); ``filters`` as the engine's events API takes them."""
        ...

    def disk_usage(self) -> list[DiskUse]:
        """What images, containers, volumes and build cache take on disk (one read at a
        time per engine)."""
        ...

    def events(self, *, labels: Mapping[str, str]) -> EventStream:
        """Container events of containers carrying ``labels``, from now on."""
        ...


class ImageEngine(Protocol):
    """Images: what is local, pull, push, build, tag, remove."""

    def image_id(self, ref: str) -> str | None: ...

    def image_config(self, ref: str) -> ImageConfig | None:
        """The defaults a container of this image gets; ``None`` when it is not local."""
        ...

    def list_images(self) -> list[ImageInfo]: ...

    def image_size(self, ref: str) -> int | None: ...

    def registry_digest(self, ref: str) -> str:
        """The digest the registry gives ``ref`` now, read from its manifest (never its
        layers) with the credentials pulls use; raises an ``EngineError`` saying why not."""
        ...

    def pull_image(
        self,
        ref: str,
        on_progress: Callable[[PullProgress], None] | None = None,
        *,
        platform: str | None = None,
    ) -> str: ...

    def push_image(
        self, ref: str, on_progress: Callable[[PullProgress], None] | None = None
    ) -> None:
        """Push ``ref`` to its registry, with the credentials of the Docker config."""
        ...

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
    ) -> tuple[str, list[str]]: ...

    def tag_image(self, ref: str, target: str) -> None: ...

    def import_image(self, archive: bytes) -> str:
        """An image made from a root filesystem as a tar archive (``docker import``), untagged;
        its id."""
        ...

    def remove_image(self, ref: str, *, force: bool = False) -> list[str]: ...


class NetworkEngine(Protocol):
    """Networks and who is on them."""

    def list_networks(self, *, labels: Mapping[str, str] | None = None) -> list[NetworkInfo]: ...

    def network_containers(self, ref: str) -> list[str]: ...

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
    ) -> str: ...

    def connect(self, network: str, container: str, aliases: Sequence[str] = ()) -> None:
        """Join a container to a network, answering there to ``aliases`` too."""
        ...

    def disconnect(self, network: str, container: str) -> None: ...

    def remove_network(self, ref: str) -> None: ...


class VolumeEngine(Protocol):
    """Named volumes."""

    def list_volumes(self, *, labels: Mapping[str, str] | None = None) -> list[VolumeInfo]: ...

    def create_volume(
        self,
        name: str,
        driver: str,
        labels: Mapping[str, str],
        *,
        options: Mapping[str, str] | None = None,
    ) -> None: ...

    def remove_volume(self, name: str) -> None: ...

    def volume_sizes(self) -> dict[str, int]: ...


class SwarmEngine(Protocol):
    """A swarm manager's view: nodes, services, tasks, secrets (other engines raise
    ``NotSwarmManager`` or ``EngineError``)."""

    def swarm_role(self) -> str:
        """``manager``, ``worker``, ``inactive`` (not in a swarm) or ``none`` (an engine
        kind with no Swarm: Podman)."""
        ...

    def list_nodes(self) -> list[NodeInfo]: ...

    def list_services(self, *, labels: Mapping[str, str] | None = None) -> list[ServiceInfo]: ...

    def inspect_service(self, ref: str) -> ServiceInfo | None: ...

    def create_service(self, spec: Mapping[str, Any]) -> str:
        """Create a service from its spec (the engine's API JSON); returns its id."""
        ...

    def update_service(self, ref: str, version: int, spec: Mapping[str, Any]) -> None:
        """Replace the service's spec (``version``: the one read, so updates never race)."""
        ...

    def remove_service(self, ref: str) -> None: ...

    def list_tasks(self, *, services: Sequence[str]) -> list[TaskInfo]: ...

    def list_secrets(self, *, labels: Mapping[str, str] | None = None) -> list[SecretInfo]: ...

    def create_secret(self, name: str, data: bytes, labels: Mapping[str, str]) -> str: ...

    def remove_secret(self, ref: str) -> None: ...


@runtime_checkable
class Engine(ContainerEngine, ImageEngine, NetworkEngine, VolumeEngine, SwarmEngine, Protocol):
    """Blocking access to one container engine: every object it has."""
