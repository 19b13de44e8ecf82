"""Heal (issue 46) on the in-memory engine: what it restarts or starts and what it leaves
alone (and says why), its budget in the journal and in the manager, its evidence (masked,
down to the journal's bytes), its dependents, and its refusals before anything is touched.
The same behaviour on Docker is in tests/integration/test_heal.py."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from infranb import InfrastructureManager, InfrastructureManagerConfig, InfrastructureOperation
from infranb.journal import RunStart
from infranb.manager import run_sync
from infranb.testing import MemoryEngine

BASE = "infranb-demo/base:1"
SECRET = "s3cret-heal-value"
HEALTHY = {"test": ["CMD", "true"], "interval": "1s"}


def manager(engine: MemoryEngine, tmp_path: Path | None, **config: Any) -> InfrastructureManager:
    settings: dict[str, Any] = {
        "journal": str(tmp_path / "journal.sqlite") if tmp_path else None,
        "min_uptime": 0.0,
        "stop_timeout": 0.1,
    }
    settings.update(config)
    return InfrastructureManager(InfrastructureManagerConfig(**settings), engine=engine)


@pytest.fixture
def engine() -> MemoryEngine:
    return MemoryEngine([BASE], health_delay=0.02)


def up(m: InfrastructureManager, *containers: dict[str, Any], stack: str = "shop") -> None:
    op = InfrastructureOperation(
        operation="orchestrate_containers", containers=list(containers), stack=stack
    )
    result = run_sync(m.execute(op))
    assert result.success, result.error


def web(**more: Any) -> dict[str, Any]:
    return {"name": "web", "image": BASE, "command": "sleep 1000", "healthcheck": HEALTHY, **more}


def row(result: Any, name: str) -> dict[str, Any]:
    frame = result.to_frame()
    found = frame[frame["name"] == name]
    assert len(found) == 1, frame.to_string()
    return dict(found.iloc[0])


def test_needs_names_or_stack(engine: MemoryEngine, tmp_path: Path) -> None:
    m = manager(engine, tmp_path)
    before = list(engine.calls)
    result = m.heal()
    assert not result.success
    assert "heal needs names=[...] or stack=..." in str(result.error)
    assert engine.calls == before


def test_an_unhealthy_container_is_restarted_with_its_evidence(
    engine: MemoryEngine, tmp_path: Path
) -> None:
    m = manager(engine, tmp_path)
    up(m, web(environment={"API_TOKEN": SECRET}, command=f"echo token {SECRET}; sleep 1000"))
    engine.fail_health("web", f"GET /health 500 token={SECRET}")
    result = m.heal(["web"])
    assert result.success, result.error
    r = row(result, "web")
    assert (r["before"], r["action"], r["health_after"]) == ("running (unhealthy)", "restart",
                                                             "healthy")  # fmt: skip
    evidence = result.healed[0].evidence
    assert evidence is not None and evidence.health == "unhealthy"
    assert any("GET /health 500" in p.output and p.exit_code == 1 for p in evidence.probes)
    assert evidence.logs and all(SECRET not in line for line in evidence.logs)
    assert all(SECRET not in p.output for p in evidence.probes)
    assert "probe exit 1" in r["evidence"]
    assert engine.inspect_container("web").health == "healthy"  # type: ignore[union-attr]
    html = result._repr_mimebundle_()["text/html"]
    assert "evidence of web before the heal" in html and "GET /health 500" in html
    assert SECRET not in html and SECRET not in str(result)
    # Down to the journal's bytes (its WAL too).
    m.close()
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("journal.sqlite*"))
    assert b"GET /health 500" in stored
    assert SECRET.encode() not in stored


def test_what_a_heal_leaves_alone_and_why(engine: MemoryEngine, tmp_path: Path) -> None:
    m = manager(engine, tmp_path)
    up(
        m,
        {"name": "job", "image": BASE, "command": "echo done; exit 0"},
        {"name": "crashed", "image": BASE, "command": "sleep 1000"},
        {"name": "stopped", "image": BASE, "command": "sleep 1000"},
        {"name": "looping", "image": BASE, "command": "sleep 1000", "restart": "always"},
        web(restart="always"),
        {"name": "fine", "image": BASE, "command": "sleep 1000"},
    )
    engine.crash("crashed", 2)
    engine.crash("looping", 1)
    engine.stop_container("stopped")
    engine.fail_health("web", "down")
    before = len(engine.calls)
    plan = m.heal(stack="shop", dry_run=True)
    assert plan.success and plan.dry_run
    calls = engine.calls[before:]
    result = m.heal(stack="shop")
    assert result.success, result.error
    actions = {r["name"]: r["action"] for r in result.to_frame().to_dict("records")}
    assert actions == {
        "crashed": "start",
        "fine": "healthy: nothing to do",
        "job": "skipped: a one-shot (exit 0)",
        "looping": "skipped: its restart policy always restarts it",
        "stopped": "skipped: stopped on purpose (stop)",
        "web": "restart",  # unhealthy is healed whatever its policy
    }
    assert engine.inspect_container("crashed").state == "running"  # type: ignore[union-attr]
    assert engine.inspect_container("stopped").state == "exited"  # type: ignore[union-attr]
    # The dry run touched nothing: its calls were reads.
    assert calls and not [c for c in calls if c in ("restart_container", "start_container")]


def test_the_budget_bounds_a_container_that_stays_broken(
    engine: MemoryEngine, tmp_path: Path
) -> None:
    m = manager(engine, tmp_path)
    up(m, web())
    engine.fail_health("web", "still broken", stays=True)
    for _ in range(2):
        failed = m.heal(["web"], max_restarts=2)
        assert not failed.success and "unhealthy after its restart" in str(failed.error)
        assert row(failed, "web")["health_after"] == "unhealthy"
    # A second manager sharing the journal sees the same count.
    other = manager(engine, tmp_path)
    calls = len(engine.calls)
    over = other.heal(["web"], max_restarts=2)
    assert over.success, over.error
    assert row(over, "web")["action"] == "over budget"
    assert "restart_container" not in engine.calls[calls:]
    assert "healed 2 time(s) in the last 15m" in over.plan[0].reason
    # The window is the budget's: a wider budget lets it through once more.
    again = other.heal(["web"], max_restarts=3)
    assert row(again, "web")["action"] == "restart"


def test_two_managers_cannot_both_pass_the_budget(engine: MemoryEngine, tmp_path: Path) -> None:
    """Both look, see one heal left, and claim it: the journal's transaction lets one."""
    first, second = manager(engine, tmp_path), manager(engine, tmp_path)
    assert first.journal is not None and second.journal is not None
    host = engine.host
    assert first.journal.claim_heal(host, "web", "r1", 2, 900) == 1
    assert first.journal.claim_heal(host, "web", "r2", 2, 900) == 2
    assert second.journal.claim_heal(host, "web", "r3", 2, 900) is None
    assert second.journal.heals_within(host, "web", 900) == 2
    with sqlite3.connect(tmp_path / "journal.sqlite") as conn:
        assert conn.execute("SELECT COUNT(*) FROM heals").fetchone() == (2,)


