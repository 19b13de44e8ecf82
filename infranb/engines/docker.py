"""The one module that talks to Docker.

``DockerEngine`` implements ``infranb.engines.base.Engine`` over the docker SDK's low-level API
client: it negotiates the API version, builds every filter, parses every raw answer into
infranb's typed records and raises infranb's own errors (``raise ... from e``). Every method
blocks; the manager runs them on worker threads, off the event loop.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import functools
import http.client
import io
import json
import os
import re
import shutil
import socket
import tarfile
import threading
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

import docker
import docker.constants
import docker.context
import docker.errors
import docker.tls
import docker.types
import requests.exceptions
from docker.utils import parse_repository_tag

from infranb.core import labels as L
from infranb.core.config import TLSFiles
from infranb.core.drift import (
    HEALTHCHECK_DEFAULTS,
    ContainerConfig,
    ImageConfig,
    healthcheck_request,
    healthcheck_text,
)
from infranb.core.errors import (
    BuildFailed,
    Conflict,
    EngineError,
    EngineUnavailable,
    NotFound,
    PullFailed,
    PushFailed,
)
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
from infranb.core.secrets import mask_url_credentials
from infranb.core.specs import ContainerSpec, Mount, is_set, registry_of

NANO = 1_000_000_000
#: bytes per read of an archive stream (a volume's backup)
ARCHIVE_CHUNK = 1 << 20
T = TypeVar("T")
#: one disk-usage read at a time per engine address, across every client of this process
_DISK_USAGE_LOCKS: collections.defaultdict[str, threading.Lock] = collections.defaultdict(
    threading.Lock
)


def _parse_time(text: str | None) -> datetime | None:
    if not text or text.startswith("0001-"):
        return None
    # The engine gives nanoseconds (datetime keeps microseconds), in UTC ("Z") or, for an
    # image's LastTagTime, in the daemon's time zone ("+01:00").
    found = re.fullmatch(r"([^.Z+]+?)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)?", text)
    if found is None:
        return None
    head, frac, zone = found.groups()
    zone = "+00:00" if zone in (None, "Z") else zone
    moment = datetime.fromisoformat(f"{head}.{((frac or '') + '000000')[:6]}{zone}")
    return moment.astimezone(UTC)


def kind_of(version: Mapping[str, Any]) -> str:
    """``podman`` when a Docker API version answer names Podman's engine among its
    components, else ``docker``."""
    components = version.get("Components") or []
    names = {c.get("Name") for c in components if isinstance(c, Mapping)}
    return "podman" if "Podman Engine" in names else "docker"


def context_names() -> list[str]:
    """The Docker CLI contexts (``docker context ls``), ``default`` first."""
    return [str(c.Name) for c in docker.context.ContextAPI.contexts()]


def context_host(name: str) -> str | None:
    """The engine address a Docker context names, or None when there is no such context."""
    context = docker.context.ContextAPI.get_context(name)
    return None if context is None else str(context.Host or "unix:///var/run/docker.sock")


def _tls_config(files: TLSFiles) -> docker.tls.TLSConfig:
    cert = (files.client_cert, files.client_key) if files.client_cert else None
    return docker.tls.TLSConfig(
        client_cert=cert, ca_cert=files.ca_cert, verify=files.ca_cert if files.verify else False
    )


def _connect_tls(host: str, files: TLSFiles, kwargs: dict[str, Any]) -> docker.DockerClient:
    """A client of a TLS engine. requests lets REQUESTS_CA_BUNDLE (set on many machines)
    override the client's own CA, so the engine's CA would be ignored: the client stops
    reading the environment before its first request (the version negotiation)."""
    client = docker.DockerClient(base_url=host, tls=_tls_config(files), **kwargs)
    client.api.trust_env = False
    return client


def unreachable_message(host: str) -> str:
    return (
        f"No Docker engine answers at {host}: start one (as root: dockerd &, or systemctl "
        "start docker) or point DOCKER_HOST at a running engine."
    )


class DockerEngine:
    """Blocking access to one Docker engine through the docker SDK."""

    def __init__(
        self,
        base_url: str | None = None,
        *,
        context: str | None = None,
        tls: TLSFiles | None = None,
        connect_timeout: float = 5.0,
        max_pool_size: int = 10,
        timeout: int = 120,
    ) -> None:
        self._base_url = base_url
        self._context = context
        self._tls = tls
        self._connect_timeout = connect_timeout
        self._max_pool_size = max_pool_size
        self._timeout = timeout
        self._client: docker.DockerClient | None = None
        #: the engine's /version answer read when connecting (info() uses it once)
        self._version_answer: Mapping[str, Any] | None = None
        self._reads: _LocalReads | None = None
        self._lock = threading.Lock()

    @functools.cached_property
    def _context_address(self) -> str | None:
        """The address the context names, read from its file once (``host`` is read on
        every orchestrate and in every error message)."""
        return context_host(self._context) if self._context else None

    @property
    def host(self) -> str:
        if self._context:
            return self._context_address or f"context {self._context}"
        return self._base_url or os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"

    @property
    def _api(self) -> Any:
        """The low-level client, connected (and version-negotiated) on first use."""
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = self._connect()
        return self._client.api

    def _connect(self) -> docker.DockerClient:
        kwargs: dict[str, Any] = {
            "version": "auto",
            "timeout": self._timeout,
            "max_pool_size": self._max_pool_size,
        }
        host = self._base_url or ""
        if host.startswith("ssh://") or (self._context and self.host.startswith("ssh://")):
            # The system ssh client honours ~/.ssh/config, known hosts and agents; paramiko
            # (docker's own) only where none is installed.
            kwargs["use_ssh_client"] = shutil.which("ssh") is not None
        if host.startswith("tcp://"):
            # Negotiating the version is the first request: a host that drops packets fails
            # within connect_timeout; later requests get the long timeout pulls need.
            kwargs["timeout"] = self._connect_timeout
        long_timeout = kwargs["timeout"] == self._timeout
        # The version is negotiated here, not by the SDK ("auto"), to keep the engine's
        # answer: it names the kind of engine and is info()'s first version (Podman takes
        # 0.6 s to answer /version here, so it is asked once).
        kwargs["version"] = docker.constants.MINIMUM_DOCKER_API_VERSION
        try:
            if self._context:
                if self._context_address is None:
                    raise EngineUnavailable(
                        f"No Docker context is named {self._context!r}: `docker context ls` "
                        "lists them (they live in DOCKER_CONFIG or ~/.docker)."
                    )
                client = docker.DockerClient.from_context(self._context, **kwargs)
            elif self._tls is not None:
                client = _connect_tls(host, self._tls, kwargs)
            elif host:
                client = docker.DockerClient(base_url=host, **kwargs)
            else:
                client = docker.DockerClient.from_env(**kwargs)
            answer = client.api.version(api_version=False)
            # What the SDK's version="auto" sets, from the same answer.
            client.api._version = str(answer["ApiVersion"])
            self._version_answer = answer
            if not long_timeout:
                client.api.timeout = self._timeout
            return client
        except (docker.errors.DockerException, requests.exceptions.RequestException) as e:
            raise EngineUnavailable(unreachable_message(mask_url_credentials(self.host))) from e
        except (OSError, ValueError) as e:  # a context that does not exist, an ssh failure
            raise EngineUnavailable(
                f"{unreachable_message(mask_url_credentials(self.host))} ({type(e).__name__})"
            ) from None

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None
            if self._reads is not None:
                self._reads.close()
                self._reads = None

    def _inspect(
        self, kind: str, ref: str, slow: Callable[[str], Mapping[str, Any]]
    ) -> Mapping[str, Any] | None:
        """``GET /<kind>/<ref>/json``; ``None`` when it does not exist. On a local socket a
        plain kept-alive HTTP read; anything it does not expect goes through the SDK."""
        what = f"inspecting {kind[:-1]} {ref}"
        reads = self._local_reads()
        if reads is not None:
            with contextlib.suppress(_NotPlain):
                return reads.get(f"/{kind}/{urllib.parse.quote(ref, safe='/:@')}/json")
        try:
            with self._errors(what, ref):
                return slow(ref)
        except NotFound:
            return None

    def _local_reads(self) -> _LocalReads | None:
        if self._reads is None and self._context is None and self._tls is None:
            host = self.host
            if host.startswith("unix://"):
                version = self._api.api_version  # connects and negotiates first
                with self._lock:
                    if self._reads is None:
                        self._reads = _LocalReads(host.removeprefix("unix://"), version)
        return self._reads

    @contextmanager
    def _errors(self, what: str, resource: str | None = None) -> Iterator[None]:
        """Translate the SDK's exceptions into infranb's, naming what was attempted."""
        try:
            yield
        except docker.errors.NotFound as e:
            # The SDK's traceback adds nothing to "no such container X": show one error.
            raise NotFound(f"{what}: {self._explain(e)}", resource=resource) from None
        except docker.errors.APIError as e:
            # 409: a name is taken; 403: refused in this state (a network with active
            # endpoints, a pre-defined network). Both are conflicts with what exists.
            if self._is_conflict(e):
                raise Conflict(f"{what}: {self._explain(e)}", resource=resource) from None
            raise EngineError(f"{what}: {self._explain(e)}", resource=resource) from e
        except (requests.exceptions.ConnectionError, ConnectionError) as e:
            raise EngineUnavailable(
                f"{what}: lost the connection to the Docker engine at "
                f"{mask_url_credentials(self.host)}; "
                "check that it is running",
                resource=resource,
            ) from e
        except requests.exceptions.ReadTimeout as e:
            raise EngineError(
                f"{what}: the engine did not answer in time", resource=resource
            ) from e
        except docker.errors.DockerException as e:
            raise EngineError(f"{what}: {e}", resource=resource) from e

    def _name_filter(self, names: Sequence[str]) -> str:
        """The engine's name filter is a regular expression on "/name": anchor it."""
        return "^/(" + "|".join(re.escape(n) for n in names) + ")$"

    def _is_conflict(self, e: docker.errors.APIError) -> bool:
        """Whether the engine refused because of what exists (the kind's module may know
        more ways an engine says so)."""
        return e.status_code in (403, 409)

    def _explain(self, e: docker.errors.APIError) -> str:
        return _explain(e)

    # ------------------------------------------------------------------ engine

    def kind(self) -> str:
        """The kind of engine answering this API (``docker``, ``podman``), from the version
        answer read when connecting. ``infranb.engines.connect`` reads it once to pick the
        engine's class."""
        with self._errors("asking the engine its kind"):
            api = self._api  # connecting reads the version answer
            return kind_of(self._version_answer or api.version())

    def share_connection(self, other: DockerEngine) -> None:
        """Use ``other``'s connected client (one connection and version negotiation for
        both; ``infranb.engines.connect`` hands its probe's to the engine it picks)."""
        self._client, self._version_answer = other._client, other._version_answer

    def info(self) -> EngineInfo:
        with self._errors("reading engine info"):
            api = self._api
            # The first time, the version answer of connecting (it is that fresh).
            version, self._version_answer = self._version_answer or api.version(), None
            info = api.info()
        return EngineInfo(
            version=version.get("Version", "?"),
            api_version=version.get("ApiVersion", "?"),
            os=f"{info.get('OperatingSystem', '?')} ({version.get('Arch', '?')})",
            host=mask_url_credentials(self.host),
            containers=int(info.get("Containers", 0)),
            images=int(info.get("Images", 0)),
            running=int(info.get("ContainersRunning", 0)),
            engine_id=str(info.get("ID", "")),
            kind=kind_of(version),
        )

    # ------------------------------------------------------------------ containers

    def list_containers(
        self,
        *,
        labels: Mapping[str, str] | None = None,
        names: Sequence[str] | None = None,
        state: str | None = None,
        size: bool = False,
    ) -> list[ContainerInfo]:
        """Containers (running or not) matching every selector, without inspecting each."""
        filters: dict[str, list[str]] = _label_filter(labels)
        if names is not None:
            if not names:
                return []
            # One alternation, not one filter per name: the engine runs each on every
            # container.
            filters["name"] = [self._name_filter(names)]
        if state:
            filters["status"] = [state]
        with self._errors("listing containers"):
            rows = self._api.containers(all=True, filters=filters, size=size)
        found = [_container_info(r) for r in rows]
        return [c for c in found if c.name in names] if names is not None else found

    def inspect_container(self, ref: str) -> ContainerDetails | None:
        """Details of one container by name or id; ``None`` when it does not exist."""
        data = self._inspect("containers", ref, self._api.inspect_container)
        if data is None:
            return None
        state = data.get("State") or {}
        health = state.get("Health") or {}
        probes = health.get("Log") or []
        networks = (data.get("NetworkSettings") or {}).get("Networks") or {}
        return ContainerDetails(
            id=data["Id"],
            name=data.get("Name", "").lstrip("/"),
            state=state.get("Status", "unknown"),
            exit_code=state.get("ExitCode"),
            health=health.get("Status") or None,
            failing_streak=health.get("FailingStreak") if health else None,
            last_probe_output=(probes[-1].get("Output") or "").strip() if probes else None,
            started_at=_parse_time(state.get("StartedAt")),
            image_id=data.get("Image", ""),
            image=(data.get("Config") or {}).get("Image") or "",
            labels=(data.get("Config") or {}).get("Labels") or {},
            networks=tuple(networks),
            error=state.get("Error") or "",
            environment=dict(
                item.partition("=")[::2] for item in (data.get("Config") or {}).get("Env") or []
            ),
            ports=_bound_ports((data.get("NetworkSettings") or {}).get("Ports") or {}),
            config=self._config_of(data),
            health_interval=_health_interval((data.get("Config") or {}).get("Healthcheck")),
            restart_count=int(data.get("RestartCount") or 0),
            oom_killed=bool(state.get("OOMKilled")),
            finished_at=_parse_time(state.get("FinishedAt")),
            health_log=tuple(
                Probe(_parse_time(p.get("Start")), p.get("ExitCode"), p.get("Output") or "")
                for p in probes
            ),
        )

    def container_config(self, ref: str) -> ContainerConfig | None:
        details = self.inspect_container(ref)
        return details.config if details else None

    def runs_healthchecks(self) -> bool:
        """Docker runs each container's health check at its interval by itself."""
        return True

    def archives_keep_owners(self) -> bool:
        return True

    def _config_of(self, data: Mapping[str, Any]) -> ContainerConfig:
        """Inspect data in ``drift``'s normal form (a kind's module reads its own ways)."""
        return _config_of(data)

    def run_healthcheck(self, ref: str) -> str | None:
        """The container's health state. Docker runs its checks by itself and has no call
        that runs one now, so this only reads it (``None``: no healthcheck)."""
        details = self.inspect_container(ref)
        if details is None:
            raise NotFound(f"reading the health of {ref}: no such container", resource=ref)
        return details.health if details.state == "running" else None

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
        """Create (not start) a container for ``spec``; it joins ``networks`` with its name
        as alias. ``keep_volumes`` (container path -> volume) mounts the anonymous volumes
        of the container it replaces where this one has one. Returns the container id."""
        keep = dict(keep_volumes or {})
        api = self._api
        restart = None
        if spec.restart and spec.restart != "no":
            policy, _, count = spec.restart.partition(":")
            restart = {"Name": policy, "MaximumRetryCount": int(count or 0)}
        # Host paths go as binds: the engine creates a missing one, as Compose has it do,
        # on a remote engine too; volumes as mounts (nocopy is a mount's option), except a
        # named one relabelled with z/Z, which the Mount API cannot say (it has no relabel
        # field and ignores an unknown one): a bind entry "name:/path:ro,Z" can.
        binds = [
            f"{m.source}:{m.target}:" + ",".join(("ro" if m.read_only else "rw", *m.options))
            for m in spec.volumes
            if m.kind == "bind"
        ]
        binds += [
            f"{m.source}:{m.target}:" + ",".join((*(("ro",) if m.read_only else ()), *m.options))
            for m in spec.volumes
            if m.kind == "volume" and m.source and _relabelled(m)
        ]
        mounts = [
            docker.types.Mount(
                m.target,
                m.source or keep.pop(m.target, "") or None,
                type="volume",
                read_only=m.read_only,
                no_copy="nocopy" in m.options,
            )
            for m in spec.volumes
            if m.kind == "volume" and not (m.source and _relabelled(m))
        ]
        # The rest: volumes the image declares, kept from the container this one replaces.
        mounts += [
            docker.types.Mount(target, volume, type="volume") for target, volume in keep.items()
        ]
        mode = spec.network_mode
        if mode is None:
            first, *others = networks
        else:
            first, others = mode, []
        host_config = api.create_host_config(
            port_bindings={p.key: (p.host_ip, p.host_port) for p in spec.ports} or None,
            binds=binds or None,
            mounts=mounts or None,
            network_mode=first,
            restart_policy=restart,
            init=spec.init,
            extra_hosts=dict(spec.extra_hosts) or None,
            mem_limit=spec.mem_limit,
            nano_cpus=int(spec.cpus * NANO) if spec.cpus else None,
            cap_add=list(spec.cap_add) or None,
            cap_drop=list(spec.cap_drop) or None,
            privileged=spec.privileged,
            tmpfs=dict(spec.tmpfs) or None,
            **_host_options(spec),
        )

        def aliases_on(net: str) -> list[str] | None:
            if net in L.BUILTIN_NETWORKS or not aliases:
                return None
            return list(dict.fromkeys([spec.name, *spec.aliases.get(net, ())]))

        def endpoint(net: str) -> dict[str, Any]:
            fixed = spec.addresses.get(net, {})
            return api.create_endpoint_config(
                aliases=aliases_on(net),
                ipv4_address=fixed.get("ipv4_address"),
                ipv6_address=fixed.get("ipv6_address"),
            )

        networking = (
            None if mode is not None else api.create_networking_config({first: endpoint(first)})
        )
        exposed = [(p.container_port, p.protocol) for p in spec.ports]
        exposed += [(int(k.partition("/")[0]), k.partition("/")[2]) for k in spec.expose]
        healthcheck = None
        hc = spec.healthcheck
        if hc is not None and (
            hc.test or hc.interval or hc.timeout or hc.retries or hc.start_period
        ):
            healthcheck = docker.types.Healthcheck(
                test=list(hc.test) or None,  # None: the image's test
                interval=_nanos(hc.interval),
                timeout=_nanos(hc.timeout),
                retries=hc.retries,
                start_period=_nanos(hc.start_period),
            )
        container_name = name or spec.name
        with self._errors(f"creating container {container_name}", container_name):
            created = api.create_container(
                spec.image,
                command=_as_list(spec.command),
                entrypoint=_as_list(spec.entrypoint),
                environment=dict(environment),
                ports=list(dict.fromkeys(exposed)) or None,
                labels=dict(labels),
                name=container_name,
                host_config=host_config,
                networking_config=networking,
                healthcheck=healthcheck,
                user=spec.user,
                working_dir=spec.working_dir,
                hostname=spec.hostname,
                stop_signal=spec.stop_signal,
                stop_timeout=_stop_timeout(spec.stop_grace_period),
                use_config_proxy=False,
                tty=bool(spec.tty),
                stdin_open=bool(spec.stdin_open),
                domainname=spec.domainname,
                mac_address=spec.mac_address,
                platform=spec.platform,
            )
            # The API version here accepts one network at create; join the rest now.
            for net in others:
                fixed = spec.addresses.get(net, {})
                api.connect_container_to_network(
                    created["Id"],
                    net,
                    aliases=aliases_on(net),
                    ipv4_address=fixed.get("ipv4_address"),
                    ipv6_address=fixed.get("ipv6_address"),
                )
        return str(created["Id"])

    def put_file(self, ref: str, path: str, data: bytes, mode: int = 0o444) -> None:
        with self._errors(f"writing {path} into container {ref}", ref):
            self._api.put_archive(ref, "/", _tar_of(path, data, mode))

    def put_archive(self, ref: str, folder: str, archive: bytes) -> None:
        """Unpack a tar ``archive`` into ``folder`` of the container (``docker cp`` in)."""
        with self._errors(f"copying into {ref}:{folder}", ref):
            self._api.put_archive(ref, folder, archive)

    def get_archive(self, ref: str, path: str) -> bytes:
        """``path`` of the container (a file or a folder) as a tar archive."""
        with self._errors(f"copying {ref}:{path}", ref):
            chunks, _stat = self._api.get_archive(ref, path)
            return b"".join(chunks)

    def get_archive_stream(self, ref: str, path: str) -> Iterator[bytes]:
        what = f"copying {ref}:{path}"
        reads = self._local_reads()
        if reads is not None:
            query = urllib.parse.urlencode({"path": path})
            found = reads.stream(
                f"/containers/{urllib.parse.quote(ref)}/archive?{query}", ARCHIVE_CHUNK
            )
            if found is not None:
                return self._translated(found, what, ref)
        with self._errors(what, ref):
            url = self._api._url("/containers/{0}/archive", ref)
            answer = self._api._get(url, params={"path": path}, stream=True)
            self._api._raise_for_status(answer)
        return self._chunks_of(answer, what, ref)

    def _translated(self, chunks: Iterator[bytes], what: str, ref: str) -> Iterator[bytes]:
        """``chunks``, a connection lost mid-stream said as infranb's errors say it."""
        try:
            yield from chunks
        except (OSError, http.client.HTTPException) as e:
            raise EngineError(f"{what}: the engine's answer broke off ({e})", resource=ref) from e
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()

    def _chunks_of(self, answer: Any, what: str, ref: str) -> Iterator[bytes]:
        """An answer's body in chunks, a failure mid-stream said as infranb's errors say it;
        closing the iterator closes the connection."""
        try:
            with self._errors(what, ref):
                yield from answer.iter_content(ARCHIVE_CHUNK)
        finally:
            answer.close()

    def put_archive_stream(self, ref: str, folder: str, chunks: Iterable[bytes]) -> None:
        # requests sends an iterable body chunked, as it comes
        with self._errors(f"copying into {ref}:{folder}", ref):
            self._api.put_archive(ref, folder, iter(chunks))

    def start_container(self, ref: str) -> None:
        with self._errors(f"starting container {ref}", ref):
            self._api.start(ref)

    def pause_container(self, ref: str) -> None:
        with self._errors(f"pausing container {ref}", ref):
            self._api.pause(ref)

    def unpause_container(self, ref: str) -> None:
        with self._errors(f"unpausing container {ref}", ref):
            self._api.unpause(ref)

    def stop_container(self, ref: str, timeout: float = 10) -> None:
        with self._errors(f"stopping container {ref}", ref):
            self._api.stop(ref, timeout=int(max(timeout, 0)))

    def restart_container(self, ref: str, timeout: float = 10) -> None:
        with self._errors(f"restarting container {ref}", ref):
            self._api.restart(ref, timeout=int(max(timeout, 0)))

    def remove_container(self, ref: str, *, force: bool = False, volumes: bool = False) -> None:
        with self._errors(f"removing container {ref}", ref):
            self._api.remove_container(ref, force=force, v=volumes)

    def rename_container(self, ref: str, new_name: str) -> None:
        with self._errors(f"renaming container {ref} to {new_name}", ref):
            self._api.rename(ref, new_name)

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
        """The container's last log lines (stdout and stderr interleaved, or the one
        ``stream`` names), between ``since`` and ``until``."""
        with self._errors(f"reading logs of {ref}", ref):
            raw = self._api.logs(
                ref,
                stdout=stream in (None, "stdout"),
                stderr=stream in (None, "stderr"),
                timestamps=timestamps,
                tail="all" if tail is None else tail,
                # as seconds with their fraction (docker-py cuts a datetime to whole ones)
                since=since.timestamp() if since is not None else None,
                until=until.timestamp() if until is not None else None,
            )
        return raw.decode("utf-8", "replace").splitlines()

    def container_log_lines(
        self,
        ref: str,
        *,
        tail: int | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[tuple[str, str]]:
        """Both streams in one read, in the engine's order: (stream, "<RFC3339> <text>").
        The engine frames each stream's output apart (a TTY container's is all stdout)."""
        params: dict[str, Any] = {
            "stdout": 1,
            "stderr": 1,
            "timestamps": 1,
            "tail": "all" if tail is None else tail,
        }
        if since is not None:
            params["since"] = f"{since.timestamp():.6f}"
        if until is not None:
            params["until"] = f"{until.timestamp():.6f}"
        with self._errors(f"reading logs of {ref}", ref):
            url = self._api._url("/containers/{0}/logs", ref)
            response = self._api._get(url, params=params, stream=True)
            self._api._raise_for_status(response)
            data = b"".join(response.iter_content(1 << 20))  # large reads: fewer loops
        return _log_frames(data)

    def container_stats(self, ref: str) -> StatsSample:
        """One stats sample (the engine compares it with the previous second)."""
        with self._errors(f"reading stats of {ref}", ref):
            raw = dict(self._api.stats(ref, stream=False))
        # The sample names the container as the engine does, whether asked by name or id.
        return _stats_sample(str(raw.get("name") or ref).lstrip("/"), raw)

    def container_stats_series(self, ref: str, samples: int) -> list[StatsSample]:
        """``samples`` samples, a second apart, from the engine's stats stream (its first
        answer has no previous sample to compute CPU % from, so it is not one of them)."""
        url = self._api._url("/containers/{0}/stats", ref)
        found: list[StatsSample] = []
        with self._errors(f"reading stats of {ref}", ref):
            response = self._api._get(url, params={"stream": True}, stream=True)
            self._api._raise_for_status(response)
            try:
                for line in response.iter_lines():
                    raw = json.loads(line)
                    if not (raw.get("precpu_stats") or {}).get("system_cpu_usage"):
                        continue
                    sample = _stats_sample(str(raw.get("name") or ref).lstrip("/"), raw)
                    found.append(dataclasses.replace(sample, read_at=_parse_time(raw.get("read"))))
                    if len(found) >= samples:
                        break
            finally:
                response.close()
        return found

    def update_container(self, ref: str, changes: Mapping[str, Any]) -> None:
        """Change a container's live-updatable settings (``LIVE_FIELDS``: restart, mem_limit,
        cpus, pids_limit) without recreating it. A memory limit above the swap limit the
        engine keeps (twice the old limit, where none was set) raises that too, to twice
        the new one, as the engine would have set it."""
        body: dict[str, Any] = {}
        if "restart" in changes:
            policy, _, count = str(changes["restart"] or "no").partition(":")
            # "no" by its name: an empty name leaves the policy as it was
            body["RestartPolicy"] = {
                "Name": policy,
                "MaximumRetryCount": int(count or 0),
            }
        data = self._inspect("containers", ref, self._api.inspect_container) or {}
        host = data.get("HostConfig") or {}
        # To the engine 0 means "leave as it is": a limit cannot be removed in place.
        kept = [
            name
            for name, key in (("mem_limit", "Memory"), ("cpus", "NanoCpus"))
            if name in changes and not changes[name] and host.get(key)
        ]
        if kept:
            raise EngineError(
                f"updating {ref}: the engine does not remove a {' or '.join(kept)} limit in "
                "place; a recreate does (orchestrate the stack without it)",
                resource=ref,
            )
        if "mem_limit" in changes:
            memory = int(changes["mem_limit"] or 0)
            body["Memory"] = memory
            swap = int(host.get("MemorySwap") or 0)
            if memory and swap != -1 and swap < memory:
                # what the engine sets where none is given: twice the memory limit
                body["MemorySwap"] = 2 * memory
        if "cpus" in changes:
            body["NanoCpus"] = int(float(changes["cpus"] or 0) * NANO)
        if "pids_limit" in changes:
            body["PidsLimit"] = int(changes["pids_limit"] or 0) or -1  # -1: no limit
        with self._errors(f"updating {ref}", ref):
            url = self._api._url("/containers/{0}/update", ref)
            self._api._raise_for_status(self._api._post_json(url, data=body))

    def container_top(self, ref: str) -> tuple[list[str], list[list[str]]]:
        """The processes of a running container: the engine's column titles and rows."""
        with self._errors(f"listing the processes of {ref}", ref):
            answer = self._api.top(ref)
        return list(answer.get("Titles") or []), [list(p) for p in answer.get("Processes") or []]

    def container_changes(self, ref: str) -> list[tuple[str, str]]:
        """What changed in the container's filesystem since it was made, as ``docker diff``
        prints it: (``A`` added, ``C`` changed or ``D`` deleted, path)."""
        with self._errors(f"reading the filesystem changes of {ref}", ref):
            answer = self._api.diff(ref) or []
        kinds = {0: "C", 1: "A", 2: "D"}
        return [(kinds.get(int(c.get("Kind", 0)), "C"), str(c.get("Path", ""))) for c in answer]

    def event_feed(self, filters: Mapping[str, Sequence[str]] | None = None) -> Feed[PastEvent]:
        """Events from now on, of every type (``filters`` as the events API takes them)."""
        with self._errors("subscribing to engine events"):
            stream = self._api.events(decode=True, filters=dict(filters or {}))
        return Feed(stream, past_event)

    def log_feed(self, ref: str, stream: str, since: datetime | None = None) -> Feed[str]:
        """A container's new log lines of one ``stream`` (stdout, stderr) as it prints them,
        each "<RFC3339> <text>" (after the ones since ``since``). The request is made when
        the feed is first read, on the reader's thread: Podman answers a follow only once
        there is a line to send."""

        def follow() -> _Closing:
            with self._errors(f"following logs of {ref}", ref):
                chunks = self._api.logs(
                    ref,
                    stdout=stream == "stdout",
                    stderr=stream == "stderr",
                    stream=True,
                    follow=True,
                    timestamps=True,
                    since=since.timestamp() if since is not None else None,
                    tail=0 if since is None else "all",
                )
            return _Closing(chunks, _lines(chunks))

        return Feed(_Lazy(follow), lambda line: line)

    def past_events(
        self,
        since: datetime,
        until: datetime,
        filters: Mapping[str, Sequence[str]] | None = None,
    ) -> list[PastEvent]:
        """The events the engine recorded between ``since`` and ``until`` (it keeps only
        its last 256), oldest first."""
        with self._errors("reading engine events"):
            # as seconds with their fraction (docker-py cuts a datetime to whole ones, which
            # would leave out the last second's events)
            stream = self._api.events(
                since=f"{since.timestamp():.6f}",
                until=f"{until.timestamp():.6f}",
                filters=dict(filters or {}),
                decode=True,
            )
            try:
                return [past_event(raw) for raw in stream]
            finally:
                stream.close()

    def disk_usage(self) -> list[DiskUse]:
        """What the engine's images, containers, volumes and build cache take on disk. The
        engine answers one such read at a time (Docker 20.10 refuses a second one while
        the first runs), so reads from this engine wait for each other."""
        with _DISK_USAGE_LOCKS[self.host], self._errors("reading the engine's disk usage"):
            answer = self._api.df()
        return _disk_use(answer)

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
        """Run ``command`` in a running container; return (exit code, combined output)."""
        with self._errors(f"running a command in {ref}", ref):
            exec_id = self._api.exec_create(
                ref,
                command if isinstance(command, str) else list(command),
                user=user or "",
                privileged=privileged,
                workdir=workdir,
                environment=dict(environment) if environment else None,
            )["Id"]
            output = self._api.exec_start(exec_id)
            code = self._api.exec_inspect(exec_id).get("ExitCode")
        return int(code if code is not None else -1), output.decode("utf-8", "replace")

    def events(self, *, labels: Mapping[str, str]) -> EventStream:
        """A stream of events of containers carrying ``labels``; close it to stop."""
        filters = {"type": ["container"], **_label_filter(labels)}
        with self._errors("subscribing to engine events"):
            stream = self._api.events(decode=True, filters=filters)
        return EventStream(stream)

    # ------------------------------------------------------------------ images

    def image_id(self, ref: str) -> str | None:
        """The local id of an image reference, ``None`` when it is not on the engine."""
        data = self._inspect("images", ref, self._api.inspect_image)
        return None if data is None else str(data["Id"])

    def image_config(self, ref: str) -> ImageConfig | None:
        data = self._inspect("images", ref, self._api.inspect_image)
        if data is None:
            return None
        config = data.get("Config") or {}
        return ImageConfig(
            id=data.get("Id", ""),
            command=tuple(config.get("Cmd") or ()),
            entrypoint=tuple(config.get("Entrypoint") or ()),
            environment=_env(config.get("Env")),
            volumes=tuple(sorted(config.get("Volumes") or ())),
            user=config.get("User") or "",
            working_dir=config.get("WorkingDir") or "",
            healthcheck=healthcheck_text(*_healthcheck(config.get("Healthcheck"))),
            labels=config.get("Labels") or {},
            last_tagged=_parse_time((data.get("Metadata") or {}).get("LastTagTime")),
            exposed=tuple(sorted(config.get("ExposedPorts") or ())),
        )

    def list_images(self) -> list[ImageInfo]:
        with self._errors("listing images"):
            rows = self._api.images()
        return [
            ImageInfo(
                id=r["Id"],
                tags=tuple(t for t in (r.get("RepoTags") or []) if t != "<none>:<none>"),
                size=int(r.get("Size") or 0),
                created=datetime.fromtimestamp(int(r.get("Created") or 0), UTC),
                labels=r.get("Labels") or {},
                dangling=not [t for t in (r.get("RepoTags") or []) if t != "<none>:<none>"],
                digests=tuple(d for d in (r.get("RepoDigests") or []) if "@" in d),
            )
            for r in rows
        ]

    def registry_digest(self, ref: str) -> str:
        """The engine's distribution endpoint (``/distribution/{name}/json``): the registry
        sends the manifest's descriptor, no layer is fetched. The SDK sends the Docker
        config's credentials for the registry, as it does for a pull."""
        with self._errors(f"asking the registry for {ref}", ref):
            answer = self._api.inspect_distribution(ref)
        digest = (answer.get("Descriptor") or {}).get("digest")
        if not isinstance(digest, str) or not digest:
            raise EngineError(f"asking the registry for {ref}: it sent no digest", resource=ref)
        return digest

    def image_size(self, ref: str) -> int | None:
        with self._errors(f"inspecting image {ref}", ref):
            return int(self._api.inspect_image(ref).get("Size") or 0)

    def pull_image(
        self,
        ref: str,
        on_progress: Callable[[PullProgress], None] | None = None,
        *,
        platform: str | None = None,
    ) -> str:
        """Pull ``ref`` (default tag ``latest``, for ``platform`` when given); errors in the
        stream raise ``PullFailed``."""
        repo, tag = parse_repository_tag(ref)
        try:
            with self._errors(f"pulling {ref}", ref):
                stream = self._api.pull(
                    repo, tag or "latest", stream=True, decode=True, platform=platform
                )
                for message in stream:
                    if "error" in message:
                        raise PullFailed(f"pulling {ref}: {message['error']}", resource=ref)
                    if on_progress is not None:
                        on_progress(_pull_progress(message))
        except PullFailed as e:
            raise _unreachable_registry(ref, e) or e from None
        except EngineUnavailable:
            raise
        except EngineError as e:
            raise _unreachable_registry(ref, e) or PullFailed(str(e), resource=ref) from e
        image = self.image_id(ref if tag else f"{ref}:latest")
        if image is None:
            raise PullFailed(f"pulling {ref}: the engine reported no image", resource=ref)
        return image

    def push_image(
        self, ref: str, on_progress: Callable[[PullProgress], None] | None = None
    ) -> None:
        """Push ``ref`` with the Docker config's credentials for its registry (read by the
        SDK from ``DOCKER_CONFIG`` or ``~/.docker/config.json``); errors raise ``PushFailed``."""
        repo, tag = parse_repository_tag(ref)
        try:
            with self._errors(f"pushing {ref}", ref):
                for message in self._api.push(repo, tag or "latest", stream=True, decode=True):
                    if "error" in message:
                        raise PushFailed(f"pushing {ref}: {message['error']}", resource=ref)
                    if on_progress is not None:
                        on_progress(_pull_progress(message))
        except (PushFailed, EngineUnavailable, NotFound):
            raise
        except EngineError as e:
            raise PushFailed(str(e), resource=ref) from e

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
        """Build ``path`` as ``tag``; return (image id, build log lines)."""
        logs: list[str] = []
        image: str | None = None
        with self._errors(f"building {tag}", tag):
            stream = self._api.build(
                path=path,
                tag=tag,
                dockerfile=dockerfile,
                buildargs=dict(buildargs or {}),
                nocache=nocache,
                pull=pull,
                rm=True,
                forcerm=True,
                decode=True,
                labels=dict(labels or {}),
                target=target,
            )
            for message in stream:
                if "error" in message:
                    logs.append(str(message["error"]).rstrip())
                    raise BuildFailed(
                        f"building {tag}: {message['error'].strip()}", resource=tag, logs=logs
                    )
                text = message.get("stream")
                if text:
                    for line in text.rstrip("\n").splitlines():
                        logs.append(line)
                        if on_log is not None:
                            on_log(line)
                aux = message.get("aux")
                if isinstance(aux, dict) and "ID" in aux:
                    image = aux["ID"]
        image = image or self.image_id(tag)
        if image is None:
            raise BuildFailed(
                f"building {tag}: the engine reported no image", resource=tag, logs=logs
            )
        return image, logs

    def import_image(self, archive: bytes) -> str:
        with self._errors("importing an image"):
            answer = self._api.import_image_from_data(archive)
        # the last line of the engine's answer names the image: {"status": "sha256:..."}
        last = answer.strip().splitlines()[-1] if isinstance(answer, str) else answer
        image_id = json.loads(last).get("status", "") if isinstance(last, str) else ""
        if not str(image_id).startswith("sha256:"):
            raise EngineError(f"importing an image: the engine answered {answer!r}")
        return str(image_id)

    def tag_image(self, ref: str, target: str) -> None:
        repo, tag = parse_repository_tag(target)
        with self._errors(f"tagging {ref} as {target}", ref):
            self._api.tag(ref, repo, tag or "latest")

    def remove_image(self, ref: str, *, force: bool = False) -> list[str]:
        """Remove an image reference; return what the engine untagged/deleted."""
        with self._errors(f"removing image {ref}", ref):
            answer = self._api.remove_image(ref, force=force, noprune=False)
        return [v for item in answer or [] for v in item.values()]

    # ------------------------------------------------------------------ networks, volumes

    def list_networks(self, *, labels: Mapping[str, str] | None = None) -> list[NetworkInfo]:
        with self._errors("listing networks"):
            rows = self._api.networks(filters=_label_filter(labels))
        return [
            NetworkInfo(
                id=r["Id"],
                name=r["Name"],
                driver=r.get("Driver", ""),
                labels=r.get("Labels") or {},
            )
            for r in rows
        ]

    def network_containers(self, ref: str) -> list[str]:
        """Names of the containers attached to a network."""
        with self._errors(f"inspecting network {ref}", ref):
            data = self._api.inspect_network(ref)
        return [c.get("Name", cid) for cid, c in (data.get("Containers") or {}).items()]

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
        with self._errors(f"creating network {name}", name):
            created = self._api.create_network(
                name,
                driver=driver,
                labels=dict(labels),
                internal=internal,
                check_duplicate=True,
                # An overlay network others can join with docker run, to debug a stack.
                attachable=attachable or driver == "overlay" or None,
                options=dict(options) if options else None,
                ipam=_ipam(ipam) if ipam else None,
                enable_ipv6=enable_ipv6 or None,
            )
        return str(created["Id"])

    def connect(self, network: str, container: str, aliases: Sequence[str] = ()) -> None:
        with self._errors(f"connecting {container} to network {network}", network):
            self._api.connect_container_to_network(
                container, network, aliases=list(aliases) or None
            )

    def disconnect(self, network: str, container: str) -> None:
        """Force-disconnect an endpoint (also one whose container is already gone)."""
        with self._errors(f"disconnecting {container} from network {network}", network):
            self._api.disconnect_container_from_network(container, network, force=True)

    def remove_network(self, ref: str) -> None:
        with self._errors(f"removing network {ref}", ref):
            self._api.remove_network(ref)

    # ------------------------------------------------------------------ swarm

    def swarm_role(self) -> str:
        """``manager``, ``worker`` or ``inactive`` (not in a swarm)."""
        with self._errors("reading the swarm state"):
            swarm = self._api.info().get("Swarm") or {}
        if swarm.get("LocalNodeState") != "active":
            return "inactive"
        return "manager" if swarm.get("ControlAvailable") else "worker"

    def list_nodes(self) -> list[NodeInfo]:
        with self._errors("listing swarm nodes"):
            answer = self._api.nodes()
        return [_node(n) for n in answer]

    def list_services(self, *, labels: Mapping[str, str] | None = None) -> list[ServiceInfo]:
        with self._errors("listing services"):
            answer = self._api.services(filters=_label_filter(labels))
        return [_service(s) for s in answer]

    def inspect_service(self, ref: str) -> ServiceInfo | None:
        try:
            with self._errors(f"inspecting service {ref}", ref):
                return _service(self._api.inspect_service(ref))
        except NotFound:
            return None

    def create_service(self, spec: Mapping[str, Any]) -> str:
        name = str(spec["Name"])
        with self._errors(f"creating service {name}", name):
            created = self._api.create_service(**_service_arguments(spec))
        return str(created["ID"])

    def update_service(self, ref: str, version: int, spec: Mapping[str, Any]) -> None:
        with self._errors(f"updating service {ref}", ref):
            self._api.update_service(ref, version, **_service_arguments(spec))

    def remove_service(self, ref: str) -> None:
        with self._errors(f"removing service {ref}", ref):
            self._api.remove_service(ref)

    def list_tasks(self, *, services: Sequence[str]) -> list[TaskInfo]:
        """The tasks of the services (ids or names) the swarm still keeps."""
        if not services:
            return []
        with self._errors("listing tasks"):
            answer = self._api.tasks(filters={"service": list(services)})
        return [_task(t) for t in answer]

    def list_secrets(self, *, labels: Mapping[str, str] | None = None) -> list[SecretInfo]:
        with self._errors("listing secrets"):
            answer = self._api.secrets(filters=_label_filter(labels))
        return [
            SecretInfo(
                id=str(s["ID"]),
                name=str((s.get("Spec") or {}).get("Name", "")),
                labels=(s.get("Spec") or {}).get("Labels") or {},
            )
            for s in answer
        ]

    def create_secret(self, name: str, data: bytes, labels: Mapping[str, str]) -> str:
        # The content is never part of an error message: only the secret's name is.
        with self._errors(f"creating secret {name}", name):
            created = self._api.create_secret(name, data, labels=dict(labels))
        return str(created["ID"])

    def remove_secret(self, ref: str) -> None:
        with self._errors(f"removing secret {ref}", ref):
            self._api.remove_secret(ref)

    def list_volumes(self, *, labels: Mapping[str, str] | None = None) -> list[VolumeInfo]:
        with self._errors("listing volumes"):
            answer = self._api.volumes(filters=_label_filter(labels))
        return [
            VolumeInfo(
                name=v["Name"],
                driver=v.get("Driver", ""),
                labels=v.get("Labels") or {},
                mountpoint=v.get("Mountpoint", ""),
                options=v.get("Options") or {},
                created=v.get("CreatedAt") or "",
            )
            for v in (answer.get("Volumes") or [])
        ]

    def create_volume(
        self,
        name: str,
        driver: str,
        labels: Mapping[str, str],
        *,
        options: Mapping[str, str] | None = None,
    ) -> None:
        with self._errors(f"creating volume {name}", name):
            self._api.create_volume(
                name, driver=driver, labels=dict(labels), driver_opts=dict(options or {}) or None
            )

    def remove_volume(self, name: str) -> None:
        with self._errors(f"removing volume {name}", name):
            self._api.remove_volume(name)

    def volume_sizes(self) -> dict[str, int]:
        """Bytes used per volume (the engine's disk-usage report; slow on big hosts)."""
        with self._errors("reading disk usage"):
            usage = self._api.df()
        return {
            v["Name"]: int((v.get("UsageData") or {}).get("Size") or 0)
            for v in usage.get("Volumes") or []
        }


class EventStream:
    """An iterator of ``EngineEvent`` that another thread may close at any time."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def __iter__(self) -> Iterator[EngineEvent]:
        try:
            for raw in self._stream:
                actor = raw.get("Actor") or {}
                attributes = actor.get("Attributes") or {}
                yield EngineEvent(
                    action=str(raw.get("Action") or raw.get("status") or ""),
                    id=str(actor.get("ID") or raw.get("id") or ""),
                    name=str(attributes.get("name", "")),
                    attributes=attributes,
                )
        except (requests.exceptions.RequestException, OSError, AttributeError, ValueError):
            # Closing the stream from another thread ends the read with one of these.
            return

    def close(self) -> None:
        # Closing must never fail the caller; the stream may already be gone.
        with contextlib.suppress(Exception):
            self._stream.close()


class Feed(Generic[T]):
    """Items of an engine stream as they come; ``close`` (from any thread) ends it."""

    def __init__(self, stream: Any, item: Callable[[Any], T | None]) -> None:
        self._stream, self._item = stream, item

    def __iter__(self) -> Iterator[T]:
        try:
            for raw in self._stream:
                found = self._item(raw)
                if found is not None:
                    yield found
        except (requests.exceptions.RequestException, OSError, AttributeError, ValueError):
            return  # closed from another thread

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._stream.close()


_STREAM_NAMES = {0: "stdout", 1: "stdout", 2: "stderr"}


def _log_frames(data: bytes) -> list[tuple[str, str]]:
    """The engine's multiplexed log answer as (stream, line); each frame is an 8-byte header
    (stream, 0, 0, 0, length) and its bytes. A TTY container's answer has no frames."""
    if len(data) < 8 or data[0] not in _STREAM_NAMES or data[1:4] != b"\0\0\0":
        return [("stdout", line) for line in data.decode("utf-8", "replace").splitlines()]
    found: list[tuple[str, str]] = []
    rest = {"stdout": b"", "stderr": b""}
    at = 0
    while at + 8 <= len(data):
        stream = _STREAM_NAMES.get(data[at], "stdout")
        length = int.from_bytes(data[at + 4 : at + 8], "big")
        chunk = rest[stream] + data[at + 8 : at + 8 + length]
        at += 8 + length
        *lines, rest[stream] = chunk.split(b"\n")
        found += [(stream, line.decode("utf-8", "replace")) for line in lines]
    found += [(s, left.decode("utf-8", "replace")) for s, left in rest.items() if left]
    return found


def _lines(chunks: Iterator[bytes]) -> Iterator[str]:
    """Whole lines of a stream of chunks (a chunk may end inside a line)."""
    rest = b""
    for chunk in chunks:
        rest += chunk
        *whole, rest = rest.split(b"\n")
        for line in whole:
            yield line.decode("utf-8", "replace")
    if rest:
        yield rest.decode("utf-8", "replace")


class _Lazy:
    """A stream opened when first iterated; closed before that, it is never opened."""

    def __init__(self, opening: Callable[[], Any]) -> None:
        self._opening, self._closed = opening, False
        self._stream: Any = None

    def __iter__(self) -> Iterator[Any]:
        if self._closed:
            return iter(())
        stream = self._stream = self._opening()
        if self._closed:  # closed while it was being opened
            stream.close()
            return iter(())
        return iter(stream)

    def close(self) -> None:
        self._closed = True
        if self._stream is not None:
            self._stream.close()


class _Closing:
    """An iterator over a closable stream (``close`` closes the stream)."""

    def __init__(self, stream: Any, wrapped: Iterator[Any]) -> None:
        self._stream, self._wrapped = stream, wrapped

    def __iter__(self) -> Iterator[Any]:
        return self._wrapped

    def close(self) -> None:
        self._stream.close()


def _container_info(row: Mapping[str, Any]) -> ContainerInfo:
    names = row.get("Names") or ["/?"]
    ports = tuple(
        f"{p.get('IP', '')}:{p['PublicPort']}->{p['PrivatePort']}/{p.get('Type', 'tcp')}"
        if p.get("PublicPort")
        else f"{p['PrivatePort']}/{p.get('Type', 'tcp')}"
        for p in row.get("Ports") or []
    )
    networks = tuple(((row.get("NetworkSettings") or {}).get("Networks") or {}).keys())
    return ContainerInfo(
        id=row["Id"],
        name=names[0].lstrip("/"),
        image=row.get("Image", ""),
        image_id=row.get("ImageID", ""),
        state=row.get("State", ""),
        status=row.get("Status", ""),
        labels=row.get("Labels") or {},
        created=datetime.fromtimestamp(int(row.get("Created") or 0), UTC),
        ports=tuple(dict.fromkeys(ports)),
        networks=networks,
        size=row.get("SizeRw") if "SizeRw" in row else None,
        volumes=tuple(m["Name"] for m in row.get("Mounts") or [] if m.get("Type") == "volume"),
        read_only_volumes=tuple(
            m["Name"]
            for m in row.get("Mounts") or []
            if m.get("Type") == "volume" and m.get("RW") is False
        ),
    )


def _bound_ports(ports: Mapping[str, Any]) -> tuple[str, ...]:
    """``{"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "49153"}]}`` as "0.0.0.0:49153->80/tcp"
    (one entry per host binding; IPv6 duplicates of an IPv4 binding are dropped)."""
    shown: list[str] = []
    for key, bindings in ports.items():
        for b in bindings or []:
            port = b.get("HostPort")
            if port and not any(s.endswith(f":{port}->{key}") for s in shown):
                shown.append(f"{b.get('HostIp', '')}:{port}->{key}")
    return tuple(shown)


_UNREACHABLE = re.compile(
    r"no such host|connection refused|i/o timeout|network is unreachable|"
    r"TLS handshake timeout|Client.Timeout exceeded"
)


def _unreachable_registry(ref: str, error: Exception) -> PullFailed | None:
    """The engine's DNS or dial error for a registry, as one sentence naming both the image
    and the registry; ``None`` for any other failure."""
    match = _UNREACHABLE.search(str(error))
    if match is None:
        return None
    return PullFailed(
        f"pulling {ref}: the image is not on the engine and its registry {registry_of(ref)} "
        f"cannot be reached from the engine ({match[0]}); build or load the image, or use a "
        "registry the engine reaches",
        resource=ref,
    )


def _label_filter(labels: Mapping[str, str] | None) -> dict[str, list[str]]:
    """The engine's label filter: ``key=value``, or ``key`` alone for an empty value."""
    if not labels:
        return {}
    return {"label": [f"{k}={v}" if v else k for k, v in labels.items()]}


def _pull_progress(message: Mapping[str, Any]) -> PullProgress:
    detail = message.get("progressDetail") or {}
    return PullProgress(
        layer=str(message.get("id", "")),
        status=str(message.get("status", "")),
        current=detail.get("current") if isinstance(detail, dict) else None,
        total=detail.get("total") if isinstance(detail, dict) else None,
    )


def past_event(raw: Mapping[str, Any]) -> PastEvent:
    """One event of the events API (Docker's form; Podman's libpod answers the same)."""
    actor = raw.get("Actor") or {}
    attributes = {str(k): str(v) for k, v in (actor.get("Attributes") or {}).items()}
    nanos = raw.get("timeNano")
    when = (
        datetime.fromtimestamp(int(nanos) / 1e9, UTC)
        if nanos
        else datetime.fromtimestamp(int(raw.get("time") or 0), UTC)
    )
    return PastEvent(
        time=when,
        type=str(raw.get("Type") or ""),
        action=str(raw.get("Action") or raw.get("status") or ""),
        id=str(actor.get("ID") or raw.get("id") or ""),
        name=attributes.get("name", ""),
        attributes=attributes,
    )


def _disk_use(answer: Mapping[str, Any]) -> list[DiskUse]:
    """``/system/df`` as rows (a size the engine did not compute, -1, reads 0)."""

    def size(value: Any) -> int:
        return max(int(value or 0), 0)

    def when(value: Any) -> datetime | None:
        if isinstance(value, int | float):
            return datetime.fromtimestamp(value, UTC)
        return _parse_time(value) if isinstance(value, str) else None

    rows = [
        DiskUse(
            "image",
            ", ".join(i.get("RepoTags") or []) or "<none>",
            str(i.get("Id", "")),
            size(i.get("Size")),
            size(i.get("SharedSize")),
            size(i.get("Containers")),
            when(i.get("Created")),
        )
        for i in answer.get("Images") or []
    ]
    rows += [
        DiskUse(
            "container",
            str((c.get("Names") or [""])[0]).lstrip("/"),
            str(c.get("Id", "")),
            size(c.get("SizeRw")),
            0,
            1 if c.get("State") == "running" else 0,
            when(c.get("Created")),
        )
        for c in answer.get("Containers") or []
    ]
    rows += [
        DiskUse(
            "volume",
            str(v.get("Name", "")),
            str(v.get("Name", "")),
            size((v.get("UsageData") or {}).get("Size")),
            0,
            size((v.get("UsageData") or {}).get("RefCount")),
            when(v.get("CreatedAt")),
        )
        for v in answer.get("Volumes") or []
    ]
    rows += [
        DiskUse(
            "build cache",
            str(b.get("Description") or b.get("Type") or ""),
            str(b.get("ID", "")),
            size(b.get("Size")),
            size(b.get("Size")) if b.get("Shared") else 0,
            1 if b.get("InUse") else 0,
            when(b.get("CreatedAt")),
        )
        for b in answer.get("BuildCache") or []
    ]
    return rows


def _stats_sample(name: str, s: Mapping[str, Any]) -> StatsSample:
    """CPU % computed the way ``docker stats`` does, from the sample and its predecessor."""
    cpu, pre = s.get("cpu_stats") or {}, s.get("precpu_stats") or {}
    cpu_delta = cpu.get("cpu_usage", {}).get("total_usage", 0) - pre.get("cpu_usage", {}).get(
        "total_usage", 0
    )
    system_delta = cpu.get("system_cpu_usage", 0) - pre.get("system_cpu_usage", 0)
    cpus = cpu.get("online_cpus") or len(cpu.get("cpu_usage", {}).get("percpu_usage") or [1])
    percent = cpu_delta / system_delta * cpus * 100 if system_delta > 0 else 0.0
    memory = s.get("memory_stats") or {}
    used = max(memory.get("usage", 0) - (memory.get("stats") or {}).get("inactive_file", 0), 0)
    limit = int(memory.get("limit") or 0)
    nets = (s.get("networks") or {}).values()
    blkio = (s.get("blkio_stats") or {}).get("io_service_bytes_recursive") or []

    def block(op: str) -> int:
        return sum(b.get("value", 0) for b in blkio if b.get("op", "").lower() == op)

    return StatsSample(
        name=name,
        cpu_percent=round(percent, 2),
        memory_bytes=used,
        memory_limit_bytes=limit,
        memory_percent=round(used / limit * 100, 2) if limit else None,
        net_rx_bytes=sum(n.get("rx_bytes", 0) for n in nets),
        net_tx_bytes=sum(n.get("tx_bytes", 0) for n in nets),
        block_read_bytes=block("read"),
        block_write_bytes=block("write"),
        pids=(s.get("pids_stats") or {}).get("current"),
    )


_PORT_TAKEN = re.compile(r"Bind for (\S+):(\d+) failed: port is already allocated")
_ADDRESS_TAKEN = re.compile(r"listen (tcp|udp)\S* (\S+):(\d+): bind: address already in use")


def _explain(e: docker.errors.APIError) -> str:
    explanation = e.explanation
    if isinstance(explanation, bytes):
        explanation = explanation.decode("utf-8", "replace")
    text = str(explanation or e)
    # The engine's port errors are three lines with 64-character ids: say it in one.
    if match := _PORT_TAKEN.search(text):
        return f"port {match[1]}:{match[2]} is already in use by another container"
    if match := _ADDRESS_TAKEN.search(text):
        return f"port {match[2]}:{match[3]}/{match[1]} is already in use by a process on the host"
    return text


class _NotPlain(Exception):
    """A local read got an answer it does not handle (the SDK path says what it means)."""


class _LocalReads:
    """Plain ``GET``s on the engine's unix socket over one kept-alive connection per thread.

    Reading many containers is mostly per-call HTTP cost, and the SDK's stack (requests and
    urllib3) costs about 1.6 ms a call here: 20 inspects took 50 ms through it and 17 ms this
    way (bench/one_compose_bench.py). Only 200 and 404 are handled; everything else, a
    refused or dropped connection included (after one fresh try), raises ``_NotPlain``."""

    def __init__(self, path: str, version: str) -> None:
        self._path = path
        self._prefix = f"/v{version}"
        self._local = threading.local()
        self._all: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()

    def _connection(self, fresh: bool = False) -> http.client.HTTPConnection:
        connection = getattr(self._local, "connection", None)
        if connection is None or fresh:
            if connection is not None:
                connection.close()
            connection = _UnixConnection(self._path)
            self._local.connection = connection
            with self._lock:
                self._all.append(connection)
        return connection

    def get(self, path: str) -> Mapping[str, Any] | None:
        for fresh in (False, True):  # a kept-alive connection the engine closed: once more
            try:
                connection = self._connection(fresh)
                connection.request("GET", self._prefix + path)
                response = connection.getresponse()
                body = response.read()
            except (OSError, http.client.HTTPException):
                continue
            if response.status == 404:
                return None
            if response.status != 200:
                raise _NotPlain
            data = json.loads(body)
            if not isinstance(data, Mapping):
                raise _NotPlain
            return data
        raise _NotPlain

    def stream(self, path: str, chunk: int) -> Iterator[bytes] | None:
        """A ``GET``'s body in chunks, on a connection of its own (closed with the iterator);
        None for anything but a 200, which the SDK then asks again to say why. http.client
        reads the engine's chunked body about 8 times as fast as requests does here (64 MiB:
        0.2 s against 1.7 s)."""
        connection = _UnixConnection(self._path)
        try:
            connection.request("GET", self._prefix + path)
            response = connection.getresponse()
        except (OSError, http.client.HTTPException):
            connection.close()
            return None
        if response.status != 200:
            connection.close()
            return None

        def body() -> Iterator[bytes]:
            try:
                while block := response.read(chunk):
                    yield block
            finally:
                connection.close()

        return body()

    def close(self) -> None:
        with self._lock:
            for connection in self._all:
                with contextlib.suppress(Exception):
                    connection.close()
            self._all.clear()


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str) -> None:
        super().__init__("localhost", timeout=120)
        self._socket_path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self._socket_path)
        self.sock = sock


