"""The manager's contract: construction, config, sync/async entry points, errors, secrets."""

from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace

import pytest

from infranb import (
    InfrastructureManager,
    InfrastructureManagerConfig,
    InfrastructureOperation,
    NotFound,
    ValidationError,
    secret_from_env,
)
from infranb.engines.docker import DockerEngine
from tests.integration.conftest import BASE, WEB, Census, fast_config

pytestmark = pytest.mark.usefixtures("demo_images")


def test_init_with_default_config_and_engine_info(engine) -> None:
    with InfrastructureManager() as manager:
        assert manager.config == InfrastructureManagerConfig()
        info = manager.info()
        assert info.api_version.startswith("1.")
        bundle = manager._repr_mimebundle_()
        assert "Docker" in bundle["text/plain"]


def test_init_with_injected_engine(engine) -> None:
    custom = DockerEngine(max_pool_size=4)
    with InfrastructureManager(engine=custom) as manager:
        assert manager.engine is custom
        assert manager.info().version


def test_bad_config_is_rejected_at_construction() -> None:
    with pytest.raises(ValidationError, match="max_parallel"):
        InfrastructureManager(InfrastructureManagerConfig(max_parallel=0))


def test_invalid_requests_fail_before_docker_is_touched(manager, engine) -> None:
    before = Census.take(engine)
    for op in (
        InfrastructureOperation(operation="nope"),
        InfrastructureOperation(operation="orchestrate_containers"),
        InfrastructureOperation(operation="orchestrate_containers", containers=[{"name": "ab"}]),
        InfrastructureOperation(operation="manage_images", image_params={"action": "pull"}),
        InfrastructureOperation(operation="cleanup_resources"),
        InfrastructureOperation(operation="health_check"),
        InfrastructureOperation(
            operation="orchestrate_containers",
            containers=[{"image": BASE, "name": "ab", "ports": {"eighty": "80"}}],
        ),
    ):
        result = manager.run(op)
        assert not result.success and result.error.startswith("invalid request: "), op
    assert Census.take(engine) == before


def test_run_works_inside_a_running_event_loop(manager, stack, uid) -> None:
    async def cell() -> bool:  # what a notebook cell calling manager.run looks like
        result = manager.run(
            InfrastructureOperation(
                operation="orchestrate_containers",
                stack=stack,
                containers=[{"image": BASE, "name": f"{uid}-x"}],
            )
        )
        return result.success

    assert asyncio.run(cell())


def test_parallel_operations_from_one_manager(manager, tracker, uid) -> None:
    stacks = [f"{uid}-{i}" for i in range(4)]
    tracker.stacks += stacks

    async def all_at_once() -> list:
        return await asyncio.gather(
            *(
                manager.execute(
                    InfrastructureOperation(
                        operation="orchestrate_containers",
                        stack=s,
                        containers=[{"image": BASE, "name": f"{s}-c"}],
                    )
                )
                for s in stacks
            )
        )

    results = asyncio.run(all_at_once())
    assert all(r.success for r in results), [r.error for r in results]


def test_correlation_id_on_result_and_labels(manager, engine, stack, uid) -> None:
    for context in (SimpleNamespace(correlation_id="corr-1"), {"correlation_id": "corr-1"}):
        result = manager.run(
            InfrastructureOperation(
                operation="orchestrate_containers",
                stack=stack,
                containers=[{"image": BASE, "name": f"{uid}-x"}],
            ),
            context,
        )
        assert result.correlation_id == "corr-1"
    labels = engine.inspect_container(f"{uid}-x").labels
    assert labels["infranb.correlation-id"] == "corr-1"


def test_secrets_reach_the_container_and_nothing_else(
    manager, engine, stack, uid, monkeypatch
) -> None:
    monkeypatch.setenv("INFRANB_TEST_PGPASS", "planted-secret-1")
    events = []
    op = InfrastructureOperation(
        operation="orchestrate_containers",
        stack=stack,
        containers=[
            {
                "image": BASE,
                "name": f"{uid}-db",
                "environment": {
                    "POSTGRES_PASSWORD": "planted-secret-2",
                    "REF": secret_from_env("INFRANB_TEST_PGPASS"),
                },
                "command": ["sh", "-c", "echo $POSTGRES_PASSWORD $REF; exit 1"],
            }
        ],
    )
    result = manager.run(op, progress=events.append)
    assert not result.success  # it exits, so its logs are shown
    details_env = None
    rendered = [
        result.error or "",
        repr(result),
        json.dumps(result._repr_mimebundle_()),
        result.to_frame().to_string(),
        repr(events),
        json.dumps(op._repr_mimebundle_()),
        repr(op.containers[0]["environment"]["REF"]),
        repr(op),
        str(op),
        str(result),
    ]
    for text in rendered:
        assert "planted-secret-1" not in text and "planted-secret-2" not in text
    op.dry_run = True
    plan = manager.run(op)
    assert "planted-secret" not in repr(plan) + plan.to_frame().to_string()

    ok = manager.run(
        InfrastructureOperation(
            operation="orchestrate_containers",
            stack=stack,
            containers=[
                {
                    "image": BASE,
                    "name": f"{uid}-db2",
                    "environment": {"REF": secret_from_env("INFRANB_TEST_PGPASS")},
                    "command": [
                        "sh",
                        "-c",
                        "echo token=$REF; trap 'exit 0' TERM; while :; do sleep 1 & wait $!; done",
                    ],
                }
            ],
        )
    )
    assert ok.success, ok.error
    details_env = engine.inspect_container(f"{uid}-db2").environment
    assert details_env["REF"] == "planted-secret-1"
    logs = manager.logs(f"{uid}-db2")
    assert list(logs.columns) == ["time", "container", "stream", "line"]
    assert list(logs["line"]) == ["token=••••••"]  # the container printed it; we mask it
    assert logs["time"].notna().all()


