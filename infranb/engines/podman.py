"""``PodmanEngine``: Podman through its Docker-compatible API, and everything it does
differently from Docker, in this one module.

Podman serves the Docker API (``podman system service``), so ``DockerEngine`` does most of
the work; what differs, measured on Podman 4.3.1 (README, "Podman"):

- **Health checks** run from systemd timers, and without a systemd session (containers, CI,
  minimal VMs) nothing runs them: ``runs_healthchecks`` is False and ``run_healthcheck``
  runs one check through the libpod API, which updates the container's health state.
- **Image names**: images made or loaded locally are ``localhost/NAME:TAG``; a short name
  (``NAME:TAG``) finds them as the CLI does, and lists show names as Docker writes them
  (``localhost/`` and ``docker.io/library/`` left out).
- **The default network** is ``podman``; infranb (like the Docker API's requests) calls the
  engine's default network ``bridge``, and this module translates both ways.
- **Errors**: Podman answers 500 where Docker answers 409 (a taken name, a container in
  the wrong state), and says a missing platform in its own words.
- **Swarm**: Podman has none (``swarm_role`` is ``none``; ``infranb.core.swarm.NO_SWARM``
  is what Swarm operations say).
"""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import docker.errors

from infranb.core.drift import ContainerConfig, ImageConfig
from infranb.core.errors import Conflict, EngineError, NotFound, NotSwarmManager, PullFailed
from infranb.core.records import (
    ContainerDetails,
    DiskUse,
    ImageInfo,
    NodeInfo,
    PastEvent,
    PullProgress,
    StatsSample,
)
from infranb.core.specs import ContainerSpec
from infranb.core.swarm import NO_SWARM
from infranb.engines.docker import DockerEngine, past_event

#: Podman's name for the engine's default network, which the Docker API calls "bridge"
DEFAULT_NETWORK = "podman"

#: Docker's event names -> Podman's, and back
PODMAN_ACTIONS = {"die": "died"}
DOCKER_ACTIONS = {v: k for k, v in PODMAN_ACTIONS.items()}
#: the libpod API version the health-check endpoint is asked under (Podman >= 4.0)
LIBPOD = "/v4.0.0/libpod"

#: how Podman says a name is taken or an object is in the wrong state (it answers 500)
_CONFLICT_WORDS = (
    "already in use",
    "already exists",
    "container state improper",
    "is being used",
    "has associated containers",
)
#: Podman's words for a platform a manifest list lacks
_NO_PLATFORM = re.compile(
    r'no image found in manifest list for architecture (\S+?), variant "[^"]*", OS (\S+)'
)

#: prefixes Podman writes that Docker does not: local images, Docker Hub's official images
_QUALIFIED = re.compile(r"^(?:localhost/|docker\.io/library/|docker\.io/)")


def short_name(ref: str) -> str:
    """An image name as Docker writes it: ``localhost/web:1`` and
    ``docker.io/library/redis:7`` are ``web:1`` and ``redis:7``; others are kept."""
    return _QUALIFIED.sub("", ref, count=1)


def _engine_network(name: str) -> str:
    return DEFAULT_NETWORK if name == "bridge" else name


def _api_network(name: str) -> str:
    return "bridge" if name == DEFAULT_NETWORK else name