def _config_of(data: Mapping[str, Any]) -> ContainerConfig:
    """A container's inspect data in ``drift``'s normal form."""
    config = data.get("Config") or {}
    host = data.get("HostConfig") or {}
    policy = host.get("RestartPolicy") or {}
    restart = policy.get("Name") or "no"
    if restart == "on-failure" and policy.get("MaximumRetryCount"):
        restart += f":{policy['MaximumRetryCount']}"
    ports = [
        f"{b.get('HostIp') or ''}:{b.get('HostPort') or ''}->{key}"
        for key, bindings in (host.get("PortBindings") or {}).items()
        for b in bindings or [{}]
    ]
    mounts = [
        f"{m.get('Name') if m.get('Type') == 'volume' else m.get('Source')}:"
        f"{m.get('Destination')}" + _mount_modes(m)
        for m in data.get("Mounts") or []
        if m.get("Type") == "bind"
        or (m.get("Type") == "volume" and not L.ANONYMOUS_VOLUME.fullmatch(m.get("Name") or ""))
    ]
    networks = (data.get("NetworkSettings") or {}).get("Networks") or {}
    return ContainerConfig(
        image_id=data.get("Image", ""),
        command=tuple(config.get("Cmd") or ()),
        entrypoint=tuple(config.get("Entrypoint") or ()),
        environment=_env(config.get("Env")),
        ports=tuple(sorted(ports)),
        mounts=tuple(sorted(mounts)),
        networks={
            name: tuple(sorted(set((n or {}).get("Aliases") or ()))) for name, n in networks.items()
        },
        restart=restart,
        healthcheck=healthcheck_text(*_healthcheck(config.get("Healthcheck"))),
        healthcheck_request=healthcheck_request(*_healthcheck(config.get("Healthcheck"))),
        user=config.get("User") or "",
        working_dir=config.get("WorkingDir") or "",
        labels=config.get("Labels") or {},
        mem_limit=int(host.get("Memory") or 0),
        cpus=(host.get("NanoCpus") or 0) / NANO,
        privileged=bool(host.get("Privileged")),
        cap_add=tuple(sorted(host.get("CapAdd") or ())),
        cap_drop=tuple(sorted(host.get("CapDrop") or ())),
        tmpfs=tuple(sorted(f"{k}:{v}" if v else k for k, v in (host.get("Tmpfs") or {}).items())),
        extra_hosts=tuple(sorted(host.get("ExtraHosts") or ())),
        options=_options_of(config, host),
        exposed=tuple(sorted(config.get("ExposedPorts") or ())),
        anonymous={
            m["Destination"]: m["Name"]
            for m in data.get("Mounts") or []
            if m.get("Type") == "volume" and L.ANONYMOUS_VOLUME.fullmatch(m.get("Name") or "")
        },
        addresses={
            name: {
                k: v
                for k, v in (
                    ("ipv4_address", ((n or {}).get("IPAMConfig") or {}).get("IPv4Address")),
                    ("ipv6_address", ((n or {}).get("IPAMConfig") or {}).get("IPv6Address")),
                )
                if v
            }
            for name, n in networks.items()
            if ((n or {}).get("IPAMConfig") or {}).get("IPv4Address")
            or ((n or {}).get("IPAMConfig") or {}).get("IPv6Address")
        },
    )


