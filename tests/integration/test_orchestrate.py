"""orchestrate_containers against the real engine: waves, gating, failures, rollback."""

from __future__ import annotations

import asyncio
import dataclasses
import urllib.request

import pytest

from infranb import InfrastructureManager, InfrastructureOperation, ProgressEvent
from tests.conftest import raw_api
from tests.integration.conftest import BASE, WEB, Census, Tracker, fast_config, foreign_container

pytestmark = pytest.mark.usefixtures("demo_images")


def orchestrate(stack: str, *containers: dict, **kwargs) -> InfrastructureOperation:
    return InfrastructureOperation(
        operation="orchestrate_containers", stack=stack, containers=list(containers), **kwargs
    )


def test_stack_with_network_volume_ports_env(manager, engine, stack, uid) -> None:
    op = orchestrate(
        stack,
        {
            "image": WEB,
            "name": f"{uid}-db",
            "environment": {"ROLE": "db"},
            "volumes": {f"{uid}-data": "/data"},
            "networks": [f"{uid}-net"],
        },
        {"image": BASE, "name": f"{uid}-cache", "networks": [f"{uid}-net"]},
        {
            "image": WEB,
            "name": f"{uid}-web",
            "ports": {"80": "127.0.0.1:18081"},
            "networks": [f"{uid}-net"],
            "depends_on": [f"{uid}-db", f"{uid}-cache"],
        },
    )
    result = manager.run(op)
    assert result.success, result.error
    assert result.containers_started == [f"{uid}-db", f"{uid}-cache", f"{uid}-web"]
    assert result.network_created and result.networks_created == [f"{uid}-net"]
    assert result.volumes_created == [f"{uid}-data"]
    assert [c.wave for c in result.containers] == [0, 0, 1]
    assert {c.health for c in result.containers} == {"healthy", None}
    # Published port answers on loopback; names resolve on the user-defined network.
    with urllib.request.urlopen("http://127.0.0.1:18081/", timeout=5) as answer:
        assert answer.read().strip() == b"ok"
    code, output = engine.exec_in(f"{uid}-cache", ["wget", "-q", "-O", "-", f"http://{uid}-db/"])
    assert code == 0 and output.strip() == "ok"
    details = engine.inspect_container(f"{uid}-db")
    assert details is not None
    assert details.environment["ROLE"] == "db"
    assert details.labels["infranb.managed"] == "true"
    assert details.labels["infranb.stack"] == stack
    assert len(details.labels["infranb.spec-hash"]) == 16


def test_health_gated_chain_starts_in_order(manager, engine, stack, uid) -> None:
    events: list[ProgressEvent] = []
    op = orchestrate(
        stack,
        {
            "image": WEB,
            "name": f"{uid}-web",
            "depends_on": [f"{uid}-cache"],
            "networks": [f"{uid}-n"],
        },
        {
            "image": WEB,
            "name": f"{uid}-cache",
            "depends_on": {f"{uid}-db": "healthy"},
            "networks": [f"{uid}-n"],
        },
        {"image": WEB, "name": f"{uid}-db", "networks": [f"{uid}-n"]},
    )
    result = manager.run(op, progress=events.append)
    assert result.success, result.error
    assert result.containers_started == [f"{uid}-db", f"{uid}-cache", f"{uid}-web"]
    order = [
        (e.kind, e.resource) for e in events if e.kind in ("container_started", "container_ready")
    ]
    assert order == [
        ("container_started", f"{uid}-db"),
        ("container_ready", f"{uid}-db"),
        ("container_started", f"{uid}-cache"),
        ("container_ready", f"{uid}-cache"),
        ("container_started", f"{uid}-web"),
        ("container_ready", f"{uid}-web"),
    ]
    started = {c.name: engine.inspect_container(c.name).started_at for c in result.containers}
    assert started[f"{uid}-db"] < started[f"{uid}-cache"] < started[f"{uid}-web"]


def test_started_condition_does_not_wait_for_health(manager, engine, stack, uid) -> None:
    """{"db": "started"} (Compose's default) starts the dependent once db has started, while
    db itself is still becoming healthy; the default would have waited for healthy."""
    slow_health = {
        "test": ["CMD", "sh", "-c", "test -f /tmp/ready"],
        "interval": "300ms",
        "retries": 30,
    }
    result = manager.run(
        orchestrate(
            stack,
            {
                "image": BASE,
                "name": f"{uid}-db",
                "healthcheck": slow_health,
                "command": [
                    "sh",
                    "-c",
                    "trap 'exit 0' TERM; sleep 3; touch /tmp/ready; "
                    "while :; do sleep 1 & wait $!; done",
                ],
            },
            {"image": BASE, "name": f"{uid}-app", "depends_on": {f"{uid}-db": "started"}},
        )
    )
    assert result.success, result.error
    by_name = {c.name: c for c in result.containers}
    db, app = by_name[f"{uid}-db"], by_name[f"{uid}-app"]
    assert db.health == "healthy" and db.seconds_to_ready >= 3
    # app started well before db turned healthy (about 3 s after db started).
    assert (app.started_at - db.started_at).total_seconds() < 2


