"""The one executor's steps (issue 42): an operation plans steps, each one engine call that
declares its undo or why it has none; the executor runs them in waves and, on a failure,
undoes what it finished. ``rolled_back`` is True only when nothing is left."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infranb import InfrastructureOperation
from infranb.core.errors import EngineError
from infranb.core.steps import Step, waves
from infranb.testing import MemoryEngine
from tests.unit.test_operations_memory import manager, stack_op


@pytest.fixture
def running() -> MemoryEngine:
    engine = MemoryEngine(["infranb-demo/base:1"])
    assert manager(engine).run(stack_op()).success
    engine.calls.clear()
    return engine


def fail_for(engine: MemoryEngine, method: str, name: str, monkeypatch: Any) -> None:
    """Make ``engine.method`` fail for the container called ``name`` only."""
    real = getattr(engine, method)
    target = engine.inspect_container(name)
    assert target is not None

    def failing(container_id: str, *args: Any) -> Any:
        if container_id in (target.id, name):
            raise EngineError(f"{method} of {name} failed (injected)", resource=name)
        return real(container_id, *args)

    monkeypatch.setattr(engine, method, failing)


def state(engine: MemoryEngine, name: str) -> str:
    found = engine.inspect_container(name)
    return found.state if found is not None else "gone"


def test_a_step_reads_back_equal_from_json() -> None:
    step = Step(
        "update", "db", 0, {"id": "abc", "changes": {"cpus": 0.5}},
        undo=Step("update", "db", 0, {"id": "abc", "changes": {"cpus": 1.0}}),
        reason="set cpus=0.5 in place", image="sha256:1",
    )  # fmt: skip
    assert Step.from_json(json.loads(json.dumps(step.to_json()))) == step
    bare = Step("restart", "web", 1, {"id": "x"}, no_undo="a restart cannot be undone")
    assert Step.from_json(json.loads(json.dumps(bare.to_json()))) == bare
    assert [[s.target for s in w] for w in waves([bare, step])] == [["db"], ["web"]]


@pytest.mark.parametrize(
    ("request_fields", "kinds"),
    [
        ({"operation": "stop", "container_ids": ["web", "api"]},
         [("stop", "start"), ("stop", "start"), ("remove", None), ("remove", None)]),
        ({"operation": "restart", "container_ids": ["db"]}, [("restart", None)]),
        ({"operation": "update", "container_ids": ["db"], "params": {"cpus": 0.5}},
         [("update", "update")]),
    ],
    ids=["stop", "restart", "update"],
)  # fmt: skip
def test_a_dry_run_holds_the_executors_steps_each_with_its_undo_or_why_not(
    running: MemoryEngine, request_fields: dict, kinds: list
) -> None:
    m = manager(running)
    request = InfrastructureOperation(**{**request_fields, "dry_run": True})
    first, second = m.run(request), m.run(request)
    assert first.success, first.error
    steps = first.plan.steps
    assert [(s.kind, s.undo.kind if s.undo else None) for s in steps] == kinds
    assert all(s.undo is not None or s.no_undo for s in steps)
    assert steps == second.plan.steps  # nothing made at plan time
    assert [Step.from_json(json.loads(json.dumps(s.to_json()))) for s in steps] == steps
    # the plan's rows are the steps'
    assert [(r.name, r.action) for r in first.plan] == [(s.target, s.kind) for s in steps]


def test_a_failed_stop_starts_again_what_it_had_stopped(
    running: MemoryEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    fail_for(running, "stop_container", "api", monkeypatch)
    result = manager(running).stop(["web", "api"], remove=False)
    assert not result.success and "injected" in str(result.error)
    assert result.rolled_back and result.remaining == []
    assert "rolled back: undid stop container web" in str(result.error)
    assert state(running, "web") == "running" and state(running, "api") == "running"


def test_a_failed_stop_before_its_removes_removes_nothing(
    running: MemoryEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The removes are the plan's second wave: a stop that fails stops the plan before them."""
    fail_for(running, "stop_container", "api", monkeypatch)
    result = manager(running).stop(["web", "api"], remove=True)
    assert not result.success and result.rolled_back
    assert "remove_container" not in running.calls
    assert state(running, "web") == "running"


def test_a_step_without_an_undo_is_left_and_said(
    running: MemoryEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A restart cannot be undone: after a failed one, the finished one is what is left,
    and ``rolled_back`` is False."""
    fail_for(running, "restart_container", "api", monkeypatch)
    result = manager(running).restart(["web", "api"])
    assert not result.success and not result.rolled_back
    assert result.remaining == ["restart container web (a restart cannot be undone)"]
    assert "left in place: restart container web" in str(result.error)


def test_an_undo_that_fails_is_left_and_said(
    running: MemoryEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    fail_for(running, "stop_container", "api", monkeypatch)
    fail_for(running, "start_container", "web", monkeypatch)
    result = manager(running).stop(["web", "api"], remove=False)
    assert not result.success and not result.rolled_back
    assert len(result.remaining) == 1 and result.remaining[0].startswith(
        "stop container web (its undo failed: start_container of web failed"
    )
