"""One run changes a stack at a time (issue 44, shared with healing and snapshots): a run on
a stack whose journal holds a run in progress, by a process that still runs, is refused
before it touches anything; a record whose process is gone holds nothing."""

from __future__ import annotations

import threading
from pathlib import Path

from infranb import InfrastructureManager, InfrastructureManagerConfig, StackBusy
from infranb.journal import Journal, RunStart
from infranb.testing import MemoryEngine
from tests.unit.test_operations_memory import BASE, MUTATING, stack_op


def manager(memory: MemoryEngine, book: Path) -> InfrastructureManager:
    config = InfrastructureManagerConfig(
        health_check_interval=0.01, stop_timeout=0.1, min_uptime=0.05, journal=str(book)
    )
    return InfrastructureManager(config, engine=memory)


def start(run_id: str, stack: str = "shop", engine: str = "memory://1") -> RunStart:
    return RunStart(run_id, "orchestrate_containers", stack, engine, None, {})


def test_a_run_on_a_busy_stack_is_refused_and_touches_nothing(tmp_path: Path) -> None:
    book = tmp_path / "journal.sqlite"
    memory = MemoryEngine([BASE], host="memory://busy")
    m = manager(memory, book)
    other = Journal(book).begin(start("other-run", engine="memory://busy"))  # still runs
    memory.calls.clear()
    refused = m.run(stack_op())
    assert refused.refused and isinstance(refused.exception, StackBusy)
    assert "stack shop on memory://busy has a run in progress" in str(refused.error)
    assert "other-run" in str(refused.error) and not MUTATING & set(memory.calls)
    elsewhere = manager(MemoryEngine([BASE]), book)  # same journal, another stack: free
    assert elsewhere.run(stack_op(stack="elsewhere")).success
    other.finish("succeeded", changes={}, error=None, plan=[], result={})
    assert m.run(stack_op()).success


def test_a_record_whose_process_is_gone_holds_nothing(tmp_path: Path) -> None:
    import sqlite3

    book = tmp_path / "journal.sqlite"
    import socket

    Journal(book).begin(start("crashed-run", engine="memory://crashed"))
    with sqlite3.connect(book) as conn:  # as if its kernel died: a pid that runs no more
        conn.execute(
            "UPDATE runs SET process = ? WHERE run_id = 'crashed-run'",
            (f"{socket.gethostname()}:999999999:1",),
        )
    conn.close()
    again = manager(MemoryEngine([BASE], host="memory://crashed"), book).run(stack_op())
    assert again.success, again.error


def test_the_same_stack_on_another_engine_is_free(tmp_path: Path) -> None:
    """A fleet runs one stack on several engines at once, into one journal."""
    book = tmp_path / "journal.sqlite"
    Journal(book).begin(RunStart("on-a", "orchestrate_containers", "shop", "ssh://a", None, {}))
    assert manager(MemoryEngine([BASE]), book).run(stack_op()).success


def test_two_managers_sharing_a_journal_cannot_both_begin(tmp_path: Path) -> None:
    book = tmp_path / "journal.sqlite"
    Journal(book).close()  # the file and its tables exist
    outcomes: list[str] = []
    barrier = threading.Barrier(8)

    def begin(i: int) -> None:
        journal = Journal(book)
        barrier.wait()
        try:
            journal.begin(start(f"run-{i}"))
            outcomes.append("began")
        except StackBusy:
            outcomes.append("busy")

    threads = [threading.Thread(target=begin, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["began"] + ["busy"] * 7