def _relabelled(mount: Mount) -> bool:
    return bool({"z", "Z"} & set(mount.options))


def _mount_modes(mount: Mapping[str, Any]) -> str:
    """ ":ro", ":z", ":ro,Z,rshared" or "" as a request writes them (``drift.mount_text``):
    the relabel from the mode, a bind's propagation unless the default. Docker reports "z"
    on every volume it labels itself, asked or not, so a volume's "z" is left out."""
    modes = [] if mount.get("RW", True) else ["ro"]
    relabels = ("z", "Z") if mount.get("Type") == "bind" else ("Z",)
    modes += [m for m in (mount.get("Mode") or "").split(",") if m in relabels]
    if mount.get("Type") == "bind" and mount.get("Propagation") not in (None, "", "rprivate"):
        modes.append(str(mount["Propagation"]))
    return ":" + ",".join(modes) if modes else ""


def _ipam(ipam: Mapping[str, Any]) -> docker.types.IPAMConfig:
    """Compose's ``ipam:`` (driver, config: [{subnet, ip_range, gateway, aux_addresses}],
    options) as the engine takes it."""
    pools = [
        docker.types.IPAMPool(
            subnet=pool.get("subnet"),
            iprange=pool.get("ip_range"),
            gateway=pool.get("gateway"),
            aux_addresses=pool.get("aux_addresses"),
        )
        for pool in ipam.get("config") or []
    ]
    return docker.types.IPAMConfig(
        driver=ipam.get("driver") or "default", pool_configs=pools, options=ipam.get("options")
    )