def test_missing_secret_reference_is_a_clear_error(manager, engine, stack, uid) -> None:
    before = Census.take(engine)
    result = manager.run(
        InfrastructureOperation(
            operation="orchestrate_containers",
            stack=stack,
            containers=[
                {
                    "image": BASE,
                    "name": f"{uid}-x",
                    "environment": {"PW": secret_from_env("INFRANB_TEST_UNSET_VAR")},
                }
            ],
        )
    )
    assert not result.success
    assert "environment.PW" in result.error and "INFRANB_TEST_UNSET_VAR" in result.error
    assert Census.take(engine) == before


def test_inventory_helpers(manager, engine, stack, uid) -> None:
    result = manager.run(
        InfrastructureOperation(
            operation="orchestrate_containers",
            stack=stack,
            containers=[
                {
                    "image": WEB,
                    "name": f"{uid}-web",
                    "networks": [f"{uid}-n"],
                    "volumes": {f"{uid}-v": "/data"},
                }
            ],
        )
    )
    assert result.success, result.error
    mine = manager.containers(stack=stack)
    assert list(mine["name"]) == [f"{uid}-web"]
    assert bool(mine["managed"].iloc[0]) and mine["stack"].iloc[0] == stack
    assert f"{uid}-n" in set(manager.networks()["name"])
    assert f"{uid}-v" in set(manager.volumes()["name"])
    assert "infranb-demo/web:1" in " ".join(manager.images()["tags"])
    out = manager.exec(f"{uid}-web", ["sh", "-c", "echo one; echo two; exit 4"])
    assert list(out["line"]) == ["one", "two"] and set(out["exit_code"]) == {4}
    stats = manager.stats(stack=stack)
    assert list(stats["name"]) == [f"{uid}-web"] and stats["memory_bytes"].iloc[0] > 0
    by_name = manager.stats([f"{uid}-web"])
    assert list(by_name["name"]) == [f"{uid}-web"] and by_name["pids"].iloc[0] >= 1
    # a series: one row per sample with the engine's read time, drawn as two charts
    series = manager.stats(f"{uid}-web", samples=3)
    assert list(series.columns) == ["time", *stats.columns]
    assert list(series["name"]) == [f"{uid}-web"] * 3
    assert series["time"].is_monotonic_increasing and series["time"].is_unique
    assert series["memory_bytes"].min() > 0
    assert series._repr_html_().count("<svg") == 2
    with pytest.raises(ValidationError, match="samples"):
        manager.stats(f"{uid}-web", samples=0)
    first_start = engine.inspect_container(f"{uid}-web").started_at
    assert manager.restart([f"{uid}-web"]).containers_started == [f"{uid}-web"]
    restarted = engine.inspect_container(f"{uid}-web")
    assert restarted.state == "running" and restarted.started_at > first_start
    with pytest.raises(NotFound) as missing:
        manager.exec(f"{uid}-missing", ["true"])
    assert f"{uid}-missing" in str(missing.value)
    assert missing.value.__cause__ is None and missing.value.__suppress_context__  # one error
    assert manager.stop([f"{uid}-web"]).containers_stopped == [f"{uid}-web"]
    assert engine.inspect_container(f"{uid}-web") is None  # auto_remove_containers


def test_stop_never_removes_a_foreign_container(engine, tracker, uid) -> None:
    from tests.integration.conftest import foreign_container

    foreign = foreign_container(engine, tracker, f"{uid}-foreign")
    with InfrastructureManager(config=fast_config()) as manager:
        stopped = manager.stop([f"{uid}-foreign"])
    assert stopped.success and stopped.containers_removed == []
    assert engine.inspect_container(foreign).state == "exited"
