"""The journal against the real engine: revert verified by inspect, the blast-radius gate
touching nothing (census), a process killed mid-run, no secret in the file's bytes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from infranb import InfrastructureManager, InfrastructureOperation
from infranb.core import labels as L
from infranb.journal import Journal
from tests.conftest import Census
from tests.integration.conftest import BASE, WEB, fast_config

pytestmark = pytest.mark.usefixtures("demo_images")


@pytest.fixture
def journaled(tmp_path: Path) -> Any:
    with InfrastructureManager(fast_config(journal=str(tmp_path / "j.sqlite"))) as m:
        yield m


def app(stack: str, uid: str, *, mode: str, image: str = BASE, **extra: Any) -> Any:
    return InfrastructureOperation(
        operation="orchestrate_containers",
        stack=stack,
        containers=[
            {"image": BASE, "name": f"{uid}-db", "environment": {"MODE": "db"}},
            {
                "image": image,
                "name": f"{uid}-app",
                "environment": {"MODE": mode},
                "depends_on": [f"{uid}-db"],
            },
        ],
        **extra,
    )


def test_revert_after_a_recreate_and_an_image_change_restores_the_recorded_spec(
    journaled, engine, stack, uid
) -> None:
    first = journaled.run(app(stack, uid, mode="one"))
    assert first.success, first.error
    before = engine.inspect_container(f"{uid}-app")
    second = journaled.run(app(stack, uid, mode="two", image=WEB))
    assert second.success, second.error
    assert [c.action for c in second.containers] == ["unchanged", "recreate"]
    assert engine.inspect_container(f"{uid}-app").image_id == engine.image_id(WEB)

    assert journaled.history(stack=stack).run_id.tolist() == [second.run_id, first.run_id]
    reverted = journaled.revert(second.run_id)
    assert reverted.success, reverted.error
    app_now = engine.inspect_container(f"{uid}-app")
    assert app_now.environment["MODE"] == "one"
    assert app_now.image_id == before.image_id == engine.image_id(BASE)
    assert app_now.labels[L.SPEC_HASH] == before.labels[L.SPEC_HASH]
    assert app_now.state == "running"
    db = engine.inspect_container(f"{uid}-db")
    assert db.labels[L.RUN] == first.run_id  # what the revert did not need to touch stayed
    assert journaled.history_entry(reverted.run_id).reverts == second.run_id
    assert journaled.history(stack=stack).iloc[0].outcome == "succeeded"


def test_blast_radius_refusal_touches_nothing(journaled, engine, stack, uid) -> None:
    assert journaled.run(app(stack, uid, mode="one")).success
    before = Census.take(engine)
    ids = {c.name: c.id for c in engine.list_containers(labels={L.STACK: stack})}
    refused = journaled.run(app(stack, uid, mode="two", max_removals=0))
    assert refused.refused and "max_removals=0" in refused.error
    assert [s.action for s in refused.plan] == ["unchanged", "recreate"]
    assert Census.take(engine) == before
    assert {c.name: c.id for c in engine.list_containers(labels={L.STACK: stack})} == ids
    row = journaled.history(stack=stack).iloc[0]
    assert (row.outcome, row.changes) == ("refused", "")


def test_a_process_killed_mid_run_leaves_an_interrupted_record(
    tmp_path, engine, stack, uid
) -> None:
    book = tmp_path / "killed.sqlite"
    script = f"""
from infranb import InfrastructureManager, InfrastructureManagerConfig, InfrastructureOperation
m = InfrastructureManager(InfrastructureManagerConfig(journal={str(book)!r},
                                                      container_start_timeout=120))
m.run(InfrastructureOperation(operation="orchestrate_containers", stack={stack!r}, containers=[
    {{"image": {BASE!r}, "name": "{uid}-slow",
      "healthcheck": {{"test": ["CMD", "false"], "interval": "1s", "start_period": "120s"}}}}]))
"""
    child = subprocess.Popen([sys.executable, "-c", script], cwd=Path(__file__).parents[2])
    try:
        deadline = time.monotonic() + 60
        steps: list[str] = []
        while time.monotonic() < deadline and "container_started" not in steps:
            time.sleep(0.2)
            if book.exists():
                history = Journal(book).history()
                if len(history):
                    steps = [s["kind"] for s in Journal(book).entry(history.run_id[0]).steps]
        assert "container_started" in steps, "the child never started its container"
    finally:
        os.kill(child.pid, signal.SIGKILL)  # the process this test started, by pid
        child.wait(10)
    book_ = Journal(book)
    row = book_.history().iloc[0]
    assert row.outcome == "interrupted"
    entry = book_.entry(row.run_id)
    assert entry.steps[0]["kind"] == "planned"
    assert ("container_started", f"{uid}-slow") in [(s["kind"], s["resource"]) for s in entry.steps]
    slow = engine.inspect_container(f"{uid}-slow")
    assert slow is not None and slow.labels[L.RUN] == row.run_id  # the record names it


def db_alone(stack: str, uid: str, environment: dict[str, str], **extra: Any) -> Any:
    return InfrastructureOperation(
        operation="orchestrate_containers",
        stack=stack,
        containers=[{"image": BASE, "name": f"{uid}-db", "environment": environment, **extra}],
    )


def test_a_planted_secret_never_reaches_the_journal_file(journaled, engine, stack, uid) -> None:
    planted = "planted-Wv4q9z"
    url = f"postgres://app:{planted}@db/app"
    ok = journaled.run(db_alone(stack, uid, {"DB_PASSWORD": planted, "DATABASE_URL": url}))
    assert ok.success, ok.error
    # A probe that prints the password and fails: the run fails for certain (a command that
    # exits at once may still be seen running) and the probe output reaches the error.
    probe = {
        "test": ["CMD-SHELL", 'echo "password is $DB_PASSWORD"; exit 1'],
        "interval": "200ms",
        "retries": 1,
    }
    bad = journaled.run(
        db_alone(stack, uid, {"DB_PASSWORD": planted, "MODE": "2"}, healthcheck=probe)
    )
    assert not bad.success and bad.rolled_back
    assert journaled.history(stack=stack).outcome.tolist() == ["rolled back", "succeeded"]
    journaled.close()
    folder = Path(str(journaled.config.journal)).parent
    stored = b"".join(p.read_bytes() for p in folder.glob("j.sqlite*"))
    assert stored and planted.encode() not in stored