def test_without_a_journal_the_manager_counts(engine: MemoryEngine) -> None:
    m = manager(engine, None)
    up(m, web())
    engine.fail_health("web", "broken", stays=True)
    assert not m.heal(["web"], max_restarts=1).success
    assert row(m.heal(["web"], max_restarts=1), "web")["action"] == "over budget"
    # A new manager starts with a fresh count: the docs say so.
    assert row(manager(engine, None).heal(["web"], max_restarts=1), "web")["action"] == "restart"


def test_a_stack_with_a_run_in_progress_is_left_alone(engine: MemoryEngine, tmp_path: Path) -> None:
    m = manager(engine, tmp_path)
    up(m, web())
    engine.fail_health("web", "down")
    assert m.journal is not None
    recorder = m.journal.begin(
        RunStart("busy1", "backup", "shop", engine.host, None, {}, None, None)
    )
    by_name = m.heal(["web"])
    assert by_name.success
    assert row(by_name, "web")["action"].startswith("skipped: stack shop has a run in progress")
    by_stack = m.heal(stack="shop")
    assert not by_stack.success and "has a run in progress" in str(by_stack.error)
    recorder.finish("succeeded", changes={}, error=None, plan=[], result={})
    assert row(m.heal(["web"]), "web")["action"] == "restart"