def test_completed_successfully_dependency(manager, stack, uid) -> None:
    op = orchestrate(
        stack,
        {"image": BASE, "name": f"{uid}-migrate", "command": ["sh", "-c", "sleep 0.3; exit 0"]},
        {
            "image": BASE,
            "name": f"{uid}-app",
            "depends_on": {f"{uid}-migrate": "completed_successfully"},
        },
    )
    result = manager.run(op)
    assert result.success, result.error
    assert [c.state for c in result.containers] == ["exited", "running"]


def test_failure_in_last_wave_leaves_nothing(manager, engine, stack, uid) -> None:
    before = Census.take(engine)
    op = orchestrate(
        stack,
        {
            "image": WEB,
            "name": f"{uid}-db",
            "networks": [f"{uid}-net"],
            "volumes": {f"{uid}-vol": "/data"},
        },
        {
            "image": BASE,
            "name": f"{uid}-bad",
            "command": ["sh", "-c", "echo boom; exit 3"],
            "networks": [f"{uid}-net"],
            "depends_on": [f"{uid}-db"],
        },
    )
    result = manager.run(op)
    assert not result.success
    assert f"{uid}-bad" in result.error and "exited with code 3" in result.error
    assert "boom" in result.error
    assert "rolled back" in result.error
    assert result.failed_logs[f"{uid}-bad"] == ["boom"]
    assert Census.take(engine) == before


def test_unhealthy_container_fails_and_rolls_back(engine, stack, uid) -> None:
    before = Census.take(engine)
    with InfrastructureManager(config=fast_config(container_start_timeout=15)) as manager:
        result = manager.run(
            orchestrate(
                stack,
                {
                    "image": BASE,
                    "name": f"{uid}-sick",
                    "healthcheck": {
                        "test": ["CMD", "sh", "-c", "echo probe-says-no; exit 1"],
                        "interval": "200ms",
                        "retries": 2,
                    },
                },
            )
        )
    assert not result.success
    assert "unhealthy" in result.error and "probe-says-no" in result.error
    assert Census.take(engine) == before


def test_start_timeout(engine, stack, uid) -> None:
    before = Census.take(engine)
    with InfrastructureManager(config=fast_config(container_start_timeout=1.0)) as manager:
        result = manager.run(
            orchestrate(
                stack,
                {
                    "image": BASE,
                    "name": f"{uid}-slow",
                    "healthcheck": {
                        "test": ["CMD", "false"],
                        "interval": "10s",
                        "start_period": "30s",
                    },
                },
            )
        )
    assert not result.success
    assert result.error.startswith(
        f"container {uid}-slow was not healthy within container_start_timeout=1s"
    )  # names the container and the limit
    assert "rolled back: removed 1 container(s)" in result.error
    assert Census.take(engine) == before


def test_cleanup_on_failure_off_keeps_containers_for_debugging(engine, stack, uid) -> None:
    with InfrastructureManager(config=fast_config(cleanup_on_failure=False)) as manager:
        result = manager.run(
            orchestrate(
                stack, {"image": BASE, "name": f"{uid}-bad", "command": ["sh", "-c", "exit 1"]}
            )
        )
    assert not result.success
    assert "left in place for debugging" in result.error
    details = engine.inspect_container(f"{uid}-bad")
    assert details is not None and details.state == "exited"


def test_cycle_rejected_before_anything_is_touched(manager, engine, stack, uid) -> None:
    before = Census.take(engine)
    result = manager.run(
        orchestrate(
            stack,
            {"image": BASE, "name": f"{uid}-a", "depends_on": [f"{uid}-b"]},
            {"image": BASE, "name": f"{uid}-b", "depends_on": [f"{uid}-a"]},
        )
    )
    assert not result.success
    assert f"{uid}-a -> {uid}-b -> {uid}-a" in result.error
    assert Census.take(engine) == before


def test_name_held_by_foreign_container_is_untouched(
    manager, engine, tracker: Tracker, stack, uid
) -> None:
    foreign_id = foreign_container(engine, tracker, f"{uid}-web")
    before = Census.take(engine)
    result = manager.run(orchestrate(stack, {"image": WEB, "name": f"{uid}-web"}))
    assert not result.success
    assert "which infranb did not create" in result.error and foreign_id[:12] in result.error
    assert Census.take(engine) == before
    assert engine.inspect_container(f"{uid}-web").id == foreign_id


def test_name_held_by_another_stack(manager, engine, tracker, uid) -> None:
    tracker.stacks += [f"{uid}-a", f"{uid}-b"]
    assert manager.run(orchestrate(f"{uid}-a", {"image": BASE, "name": f"{uid}-x"})).success
    result = manager.run(orchestrate(f"{uid}-b", {"image": BASE, "name": f"{uid}-x"}))
    assert not result.success
    assert f"stack '{uid}-a'" in result.error


