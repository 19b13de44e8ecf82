"""cleanup_resources and health_check against the real engine."""

from __future__ import annotations

import contextlib

import pytest

from infranb import InfraError, InfrastructureManager, InfrastructureOperation
from tests.conftest import raw_api
from tests.integration.conftest import BASE, WEB, Census, fast_config, foreign_container

pytestmark = pytest.mark.usefixtures("demo_images")


def up(manager, stack: str, *containers: dict):
    result = manager.run(
        InfrastructureOperation(
            operation="orchestrate_containers", stack=stack, containers=list(containers)
        )
    )
    assert result.success, result.error
    return result


def cleanup(**kwargs) -> InfrastructureOperation:
    return InfrastructureOperation(operation="cleanup_resources", **kwargs)


def test_stopped_managed_containers_only(manager, engine, tracker, stack, uid) -> None:
    up(
        manager,
        stack,
        {"image": BASE, "name": f"{uid}-stopped"},
        {"image": BASE, "name": f"{uid}-running"},
    )
    engine.stop_container(f"{uid}-stopped", 1)
    foreign = foreign_container(engine, tracker, f"{uid}-foreign")
    engine.stop_container(foreign, 1)

    preview = manager.run(cleanup(cleanup_stopped_containers=True, stack=stack, dry_run=True))
    assert preview.success and preview.cleanup_summary["dry_run"]
    assert [r.name for r in preview.removed] == [f"{uid}-stopped"]
    assert engine.inspect_container(f"{uid}-stopped") is not None

    done = manager.run(cleanup(cleanup_stopped_containers=True, stack=stack))
    assert done.success, done.error
    assert done.containers_removed == [f"{uid}-stopped"]
    assert done.cleanup_summary["containers_removed"] == 1
    assert any("force_remove=True" in w for w in done.warnings)  # the running one was kept
    assert engine.inspect_container(f"{uid}-running").state == "running"
    assert engine.inspect_container(foreign).state == "exited"  # never touched


def test_default_scope_never_touches_unlabelled(manager, engine, tracker, uid) -> None:
    foreign = foreign_container(engine, tracker, f"{uid}-foreign")
    engine.stop_container(foreign, 1)
    preview = manager.run(
        cleanup(
            cleanup_stopped_containers=True,
            cleanup_unused_images=True,
            cleanup_volumes=True,
            dry_run=True,
        )
    )
    assert preview.success
    assert foreign not in {r.id for r in preview.removed}
    everything = manager.run(cleanup(cleanup_stopped_containers=True, scope="all", dry_run=True))
    assert foreign in {r.id for r in everything.removed}
    assert engine.inspect_container(foreign) is not None


def test_unused_managed_images_removed_images_in_use_kept(
    manager, engine, tracker, tmp_path, stack, uid
) -> None:
    (tmp_path / "Dockerfile").write_text(f"FROM {BASE}\nRUN echo {uid} > /id\n")
    used, unused = f"infranb-test/{uid}:used", f"infranb-test/{uid}:unused"
    tracker.images += [used, unused]
    for tag in (used, unused):
        built = manager.run(
            InfrastructureOperation(
                operation="manage_images",
                image_params={
                    "action": "build",
                    "path": str(tmp_path),
                    "tag": tag,
                    "nocache": True,
                },
            )
        )
        assert built.success, built.error
    up(manager, stack, {"image": used, "name": f"{uid}-user"})
    result = manager.run(cleanup(cleanup_unused_images=True, stack=stack))
    assert result.success, result.error
    assert unused in result.images_removed
    assert engine.image_id(unused) is None
    assert engine.image_id(used) is not None
    assert engine.image_id(BASE) is not None


def test_force_remove_stops_running_containers(manager, engine, stack, uid) -> None:
    up(manager, stack, {"image": BASE, "name": f"{uid}-a"})
    result = manager.run(cleanup(cleanup_stopped_containers=True, force_remove=True, stack=stack))
    assert result.success and result.containers_removed == [f"{uid}-a"]
    assert engine.inspect_container(f"{uid}-a") is None


