"""revert is an entry of the table (issue 42): a request of its own (``params.run_id``),
run by the executor as the request it resolves to, journaled as a ``revert`` run."""

from __future__ import annotations

from pathlib import Path

from infranb import InfrastructureManager, InfrastructureManagerConfig, InfrastructureOperation
from infranb.ops.table import OPERATIONS
from infranb.testing import MemoryEngine
from tests.unit.test_operations_memory import BASE, stack_op


def manager(memory: MemoryEngine, folder: Path | None) -> InfrastructureManager:
    journal = str(folder / "journal.sqlite") if folder else None
    config = InfrastructureManagerConfig(
        health_check_interval=0.01, stop_timeout=0.1, min_uptime=0.05, journal=journal
    )
    return InfrastructureManager(config, engine=memory)


def test_revert_is_a_request_of_the_table(tmp_path: Path) -> None:
    assert OPERATIONS["revert"].resolve is not None
    memory = MemoryEngine([BASE])
    m = manager(memory, tmp_path)
    made = m.run(stack_op())
    assert made.success, made.error
    request = InfrastructureOperation(
        operation="revert", params={"run_id": made.run_id}, dry_run=True
    )
    planned = m.run(request)
    assert planned.success and planned.dry_run, planned.error
    assert planned.operation == "cleanup_resources"  # the run made the stack: its teardown
    assert memory.list_containers(labels={"infranb.stack": "shop"})  # a dry run: still there
    back = m.run(InfrastructureOperation(operation="revert", params={"run_id": made.run_id}))
    assert back.success, back.error
    assert memory.list_containers(labels={"infranb.stack": "shop"}) == []
    history = m.history()
    assert list(history.operation[:1]) == ["revert"]
    assert m.history_entry(str(back.run_id)).reverts == made.run_id


def test_a_revert_request_without_a_run_is_refused_by_path() -> None:
    memory = MemoryEngine([BASE])
    result = manager(memory, None).run(InfrastructureOperation(operation="revert"))
    assert [p.path for p in result.problems] == ["params.run_id"]
    wrong = manager(memory, None).run(
        InfrastructureOperation(operation="revert", params={"run_id": "x", "force": True})
    )
    assert [p.path for p in wrong.problems] == ["params.force"]


def test_a_revert_without_a_journal_says_how_to_have_one() -> None:
    memory = MemoryEngine([BASE])
    result = manager(memory, None).revert("abc")
    assert not result.success and "config.journal" in str(result.error)


def test_a_revert_that_cannot_be_planned_is_journaled_as_failed(tmp_path: Path) -> None:
    memory = MemoryEngine([BASE])
    m = manager(memory, tmp_path)
    health = m.run(InfrastructureOperation(operation="health_check", container_ids=["x"]))
    result = m.revert(str(health.run_id or "no-such-run"))
    assert not result.success and result.operation == "revert"
    latest = m.history().iloc[0]
    assert latest.operation == "revert" and latest.outcome == "failed"
