"""Idempotent re-runs, plans, orphans and teardown (real engine)."""

from __future__ import annotations

import pytest

from infranb import InfrastructureOperation
from tests.integration.conftest import BASE, WEB, Census, foreign_container, teardown

pytestmark = pytest.mark.usefixtures("demo_images")


def five(uid: str, db_env: str = "1") -> list[dict]:
    net = [f"{uid}-net"]
    return [
        {"image": WEB, "name": f"{uid}-db", "environment": {"V": db_env}, "networks": net},
        {"image": BASE, "name": f"{uid}-cache", "networks": net},
        # restarted after db's replacement: it asks for it, as Compose v2 has it (#44)
        {
            "image": WEB,
            "name": f"{uid}-api",
            "depends_on": {f"{uid}-db": {"restart": True}},
            "networks": net,
        },
        {"image": BASE, "name": f"{uid}-worker", "depends_on": [f"{uid}-cache"], "networks": net},
        {"image": BASE, "name": f"{uid}-cron", "networks": net},
    ]


def up(stack: str, containers: list[dict], **kwargs) -> InfrastructureOperation:
    return InfrastructureOperation(
        operation="orchestrate_containers", stack=stack, containers=containers, **kwargs
    )


def ids(result) -> dict[str, str]:
    return {c.name: c.container_id for c in result.containers}


def test_unchanged_rerun_keeps_every_id(manager, stack, uid) -> None:
    first = manager.run(up(stack, five(uid)))
    assert first.success, first.error
    again = manager.run(up(stack, five(uid)))
    assert again.success, again.error
    assert ids(again) == ids(first)
    assert {c.action for c in again.containers} == {"unchanged"}
    assert again.containers_started == []


def test_one_env_change_recreates_exactly_that_container(manager, engine, stack, uid) -> None:
    first = manager.run(up(stack, five(uid)))
    assert first.success, first.error
    plan = manager.run(up(stack, five(uid, db_env="2"), dry_run=True))
    assert plan.success and plan.dry_run
    steps = {s.name: s for s in plan.plan}
    assert steps[f"{uid}-db"].action == "recreate"
    assert steps[f"{uid}-db"].reason == "changed: environment.V"
    assert steps[f"{uid}-api"].action == "restart"
    assert {steps[n].action for n in (f"{uid}-cache", f"{uid}-worker", f"{uid}-cron")} == {
        "unchanged"
    }
    frame = plan.to_frame()
    assert list(frame["action"].astype(str)) == [s.action for s in plan.plan]

    second = manager.run(up(stack, five(uid, db_env="2")))
    assert second.success, second.error
    before, after = ids(first), ids(second)
    changed = {n for n in before if before[n] != after[n]}
    assert changed == {f"{uid}-db"}
    assert engine.inspect_container(f"{uid}-db").environment["V"] == "2"
    # Nothing of the replaced container is left behind.
    assert not [
        c for c in engine.list_containers(labels={"infranb.stack": stack}) if "replaced" in c.name
    ]


def test_stopped_container_is_started(manager, engine, stack, uid) -> None:
    first = manager.run(up(stack, five(uid)[:2]))
    engine.stop_container(f"{uid}-cache", 1)
    again = manager.run(up(stack, five(uid)[:2]))
    assert again.success, again.error
    assert {c.name: c.action for c in again.containers} == {
        f"{uid}-db": "unchanged",
        f"{uid}-cache": "start",
    }
    assert ids(again) == ids(first)


def test_orphans_reported_then_removed_on_request(manager, engine, stack, uid) -> None:
    assert manager.run(up(stack, five(uid))).success
    fewer = five(uid)[:3]
    kept = manager.run(up(stack, fewer))
    assert kept.success, kept.error
    assert sorted(kept.orphans) == sorted([f"{uid}-worker", f"{uid}-cron"])
    assert engine.inspect_container(f"{uid}-cron") is not None
    removed = manager.run(up(stack, fewer, remove_orphans=True))
    assert removed.success, removed.error
    assert sorted(removed.containers_removed) == sorted([f"{uid}-worker", f"{uid}-cron"])
    assert engine.inspect_container(f"{uid}-cron") is None


def test_dry_run_touches_nothing(manager, engine, stack, uid) -> None:
    before = Census.take(engine)
    plan = manager.run(up(stack, five(uid), dry_run=True))
    assert plan.success and plan.dry_run
    assert [s.action for s in plan.plan] == ["create"] * 5
    assert plan.plan[0].networks_to_create == (f"{uid}-net",)
    assert Census.take(engine) == before


def test_teardown_of_a_leaves_b_and_foreign_untouched(manager, engine, tracker, uid) -> None:
    a, b = f"{uid}-a", f"{uid}-b"
    tracker.stacks += [a, b]
    shared = f"{uid}-shared"
    assert manager.run(
        up(
            a,
            [
                {
                    "image": BASE,
                    "name": f"{uid}-a1",
                    "networks": [shared, f"{uid}-anet"],
                    "volumes": {f"{uid}-avol": "/data"},
                },
                {
                    "image": BASE,
                    "name": f"{uid}-a2",
                    "networks": [f"{uid}-anet"],
                    "depends_on": [f"{uid}-a1"],
                },
            ],
        )
    ).success
    assert manager.run(up(b, [{"image": BASE, "name": f"{uid}-b1", "networks": [shared]}])).success
    foreign = foreign_container(engine, tracker, f"{uid}-foreign")

    plan = manager.run(
        InfrastructureOperation(
            operation="cleanup_resources",
            cleanup_stopped_containers=True,
            force_remove=True,
            cleanup_volumes=True,
            stack=a,
            dry_run=True,
        )
    )
    assert plan.success
    assert {(r.kind, r.name) for r in plan.removed} == {
        ("container", f"{uid}-a1"),
        ("container", f"{uid}-a2"),
        ("network", f"{uid}-anet"),  # shared is still used by b: kept, with a warning
        ("volume", f"{uid}-avol"),
    }
    assert engine.inspect_container(f"{uid}-a1") is not None

    down = manager.run(teardown(a, volumes=True))
    assert down.success, down.error
    assert down.containers_removed == [f"{uid}-a2", f"{uid}-a1"]  # dependents first
    assert engine.inspect_container(f"{uid}-a1") is None
    assert {n.name for n in engine.list_networks()} >= {shared}  # b still uses it
    assert f"{uid}-anet" not in {n.name for n in engine.list_networks()}
    assert f"{uid}-avol" not in {v.name for v in engine.list_volumes()}
    assert engine.inspect_container(f"{uid}-b1").state == "running"
    assert engine.inspect_container(foreign).state == "running"
    assert (
        f"network {shared} kept: still used by {uid}-b1; it goes with the last stack that uses it"
        in down.warnings
    )

    # The network a created and b shares goes with b, the last stack that uses it.
    last = manager.run(teardown(b, volumes=True))
    assert last.success, last.error
    assert ("network", shared) in {(r.kind, r.name) for r in last.removed}
    assert shared not in {n.name for n in engine.list_networks()}
    assert engine.inspect_container(foreign).state == "running"
