"""Start-first and stop-first replacements (issue 44) on the in-memory engine: the plan's
order and its reasons, the swap's order as the engine's DNS would answer during it, and the
rollbacks. The proof with real clients is on Docker (tests/integration/test_start_first.py)."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from infranb import InfrastructureOperation, compose
from infranb.core import labels as L
from infranb.core.errors import SpecProblem
from infranb.core.planning import plan_frame
from infranb.core.specs import UpdatePolicy, parse_update_policy
from infranb.testing import MemoryEngine
from tests.unit.test_operations_memory import BASE, manager

NET = "sf-net"


def stack(version: str, *, dry_run: bool = False, **extra: Any) -> InfrastructureOperation:
    app = {
        "name": "app",
        "image": BASE,
        "networks": {NET: {"aliases": ["api"]}},
        "environment": {"VERSION": version},
        "update_config": {"order": "start-first"},
        **extra,
    }
    return InfrastructureOperation(
        operation="orchestrate_containers", stack="sf", containers=[app], dry_run=dry_run
    )


class Answers:
    """Polls who answers a name while a run goes on, as a client asking every moment would."""

    def __init__(self, memory: MemoryEngine, name: str) -> None:
        self.memory, self.name = memory, name
        self.seen: list[tuple[str, ...]] = []
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self) -> None:
        while not self._done.is_set():
            self.seen.append(tuple(self.memory.answers(NET, self.name)))
            self._done.wait(0.0005)

    def __enter__(self) -> Answers:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._done.set()
        self._thread.join()


def test_start_first_keeps_an_answer_for_the_name_and_the_alias_throughout() -> None:
    memory = MemoryEngine([BASE])
    m = manager(memory, update_drain=0.05)
    assert m.run(stack("1")).success
    (old,) = memory.list_containers(labels={L.STACK: "sf"})
    with Answers(memory, "api") as by_alias, Answers(memory, "app") as by_name:
        result = m.run(stack("2"))
    assert result.success, result.error
    (step,) = result.plan
    assert (step.action, step.order) == ("recreate", "start-first")
    assert "start-first (its update_config)" in step.order_reason
    for answers in (by_alias, by_name):
        assert len(answers.seen) > 20
        assert all(answers.seen), "a moment when nothing answered"
        # Both answer during the swap, then the replacement alone.
        assert any(len(a) == 2 for a in answers.seen)
    (new,) = memory.list_containers(labels={L.STACK: "sf"})
    assert new.id != old.id and new.name == "app" and new.state == "running"
    assert memory.answers(NET, "api") == ["app"]
    timeline = [mark for mark, _ in result.containers[0].timeline]
    assert timeline.index("held") < timeline.index("swapped") < timeline.index("ready")


def test_a_replacement_that_never_gets_healthy_leaves_the_old_one_untouched() -> None:
    memory = MemoryEngine([BASE])
    m = manager(memory, update_drain=0.0, container_start_timeout=0.5)
    assert m.run(stack("1")).success
    (old,) = memory.list_containers(labels={L.STACK: "sf"})
    before = memory.containers[old.id]
    began, networks, aliases = before.started_at, list(before.networks), dict(before.aliases)
    with Answers(memory, "api") as answers:
        bad = m.run(stack("2", healthcheck={"test": ["CMD", "false"], "interval": 0.01}))
    assert not bad.success and bad.rolled_back
    assert all(answers.seen) and all(a == ("app",) for a in answers.seen)
    (still,) = memory.list_containers(labels={L.STACK: "sf"})
    assert (still.id, still.name, still.state) == (old.id, "app", "running")
    # The old container was never stopped (the same start), renamed or disconnected.
    after = memory.containers[old.id]
    assert (after.started_at, after.networks, after.aliases) == (began, networks, aliases)


def test_a_failure_after_the_swap_puts_the_old_container_back_on_its_networks() -> None:
    memory = MemoryEngine([BASE])
    m = manager(memory, update_drain=0.0)
    two = [
        {"name": "app", "image": BASE, "networks": {NET: {"aliases": ["api"]}},
         "update_config": {"order": "start-first"}},
        {"name": "worker", "image": BASE, "networks": [NET], "depends_on": ["app"]},
    ]  # fmt: skip
    first = InfrastructureOperation(operation="orchestrate_containers", stack="sf", containers=two)
    assert m.run(first).success
    old = {c.name: c.id for c in memory.list_containers(labels={L.STACK: "sf"})}
    changed = [
        {**two[0], "environment": {"V": "2"}},
        {**two[1], "command": "exit 3"},  # recreated after app's swap, and dies
    ]
    failed = m.run(
        InfrastructureOperation(operation="orchestrate_containers", stack="sf", containers=changed)
    )
    assert not failed.success and failed.rolled_back, failed.error
    now = {c.name: (c.id, c.state) for c in memory.list_containers(labels={L.STACK: "sf"})}
    assert now == {"app": (old["app"], "running"), "worker": (old["worker"], "running")}
    assert memory.answers(NET, "api") == ["app"]


@pytest.mark.parametrize(
    ("extra", "blocker"),
    [
        ({"ports": ["127.0.0.1:18123:80"]}, "publishes 127.0.0.1:18123->80/tcp on the host"),
        ({"volumes": ["sfdata:/data"]}, "mounts the volume sfdata writable at /data"),
        ({"volumes": ["/data"]}, "mounts the anonymous volume writable at /data"),
        ({"devices": ["/dev/null:/dev/x"]}, "uses devices"),
        ({"mac_address": "02:42:ac:11:00:99"}, "fixed MAC"),
    ],
)
def test_start_first_that_cannot_run_twice_is_stop_first_with_its_reason(
    extra: dict[str, Any], blocker: str
) -> None:
    memory = MemoryEngine([BASE])
    m = manager(memory, update_drain=0.0)
    assert m.run(stack("1", **extra)).success
    result = m.run(stack("2", **extra))
    assert result.success, result.error
    (step,) = result.plan
    assert step.order == "stop-first"
    assert step.order_reason.startswith("stop-first: start-first was asked, but two copies")
    assert blocker in step.order_reason
    assert blocker in plan_frame(result.plan).loc[0, "reason"]
    assert plan_frame(result.plan).loc[0, "order"] == "stop-first"


def test_a_read_only_volume_allows_start_first_and_auto_is_the_config_default() -> None:
    memory = MemoryEngine([BASE])
    m = manager(memory, update_drain=0.0, update_order="auto")
    plain = {"update_config": None, "volumes": ["sfconf:/etc/app:ro"]}
    assert m.run(stack("1", **plain)).success
    dry = m.run(stack("2", dry_run=True, **plain))
    (step,) = dry.plan
    assert step.order == "start-first" and "update_order auto" in step.order_reason
    ports = {"update_config": None, "ports": ["127.0.0.1:18124:80"]}
    assert m.run(stack("3", **ports)).success  # a host port: stop-first, no complaint
    (step,) = m.run(stack("4", dry_run=True, **ports)).plan
    assert step.order == "stop-first" and "update_order is auto" in step.order_reason


def test_stop_first_is_the_default_and_its_replacement_is_made_before_the_stop() -> None:
    memory = MemoryEngine([BASE])
    m = manager(memory, update_drain=0.0)
    plain = {"update_config": None}
    assert m.run(stack("1", **plain)).success
    begin = len(memory.calls)
    result = m.run(stack("2", **plain))
    assert result.success, result.error
    (step,) = result.plan
    assert (step.order, step.order_reason) == ("stop-first", "")
    calls = memory.calls[begin:]
    assert calls.index("create_container") < calls.index("stop_container")
    assert calls.index("stop_container") < calls.index("start_container")


def test_update_config_parses_as_the_compose_spec_has_it_leaving_silence_none() -> None:
    policy = parse_update_policy({"order": "start-first", "monitor": "2s", "delay": 1}, "u")
    assert policy == UpdatePolicy(order="start-first", monitor=2.0, delay=1.0)
    assert UpdatePolicy().api() == {
        "Parallelism": 1, "Delay": 0, "FailureAction": "pause", "Order": "stop-first",
    }  # fmt: skip
    for bad, where in [
        ({"order": "sideways"}, "u.order"),
        ({"failure_action": "explode"}, "u.failure_action"),
        ({"parallelism": -1}, "u.parallelism"),
        ({"monitor": "soon"}, "u.monitor"),
        ({"speed": 1}, "u.speed"),
    ]:
        with pytest.raises(SpecProblem) as caught:
            parse_update_policy(bad, "u")
        assert caught.value.where == where


def test_a_compose_files_update_config_is_applied_on_one_engine(tmp_path: Any) -> None:
    (tmp_path / "compose.yaml").write_text(
        "services:\n"
        "  api:\n"
        f"    image: {BASE}\n"
        "    deploy:\n"
        "      update_config:\n"
        "        order: start-first\n"
        "        monitor: 3s\n"
    )
    project = compose.load(tmp_path / "compose.yaml")
    assert "deploy.update_config" not in set(project.not_applicable["key"])
    (container,) = project.operation().containers
    assert container["update_config"] == {"order": "start-first", "monitor": "3s"}


def replicas(version: str, *, healthcheck: Any = None, **policy: Any) -> InfrastructureOperation:
    return InfrastructureOperation(
        operation="orchestrate_containers",
        stack="sf",
        containers=[
            {"name": f"sf-api-{i}", "image": BASE, "service": "api", "container_number": i,
             "networks": {NET: {"aliases": ["api"]}}, "environment": {"VERSION": version},
             "healthcheck": healthcheck, **({"update_config": policy} if policy else {})}
            for i in (1, 2, 3)
        ],
    )  # fmt: skip


def marks(result: Any) -> dict[str, dict[str, float]]:
    return {c.name: dict(c.timeline) for c in result.containers}


@pytest.mark.parametrize("policy", [{}, {"order": "start-first"}])
def test_replicas_roll_one_at_a_time_so_the_service_always_answers(policy: dict) -> None:
    memory = MemoryEngine([BASE])
    m = manager(memory, update_drain=0.0)
    assert m.run(replicas("1", **policy)).success
    with Answers(memory, "api") as answers:
        result = m.run(replicas("2", **policy))
    assert result.success, result.error
    assert min(len(a) for a in answers.seen) >= 2  # one replica out at a time, at most
    times = marks(result)
    assert times["sf-api-2"]["started"] >= times["sf-api-1"]["ready"]
    assert times["sf-api-3"]["started"] >= times["sf-api-2"]["ready"]


def test_parallelism_zero_replaces_a_services_containers_at_once() -> None:
    memory = MemoryEngine([BASE], health_delay=0.3)  # each takes 0.3 s to be healthy
    m = manager(memory, update_drain=0.0)
    check = {"test": ["CMD", "true"], "interval": 0.3}
    assert m.run(replicas("1", parallelism=0, healthcheck=check)).success
    result = m.run(replicas("2", parallelism=0, healthcheck=check))
    assert result.success, result.error
    times = marks(result)
    assert max(t["started"] for t in times.values()) < min(t["ready"] for t in times.values())


def test_a_failure_action_other_than_rollback_is_said_in_the_plan_step() -> None:
    memory = MemoryEngine([BASE])
    m = manager(memory, update_drain=0.0)
    assert m.run(stack("1")).success
    dry = m.run(stack("2", dry_run=True, update_config={"failure_action": "pause"}))
    (step,) = dry.plan
    assert "the old container runs again and its service's later replacements" in (
        step.order_reason
    )


def two_services(version: str, api_policy: dict, *, api_fails: bool) -> InfrastructureOperation:
    check = {"test": ["CMD", "false" if api_fails else "true"], "interval": 0.01}
    return InfrastructureOperation(
        operation="orchestrate_containers",
        stack="sf",
        containers=[
            {"name": "sf-api", "image": BASE, "environment": {"V": version},
             "healthcheck": check, "update_config": api_policy},
            {"name": "sf-web", "image": BASE, "environment": {"V": version}},
        ],
    )  # fmt: skip


@pytest.mark.parametrize("order", ["stop-first", "start-first"])
def test_failure_action_continue_keeps_the_old_container_and_the_rest_of_the_run(
    order: str,
) -> None:
    memory = MemoryEngine([BASE])
    m = manager(memory, update_drain=0.0, container_start_timeout=0.5)
    policy = {"failure_action": "continue", "order": order}
    assert m.run(two_services("1", policy, api_fails=False)).success
    before = {c.name: c.id for c in memory.list_containers(labels={L.STACK: "sf"})}
    result = m.run(two_services("2", policy, api_fails=True))
    assert not result.success and not result.rolled_back
    assert "failure_action continue" in str(result.error)
    assert "replaced as planned: sf-web" in str(result.error)
    now = {c.name: (c.id, c.state) for c in memory.list_containers(labels={L.STACK: "sf"})}
    assert now["sf-api"] == (before["sf-api"], "running")  # the old one, running again
    assert now["sf-web"][0] != before["sf-web"] and now["sf-web"][1] == "running"
    assert set(now) == {"sf-api", "sf-web"}  # the failed replacement is gone
    actions = {c.name: c.action for c in result.containers}
    assert actions == {"sf-api": "kept", "sf-web": "recreate"}


def test_failure_action_pause_stops_the_services_later_replacements() -> None:
    memory = MemoryEngine([BASE])
    m = manager(memory, update_drain=0.0, container_start_timeout=0.5)
    good = replicas("1", failure_action="pause")
    assert m.run(good).success
    before = {c.name: c.id for c in memory.list_containers(labels={L.STACK: "sf"})}
    bad = replicas("2", failure_action="pause", healthcheck={"test": ["CMD", "false"]})
    result = m.run(bad)
    assert not result.success and not result.rolled_back
    said = str(result.error)
    assert "sf-api-1: its replacement failed" in said and "failure_action pause" in said
    assert "sf-api-2: not replaced: its service's update paused" in said
    now = {c.name: (c.id, c.state) for c in memory.list_containers(labels={L.STACK: "sf"})}
    assert now == {n: (i, "running") for n, i in before.items()}  # all three old ones
