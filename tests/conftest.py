"""Shared fixtures. Integration tests use a real engine; with CI=true a missing one fails."""

from __future__ import annotations

import functools
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from infranb.core.errors import InfraError
from infranb.engines.base import Engine
from infranb.engines.docker import DockerEngine
from tests.engines import PodmanService, temporary_root
from tests.swarm_lab import SwarmLab
from tests.widget_helpers import strict_callbacks

__all__ = ["strict_callbacks"]

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Under CI a skip is a failure: a missing engine, browser or registry must not pass."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if IN_CI and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped under CI (a skip is a failure here): {report.longrepr}"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/integration" in str(item.fspath) or "tests/browser" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def engine() -> Iterator[DockerEngine]:
    """The real engine; skipped locally when none runs, a failure in CI."""
    engine = DockerEngine(max_pool_size=16)
    try:
        engine.info()
    except InfraError as e:
        if IN_CI:
            pytest.fail(f"CI needs a Docker engine: {e}")
        pytest.skip(f"no Docker engine: {e}")
    yield engine
    engine.close()


@pytest.fixture(scope="session")
def podman_service() -> Iterator[PodmanService]:
    """``podman system service`` of this test session (tests/engines.py), stopped by pid;
    skipped locally when podman is not installed, a failure in CI."""
    import shutil

    if shutil.which("podman") is None:
        if IN_CI:
            pytest.fail("CI needs podman (scripts/setup.sh installs it)")
        pytest.skip("podman is not installed")
    service = PodmanService(temporary_root("inbt-podman-"))
    service.start()
    try:
        yield service
    finally:
        service.stop()


@pytest.fixture(scope="session")
def podman(podman_service: PodmanService) -> Iterator[Engine]:
    """An engine of Podman's kind, as a manager connects to it (kind read from its answer)."""
    from infranb.core.config import InfrastructureManagerConfig
    from infranb.engines import connect

    engine = connect(InfrastructureManagerConfig(docker_host=podman_service.host))
    yield engine
    engine.close()


@dataclass(frozen=True)
class Census:
    """Every container, network, volume and image (ids and tags) on the engine."""

    containers: frozenset[str]
    networks: frozenset[str]
    volumes: frozenset[str]
    images: frozenset[str]

    @classmethod
    def take(cls, engine: Engine) -> Census:
        return cls(
            frozenset(c.id for c in engine.list_containers()),
            frozenset(n.id for n in engine.list_networks()),
            frozenset(v.name for v in engine.list_volumes()),
            frozenset(ref for i in engine.list_images() for ref in (i.id, *i.tags)),
        )

    def new_since(self, before: Census) -> dict[str, list[str]]:
        """What is here now and was not before, by kind (empty when nothing)."""
        found = {
            kind: sorted(getattr(self, kind) - getattr(before, kind))
            for kind in ("containers", "networks", "volumes", "images")
        }
        return {kind: refs for kind, refs in found.items() if refs}


@pytest.fixture
def census(engine: DockerEngine) -> Iterator[Census]:
    """Fails the test that leaves anything on the engine that was not there before it."""
    before = Census.take(engine)
    yield before
    left = Census.take(engine).new_since(before)
    if left:
        pytest.fail(f"the test left resources on the engine: {left}", pytrace=False)


@pytest.fixture(autouse=True)
def _census_around_engine_tests(request: pytest.FixtureRequest) -> None:
    """Every test that uses the real engine takes a census before and after."""
    wanted = "engine" in request.fixturenames and "census" not in request.fixturenames
    if wanted and isinstance(request.getfixturevalue("engine"), DockerEngine):
        request.getfixturevalue("census")


@pytest.fixture
def uid() -> str:
    """A short unique prefix for names of resources one test creates."""
    return f"inbt-{uuid.uuid4().hex[:8]}"


@functools.cache
def raw_api() -> Any:
    """docker-py's low-level client, for tests that set up what infranb must not create
    (foreign containers, pushes). infranb's own engine keeps its client private."""
    import docker

    return docker.from_env(version="auto").api


@dataclass(frozen=True)
class MainJob:
    """One run of the README's main job (``scripts/runbook.sh``)."""

    returncode: int
    stdout: str
    stderr: str
    report: Path | None
    executed: Path | None


@pytest.fixture(scope="session")
def main_job(engine: DockerEngine) -> Iterator[MainJob]:
    """The main job, run once per session on its own stack and port; it must leave the
    engine as it found it (its notebook tears its stack down)."""
    import re
    import subprocess

    repo = Path(__file__).parents[1]
    before = Census.take(engine)
    stack = f"inbt-report-{uuid.uuid4().hex[:6]}"
    run = subprocess.run(
        ["bash", "scripts/runbook.sh", "-p", "STACK", stack, "-p", "WEB_PORT", "18072"],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=280,
    )

    def path(label: str) -> Path | None:
        found = re.search(rf"^{label}:\s+(\S+)$", run.stdout, re.M)
        return Path(found.group(1)) if found else None

    job = MainJob(run.returncode, run.stdout, run.stderr, path("report"), path("executed"))
    left = Census.take(engine).new_since(before)
    assert not left, f"the main job left resources on the engine: {left}"
    yield job
    for made in (job.report, job.executed):
        if made is not None:
            made.unlink(missing_ok=True)


@pytest.fixture(scope="module")
def swarm_lab(engine: DockerEngine) -> Iterator[SwarmLab]:
    """A real two-node swarm for one test module (tests/swarm_lab.py), stopped by pid."""
    lab = SwarmLab()
    lab.start()
    try:
        yield lab
    finally:
        lab.stop()
