"""The operations' logic on the in-memory memory: planning, rollback, cancellation, dry runs,
results derived from records. Fast; the real-memory tests remain the proof of behaviour."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from infranb import InfrastructureManager, InfrastructureManagerConfig, InfrastructureOperation
from infranb.core.errors import CycleError, HealthCheckFailed, PullFailed, ValidationError
from infranb.testing import MemoryEngine

BASE = "infranb-demo/base:1"
WEB = "infranb-demo/web:1"
MUTATING = {
    "create_container",
    "start_container",
    "stop_container",
    "restart_container",
    "remove_container",
    "rename_container",
    "pull_image",
    "build_image",
    "tag_image",
    "remove_image",
    "create_network",
    "remove_network",
    "disconnect",
    "create_volume",
    "remove_volume",
}

HEALTHY = {"test": ["CMD", "true"], "interval": "10ms", "retries": 1}


def manager(memory: MemoryEngine, **config: Any) -> InfrastructureManager:
    settings: dict[str, Any] = {
        "health_check_interval": 0.01,
        "stop_timeout": 0.1,
        "min_uptime": 0.05,
    }
    settings.update(config)
    return InfrastructureManager(InfrastructureManagerConfig(**settings), engine=memory)


def stack_op(**extra: Any) -> InfrastructureOperation:
    containers = [
        {"image": BASE, "name": "web", "depends_on": ["api"], "networks": ["shop-net"]},
        {
            "image": BASE,
            "name": "api",
            "depends_on": {"db": "healthy"},
            "networks": ["shop-net"],
            "environment": {"DATABASE_URL": "postgres://app:hunter22@db/app"},
        },
        {
            "image": BASE,
            "name": "db",
            "healthcheck": HEALTHY,
            "networks": ["shop-net"],
            "volumes": {"shop-data": "/data"},
            "environment": {"DB_PASSWORD": "hunter22"},
        },
    ]
    settings: dict[str, Any] = {"stack": "shop", "containers": containers}
    settings.update(extra)
    return InfrastructureOperation(operation="orchestrate_containers", **settings)


@pytest.fixture
def memory() -> MemoryEngine:
    return MemoryEngine([BASE, WEB], registry={"127.0.0.1:5000/app:1": "linux/amd64"})


def test_bring_up_follows_dependencies_and_a_rerun_changes_nothing(memory: MemoryEngine) -> None:
    result = manager(memory).run(stack_op())
    assert result.success, result.error
    assert result.containers_started == ["db", "api", "web"]  # wave order
    assert [c.wave for c in result.containers] == [0, 1, 2]
    assert result.networks_created == ["shop-net"]
    assert result.volumes_created == ["shop-data"]
    assert memory.inspect_container("db").health == "healthy"  # type: ignore[union-attr]
    assert list(result.to_frame()["name"]) == ["db", "api", "web"]

    memory.calls.clear()
    again = manager(memory).run(stack_op())
    assert again.success, again.error
    assert [c.action for c in again.containers] == ["unchanged"] * 3
    assert again.containers_started == []
    assert not MUTATING & set(memory.calls)


def test_a_changed_container_is_recreated_and_its_dependents_restart(memory: MemoryEngine) -> None:
    """Dependents that ask for it (``restart: true``, as Compose v2 has it) are restarted
    after their dependency is replaced, and those that ask for it after them (#44)."""

    def restarting() -> InfrastructureOperation:
        op = stack_op()
        op.containers[0]["depends_on"] = {"api": {"condition": "started", "restart": True}}
        op.containers[1]["depends_on"] = {"db": {"condition": "healthy", "restart": True}}
        return op

    manager(memory).run(restarting())
    op = restarting()
    op.containers[2]["environment"] = {"DB_PASSWORD": "other-secret"}
    result = manager(memory).run(op)
    assert result.success, result.error
    actions = {c.name: c.action for c in result.containers}
    assert actions == {"db": "recreate", "api": "restart", "web": "restart"}
    reasons = {s.name: s.reason for s in result.plan}
    assert reasons["web"] == "depends on db (through its dependencies), which is recreated"


def test_without_restart_true_a_dependent_keeps_running(memory: MemoryEngine) -> None:
    """Compose v2 leaves a dependent running when its dependency is replaced, unless its
    ``depends_on`` says ``restart: true`` (#44)."""
    manager(memory).run(stack_op())
    ids = {c.name: c.id for c in memory.list_containers(labels={"infranb.stack": "shop"})}
    op = stack_op()
    op.containers[2]["environment"] = {"DB_PASSWORD": "other-secret"}
    result = manager(memory).run(op)
    assert result.success, result.error
    assert {c.name: c.action for c in result.containers} == {
        "db": "recreate",
        "api": "unchanged",
        "web": "unchanged",
    }
    now = {c.name: c.id for c in memory.list_containers(labels={"infranb.stack": "shop"})}
    assert now["api"] == ids["api"] and memory.inspect_container("api").state == "running"


def test_a_failure_rolls_back_everything_the_run_made(memory: MemoryEngine) -> None:
    before = memory.census()
    op = stack_op()
    op.containers[1]["command"] = ["sh", "-c", "exit 3"]
    result = manager(memory).run(op)
    assert not result.success
    assert "api exited with code 3" in (result.error or "")
    assert "rolled back" in (result.error or "")
    assert memory.census() == before  # containers, network and volume all gone


def test_an_unpullable_image_touches_nothing(memory: MemoryEngine) -> None:
    before = memory.census()
    op = stack_op()
    op.containers[0]["image"] = "127.0.0.1:5000/missing:1"
    result = manager(memory).run(op)
    assert isinstance(result.exception, PullFailed)
    assert memory.census() == before
    assert "create_network" not in memory.calls  # images are pulled first


def test_cancelling_rolls_back_then_reraises(memory: MemoryEngine) -> None:
    memory.health_delay = 5.0  # db stays "starting": the run waits on it
    before = memory.census()

    async def scenario() -> None:
        task = asyncio.ensure_future(manager(memory).execute(stack_op()))
        while "start_container" not in memory.calls:
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(scenario())
    assert "start_container" in memory.calls  # it was cancelled mid-bring-up
    assert memory.census() == before


def test_orphans_are_a_warning_unless_removal_is_asked(memory: MemoryEngine) -> None:
    manager(memory).run(stack_op())
    smaller = stack_op()
    smaller.containers = smaller.containers[1:]
    smaller.containers[0]["depends_on"] = {"db": "healthy"}
    plan = manager(memory).run(smaller.__class__(**{**vars(smaller), "dry_run": True}))
    assert plan.orphans == ["web"]
    assert "remove-orphan" not in {s.action for s in plan.plan}  # the plan is what will happen
    assert any("orphan(s) kept: web" in w for w in plan.warnings)
    kept = manager(memory).run(smaller)
    assert any("orphan(s) kept: web" in w for w in kept.warnings)
    assert memory.inspect_container("web") is not None

    removing = manager(memory).run(smaller.__class__(**{**vars(smaller), "remove_orphans": True}))
    assert removing.containers_removed == ["web"]
    assert memory.inspect_container("web") is None


@pytest.mark.parametrize(
    "params",
    [
        {"action": "remove", "image": BASE},
        {"action": "pull", "image": "127.0.0.1:5000/app:1"},
        {"action": "tag", "image": BASE, "tag": "copy:1"},
    ],
    ids=lambda p: p["action"],
)
def test_a_dry_run_of_manage_images_touches_nothing(memory: MemoryEngine, params: dict) -> None:
    before = memory.census()
    op = InfrastructureOperation(operation="manage_images", image_params=params, dry_run=True)
    result = manager(memory).run(op)
    assert result.success, result.error
    assert result.dry_run
    assert not MUTATING & set(memory.calls)
    assert memory.census() == before
    assert result.images_removed == result.images_pulled == []
    [row] = result.images
    assert row.action == params["action"]
    assert row.detail


def test_platform_reaches_the_engine(memory: MemoryEngine) -> None:
    op = InfrastructureOperation(
        operation="manage_images",
        image_params={"action": "pull", "image": "127.0.0.1:5000/app:1", "platform": "linux/arm64"},
    )
    result = manager(memory).run(op)
    assert isinstance(result.exception, PullFailed)
    assert "no matching manifest for linux/arm64" in (result.error or "")


def test_health_check_keeps_records_and_the_exception(memory: MemoryEngine) -> None:
    manager(memory).run(stack_op())
    op = InfrastructureOperation(operation="health_check", container_ids=["db", "nope"])
    result = manager(memory).run(op)
    assert not result.success
    assert isinstance(result.exception, HealthCheckFailed)
    assert result.health_status == {"db": "healthy", "nope": "not_found"}
    assert list(result.to_frame()["status"]) == ["healthy", "not_found"]


def test_teardown_removes_the_stack(memory: MemoryEngine) -> None:
    before = memory.census()
    manager(memory).run(stack_op())
    down = InfrastructureOperation(
        operation="cleanup_resources",
        stack="shop",
        cleanup_stopped_containers=True,
        force_remove=True,
        cleanup_volumes=True,
    )
    result = manager(memory).run(down)
    assert result.success, result.error
    assert sorted(result.containers_removed) == ["api", "db", "web"]
    assert result.cleanup_summary["networks_removed"] == 1
    assert memory.census() == before


def test_invalid_requests_keep_problems_with_paths(memory: MemoryEngine) -> None:
    op = stack_op()
    op.containers[1]["ports"] = {"80": "not-a-port"}
    op.containers[0]["depends_on"] = ["nobody"]
    result = manager(memory).run(op)
    assert isinstance(result.exception, ValidationError)
    paths = {p.path for p in result.problems}
    assert paths == {"containers[1].ports", "containers[0].depends_on"}
    assert any(p.startswith("containers[1] (api).ports: ") for p in result.problems)
    assert memory.calls == []  # refused before the memory is asked anything


def test_a_cycle_is_a_validation_error_naming_it() -> None:
    op = InfrastructureOperation(
        operation="orchestrate_containers",
        containers=[
            {"image": BASE, "name": "ab", "depends_on": ["cd"]},
            {"image": BASE, "name": "cd", "depends_on": ["ab"]},
        ],
    )
    [problem] = op.validate()
    assert problem.path == "containers.depends_on"
    assert "ab -> cd -> ab" in problem.message
    assert issubclass(CycleError, ValidationError)


def test_secret_fingerprints_are_salted_per_container(memory: MemoryEngine) -> None:
    import hashlib
    import json

    manager(memory).run(stack_op())
    labels = memory.inspect_container("db").labels  # type: ignore[union-attr]
    salt = labels["infranb.salt"]
    assert len(salt) == 16
    bare = hashlib.sha256(json.dumps(["DB_PASSWORD", "hunter22"]).encode()).hexdigest()[:8]
    assert bare not in labels["infranb.spec-fields"]  # no table lookup of a bare hash
    other = memory.inspect_container("api").labels["infranb.salt"]  # type: ignore[union-attr]
    assert other != salt
    again = manager(memory).run(stack_op())  # the salt is reused: nothing changes
    assert [c.action for c in again.containers] == ["unchanged"] * 3


def test_a_network_and_volume_shared_by_two_stacks_go_with_the_last(memory: MemoryEngine) -> None:
    """The second stack reads the volume (two writers would be refused)."""
    before = memory.census()

    def stack(name: str) -> InfrastructureOperation:
        return InfrastructureOperation(
            operation="orchestrate_containers",
            stack=name,
            containers=[
                {
                    "image": BASE,
                    "name": f"{name}-app",
                    "networks": ["shared-net"],
                    "volumes": {"shared-vol": "/data" if name == "sa" else "/data:ro"},
                }
            ],
        )

    m = manager(memory)
    assert m.run(stack("sa")).success and m.run(stack("sb")).success
    first = m.down("sa", volumes=True)
    assert first.success, first.error
    assert "shared-net" in memory.networks and "shared-vol" in memory.volumes
    assert any(
        w.startswith("network shared-net kept: still used by sb-app") for w in first.warnings
    )
    assert any(w.startswith("volume shared-vol kept: still used by sb-app") for w in first.warnings)
    last = m.down("sb", volumes=True)
    assert last.success, last.error
    assert {r.name for r in last.removed} == {"sb-app", "shared-net", "shared-vol"}
    assert memory.census() == before


def test_engine_calls_never_exceed_max_parallel() -> None:
    """Measured: the most engine calls in flight at once during a 12-container bring-up."""
    import threading
    import time

    class Counting(MemoryEngine):
        def __init__(self) -> None:
            super().__init__([BASE])
            self.now = 0
            self.most = 0
            self.guard = threading.Lock()

        def create_container(self, *args: Any, **kwargs: Any) -> str:
            with self.guard:
                self.now += 1
                self.most = max(self.most, self.now)
            time.sleep(0.05)  # long enough for the others to pile up
            try:
                return super().create_container(*args, **kwargs)
            finally:
                with self.guard:
                    self.now -= 1

    engine = Counting()
    op = InfrastructureOperation(
        operation="orchestrate_containers",
        stack="wide",
        containers=[{"image": BASE, "name": f"c{i}"} for i in range(12)],
    )
    result = manager(engine, max_parallel=3).run(op)
    assert result.success, result.error
    assert engine.most == 3  # bounded, and the bound is reached


class _VolumeStaysInUse(MemoryEngine):
    """A volume that cannot be removed (another holder appeared): the engine's Conflict."""

    def remove_volume(self, name: str) -> None:
        from infranb.core.errors import Conflict

        if name == "shop-data":
            raise Conflict(f"removing volume {name}: volume is in use")
        super().remove_volume(name)


def test_a_rollback_that_leaves_a_volume_is_not_rolled_back() -> None:
    memory = _VolumeStaysInUse([BASE, WEB])
    op = stack_op()
    op.containers[1]["command"] = ["sh", "-c", "exit 3"]
    result = manager(memory).run(op)
    assert not result.success
    assert result.rolled_back is False
    assert [r for r in result.remaining if "shop-data" in r] == result.remaining != []
    assert "left in place: volume shop-data" in (result.error or "")
    assert "shop-data" in memory.volumes  # what remains is what the result says


def test_a_rollback_that_leaves_nothing_is_rolled_back(memory: MemoryEngine) -> None:
    op = stack_op()
    op.containers[1]["command"] = ["sh", "-c", "exit 3"]
    result = manager(memory).run(op)
    assert result.rolled_back is True
    assert result.remaining == []


def test_containers_stopped_names_what_a_teardown_and_a_recreate_stopped(
    memory: MemoryEngine,
) -> None:
    from infranb.manager import down_operation

    m = manager(memory)
    assert m.run(stack_op()).success
    changed = stack_op()
    changed.containers[0]["environment"] = {"VERSION": "2"}
    recreated = m.run(changed)
    assert recreated.success
    assert recreated.containers_stopped == ["web"]
    down = m.run(down_operation("shop"))
    assert sorted(down.containers_stopped) == ["api", "db", "web"]
    plan = m.run(down_operation("shop", dry_run=True))
    assert plan.containers_stopped == []


def test_a_one_shot_that_exits_0_is_no_failure(memory: MemoryEngine) -> None:
    op = stack_op()
    op.containers[0]["command"] = ["sh", "-c", "exit 0"]  # web: nothing depends on it
    result = manager(memory).run(op)
    assert result.success, result.error
    assert any("container web exited 0" in w for w in result.warnings)


def test_min_uptime_is_validated() -> None:
    problems = InfrastructureManagerConfig(min_uptime=-1).validate()
    assert any("min_uptime" in p for p in problems)


@pytest.mark.parametrize(("window", "inspects"), [(0.0, 1), (0.05, 2)])
def test_without_the_window_the_ready_look_is_the_last(
    memory: MemoryEngine, window: float, inspects: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``min_uptime=0`` turns "stayed up" off: a container without a healthcheck is
    inspected once, by its ready wait; with a window, once more when the window is over.
    (db's count is left out: its ready wait looks again each time its 10 ms health
    check is seen still starting, which depends on timing.)"""
    looked: list[str] = []
    inspect = memory.inspect_container

    def counted(ref: str) -> Any:
        details = inspect(ref)
        looked.append(details.name if details is not None else ref)
        return details

    monkeypatch.setattr(memory, "inspect_container", counted)
    result = manager(memory, min_uptime=window).run(stack_op())
    assert result.success, result.error
    assert (looked.count("web"), looked.count("api")) == (inspects, inspects)


def test_without_the_window_a_death_seen_since_the_start_still_fails(
    memory: MemoryEngine,
) -> None:
    """db dies right after its ready wait looked: with ``min_uptime=0`` nothing inspects it
    again, and the ``die`` the event stream brought still fails the run."""

    def kill_db(event: Any) -> None:
        if event.kind == "container_ready" and event.resource == "db":
            with memory._lock:
                memory._exit(memory._find("db"), 5)

    op = stack_op()
    op.containers[0]["healthcheck"] = HEALTHY  # web's ready wait outlasts the event's way
    result = manager(memory, min_uptime=0).run(op, progress=kill_db)
    assert not result.success
    assert "container db exited with code 5" in (result.error or "")
    assert result.rolled_back, result.error


def test_a_stack_brought_up_is_named_as_compose_names_projects(memory: MemoryEngine) -> None:
    """docker compose lowercases ``-p`` and never sees a project labelled ``MyShop``: such a
    bring-up is refused before anything is touched, with the name that would do."""
    result = manager(memory).run(stack_op(stack="MyShop"))
    assert not result.success
    assert "'MyShop' is not a Compose project name" in (result.error or "")
    assert "e.g. 'myshop'" in (result.error or "")
    assert not MUTATING & set(memory.calls)
    one = manager(memory).run(stack_op(stack="x"))  # Compose's rule allows one character
    assert one.success, one.error


def test_a_stack_named_otherwise_can_still_be_checked_and_torn_down(memory: MemoryEngine) -> None:
    cleanup = InfrastructureOperation(
        operation="cleanup_resources", stack="Old.Stack", cleanup_stopped_containers=True
    )
    for result in (manager(memory).run(cleanup), manager(memory).down("Old.Stack")):
        assert result.success, result.error
    problems = InfrastructureManagerConfig(default_stack="Prod").validate()
    assert any("config.default_stack" in p and "'prod'" in p for p in problems)
