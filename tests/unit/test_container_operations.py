"""stop, restart, update and copy_to are operations of the table (issue 42): each parsed at
the edge, planned, gated, journaled and run by ``execute``; a dry run is its plan and
touches nothing; a failure or a refusal is in the result, never raised."""

from __future__ import annotations

from pathlib import Path

import pytest

from infranb import InfrastructureOperation
from infranb.ops.table import OPERATIONS
from infranb.testing import MemoryEngine
from tests.unit.test_operations_memory import MUTATING, manager, stack_op


@pytest.fixture
def memory() -> MemoryEngine:
    engine = MemoryEngine(["infranb-demo/base:1"])
    return engine


@pytest.fixture
def running(memory: MemoryEngine) -> MemoryEngine:
    assert manager(memory).run(stack_op()).success
    memory.calls.clear()
    return memory


def test_each_is_an_entry_of_the_table() -> None:
    for name in ("stop", "restart", "update", "copy_to"):
        assert OPERATIONS[name].name == name and OPERATIONS[name].changes_engine


@pytest.mark.parametrize(
    ("helper", "args", "actions"),
    [
        ("stop", (["web", "api"],), [("web", "stop"), ("api", "stop"),
                                     ("web", "remove"), ("api", "remove")]),
        ("restart", (["db"],), [("db", "restart")]),
        ("update", ("db",), [("db", "update")]),
    ],
)  # fmt: skip
def test_a_dry_run_is_the_plan_and_touches_nothing(
    running: MemoryEngine, helper: str, args: tuple, actions: list
) -> None:
    m = manager(running)
    extra = {"cpus": 0.5} if helper == "update" else {}
    result = getattr(m, helper)(*args, dry_run=True, **extra)
    assert result.success and result.dry_run, result.error
    assert [(s.name, s.action) for s in result.plan] == actions
    assert not MUTATING & set(running.calls) and "update_container" not in running.calls
    assert list(result.to_frame().action) == [a for _, a in actions]  # the plan is its table


def test_a_missing_container_fails_the_stop_before_anything_is_touched(
    running: MemoryEngine,
) -> None:
    result = manager(running).stop(["web", "no-such"])
    assert not result.success and "no such container: no-such" in str(result.error)
    assert "nothing was touched" in str(result.error)
    assert not MUTATING & set(running.calls)
    assert running.inspect_container("web").state == "running"  # type: ignore[union-attr]


def test_stop_and_restart_say_what_they_did(running: MemoryEngine) -> None:
    m = manager(running, auto_remove_containers=False)
    stopped = m.stop(["web"])
    assert (stopped.containers_stopped, stopped.containers_removed) == (["web"], [])
    assert list(stopped.to_frame().state) == ["exited"]
    assert stopped.stack == "shop"
    restarted = m.restart(["web"])
    assert restarted.containers_started == ["web"], restarted.error
    assert list(restarted.to_frame().state) == ["running"]


def test_a_bad_request_names_its_field(running: MemoryEngine) -> None:
    m = manager(running)
    assert [p.path for p in m.stop([]).problems] == ["container_ids"]
    wrong = m.run(
        InfrastructureOperation(operation="stop", container_ids=["web"], params={"rm": True})
    )
    assert [p.path for p in wrong.problems] == ["params.rm"]
    assert "it takes remove" in str(wrong.error)
    several = m.run(
        InfrastructureOperation(operation="update", container_ids=["web", "db"], params={"cpus": 1})
    )
    assert [p.path for p in several.problems] == ["container_ids"]
    assert not MUTATING & set(running.calls)


def test_copy_to_puts_the_file_and_says_where(running: MemoryEngine, tmp_path: Path) -> None:
    source = tmp_path / "motd.txt"
    source.write_text("hello")
    m = manager(running)
    planned = m.copy_to("web", source, "/etc/motd.txt", dry_run=True)
    assert "put_archive" not in running.calls and planned.plan[0].action == "copy"
    copied = m.copy_to("web", source, "/etc/motd.txt")
    assert copied.success, copied.error
    assert [(c.container, c.container_path, c.bytes) for c in copied.copied] == [
        ("web", "/etc/motd.txt", 5)
    ]
    assert list(copied.to_frame().container_path) == ["/etc/motd.txt"]
    missing = m.copy_to("web", tmp_path / "nope", "relative/path")
    assert [p.path for p in missing.problems] == ["params.host_path", "params.container_path"]


@pytest.mark.parametrize(
    "request_fields",
    [
        {"operation": "stop", "container_ids": ["web", "api"]},
        {"operation": "restart", "container_ids": ["db"]},
        {"operation": "update", "container_ids": ["db"], "params": {"cpus": 0.5}},
        {"operation": "cleanup_resources", "stack": "shop", "cleanup_stopped_containers": True,
         "force_remove": True},
        {**vars(stack_op())},
    ],
    ids=["stop", "restart", "update", "cleanup", "orchestrate"],
)  # fmt: skip
def test_a_plan_is_plain_data_and_the_same_twice_against_the_same_host(
    running: MemoryEngine, request_fields: dict
) -> None:
    """Steps hold no value made at plan time (a run id, a temporary name): planning the same
    request twice gives equal steps, and each step reads back equal from JSON."""
    import json

    from infranb.core.planning import PlanStep

    m = manager(running)
    request = InfrastructureOperation(**{**request_fields, "dry_run": True})
    first, second = m.run(request), m.run(request)
    assert first.success, first.error
    assert list(first.plan) == list(second.plan)
    assert first.removed == second.removed  # a cleanup's plan is what it would remove
    assert first.plan or first.removed  # there is something to compare
    for step in first.plan:
        assert PlanStep.from_json(json.loads(json.dumps(step.to_json()))) == step
    assert not MUTATING & set(running.calls)