def _tar_of(path: str, data: bytes, mode: int) -> bytes:
    """A tar archive holding ``path`` (relative to /) and its folders, for ``put_archive``."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        parts = path.strip("/").split("/")
        for depth in range(1, len(parts)):
            folder = tarfile.TarInfo("/".join(parts[:depth]))
            folder.type, folder.mode = tarfile.DIRTYPE, 0o755
            archive.addfile(folder)
        entry = tarfile.TarInfo("/".join(parts))
        entry.size, entry.mode = len(data), mode
        archive.addfile(entry, io.BytesIO(data))
    return buffer.getvalue()


def _stop_timeout(seconds: float | None) -> int | None:
    """Whole seconds, at least 1 unless 0 was asked (stop at once)."""
    if seconds is None:
        return None
    return 0 if seconds == 0 else max(1, round(seconds))


def _host_options(spec: ContainerSpec) -> dict[str, Any]:
    """The run options that live in the engine's HostConfig, as docker-py names them."""
    o = spec.options
    found: dict[str, Any] = {}
    if "ulimits" in o:
        found["ulimits"] = [
            docker.types.Ulimit(name=n, soft=v["soft"], hard=v["hard"])
            for n, v in o["ulimits"].items()
        ]
    if "logging" in o:
        found["log_config"] = docker.types.LogConfig(
            type=o["logging"].get("driver", "json-file"), config=o["logging"].get("options") or {}
        )
    if "devices" in o:
        found["devices"] = list(o["devices"])
    if "cgroup" in o:
        found["cgroupns"] = o["cgroup"]
    renamed = {
        "shm_size": "shm_size", "dns": "dns", "dns_search": "dns_search", "dns_opt": "dns_opt",
        "sysctls": "sysctls", "security_opt": "security_opt", "read_only": "read_only",
        "pid": "pid_mode", "ipc": "ipc_mode", "group_add": "group_add",
        "mem_reservation": "mem_reservation", "memswap_limit": "memswap_limit",
        "pids_limit": "pids_limit", "oom_score_adj": "oom_score_adj",
        "oom_kill_disable": "oom_kill_disable", "cpu_shares": "cpu_shares",
        "cpuset": "cpuset_cpus", "userns_mode": "userns_mode", "runtime": "runtime",
        "cgroup_parent": "cgroup_parent", "storage_opt": "storage_opt",
        "device_cgroup_rules": "device_cgroup_rules",
    }  # fmt: skip
    for key, argument in renamed.items():
        if key in o:
            value = o[key]
            found[argument] = (
                list(value)
                if isinstance(value, tuple)
                else dict(value)
                if isinstance(value, Mapping)
                else value
            )
    return found