def test_health_states(engine, stack, uid) -> None:
    with InfrastructureManager(config=fast_config()) as manager:
        up(
            manager,
            stack,
            {"image": WEB, "name": f"{uid}-web"},
            {"image": BASE, "name": f"{uid}-plain"},
            {"image": BASE, "name": f"{uid}-done", "command": ["true"], "restart": "no"},
            {
                "image": BASE,
                "name": f"{uid}-app",
                "depends_on": {f"{uid}-done": "completed_successfully"},
            },
        )
        result = manager.run(
            InfrastructureOperation(
                operation="health_check",
                container_ids=[f"{uid}-web", f"{uid}-plain", f"{uid}-done", f"{uid}-nope"],
            )
        )
    assert result.health_status == {
        f"{uid}-web": "healthy",
        f"{uid}-plain": "running",
        f"{uid}-done": "exited",
        f"{uid}-nope": "not_found",
    }
    assert not result.success
    assert f"{uid}-nope: no container with that name" in result.error
    assert result.health_details[f"{uid}-done"]["exit_code"] == 0
    frame = result.to_frame()
    assert list(frame["name"]) == [f"{uid}-web", f"{uid}-plain", f"{uid}-done", f"{uid}-nope"]


def test_health_retries_while_starting(engine, tracker, uid) -> None:
    # A foreign container whose healthcheck passes after ~1.5 s: the check must wait for it.
    api = raw_api()
    created = api.create_container(
        BASE,
        name=f"{uid}-slow",
        command=[
            "sh",
            "-c",
            "trap 'exit 0' TERM; sleep 1.5; touch /tmp/ok; while :; do sleep 1 & wait $!; done",
        ],
        healthcheck={
            "test": ["CMD", "test", "-f", "/tmp/ok"],
            "interval": 300_000_000,
            "retries": 20,
        },
    )
    tracker.containers.append(created["Id"])
    api.start(created["Id"])
    with InfrastructureManager(
        config=fast_config(health_check_interval=0.5, health_check_retries=10)
    ) as manager:
        result = manager.run(
            InfrastructureOperation(operation="health_check", container_ids=[f"{uid}-slow"])
        )
    assert result.success, result.error
    assert result.health_status == {f"{uid}-slow": "healthy"}


def test_unhealthy_shows_probe_output_with_secrets_masked(engine, tracker, uid) -> None:
    api = raw_api()
    created = api.create_container(
        BASE,
        name=f"{uid}-sick",
        environment={"DB_PASSWORD": "hunter2-secret"},
        healthcheck={
            "test": ["CMD-SHELL", "echo pw=$DB_PASSWORD; exit 1"],
            "interval": 200_000_000,
            "retries": 1,
        },
    )
    tracker.containers.append(created["Id"])
    api.start(created["Id"])
    with InfrastructureManager(
        config=fast_config(health_check_interval=0.5, health_check_retries=10)
    ) as manager:
        result = manager.run(
            InfrastructureOperation(operation="health_check", container_ids=[f"{uid}-sick"])
        )
    assert result.health_status == {f"{uid}-sick": "unhealthy"}
    details = result.health_details[f"{uid}-sick"]
    assert details["failing_streak"] >= 1
    assert "pw=" in details["last_output"]
    rendered = [
        result.error,
        str(details),
        result._repr_mimebundle_()["text/html"],
        result.to_frame().to_string(),
    ]
    assert all("hunter2-secret" not in text for text in rendered)


def test_census_unchanged_by_health_and_dry_runs(manager, engine, uid) -> None:
    before = Census.take(engine)
    manager.run(InfrastructureOperation(operation="health_check", container_ids=[f"{uid}-x"]))
    manager.run(
        cleanup(
            cleanup_stopped_containers=True,
            cleanup_unused_images=True,
            cleanup_volumes=True,
            scope="all",
            dry_run=True,
        )
    )
    assert Census.take(engine) == before


def test_a_dangling_managed_image_is_offered_for_cleanup(manager, engine, tmp_path, uid) -> None:
    """Rebuilding a tag leaves the old image dangling; cleanup's managed scope offers it.
    A dry run, so that this test never prunes dangling images it did not make."""
    tag = f"infranb-test/{uid}:1"
    ids = []
    try:
        for content in ("one", "two"):
            (tmp_path / "Dockerfile").write_text(
                f"FROM {BASE}\nRUN echo {content}-{uid} > /tmp/marker\n"
            )
            built = manager.run(
                InfrastructureOperation(
                    operation="manage_images",
                    image_params={"action": "build", "path": str(tmp_path), "tag": tag},
                )
            )
            assert built.success, built.error
            ids.append(built.images[0].image_id)
        old, new = ids
        assert old != new and engine.image_id(tag) == new
        plan = manager.run(
            InfrastructureOperation(
                operation="cleanup_resources", cleanup_unused_images=True, dry_run=True
            )
        )
        offered = {r.id for r in plan.removed if r.kind == "image"}
        assert old in offered  # dangling and built by infranb
        assert engine.image_id(old) is not None  # a dry run
    finally:
        for image in reversed(ids):
            with contextlib.suppress(InfraError):
                engine.remove_image(image, force=True)