class PodmanEngine(DockerEngine):
    """Podman over its Docker-compatible API (``podman system service``)."""

    def kind(self) -> str:
        return "podman"

    def registry_digest(self, ref: str) -> str:
        # Podman 4.3's compatible API has no /distribution/{name}/json, and libpod's
        # manifest inspect gives no digest of a single-platform image: nothing to read the
        # registry's digest with, short of a pull.
        raise EngineError(
            f"asking the registry for {ref}: this Podman has no distribution endpoint, so a "
            "newer image cannot be found without pulling it"
        )

    def _name_filter(self, names: Sequence[str]) -> str:
        # Podman matches the regular expression on the name without Docker's "/".
        return "^(" + "|".join(re.escape(n) for n in names) + ")$"

    # ------------------------------------------------------------------ errors

    def _is_conflict(self, e: docker.errors.APIError) -> bool:
        # Podman answers 500 where Docker answers 409 for a taken name or a wrong state.
        return super()._is_conflict(e) or any(
            words in str(e.explanation or "") for words in _CONFLICT_WORDS
        )

    def _explain(self, e: docker.errors.APIError) -> str:
        text = super()._explain(e)
        if match := _NO_PLATFORM.search(text):
            return f"no matching manifest for {match[2]}/{match[1]} in the manifest list entries"
        return text

    def pull_image(
        self,
        ref: str,
        on_progress: Callable[[PullProgress], None] | None = None,
        *,
        platform: str | None = None,
    ) -> str:
        try:
            return super().pull_image(ref, on_progress, platform=platform)
        except PullFailed as e:
            # Podman's pull stream says a missing platform in its own words.
            if match := _NO_PLATFORM.search(str(e)):
                raise PullFailed(
                    f"pulling {ref}: no matching manifest for {match[2]}/{match[1]} in the "
                    "manifest list entries",
                    resource=ref,
                ) from None
            raise

    # ------------------------------------------------------------------ health

    def runs_healthchecks(self) -> bool:
        """Podman runs health checks only from systemd timers, which a host without a
        systemd session (containers, CI, minimal VMs) does not have: infranb runs them."""
        return False

    def archives_keep_owners(self) -> bool:
        """Measured on 4.3: a file owned by uid 1000 reads back from the archive endpoint
        as uid 0, and one written with uid 1000 lands as uid 0 (compat and libpod alike)."""
        return False

    def run_healthcheck(self, ref: str) -> str | None:
        """Run the container's health check once (libpod's healthcheck endpoint), which
        updates its health state; return the state, ``None`` when it has no healthcheck or
        is not running (nothing to run)."""
        path = f"{LIBPOD}/containers/{urllib.parse.quote(ref, safe='')}/healthcheck"
        with self._errors(f"running the health check of {ref}", ref):
            response = self._api.get(self._api.base_url + path)
        if response.status_code == 409:  # no healthcheck defined, or not running
            return None
        if response.status_code == 404:
            if self.inspect_container(ref) is None:
                missing = f"running the health check of {ref}: no such container"
                raise NotFound(missing, resource=ref)
            return None
        if response.status_code >= 400:
            raise EngineError(
                f"running the health check of {ref}: {_message(response)}", resource=ref
            )
        status = (response.json() or {}).get("Status")
        return str(status) if status else None

    def container_stats_series(self, ref: str, samples: int) -> list[StatsSample]:
        """From libpod's stats stream at a one-second interval (the compatible endpoint
        streams every five seconds here); its first answer averages since the start, so
        it is not one of them."""
        url = self._api.base_url + f"{LIBPOD}/containers/stats"
        params = {"containers": ref, "stream": True, "interval": 1}
        found: list[StatsSample] = []
        with self._errors(f"reading stats of {ref}", ref):
            response = self._api._get(url, params=params, stream=True)
            self._api._raise_for_status(response)
            try:
                for number, line in enumerate(response.iter_lines()):
                    answer = json.loads(line)
                    if answer.get("Error"):
                        message = f"reading stats of {ref}: {answer['Error']}"
                        raise EngineError(message, resource=ref)
                    if number > 0:
                        found += [_libpod_sample(raw) for raw in answer.get("Stats") or ()]
                    if len(found) >= samples:
                        break
            finally:
                response.close()
        return found[:samples]

    def update_container(self, ref: str, changes: Mapping[str, Any]) -> None:
        """Not on Podman 4.3: its compatible API has no update, and libpod's answers 201
        while what inspect reports stays as it was (measured). Said in one sentence, with
        what does change it."""
        raise EngineError(
            f"updating {ref}: Podman does not change a container's {', '.join(changes)} in "
            "place; a recreate does (orchestrate the stack with the new values)",
            resource=ref,
        )

    def container_top(self, ref: str) -> tuple[list[str], list[list[str]]]:
        """Podman runs ``ps`` in the container: its header comes as one title and each row
        as one string (split here as ``ps`` aligned them); a container that is not running
        answers with nothing."""
        with self._errors(f"listing the processes of {ref}", ref):
            response = self._api._get(self._api._url("/containers/{0}/top", ref))
            self._api._raise_for_status(response)
        if not response.text.strip():
            raise Conflict(
                f"listing the processes of {ref}: container is not running", resource=ref
            )
        answer = response.json()
        titles = [str(t) for t in answer.get("Titles") or []]
        rows = [[str(v) for v in p] for p in answer.get("Processes") or []]
        if len(titles) == 1 and len(titles[0].split()) > 1:
            titles = titles[0].split()
            rows = [row[0].split(None, len(titles) - 1) if len(row) == 1 else row for row in rows]
        return titles, rows

    def disk_usage(self) -> list[DiskUse]:
        """Podman 4.3's disk usage names each image by its tag alone (``1`` for
        ``localhost/app:1``): images are named from the image list instead."""
        rows = super().disk_usage()
        names = {i.id.removeprefix("sha256:"): ", ".join(i.tags) for i in self.list_images()}
        return [
            replace(r, name=names.get(r.id.removeprefix("sha256:")) or r.name)
            if r.kind == "image"
            else r
            for r in rows
        ]

    def past_events(
        self,
        since: datetime,
        until: datetime,
        filters: Mapping[str, Sequence[str]] | None = None,
    ) -> list[PastEvent]:
        """From libpod's events (its compatible endpoint gives only Podman's own events of a
        window here), in Docker's words: ``died`` is ``die`` with its ``exitCode``."""
        wanted = {
            key: [PODMAN_ACTIONS.get(v, v) for v in values] if key == "event" else list(values)
            for key, values in (filters or {}).items()
        }
        # Podman 4.3 answers a window with an end ("until") with almost nothing: the events
        # since its start are read, and the end is applied here.
        params = {
            "since": f"{since.timestamp():.3f}",
            "stream": "false",
            "filters": json.dumps(wanted),
        }
        with self._errors("reading engine events"):
            response = self._api._get(self._api.base_url + f"{LIBPOD}/events", params=params)
            self._api._raise_for_status(response)
        found = []
        for line in response.text.splitlines():
            if not line.strip():
                continue
            event = past_event(json.loads(line))
            attributes = dict(event.attributes)
            code = attributes.pop("containerExitCode", None)
            action = DOCKER_ACTIONS.get(event.action, event.action)
            if action == "die" and code is not None:
                attributes["exitCode"] = code
            found.append(replace(event, action=action, attributes=attributes))
        return [e for e in found if since <= e.time <= until]

    # ------------------------------------------------------------------ names

    def inspect_container(self, ref: str) -> ContainerDetails | None:
        details = super().inspect_container(ref)
        if details is None:
            return None
        return replace(details, networks=tuple(_api_network(n) for n in details.networks))

    def _config_of(self, data: Mapping[str, Any]) -> ContainerConfig:
        config = super()._config_of(data)
        # Podman adds HOSTNAME (the container's hostname) to the environment it reports.
        hostname = (data.get("Config") or {}).get("Hostname")
        environment = {
            k: v for k, v in config.environment.items() if not (k == "HOSTNAME" and v == hostname)
        }
        return _docker_names(replace(config, environment=environment))

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
        return super().create_container(
            spec,
            environment,
            labels,
            [_engine_network(n) for n in networks],
            name=name,
            keep_volumes=keep_volumes,
            aliases=aliases,
        )

    def network_containers(self, ref: str) -> list[str]:
        return super().network_containers(_engine_network(ref))

    def connect(self, network: str, container: str, aliases: Sequence[str] = ()) -> None:
        super().connect(_engine_network(network), container, aliases)

    def disconnect(self, network: str, container: str) -> None:
        super().disconnect(_engine_network(network), container)

    def image_config(self, ref: str) -> ImageConfig | None:
        """The image's defaults, with the variables Podman adds to each of its containers."""
        image = super().image_config(ref)
        if image is None:
            return None
        return replace(image, environment={**ENGINE_ENVIRONMENT, **image.environment})

    def list_images(self) -> list[ImageInfo]:
        return [
            replace(image, tags=tuple(dict.fromkeys(short_name(t) for t in image.tags)))
            for image in super().list_images()
        ]

    # ------------------------------------------------------------------ swarm

    def swarm_role(self) -> str:
        return "none"  # what Swarm operations say here: infranb.core.swarm.NO_SWARM

    def list_nodes(self) -> list[NodeInfo]:
        raise NotSwarmManager(NO_SWARM)


