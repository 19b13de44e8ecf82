"""Shared fixtures. Integration tests use a real engine; with CI=true a missing one fails."""

from __future__ import annotations

import functools
import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from infranb.engine import DockerEngine
from infranb.errors import InfraError
from tests.widget_helpers import strict_callbacks

__all__ = ["strict_callbacks"]

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


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
