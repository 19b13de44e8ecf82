"""The journal on the in-memory engine: records, steps, masking, gates, revert, several
writers, interrupted runs, migration. The real-engine proofs are in
tests/integration/test_journal.py."""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from infranb import (
    InfrastructureManager,
    InfrastructureManagerConfig,
    InfrastructureOperation,
    secret_from_env,
)
from infranb import journal as J
from infranb.core.errors import InfraError
from infranb.core.labels import RUN
from infranb.manager import down_operation
from infranb.testing import MemoryEngine
from tests.unit.test_operations_memory import MUTATING

BASE = "infranb-demo/base:1"
WEB = "infranb-demo/web:1"


@pytest.fixture
def memory() -> MemoryEngine:
    return MemoryEngine([BASE, WEB])


@pytest.fixture
def book(tmp_path: Path) -> Path:
    return tmp_path / "journal.sqlite"


def manager(memory: MemoryEngine, book: Path, **config: Any) -> InfrastructureManager:
    settings: dict[str, Any] = {"stop_timeout": 0.1, "journal": str(book)}
    settings.update(config)
    return InfrastructureManager(InfrastructureManagerConfig(**settings), engine=memory)


def op(
    env: dict[str, Any] | None = None, image: str = BASE, **extra: Any
) -> InfrastructureOperation:
    containers = [
        {"image": BASE, "name": "db", "environment": env or {"MODE": "one"}},
        {"image": image, "name": "web", "depends_on": ["db"], "networks": ["shop-net"]},
    ]
    return InfrastructureOperation(
        operation="orchestrate_containers", stack="shop", containers=containers, **extra
    )