def test_dependents_with_restart_true_are_restarted_after(
    engine: MemoryEngine, tmp_path: Path
) -> None:
    m = manager(engine, tmp_path)
    up(
        m,
        {"name": "db", "image": BASE, "command": "sleep 1000", "healthcheck": HEALTHY},
        {"name": "api", "image": BASE, "command": "sleep 1000",
         "depends_on": {"db": {"condition": "service_started", "restart": True}}},
        {"name": "worker", "image": BASE, "command": "sleep 1000", "depends_on": ["db"]},
    )  # fmt: skip
    engine.fail_health("db", "down")
    started = {n: engine.inspect_container(n).started_at for n in ("api", "worker")}  # type: ignore[union-attr]
    result = m.heal(["db"])
    assert result.success, result.error
    steps = [(s.wave, s.kind, s.target) for s in result.plan.steps]
    assert steps == [(0, "heal", "db"), (1, "restart", "api")]
    assert engine.inspect_container("api").started_at != started["api"]  # type: ignore[union-attr]
    assert engine.inspect_container("worker").started_at == started["worker"]  # type: ignore[union-attr]


def test_history_and_the_prior_state_keep_the_evidence(
    engine: MemoryEngine, tmp_path: Path
) -> None:
    m = manager(engine, tmp_path)
    up(m, web())
    engine.fail_health("web", "the probe said no")
    result = m.heal(["web"])
    entry = m.history_entry(str(result.run_id))
    assert entry.operation == "heal" and entry.outcome == "succeeded"
    assert "the probe said no" in str(entry.prior)
    assert entry.result["healed"][0]["action"] == "restart"


def test_bad_options_are_named(engine: MemoryEngine, tmp_path: Path) -> None:
    result = manager(engine, tmp_path).heal(["web"], when=["sad"], max_restarts=0, within="soon")
    paths = {p.path for p in result.problems}
    assert {"params.when", "params.max_restarts", "params.within"} <= paths


def test_keep_healthy_heals_as_events_arrive_and_ends_by_time(
    engine: MemoryEngine, tmp_path: Path
) -> None:
    import threading
    import time

    m = manager(engine, tmp_path)
    up(m, web(), {"name": "other", "image": BASE, "command": "sleep 1000"}, stack="shop")
    up(m, {"name": "elsewhere", "image": BASE, "command": "sleep 1000"}, stack="else")
    threads = set(threading.enumerate())
    feed = m.keep_healthy(stack="shop", seconds=1.5)
    threading.Timer(0.3, lambda: engine.fail_health("web", "oops")).start()
    threading.Timer(0.6, lambda: engine.crash("other", 3)).start()
    threading.Timer(0.7, lambda: engine.crash("elsewhere", 3)).start()  # not selected
    began = time.monotonic()
    rows = list(feed)
    assert 1.5 <= time.monotonic() - began < 3
    assert feed.ended_because == "1.5 s passed"
    assert [(r["name"], r["trigger"], r["action"]) for r in rows] == [
        ("web", "unhealthy", "restart"),
        ("other", "died (3)", "start"),
    ]  # the heal's own restart of web (its die) is not a trigger
    assert all(r["run_id"] for r in rows)
    assert engine.inspect_container("elsewhere").state == "exited"  # type: ignore[union-attr]
    time.sleep(0.3)
    assert not set(threading.enumerate()) - threads  # no thread of the feed is left
    with pytest.raises(ValueError, match="keep_healthy needs names"):
        m.keep_healthy()


def test_keep_healthy_runs_the_checks_where_the_engine_does_not(tmp_path: Path) -> None:
    """An engine that runs no check itself (Podman here): each tick is a heal whose look
    runs the checks, at the shortest interval of the selection."""
    engine = MemoryEngine([BASE], health_delay=0.02, runs_healthchecks=False)
    m = manager(engine, tmp_path)
    up(m, web(healthcheck={"test": ["CMD", "true"], "interval": "200ms"}))
    engine.fail_health("web", "oops", now=False)  # fails from now on, when something runs it
    rows = list(m.keep_healthy(["web"], seconds=1.0))
    assert ("web", "check", "restart") in [(r["name"], r["trigger"], r["action"]) for r in rows]