#: what the engine reports for an option nobody set (left out of the comparison)
_ENGINE_DEFAULTS: dict[str, Any] = {
    "shm_size": 64 * 1024**2,
    "ipc": ("private", "shareable"),
    "cgroup": ("host", "private"),
    "runtime": "runc",
    "logging": {"driver": "json-file"},
}


def _options_of(config: Mapping[str, Any], host: Mapping[str, Any]) -> dict[str, Any]:
    """The run options a container has, in their request form (``infranb.core.options``);
    an engine default is left out, as a request that does not set it."""
    log = host.get("LogConfig") or {}
    logging: dict[str, Any] = {"driver": log.get("Type") or "json-file"}
    if log.get("Config"):
        logging["options"] = dict(sorted(log["Config"].items()))
    mode = host.get("NetworkMode") or ""
    found: dict[str, Any] = {
        "network_mode": mode if mode in ("host", "none") or mode.startswith("container:") else None,
        "ulimits": {
            u["Name"]: {"soft": u["Soft"], "hard": u["Hard"]}
            for u in sorted(host.get("Ulimits") or [], key=lambda u: u["Name"])
        },
        "shm_size": host.get("ShmSize") or None,
        "dns": tuple(host.get("Dns") or ()),
        "dns_search": tuple(host.get("DnsSearch") or ()),
        "dns_opt": tuple(host.get("DnsOptions") or ()),
        "sysctls": dict(sorted((host.get("Sysctls") or {}).items())),
        "security_opt": tuple(host.get("SecurityOpt") or ()),
        "tty": config.get("Tty") or None,
        "stdin_open": config.get("OpenStdin") or None,
        "read_only": host.get("ReadonlyRootfs") or None,
        "logging": logging,
        "devices": tuple(
            ":".join(
                p for p in (d["PathOnHost"], d["PathInContainer"], d.get("CgroupPermissions")) if p
            )
            for d in host.get("Devices") or []
        ),
        "pid": host.get("PidMode") or None,
        "ipc": host.get("IpcMode") or None,
        "cgroup": host.get("CgroupnsMode") or None,
        "group_add": tuple(host.get("GroupAdd") or ()),
        "mem_reservation": host.get("MemoryReservation") or None,
        # Without one, the engine gives twice the memory limit.
        "memswap_limit": None
        if host.get("MemorySwap") in (0, 2 * (host.get("Memory") or 0))
        else host.get("MemorySwap"),
        "pids_limit": host.get("PidsLimit") or None,
        "oom_score_adj": host.get("OomScoreAdj") or None,
        "oom_kill_disable": host.get("OomKillDisable") or None,
        "cpu_shares": host.get("CpuShares") or None,
        "cpuset": host.get("CpusetCpus") or None,
        "domainname": config.get("Domainname") or None,
        "userns_mode": host.get("UsernsMode") or None,
        "runtime": host.get("Runtime") or None,
        "cgroup_parent": host.get("CgroupParent") or None,
        "storage_opt": dict(host.get("StorageOpt") or {}),
        "device_cgroup_rules": tuple(host.get("DeviceCgroupRules") or ()),
    }
    return {k: v for k, v in found.items() if is_set(v) and not _is_default(k, v)}


