"""Saved plans (issue 46) on the in-memory engine: ``manager.plan`` for every operation of
the table, ``save``/``load``/``approve``, and ``apply`` that runs exactly the saved steps or
refuses before any change (the host changed, the file was edited), approvals as consent,
the journal's ``plan`` column, and a request with a secret typed in clear refused by
``save``. Docker, and a plan applied in another process: tests/integration/test_saved_plans.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from infranb import (
    InfrastructureManager,
    InfrastructureManagerConfig,
    InfrastructureOperation,
    Plan,
    secret_from_env,
)
from infranb.core.errors import PlanChanged
from infranb.core.plans import fingerprint_differences
from infranb.manager import run_sync
from infranb.ops.table import OPERATIONS
from infranb.testing import MemoryEngine

BASE, NEXT = "infranb-demo/base:1", "infranb-demo/base:2"


def manager(engine: MemoryEngine, tmp_path: Path, **config: Any) -> InfrastructureManager:
    settings: dict[str, Any] = {
        "journal": str(tmp_path / "journal.sqlite"),
        "min_uptime": 0.0,
        "stop_timeout": 0.1,
        "backup_dir": str(tmp_path / "backups"),
    }
    settings.update(config)
    return InfrastructureManager(InfrastructureManagerConfig(**settings), engine=engine)


def stack_op(image: str = BASE, **more: Any) -> InfrastructureOperation:
    return InfrastructureOperation(
        operation="orchestrate_containers",
        stack="shop",
        containers=[
            {"name": "web", "image": image, "command": "sleep 1000", **more},
            {"name": "db", "image": BASE, "command": "sleep 1000", "volumes": {"data": "/d"}},
        ],
    )


@pytest.fixture
def engine() -> MemoryEngine:
    return MemoryEngine([BASE, NEXT], swarm_nodes=1)


@pytest.fixture
def m(engine: MemoryEngine, tmp_path: Path) -> InfrastructureManager:
    m = manager(engine, tmp_path)
    assert m.run(stack_op()).success
    return m


def changes(engine: MemoryEngine, since: int) -> list[str]:
    reads = ("inspect", "list", "image_id", "info", "past_events", "container_logs", "volume")
    return [c for c in engine.calls[since:] if not c.startswith(reads) and c != "disk_usage"]


def test_a_saved_plan_is_applied_exactly(
    m: InfrastructureManager, engine: MemoryEngine, tmp_path: Path
) -> None:
    plan = m.plan(stack_op(NEXT))
    assert {(r.name, r.action) for r in plan} == {("db", "unchanged"), ("web", "recreate")}
    assert len(plan.id) == 12 and plan.request["operation"] == "orchestrate_containers"
    assert set(plan.fingerprint) == {"containers", "networks", "volumes", "images"}
    assert plan.fingerprint["volumes"]["data"]["created"]
    path = plan.save(tmp_path / "plan.json")
    saved = json.loads(path.read_text())
    assert saved["id"] == plan.id and saved["approvals"] == []
    loaded = Plan.load(path)
    assert loaded == plan and loaded.id == plan.id and loaded.steps == plan.steps
    result = m.apply(loaded)
    assert result.success, result.error
    assert [r.to_json() for r in result.plan] == [r.to_json() for r in plan]
    assert result.applied_plan == f"applied plan {plan.id}, with no approval"
    history = m.history(limit=1)
    assert history["plan"].tolist() == [f"plan {plan.id}, with no approval"]


def test_a_host_that_changed_is_refused_before_any_change(
    m: InfrastructureManager, engine: MemoryEngine, tmp_path: Path
) -> None:
    plan = m.plan(stack_op(NEXT))
    engine.restart_container("db")
    calls = len(engine.calls)
    census = engine.census()
    result = m.apply(plan)
    assert not result.success and result.refused
    assert "the host changed since plan" in str(result.error)
    rows = result.to_frame().to_dict("records")
    assert {(r["kind"], r["name"], r["field"]) for r in rows} >= {("container", "db", "started_at")}
    assert engine.census() == census and changes(engine, calls) == []
    assert m.history(limit=1)["outcome"].tolist() == ["refused"]


@pytest.mark.parametrize("change", ["removed", "retagged", "volume"])
def test_each_kind_of_drift_is_named(
    m: InfrastructureManager, engine: MemoryEngine, tmp_path: Path, change: str
) -> None:
    plan = m.plan(stack_op())  # nothing to do: every step unchanged
    if change == "removed":
        engine.stop_container("web")
        engine.remove_container("web")
        expected = ("container", "web", "exists")
    elif change == "retagged":
        engine.tag_image(NEXT, BASE)
        expected = ("image", BASE, "id")
    else:
        with engine._lock:  # the volume made again (the engine gives it a new CreatedAt)
            info = engine.volumes["data"]
            engine.volumes["data"] = type(info)(info.name, info.driver, info.labels,
                                                created="2027-01-01T00:00:00Z")  # fmt: skip
        expected = ("volume", "data", "created")
    result = m.apply(plan)
    assert result.refused, result.error
    found = {(r["kind"], r["name"], r["field"]) for r in result.to_frame().to_dict("records")}
    assert expected in found, found


def test_an_edited_plan_file_is_refused(m: InfrastructureManager, tmp_path: Path) -> None:
    path = m.plan(stack_op(NEXT)).save(tmp_path / "plan.json")
    data = json.loads(path.read_text())
    (web,) = [row for row in data["rows"] if row["name"] == "web"]
    web["action"] = "unchanged"  # someone hides the recreate
    path.write_text(json.dumps(data))
    result = m.apply(Plan.load(path))
    assert result.refused and "was edited after it was saved" in str(result.error)
    with pytest.raises(ValueError, match="was edited"):
        Plan.load(path).approve(by="ann")


def test_an_approval_is_consent_under_confirm_destructive(
    engine: MemoryEngine, tmp_path: Path
) -> None:
    m = manager(engine, tmp_path, confirm_destructive=True)
    assert m.run(stack_op()).success
    path = m.plan(stack_op(NEXT)).save(tmp_path / "plan.json")
    unapproved = m.apply(Plan.load(path))
    assert unapproved.refused and "confirm=True" in str(unapproved.error)
    Plan.load(path).approve(by="ann", note="checked the diff")
    approved = Plan.load(path)
    assert approved.approvals[0]["by"] == "ann" and approved.saved_id == approved.id
    result = m.apply(approved)
    assert result.success, result.error
    assert result.applied_plan == f"applied plan {approved.id}, approved by ann (checked the diff)"
    assert m.history(limit=1)["plan"].tolist() == [f"plan {approved.id}, approved by ann"]
    entry = m.history_entry(str(result.run_id))
    assert entry.outcome == "succeeded"


def test_save_refuses_a_secret_typed_in_clear(m: InfrastructureManager, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="secret_from_env"):
        m.plan(stack_op(environment={"API_TOKEN": "typed-in-clear"})).save(tmp_path / "p.json")
    assert not (tmp_path / "p.json").exists()
    by_reference = m.plan(stack_op(environment={"API_TOKEN": secret_from_env("HOME")}))
    text = by_reference.save(tmp_path / "p.json").read_text()
    assert '"$secret": "env"' in text


def test_the_gate_holds_the_run_to_the_saved_rows(m: InfrastructureManager) -> None:
    """Between apply's second look and its run the host may change again: the run's own
    plan is compared at its gate, before its first change."""
    from infranb.core.planning import PlanStep
    from infranb.runtime import Runtime

    saved = [PlanStep("web", "unchanged", 0, BASE).to_json()]
    rt = Runtime(m.engine, m.config, m._executor, expected=(saved, []))
    rt.gate([], plan=[PlanStep("web", "unchanged", 0, BASE)])  # the same: passes
    with pytest.raises(PlanChanged, match="differs from the saved plan"):
        rt.gate(["recreate container web"], plan=[PlanStep("web", "recreate", 0, BASE)])


def test_fingerprint_differences_name_what_changed() -> None:
    saved = {"containers": {"a": {"id": "1", "started_at": "t1"}, "b": None}, "images": {}}
    now = {"containers": {"a": {"id": "1", "started_at": "t2"}, "b": {"id": "2"}}, "images": {}}
    found = [(d.kind, d.name, d.field, d.at_plan, d.now) for d in
             fingerprint_differences(saved, now)]  # fmt: skip
    assert found == [("container", "a", "started_at", "t1", "t2"),
                     ("container", "b", "exists", "no", "yes")]  # fmt: skip


def requests(tmp_path: Path, m: InfrastructureManager, engine: MemoryEngine) -> dict[str, Any]:
    """One request of each operation of the table, against the stack ``m`` brought up."""
    backup = m.backup("data", to=tmp_path / "b")
    assert backup.success, backup.error
    archive = backup.archives[0].archive
    up_run = str(m.history(operation="orchestrate_containers", limit=1)["run_id"].iloc[0])
    (tmp_path / "f.txt").write_text("x")
    op = InfrastructureOperation
    return {
        "orchestrate_containers": stack_op(NEXT),
        "manage_images": op(operation="manage_images",
                            image_params={"action": "remove", "image": NEXT}),
        "cleanup_resources": op(operation="cleanup_resources", stack="shop",
                                cleanup_stopped_containers=True),
        "health_check": op(operation="health_check", container_ids=["web"]),
        "deploy_stack": op(operation="deploy_stack", stack="svc",
                           containers=[{"name": "api", "image": BASE}]),
        "stop": op(operation="stop", container_ids=["web"]),
        "restart": op(operation="restart", container_ids=["web"]),
        "update": op(operation="update", container_ids=["web"], params={"restart": "always"}),
        "copy_to": op(operation="copy_to", container_ids=["web"],
                      params={"host_path": str(tmp_path / "f.txt"), "container_path": "/f"}),
        "backup": op(operation="backup", params={"volumes": ["data"], "to": str(tmp_path / "c")}),
        "restore": op(operation="restore", params={"archive": archive, "volume": "copy"}),
        "heal": op(operation="heal", container_ids=["web"]),
        "revert": op(operation="revert", params={"run_id": up_run}),
    }  # fmt: skip


def test_every_operation_of_the_table_can_be_planned_and_applied(
    m: InfrastructureManager, engine: MemoryEngine, tmp_path: Path
) -> None:
    made = requests(tmp_path, m, engine)
    assert set(made) == set(OPERATIONS), "a new operation needs a case here"
    for name, request in made.items():
        plan = m.plan(request)
        assert len(plan.id) == 12, name
        path = plan.save(tmp_path / f"{name}.json")
        assert Plan.load(path).id == plan.id, name
    # one applied of each kind of runner: stepped (executor), runs itself, resolves; each
    # changes the host, so each is planned again just before
    for name in ("update", "orchestrate_containers", "revert"):
        path = m.plan(made[name]).save(tmp_path / f"{name}.json")
        result = m.apply(Plan.load(path))
        assert result.success, (name, result.error)


def test_apply_needs_a_plan_with_its_request(m: InfrastructureManager) -> None:
    with pytest.raises(ValueError, match="apply needs a plan"):
        run_sync(m.aapply(Plan()))
