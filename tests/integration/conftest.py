"""Integration fixtures: a fast manager, a per-test stack, and exact cleanup of what tests made."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from infranb import InfrastructureManager, InfrastructureManagerConfig, InfrastructureOperation
from infranb.core.errors import InfraError
from infranb.engines.docker import DockerEngine
from infranb.manager import down_operation
from tests.conftest import Census, raw_api

BASE = "infranb-demo/base:1"
WEB = "infranb-demo/web:1"
REGISTRY = "127.0.0.1:5000"
AUTH_REGISTRY = "127.0.0.1:5001"


def fast_config(**overrides: object) -> InfrastructureManagerConfig:
    settings: dict[str, object] = {
        "health_check_interval": 0.3,
        "health_check_retries": 3,
        "container_start_timeout": 20.0,
        "stop_timeout": 2.0,
        # A short "stayed up" window keeps CI from growing a second per bring-up; the
        # tests of the rule set their own.
        "min_uptime": 0.2,
        # A teardown of a test's stack would otherwise snapshot its volumes into the
        # user's home; the tests of snapshots turn them on.
        "snapshot_before": (),
    }
    settings.update(overrides)
    return InfrastructureManagerConfig(**settings)  # type: ignore[arg-type]


@dataclass
class Tracker:
    """Names a test created outside infranb, plus its stacks; all removed at teardown."""

    engine: DockerEngine
    stacks: list[str] = field(default_factory=list)
    containers: list[str] = field(default_factory=list)
    networks: list[str] = field(default_factory=list)
    volumes: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)

    def cleanup(self) -> None:
        api = raw_api()
        for stack in self.stacks:
            for label in ({"infranb.stack": stack}, {"com.docker.compose.project": stack}):
                for c in self.engine.list_containers(labels=label):
                    self.containers.append(c.id)
                self.networks += [n.id for n in self.engine.list_networks(labels=label)]
                self.volumes += [v.name for v in self.engine.list_volumes(labels=label)]
        for ref in self.containers:
            with contextlib.suppress(Exception):
                api.remove_container(ref, force=True)
        for ref in self.networks:
            with contextlib.suppress(Exception):
                api.remove_network(ref)
        for ref in self.volumes:
            with contextlib.suppress(Exception):
                api.remove_volume(ref, force=True)
        for ref in self.images:
            with contextlib.suppress(Exception):
                api.remove_image(ref, force=True)
        # A push or pull leaves the reference ``repo@sha256:...`` after the tag is gone.
        repos = {_repository(ref) for ref in self.images if not ref.startswith("sha256:")}
        for image in api.images() if repos else ():
            for digest in image.get("RepoDigests") or ():
                if digest.split("@", 1)[0] in repos:
                    with contextlib.suppress(Exception):
                        api.remove_image(digest, force=True)


def _repository(ref: str) -> str:
    """``host:port/name`` of ``host:port/name:tag`` (a registry's port is not a tag)."""
    name, _, tag = ref.rpartition(":")
    return name if name and "/" not in tag else ref


@pytest.fixture
def tracker(engine: DockerEngine) -> Iterator[Tracker]:
    tracked = Tracker(engine)
    yield tracked
    tracked.cleanup()


@pytest.fixture
def stack(uid: str, tracker: Tracker) -> str:
    tracker.stacks.append(uid)
    return uid


@pytest.fixture
def manager(engine: DockerEngine) -> Iterator[InfrastructureManager]:
    with InfrastructureManager(config=fast_config()) as m:
        yield m


@pytest.fixture(scope="session")
def demo_images(engine: DockerEngine) -> None:
    for image in (BASE, WEB):
        if engine.image_id(image) is None:
            pytest.fail(f"{image} is missing: run scripts/build-images.sh")


def teardown(
    stack: str, *, volumes: bool = False, dry_run: bool = False
) -> InfrastructureOperation:
    """The teardown of ``stack``: the request ``manager.down`` runs."""
    return down_operation(stack, volumes=volumes, dry_run=dry_run)


def foreign_container(engine: DockerEngine, tracker: Tracker, name: str, **kwargs: object) -> str:
    """A container infranb did not create (no infranb labels)."""
    created = raw_api().create_container(BASE, name=name, **kwargs)
    tracker.containers.append(created["Id"])
    raw_api().start(created["Id"])
    return str(created["Id"])


def registry_up(port: int) -> bool:
    import urllib.request

    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=2)
        return True
    except urllib.error.HTTPError as e:
        return e.code == 401
    except OSError:
        return False


__all__ = ["Census", "InfraError"]