def _is_default(key: str, value: Any) -> bool:
    default = _ENGINE_DEFAULTS.get(key)
    return value == default or (isinstance(default, tuple) and value in default)


def _env(items: Sequence[str] | None) -> dict[str, str]:
    return dict(item.partition("=")[::2] for item in items or [])


def _healthcheck(raw: Mapping[str, Any] | None) -> tuple[Any, ...]:
    """The engine's healthcheck (nanosecond timings) as the arguments of ``drift``'s
    ``healthcheck_text`` and ``healthcheck_request`` (seconds); ``((),)`` for none."""
    if not raw or not raw.get("Test"):
        return ((),)
    return (
        tuple(raw["Test"]),
        (raw.get("Interval") or 0) / NANO,
        (raw.get("Timeout") or 0) / NANO,
        raw.get("Retries") or None,
        (raw.get("StartPeriod") or 0) / NANO,
    )


def _health_interval(raw: Mapping[str, Any] | None) -> float | None:
    test = (raw or {}).get("Test") or []
    if not test or test == ["NONE"]:
        return None
    return (raw or {}).get("Interval", 0) / NANO or HEALTHCHECK_DEFAULTS["interval"]


def _nanos(seconds: float | None) -> int | None:
    return None if seconds is None else int(seconds * NANO)


