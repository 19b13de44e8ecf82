"""``image_updates`` on the in-memory engine (issue 44): the logic of finding a newer image
in the registry without a pull; the proof on Docker is in tests/integration."""

from __future__ import annotations

import pandas as pd

from infranb import InfrastructureManager, InfrastructureOperation
from infranb.testing import MemoryEngine
from tests.unit.test_operations_memory import manager

REF = "127.0.0.1:5000/shop/api:1"


def running(memory: MemoryEngine, image: str, name: str) -> InfrastructureManager:
    m = manager(memory)
    made = m.run(
        InfrastructureOperation(
            operation="orchestrate_containers",
            stack="shop",
            containers=[{"name": name, "image": image, "pull_policy": "never"}],
        )
    )
    assert made.success, made.error
    return m


def test_the_same_digest_is_not_newer_and_a_new_push_is() -> None:
    memory = MemoryEngine([])
    memory.add_image(REF)
    memory.push_image(REF)
    m = running(memory, REF, "api")
    now = m.image_updates(stack="shop")
    assert list(now.container) == ["api"] and not now.newer.iloc[0]
    assert now.running_digest.iloc[0] == now.registry_digest.iloc[0]
    # another image under the same tag, pushed, then gone from this engine
    memory.add_image(REF)
    memory.push_image(REF)
    memory.remove_image(REF)
    memory.calls.clear()
    behind = m.image_updates(["api"])
    assert behind.newer.iloc[0] and pd.isna(behind.error.iloc[0])
    assert "pull_image" not in memory.calls  # found without a pull
    assert behind.image.iloc[0] == REF


def test_a_local_build_and_an_unknown_reference_are_na_with_a_reason() -> None:
    memory = MemoryEngine(["built/here:1"])  # never pushed: no registry digest
    m = running(memory, "built/here:1", "local")
    memory.add_image(REF)
    memory.push_image(REF)
    running(memory, REF, "remote")
    del memory.registry[REF]  # the registry lost it
    rows = m.image_updates().set_index("container")
    assert (
        pd.isna(rows.loc["local", "newer"]) and "not from a registry" in rows.loc["local", "error"]
    )
    assert pd.isna(rows.loc["remote", "newer"]) and "not found" in rows.loc["remote", "error"]


def test_it_is_a_view_of_the_fleet_too() -> None:
    from infranb import Fleet

    memory = MemoryEngine([])
    memory.add_image(REF)
    memory.push_image(REF)
    running(memory, REF, "api")
    fleet = Fleet({"one": manager(memory)})
    rows = fleet.image_updates()
    assert list(rows.engine) == ["one"] and list(rows.container) == ["api"]


def test_a_scheduled_pull_policy_reads_as_compose_v2_reads_it() -> None:
    from datetime import timedelta

    from infranb.core.options import refresh_after

    assert refresh_after("daily") == timedelta(days=1)
    assert refresh_after("weekly") == timedelta(weeks=1)
    assert refresh_after("every_12h") == timedelta(hours=12)
    assert refresh_after("every_1d12h30m") == timedelta(days=1, hours=12, minutes=30)
    assert refresh_after("every_2w") == timedelta(weeks=2)
    for not_a_schedule in ("always", "missing", "every_", "every_12x", "every_0s", "every_h"):
        assert refresh_after(not_a_schedule) is None, not_a_schedule
    bad = InfrastructureOperation(
        operation="orchestrate_containers",
        containers=[{"name": "api", "image": REF, "pull_policy": "every_fortnight"}],
    )
    assert [p.path for p in bad.validate()] == ["containers[0].pull_policy"]


def stack(policy: str) -> InfrastructureOperation:
    return InfrastructureOperation(
        operation="orchestrate_containers",
        stack="shop",
        containers=[{"name": "api", "image": REF, "pull_policy": policy}],
    )


def test_a_due_schedule_pulls_and_a_newer_image_in_the_registry_is_a_recreate() -> None:
    from datetime import UTC, datetime, timedelta

    memory = MemoryEngine([])
    memory.add_image(REF)
    memory.push_image(REF)
    m = manager(memory)
    assert m.run(stack("daily")).success
    fresh = m.run(stack("daily"))
    assert fresh.images_pulled == [] and [s.action for s in fresh.plan] == ["unchanged"]
    # another image is pushed under the tag; the local tag is still fresh: nothing pulled
    old_id = memory.image_id(REF)
    memory.add_image(REF)
    memory.push_image(REF)
    memory.tag_image(str(old_id), REF)  # the local tag points at the old image again
    assert [s.action for s in m.run(stack("daily")).plan] == ["unchanged"]
    # a day later the schedule is due: the plan pulls, and the newer image recreates
    memory.images[str(old_id)].created = datetime.now(UTC) - timedelta(days=2)
    planned = m.run(InfrastructureOperation(**{**vars(stack("daily")), "dry_run": True}))
    (step,) = planned.plan
    assert step.action == "recreate" and step.pull, step
    assert "the registry has a newer one" in step.reason
    done = m.run(stack("daily"))
    assert done.success and done.images_pulled == [REF], done.error
    assert memory.inspect_container("api").image_id == memory.image_id(REF) != old_id


def test_always_recreates_only_when_the_registry_has_a_newer_image() -> None:
    memory = MemoryEngine([])
    memory.add_image(REF)
    memory.push_image(REF)
    m = manager(memory)
    assert m.run(stack("always")).success
    again = m.run(stack("always"))
    assert [s.action for s in again.plan] == ["unchanged"]  # pulled, the same image
    memory.add_image(REF)
    memory.push_image(REF)
    old = memory.inspect_container("api")
    memory.tag_image(old.image_id, REF)
    newer = m.run(stack("always"))
    assert newer.success and [s.action for s in newer.plan] == ["recreate"], newer.error


def test_an_image_is_compared_only_with_the_registry_of_its_own_reference() -> None:
    from datetime import UTC, datetime

    from infranb.core.records import ImageInfo
    from infranb.views.image_updates import from_its_registry

    def image(*digests: str) -> ImageInfo:
        return ImageInfo("sha256:1", (), 1, datetime.now(UTC), {}, False, digests)

    pushed_elsewhere = image("127.0.0.1:5000/infranb-demo/base@sha256:aa")
    assert not from_its_registry("infranb-demo/base:1", pushed_elsewhere)
    assert from_its_registry("127.0.0.1:5000/infranb-demo/base:1", pushed_elsewhere)
    hub = image("nginx@sha256:bb")
    assert from_its_registry("docker.io/library/nginx:1.27", hub)
    assert from_its_registry("nginx:1.27", hub)
