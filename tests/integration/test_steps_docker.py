"""The executor's steps on the real engine (issue 42): a failure halfway undoes the steps
that finished with real engine calls, and says what it could not undo. The failure itself
is injected (a real stop or restart rarely fails on demand); everything else is Docker."""

from __future__ import annotations

from typing import Any

import pytest

from infranb import InfrastructureManager
from infranb.core.errors import EngineError
from infranb.engines.docker import DockerEngine
from tests.integration.conftest import Tracker, fast_config, foreign_container


def failing_for(manager: InfrastructureManager, method: str, container_id: str, mp: Any) -> None:
    """The manager's engine, whose ``method`` fails for one container only."""
    real = getattr(manager.engine, method)

    def failing(ref: str, *args: Any) -> Any:
        if ref == container_id:
            raise EngineError(f"{method} failed (injected)", resource=ref)
        return real(ref, *args)

    mp.setattr(manager.engine, method, failing)


@pytest.fixture
def two(engine: DockerEngine, tracker: Tracker, uid: str) -> tuple[str, str, str]:
    """Two running containers made without infranb: their names, and the second's id."""
    first, second = f"{uid}-one", f"{uid}-two"
    foreign_container(engine, tracker, first, command=["sleep", "300"], stop_signal="SIGKILL")
    second_id = foreign_container(
        engine, tracker, second, command=["sleep", "300"], stop_signal="SIGKILL"
    )
    return first, second, second_id


def test_a_failed_stop_starts_again_on_the_engine_what_it_stopped(
    engine: DockerEngine, two: tuple[str, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second, second_id = two
    with InfrastructureManager(config=fast_config()) as manager:
        failing_for(manager, "stop_container", second_id, monkeypatch)
        result = manager.stop([first, second], remove=False)
    assert not result.success and result.rolled_back and result.remaining == []
    assert f"rolled back: undid stop container {first}" in str(result.error)
    for name in (first, second):
        details = engine.inspect_container(name)
        assert details is not None and details.state == "running", name


def test_a_restart_that_cannot_be_undone_is_what_is_left(
    engine: DockerEngine, two: tuple[str, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second, second_id = two
    before = engine.inspect_container(first)
    with InfrastructureManager(config=fast_config()) as manager:
        failing_for(manager, "restart_container", second_id, monkeypatch)
        result = manager.restart([first, second])
    assert not result.success and not result.rolled_back
    assert result.remaining == [f"restart container {first} (a restart cannot be undone)"]
    after = engine.inspect_container(first)
    assert before is not None and after is not None and after.started_at != before.started_at