def _as_list(value: tuple[str, ...] | str | None) -> list[str] | str | None:
    return list(value) if isinstance(value, tuple) else value


def _node(raw: Mapping[str, Any]) -> NodeInfo:
    spec, status = raw.get("Spec") or {}, raw.get("Status") or {}
    description = raw.get("Description") or {}
    manager = raw.get("ManagerStatus") or {}
    return NodeInfo(
        id=str(raw.get("ID", "")),
        hostname=str(description.get("Hostname", "")),
        role=str(spec.get("Role", "")),
        availability=str(spec.get("Availability", "")),
        state=str(status.get("State", "")),
        address=str(status.get("Addr", "")),
        leader=bool(manager.get("Leader", False)),
        engine_version=str((description.get("Engine") or {}).get("EngineVersion", "")),
        labels=spec.get("Labels") or {},
    )


def _service(raw: Mapping[str, Any]) -> ServiceInfo:
    spec = raw.get("Spec") or {}
    update = raw.get("UpdateStatus") or {}
    return ServiceInfo(
        id=str(raw.get("ID", "")),
        name=str(spec.get("Name", "")),
        version=int((raw.get("Version") or {}).get("Index", 0)),
        labels=spec.get("Labels") or {},
        spec=spec,
        previous_spec=raw.get("PreviousSpec"),
        update_state=update.get("State"),
        update_message=str(update.get("Message", "")),
    )