#: the tmpfs mounts Podman adds to a read-only container (its ``read_only_tmpfs``)
_READ_ONLY_TMPFS = frozenset(
    f"{path}:rw,rprivate,nosuid,nodev,tmpcopyup" for path in ("/run", "/tmp", "/var/tmp")
)

#: run options Podman reports as its defaults where Docker reports nothing
_DEFAULT_OPTIONS = {"pid": "private", "runtime": "oci"}

#: variables Podman gives every container (``container`` always; ``TERM`` from its
#: containers.conf unless the image sets one)
ENGINE_ENVIRONMENT = {"container": "podman", "TERM": "xterm"}


def _docker_names(config: ContainerConfig) -> ContainerConfig:
    """A container's configuration as Docker reports the same request."""
    options = {
        key: value for key, value in config.options.items() if _DEFAULT_OPTIONS.get(key) != value
    }
    if isinstance(options.get("ulimits"), Mapping):
        options["ulimits"] = {
            name.removeprefix("RLIMIT_").lower(): limit
            for name, limit in options["ulimits"].items()
        }
    return replace(
        config,
        networks={_api_network(n): aliases for n, aliases in config.networks.items()},
        tmpfs=tuple(t for t in config.tmpfs if t not in _READ_ONLY_TMPFS),
        options=options,
        # Podman's Docker API does not report sysctls or log options; it fills ulimits,
        # the pids limit and the shm size from its containers.conf, which it does not tell.
        unreported=frozenset({"sysctls", "logging"}),
        engine_filled=frozenset({"ulimits", "pids_limit", "shm_size"}),
    )


def _message(response: Any) -> str:
    try:
        return str((response.json() or {}).get("message") or response.text)
    except ValueError:
        return str(response.text)


def _libpod_sample(raw: dict[str, Any]) -> StatsSample:
    """A libpod stats entry in Docker's terms (CPU % of one CPU, as ``docker stats``)."""
    limit = int(raw.get("MemLimit") or 0)
    nanos = raw.get("SystemNano")
    return StatsSample(
        name=str(raw.get("Name") or ""),
        cpu_percent=round(float(raw.get("CPU") or 0.0), 2),
        memory_bytes=int(raw.get("MemUsage") or 0),
        memory_limit_bytes=limit,
        memory_percent=round(float(raw.get("MemPerc") or 0.0), 2) if limit else None,
        net_rx_bytes=int(raw.get("NetInput") or 0),
        net_tx_bytes=int(raw.get("NetOutput") or 0),
        block_read_bytes=int(raw.get("BlockInput") or 0),
        block_write_bytes=int(raw.get("BlockOutput") or 0),
        pids=int(raw["PIDs"]) if raw.get("PIDs") is not None else None,
        read_at=datetime.fromtimestamp(nanos / 1e9, UTC) if nanos else None,
    )