def test_every_run_that_changes_the_engine_is_recorded_with_who_where_and_what(
    memory: MemoryEngine, book: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JUPYTERHUB_USER", "ops-alice")
    m = manager(memory, book)
    result = m.run(op(), context={"correlation_id": "ticket-42"})
    assert result.success, result.error
    assert memory.inspect_container("web").labels[RUN] == result.run_id  # type: ignore[union-attr]
    history = m.history()
    assert list(history.columns) == list(J.HISTORY_COLUMNS)
    row = history.iloc[0]
    assert row.run_id == result.run_id
    assert (row.user, row.operation, row.stack, row.outcome) == (
        "ops-alice",
        "orchestrate_containers",
        "shop",
        "succeeded",
    )
    assert row.changes == "create 2, create network 1"
    assert row.correlation_id == "ticket-42"
    assert row.finished_at >= row.started_at
    assert row.engine == memory.host
    entry = m.history_entry(result.run_id)
    steps = [(s["kind"], s["resource"]) for s in entry.steps]
    assert steps[0][0] == "planned"
    # web waits for its network; db, on none of its own, may be created before it
    assert steps.index(("network_created", "shop-net")) < steps.index(("container_created", "web"))
    assert {s["resource"] for s in entry.steps if s["kind"] == "container_ready"} == {"db", "web"}
    assert [p["name"] for p in entry.plan] == ["db", "web"]
    assert entry.request["containers"][0]["environment"] == {"MODE": "one"}
    assert entry.prior == {"stack": "shop", "containers": [], "networks": {}, "volumes": {}}


def test_dry_runs_health_checks_and_invalid_requests_are_not_recorded(
    memory: MemoryEngine, book: Path
) -> None:
    m = manager(memory, book)
    assert m.run(op(dry_run=True)).success
    m.run(InfrastructureOperation(operation="health_check", container_ids=["nothing"]))
    assert not m.run(InfrastructureOperation(operation="orchestrate_containers")).success
    assert m.history().empty


def test_secret_values_never_reach_the_file(memory: MemoryEngine, book: Path) -> None:
    m = manager(memory, book)
    planted = {"DB_PASSWORD": "planted-Zq81x", "DATABASE_URL": "postgres://app:planted-Zq81x@db"}
    assert m.run(op(planted)).success
    changed = op({**planted, "MODE": "two"})
    assert m.run(changed).success
    failing = op({**planted, "API_TOKEN": "planted-Zq81x"})
    failing.containers[1]["command"] = "sh -c 'echo planted-Zq81x; exit 3'"
    m.run(failing)
    m.close()
    stored = b"".join(p.read_bytes() for p in book.parent.glob("journal.sqlite*"))
    assert b"planted-Zq81x" not in stored
    assert b"DB_PASSWORD" in stored  # the key is kept, its value is not


def test_max_removals_refuses_before_anything_is_touched(memory: MemoryEngine, book: Path) -> None:
    m = manager(memory, book)
    m.run(op())
    memory.calls.clear()
    result = m.run(op({"MODE": "two"}, max_removals=0))
    assert result.refused and not result.success
    assert "more than max_removals=0" in (result.error or "")
    assert [s.action for s in result.plan] == ["recreate", "unchanged"]  # the plan is shown
    assert not MUTATING & set(memory.calls)
    assert m.history().iloc[0].outcome == "refused"
    # The config's limit applies when the request sets none; the request's wins.
    strict = manager(memory, book, max_removals=0)
    assert strict.run(op({"MODE": "two"})).refused
    assert strict.run(op({"MODE": "two"}, max_removals=1)).success


def test_cleanup_and_image_removal_pass_the_same_gates(memory: MemoryEngine, book: Path) -> None:
    m = manager(memory, book, confirm_destructive=True)
    m.run(op())
    memory.calls.clear()
    down = m.down("shop", dry_run=True)
    assert any("would be refused" in w for w in down.warnings)
    refused = m.run(down_operation("shop"))
    assert refused.refused and "confirm=True" in (refused.error or "")
    image = m.run(
        InfrastructureOperation(
            operation="manage_images", image_params={"action": "remove", "image": WEB}
        )
    )
    assert image.refused
    assert not MUTATING & set(memory.calls)
    confirmed = m.run(down_operation("shop"), confirm=True)
    assert confirmed.success and sorted(confirmed.containers_removed) == ["db", "web"]


def test_confirm_gate_lets_creations_through(memory: MemoryEngine, book: Path) -> None:
    m = manager(memory, book, confirm_destructive=True)
    assert m.run(op()).success  # nothing destructive: no consent needed
    assert m.run(op({"MODE": "two"})).refused
    assert m.run(op({"MODE": "two"}), confirm=True).success


def test_revert_after_a_recreate_restores_the_recorded_spec(
    memory: MemoryEngine, book: Path
) -> None:
    m = manager(memory, book)
    first = m.run(op({"MODE": "one"}))
    second = m.run(op({"MODE": "two"}, image=WEB))
    assert memory.inspect_container("db").environment["MODE"] == "two"  # type: ignore[union-attr]
    back = m.revert(second.run_id or "")
    assert back.success, back.error
    db, web = memory.inspect_container("db"), memory.inspect_container("web")
    assert db is not None and web is not None
    assert db.environment["MODE"] == "one"
    assert web.image_id == memory.image_id(BASE)
    entry = m.history_entry(back.run_id or "")
    assert entry.reverts == second.run_id
    # A revert is a run of its own kind; the stack's desired state is the one it put back.
    assert (entry.operation, m.history().operation.iloc[0]) == ("revert", "revert")
    assert m.drift("shop").empty, m.drift("shop").to_string()
    prior = m.history_entry(second.run_id or "").prior
    assert [c["run_id"] for c in prior["containers"]] == [first.run_id] * 2
    assert prior["containers"][0]["spec"]["environment"] == {"MODE": "one"}


def test_revert_of_the_run_that_made_the_stack_tears_it_down(
    memory: MemoryEngine, book: Path
) -> None:
    m = manager(memory, book)
    made = m.run(op())
    back = m.revert(made.run_id or "")
    assert back.success, back.error
    assert memory.list_containers(labels={"infranb.stack": "shop"}) == []


def test_revert_needing_a_secret_value_that_was_never_stored_changes_nothing(
    memory: MemoryEngine, book: Path
) -> None:
    m = manager(memory, book)
    m.run(op({"DB_PASSWORD": "typed-in-clear"}))
    second = m.run(op({"DB_PASSWORD": "typed-in-clear", "MODE": "two"}))
    memory.calls.clear()
    back = m.revert(second.run_id or "")
    assert not back.success
    assert "environment.DB_PASSWORD" in (back.error or "")
    assert "nothing was changed" in (back.error or "")
    assert not MUTATING & set(memory.calls)


def test_revert_rereads_a_secret_reference(
    memory: MemoryEngine, book: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHOP_DB_PASSWORD", "from-the-env-1")
    m = manager(memory, book)
    m.run(op({"DB_PASSWORD": secret_from_env("SHOP_DB_PASSWORD")}))
    second = m.run(op({"DB_PASSWORD": secret_from_env("SHOP_DB_PASSWORD"), "MODE": "two"}))
    back = m.revert(second.run_id or "")
    assert back.success, back.error
    db = memory.inspect_container("db")
    assert db is not None and db.environment["DB_PASSWORD"] == "from-the-env-1"
    assert "MODE" not in db.environment


def test_revert_when_the_tag_moved_uses_the_image_that_ran(
    memory: MemoryEngine, book: Path
) -> None:
    m = manager(memory, book)
    m.run(op())
    before = memory.image_id(BASE)
    second = m.run(op({"MODE": "two"}))
    memory.tag_image(WEB, BASE)  # the tag now names another image
    back = m.revert(second.run_id or "")
    assert back.success, back.error
    assert any("names another image now" in w for w in back.warnings)
    db = memory.inspect_container("db")
    assert db is not None and db.image_id == before


def test_revert_refuses_what_it_cannot_restore(memory: MemoryEngine, book: Path) -> None:
    m = manager(memory, book)
    cleanup = m.down("nothing")
    assert "only orchestrate runs" in (m.revert(cleanup.run_id or "").error or "")
    assert "no run 'nope'" in (m.revert("nope").error or "")
    refused = m.run(op(max_removals=0))
    assert refused.success  # creating removes nothing
    off = manager(memory, book, journal=None)
    with pytest.raises(InfraError, match="journal is off"):
        off.history()


def _write_runs(path: str, writer: int, count: int) -> None:
    book = J.Journal(path)
    for i in range(count):
        run = f"w{writer}-{i}"
        # a stack per writer: one stack takes one run at a time (StackBusy)
        start = J.RunStart(run, "orchestrate_containers", f"s{writer}", "mem://", None, {})
        book.begin(start).finish("succeeded", changes={"create": 1}, error=None, plan=[], result={})
    book.close()


def test_several_processes_writing_at_once_lose_nothing(book: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    workers = [ctx.Process(target=_write_runs, args=(str(book), w, 50)) for w in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
        assert w.exitcode == 0
    history = J.Journal(book).history()
    assert len(history) == 200
    assert set(history.outcome) == {"succeeded"}


def test_a_process_killed_mid_run_leaves_an_interrupted_record(book: Path) -> None:
    script = (
        "import os, sys\n"
        "from infranb import journal as J\n"
        "from infranb.core.records import ProgressEvent\n"
        f"book = J.Journal({str(book)!r})\n"
        "start = J.RunStart('killed1', 'orchestrate_containers', 's', 'mem://', None, {})\n"
        "rec = book.begin(start)\n"
        "rec.step(ProgressEvent('container_created', 'db'))\n"
        "os._exit(9)\n"
    )
    subprocess.run([sys.executable, "-c", script], check=False)
    book_ = J.Journal(book)
    assert book_.history().iloc[0].outcome == "interrupted"
    entry = book_.entry("killed1")
    assert entry.outcome == "interrupted"
    assert [(s["kind"], s["resource"]) for s in entry.steps] == [("container_created", "db")]
    # A run of a live process stays "running".
    live = book_.begin(J.RunStart("alive1", "orchestrate_containers", "s", "mem://", None, {}))
    assert book_.entry("alive1").outcome == "running"
    live.finish("succeeded", changes={}, error=None, plan=[], result={})


def test_the_schema_is_versioned_and_migrated_on_open(book: Path) -> None:
    sqlite3.connect(book).close()  # an empty file at version 0
    J.Journal(book).history()
    with sqlite3.connect(book) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == J.SCHEMA_VERSION
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    J.Journal(book).history()  # a second open changes nothing


def test_history_filters_and_the_audit_report(
    memory: MemoryEngine, book: Path, tmp_path: Path
) -> None:
    m = manager(memory, book)
    first = m.run(op())
    m.down("shop")
    assert list(m.history(operation="cleanup_resources").operation) == ["cleanup_resources"]
    assert list(m.history(limit=1).operation) == ["cleanup_resources"]
    assert len(m.history(stack="shop")) == 2
    assert m.history(since="2999-01-01").empty
    since = m.history_entry(first.run_id or "").started_at
    assert len(m.history(since=since)) == 2
    out = J.report(tmp_path / "audit.html", journal=str(book))
    text = out.read_text()
    assert first.run_id in text and "2 run(s)" in text
    assert "<script" not in text and "http" not in text.replace(str(book), "")


def test_an_unwritable_journal_does_not_stop_the_work(memory: MemoryEngine, tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    m = manager(memory, blocked / "journal.sqlite")
    result = m.run(op())
    assert result.success
    assert any("unavailable" in w for w in result.warnings)


def test_who_and_where() -> None:
    assert J.process_alive(J.process_token()) is True
    assert J.process_alive(f"elsewhere:{os.getpid()}:1") is None
    assert J.notebook_path() is None or os.path.exists(J.notebook_path() or "")


def test_bad_gate_values_are_named_before_anything_runs(memory: MemoryEngine, book: Path) -> None:
    from infranb.core.errors import ValidationError

    with pytest.raises(ValidationError, match=r"config\.max_removals"):
        manager(memory, book, max_removals=-1)
    result = manager(memory, book).run(op(max_removals="3"))
    assert [p.path for p in result.problems] == ["max_removals"]
    assert result.run_id and memory.list_containers() == []


def test_stop_and_restart_helpers_are_journaled_too(memory: MemoryEngine, book: Path) -> None:
    m = manager(memory, book)
    m.run(op())
    m.restart(["db"])
    m.stop(["web"])
    missing = m.stop(["no-such-container"])  # a result, as every operation's
    assert not missing.success and isinstance(missing.exception, InfraError)
    rows = m.history()
    assert rows[["operation", "outcome", "changes"]].values.tolist()[:3] == [
        ["stop", "failed", ""],
        ["stop", "succeeded", "stop 1, remove container 1"],
        ["restart", "succeeded", "restart 1"],
    ]
    entry = m.history_entry(rows.run_id[1])
    assert [(s["kind"], s["resource"]) for s in entry.steps] == [
        ("container_stopped", "web"),
        ("container_removed", "web"),
    ]
    assert entry.request["container_ids"] == ["web"]
    assert "no-such-container" in (rows.error[0] or "")


def test_custom_secret_markers_apply_to_every_stored_record_and_description(
    tmp_path: Path,
) -> None:
    """``secret_markers=("PASSWORD", "MYSTERY")``: a MYSTERY_VALUE is masked in the journal's
    file (request, plan, result, steps) and in ``describe(op)``, as in frames and HTML."""
    from infranb import InfrastructureManager, InfrastructureManagerConfig, InfrastructureOperation
    from infranb.testing import MemoryEngine

    secret = "opensesame-4711"
    journal = tmp_path / "journal.sqlite"
    config = InfrastructureManagerConfig(
        secret_markers=("PASSWORD", "MYSTERY"), journal=str(journal), health_check_interval=0.01
    )
    op = InfrastructureOperation(
        operation="orchestrate_containers",
        stack="mystery",
        containers=[
            {
                "image": "infranb-demo/base:1",
                "name": "mystery-app",
                "environment": {"MYSTERY_VALUE": secret, "MODE": "plain"},
                "command": ["sh", "-c", f"echo {secret}; exit 3"],  # fails: an error names it
            }
        ],
    )
    with InfrastructureManager(config, engine=MemoryEngine(["infranb-demo/base:1"])) as manager:
        result = manager.run(op)
        assert not result.success
        entry = manager.history_entry(str(result.run_id))
        record = repr(
            (entry.request, entry.plan, entry.result, entry.prior, entry.steps, entry.error)
        )
        described = manager.describe(op)
        shown = [record, str(described), *described._repr_mimebundle_().values()]
        frame = manager.history().to_string()
    assert all(secret not in text for text in [*shown, frame]), shown
    assert "plain" in record  # a value under no marker is kept (the probe is real)
    stored_bytes = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert secret.encode() not in stored_bytes
    assert b"mystery-app" in stored_bytes  # names are identifiers, never masked


def test_a_bare_requests_repr_masks_with_the_default_markers() -> None:
    """Without a config a request cannot know custom markers: its docstring says so and
    points at ``manager.describe(op)``."""
    from infranb import InfrastructureOperation

    op = InfrastructureOperation(
        operation="orchestrate_containers",
        containers=[{"image": "x:1", "name": "a", "environment": {"DB_PASSWORD": "hunter22"}}],
    )
    assert "hunter22" not in repr(op)
    assert "describe" in (InfrastructureOperation.__repr__.__doc__ or "")


def test_every_helper_that_changes_an_engine_takes_consent(
    memory: MemoryEngine, book: Path
) -> None:
    """With ``confirm_destructive=True``: down, stop and restart are refused before they
    touch anything, and go through with ``confirm=True``; the fleet passes it on."""
    from infranb import Fleet, Refused

    m = manager(memory, book, confirm_destructive=True)
    assert m.run(op()).success
    memory.calls.clear()
    assert m.down("shop").refused
    stopping = m.stop(["web"])
    assert stopping.refused and isinstance(stopping.exception, Refused)
    assert stopping.exception.needs_consent  # auto_remove_containers is on by default:
    assert stopping.exception.steps == ["remove container web", "stop container web"]
    assert m.restart(["db"]).refused
    assert not MUTATING & set(memory.calls)  # nothing was touched
    assert m.restart(["db"], confirm=True).containers_started == ["db"]
    assert m.stop(["web"], confirm=True).containers_stopped == ["web"]
    assert m.down("shop", confirm=True).success
    fleet = Fleet({"local": m})
    assert fleet.run(op())["local"].success
    assert fleet.run(op({"MODE": "two"}))["local"].refused
    assert fleet.run(op({"MODE": "two"}), confirm=True)["local"].success


def test_stop_with_removal_counts_toward_max_removals(memory: MemoryEngine, book: Path) -> None:
    from infranb import Refused

    m = manager(memory, book, max_removals=0, auto_remove_containers=True)
    assert m.run(op()).success
    memory.calls.clear()
    refused = m.stop(["web", "db"])
    assert isinstance(refused.exception, Refused)
    assert refused.exception.steps[:2] == ["remove container web", "remove container db"]
    assert not MUTATING & set(memory.calls)
    alone = m.stop(["web"], remove=False)  # a stop alone removes nothing
    assert (alone.containers_stopped, alone.containers_removed) == (["web"], [])


def test_helper_runs_are_journaled_with_their_stack_and_refusals(
    memory: MemoryEngine, book: Path
) -> None:
    from infranb import Refused

    m = manager(memory, book)
    assert m.run(op()).success
    m.restart(["db"])
    m.stop(["web"])
    history = m.history(stack="shop")
    assert list(history["operation"][:2]) == ["stop", "restart"]
    strict = manager(memory, book, confirm_destructive=True)
    assert isinstance(strict.restart(["db"]).exception, Refused)
    newest = strict.history(stack="shop").iloc[0]
    assert (newest.operation, newest.outcome) == ("restart", "refused")


def test_journal_gaps_are_closed(memory: MemoryEngine, book: Path) -> None:
    """deploy_stack changes are counted; an unknown run is infranb's NotFound (and still a
    KeyError); a revert that cannot run leaves a row; the notebook comes from the context,
    the config or INFRANB_NOTEBOOK where the kernel cannot tell it."""
    from infranb import NotFound
    from infranb.core.records import ServiceOutcome
    from infranb.models import InfrastructureResult

    deployed = InfrastructureResult(success=True, operation="deploy_stack")
    deployed.services = [
        ServiceOutcome("api", "api:1", "create"),
        ServiceOutcome("db", "db:1", "unchanged"),
        ServiceOutcome("old", "old:1", "remove"),
    ]
    assert J.change_counts(deployed) == {"create service": 1, "remove service": 1}

    m = manager(memory, book)
    with pytest.raises(NotFound) as missing:
        m.history_entry("no-such-run")
    assert isinstance(missing.value, KeyError)
    assert str(missing.value).startswith("no run 'no-such-run'")  # one sentence, not quoted
    failed = m.revert("no-such-run")
    assert not failed.success
    row = m.history().iloc[0]
    assert (row.outcome, row.run_id) == ("failed", failed.run_id)

    named = manager(memory, book, notebook="ops/restart-db.ipynb")
    assert named.run(op()).success
    assert named.history().iloc[0].notebook == "ops/restart-db.ipynb"
    assert m.run(op({"MODE": "x"}), context={"notebook": "from-context.ipynb"}).success
    assert m.history().iloc[0].notebook == "from-context.ipynb"


def test_the_runners_notebook_is_journaled_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    monkeypatch.setenv("INFRANB_NOTEBOOK", "notebooks/07-runbook-template.ipynb")
    assert J.notebook_path() == "notebooks/07-runbook-template.ipynb"