def _task(raw: Mapping[str, Any]) -> TaskInfo:
    status = raw.get("Status") or {}
    container = status.get("ContainerStatus") or {}
    exit_code = container.get("ExitCode")
    container_spec = (raw.get("Spec") or {}).get("ContainerSpec") or {}
    image = str(container_spec.get("Image", ""))
    return TaskInfo(
        id=str(raw.get("ID", "")),
        service_id=str(raw.get("ServiceID", "")),
        slot=raw.get("Slot"),
        node_id=str(raw.get("NodeID", "")),
        state=str(status.get("State", "")),
        desired_state=str(raw.get("DesiredState", "")),
        message=str(status.get("Message", "")),
        error=str(status.get("Err", "")),
        exit_code=int(exit_code) if exit_code is not None else None,
        container_id=str(container.get("ContainerID", "")),
        image=image.partition("@")[0],
        created=_parse_time(raw.get("CreatedAt")),
        updated=_parse_time(raw.get("UpdatedAt")),
        spec_hash=str((container_spec.get("Labels") or {}).get(L.SPEC_HASH, "")),
    )


def _service_arguments(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The SDK's keyword arguments for a service spec (API JSON); it accepts plain dicts."""
    return {
        "task_template": spec["TaskTemplate"],
        "name": spec["Name"],
        "labels": spec.get("Labels"),
        "mode": spec.get("Mode"),
        "update_config": spec.get("UpdateConfig"),
        "rollback_config": spec.get("RollbackConfig"),
        "endpoint_spec": spec.get("EndpointSpec"),
    }