def test_missing_image_with_auto_pull_off(engine, stack, uid) -> None:
    before = Census.take(engine)
    with InfrastructureManager(config=fast_config(auto_pull_images=False)) as manager:
        result = manager.run(
            orchestrate(stack, {"image": "infranb-test/absent:0", "name": f"{uid}-x"})
        )
    assert not result.success
    assert "auto_pull_images is off" in result.error
    assert Census.take(engine) == before


def test_missing_image_is_pulled_from_registry(manager, engine, tracker, stack, uid) -> None:
    image = "127.0.0.1:5000/infranb-demo/base:1"
    if engine.image_id(image):
        engine.remove_image(image)
    tracker.images.append(image)
    result = manager.run(orchestrate(stack, {"image": image, "name": f"{uid}-pulled"}))
    assert result.success, result.error
    assert result.images_pulled == [image]


def test_host_port_taken(manager, engine, tracker, stack, uid) -> None:
    foreign_container(
        engine,
        tracker,
        f"{uid}-holder",
        ports=[80],
        host_config=raw_api().create_host_config(port_bindings={80: 18099}),
    )
    before = Census.take(engine)
    wanted = orchestrate(stack, {"image": WEB, "name": f"{uid}-web", "ports": {"80": "18099"}})
    plan = manager.run(dataclasses.replace(wanted, dry_run=True))  # the plan sees it already
    result = manager.run(wanted)
    for refused in (plan, result):
        assert not refused.success
        [problem] = refused.problems
        assert problem.path == "containers[0].ports"
        assert problem.message == (
            f"port 0.0.0.0:18099/tcp is already in use by container {uid}-holder; "
            "stop it or publish another port"
        )
    assert Census.take(engine) == before


def test_host_port_held_by_a_host_process(manager, engine, stack, uid) -> None:
    import socket

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        before = Census.take(engine)
        result = manager.run(
            orchestrate(
                stack, {"image": BASE, "name": f"{uid}-x", "ports": {"80": f"127.0.0.1:{port}"}}
            )
        )
    assert not result.success
    assert result.problems[0].message == (
        f"port 127.0.0.1:{port}/tcp is already in use by a process on the host; stop it or "
        "publish another port"
    )
    assert Census.take(engine) == before


def test_cancellation_rolls_back_then_reraises(engine, stack, uid) -> None:
    before = Census.take(engine)

    async def scenario() -> None:
        with InfrastructureManager(config=fast_config(container_start_timeout=60)) as manager:
            task = asyncio.ensure_future(
                manager.execute(
                    orchestrate(
                        stack,
                        {"image": BASE, "name": f"{uid}-first", "networks": [f"{uid}-net"]},
                        {
                            "image": BASE,
                            "name": f"{uid}-never",
                            "networks": [f"{uid}-net"],
                            "healthcheck": {
                                "test": ["CMD", "false"],
                                "interval": "30s",
                                "start_period": "60s",
                            },
                        },
                    )
                )
            )
            # Cancel once "never" runs and the bring-up waits for it to turn healthy.
            for _ in range(400):
                await asyncio.sleep(0.05)
                never = engine.inspect_container(f"{uid}-never")
                if never is not None and never.state == "running":
                    break
            first = engine.inspect_container(f"{uid}-first")
            assert never is not None and never.state == "running" and never.health == "starting"
            assert first is not None and first.state == "running"
            assert not task.done()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    asyncio.run(scenario())
    assert Census.take(engine) == before


def test_early_timeouts_leave_nothing(engine, stack, uid) -> None:
    """``asyncio.wait_for(execute(op), t)`` cut at several early moments (while networks,
    volumes and containers are being created): each time, nothing of the run is left. At
    least one cut must land mid-creation (after something was created, before the end), or
    the test would prove nothing."""
    before = Census.take(engine)
    mid_creation: list[float] = []

    async def cut_after(seconds: float) -> None:
        events: list[ProgressEvent] = []
        with InfrastructureManager(config=fast_config()) as manager:
            op = orchestrate(
                stack,
                *(
                    {
                        "image": BASE,
                        "name": f"{uid}-{i}",
                        "networks": [f"{uid}-net"],
                        "volumes": {f"{uid}-vol{i}": "/data"},
                    }
                    for i in range(3)
                ),
            )
            try:
                await asyncio.wait_for(manager.execute(op, progress=events.append), seconds)
            except TimeoutError:
                created = {"network_created", "volume_created", "container_created"}
                if any(e.kind in created for e in events):
                    mid_creation.append(seconds)
            else:  # finished in time: take it down so the next cut starts from nothing
                assert manager.down(stack, volumes=True).success

    for seconds in (0.02, 0.05, 0.08, 0.12, 0.2, 0.5):
        asyncio.run(cut_after(seconds))
        assert Census.take(engine) == before, f"cut after {seconds} s left something"
    assert mid_creation, "no cut landed after something was created: move the cut times"
