"""Exploring a host on the in-memory engine: each view's frame, its schema and its sentence
for bad input (the real engine's answers are in tests/integration/test_explore.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from infranb import InfrastructureManager, InfrastructureManagerConfig, InfrastructureOperation
from infranb.core.errors import NotFound, ValidationError
from infranb.core.specs import parse_container
from infranb.testing import MemoryEngine
from infranb.views.when import moment


@pytest.fixture
def manager() -> InfrastructureManager:
    engine = MemoryEngine(images=["redis:7"])
    manager = InfrastructureManager(engine=engine, config=InfrastructureManagerConfig(min_uptime=0))
    result = manager.run(
        InfrastructureOperation(
            operation="orchestrate_containers",
            stack="ex",
            containers=[
                {
                    "image": "redis:7",
                    "name": "ex-a",
                    "ports": {"6379": "127.0.0.1:16379"},
                    "environment": {"MODE": "one", "DB_PASSWORD": "s3cret-one"},
                },
                {
                    "image": "redis:7",
                    "name": "ex-b",
                    "ports": {"6379": "127.0.0.1:16380"},
                    "environment": {"MODE": "two", "DB_PASSWORD": "s3cret-two"},
                },
            ],
        )
    )
    assert result.success, result.error
    return manager


def test_times_are_datetimes_epoch_seconds_or_ago() -> None:
    now = datetime.now(UTC)
    assert abs((moment("10m", field="since") - (now - timedelta(minutes=10))).total_seconds()) < 2
    assert moment(0, field="since") == datetime(1970, 1, 1, tzinfo=UTC)
    assert moment(now, field="since") == now
    with pytest.raises(ValidationError, match="since: cannot read 'yesterday'"):
        moment("yesterday", field="since")


def test_events_of_a_bring_up(manager: InfrastructureManager) -> None:
    events = manager.events(since="5m", filters={"type": "container"})
    assert list(events.columns)[:3] == ["time", "type", "action"]
    mine = events[events.name == "ex-a"]
    assert list(mine.action) == ["create", "start"]
    assert events["time"].is_monotonic_increasing
    assert manager.events(since="5m", until="4m").empty
    assert "note" not in events.attrs


def test_ports_restarts_diff_and_disk(manager: InfrastructureManager) -> None:
    ports = manager.ports()
    assert list(ports.host_port) == [16379, 16380] and set(ports["stack"]) == {"ex"}
    restarts = manager.restarts(stack="ex")
    assert set(restarts.name) == {"ex-a", "ex-b"} and list(restarts.restart_count) == [0, 0]
    diff = manager.diff("ex-a", "ex-b")
    fields = dict(zip(diff.field, zip(diff.a, diff.b, strict=True), strict=True))
    assert fields["environment.MODE"] == ("one", "two")
    assert fields["environment.DB_PASSWORD"] == ("••••••", "••••••")
    assert "s3cret" not in diff.to_string()
    assert diff.attrs["a"] == "ex-a" and diff.attrs["b"] == "ex-b"
    alone = manager.diff("ex-a")
    assert "environment.MODE" in set(alone.field) and alone.attrs["b"] == "ex-a"
    with pytest.raises(NotFound, match="comparing ex-missing"):
        manager.diff("ex-a", "ex-missing")
    disk = manager.disk_usage()
    assert set(disk.kind) >= {"image", "container"}
    image = disk[disk.kind == "image"].iloc[0]
    assert image["in_use_by"] == 2 and image["reclaimable_bytes"] == 0


def test_logs_top_and_changes(manager: InfrastructureManager) -> None:
    logs = manager.logs(["ex-a", "ex-b"])
    assert list(logs.columns) == ["time", "container", "stream", "line"]
    assert manager.logs(stack="ex", grep="^nothing-matches$").empty
    with pytest.raises(ValidationError, match="name the containers"):
        manager.logs()
    with pytest.raises(ValidationError, match="grep"):
        manager.logs("ex-a", grep="(")
    top = manager.top("ex-a")
    assert list(top.columns) == ["container", "pid", "ppid", "user", "cpu_time", "command"]
    assert list(top.pid) == [1]
    assert manager.fs_changes("ex-a").empty


def test_update_in_place_is_gated_journaled_and_reverted(tmp_path) -> None:
    from infranb import Refused

    engine = MemoryEngine(images=["redis:7"])
    config = InfrastructureManagerConfig(min_uptime=0, journal=str(tmp_path / "j.sqlite"))
    manager = InfrastructureManager(engine=engine, config=config)
    stack = InfrastructureOperation(
        operation="orchestrate_containers",
        stack="up",
        containers=[{"image": "redis:7", "name": "up-a", "restart": "no"}],
    )
    assert manager.run(stack).success
    # A helper is an operation now: a bad request or a refusal is in the result, not raised.
    nothing = manager.update("up-a")
    assert not nothing.success and "nothing to update" in str(nothing.error)
    wrong = manager.update("up-a", restart="sometimes", cpus=1)
    assert [p.path for p in wrong.problems] == ["params.restart"]
    assert "restart: 'sometimes'" in str(wrong.error)
    plan = manager.update("up-a", restart="always", dry_run=True)
    assert [(s.name, s.action) for s in plan.plan] == [("up-a", "update")]
    assert engine.container_config("up-a").restart == "no"  # type: ignore[union-attr]
    changed = manager.update("up-a", restart="always", mem_limit="64m")
    assert changed.success, changed.error
    frame = changed.to_frame()
    assert list(frame.field) == ["restart", "mem_limit"]
    assert list(frame.after) == ["always", str(64 * 1024 * 1024)]
    config_now = engine.container_config("up-a")
    assert config_now is not None and config_now.restart == "always"
    # the stack's re-run does not call it unchanged: it differs from its request now
    plan = manager.run(InfrastructureOperation(**{**stack.__dict__, "dry_run": True}))
    (step,) = plan.plan
    assert step.action == "recreate" and "restart" in step.reason and "in place" in step.reason
    history = manager.history(stack="up")
    assert history.operation.iloc[0] == "update" and history.outcome.iloc[0] == "succeeded"
    back = manager.revert(str(changed.run_id))
    assert back.success, back.error
    assert manager.history_entry(str(back.run_id)).reverts == changed.run_id
    config_back = engine.container_config("up-a")
    assert config_back is not None and config_back.restart == "no" and config_back.mem_limit == 0
    assert (
        manager.run(InfrastructureOperation(**{**stack.__dict__, "dry_run": True})).plan[0].action
        == "unchanged"
    )
    gated = InfrastructureManager(
        engine=engine, config=InfrastructureManagerConfig(confirm_destructive=True)
    )
    refused = gated.update("up-a", cpus=0.5)
    assert refused.refused and isinstance(refused.exception, Refused)
    assert gated.update("up-a", cpus=0.5, confirm=True).to_frame().after.iloc[0] == "0.5"


def test_a_live_feed_is_bounded_and_ends_by_stop_time_or_count() -> None:
    import threading
    import time

    engine = MemoryEngine(images=["redis:7"])
    manager = InfrastructureManager(engine=engine, config=InfrastructureManagerConfig(min_uptime=0))
    feed = manager.watch_events(filters={"type": "container"}, seconds=10, count=2)
    up = InfrastructureOperation(
        operation="orchestrate_containers", stack="lv",
        containers=[{"image": "redis:7", "name": "lv-a"}],
    )  # fmt: skip
    threading.Timer(0.2, lambda: manager.run(up)).start()
    rows = list(feed)
    assert [r["action"] for r in rows] == [
        "create",
        "start",
    ] and feed.ended_because == "2 rows came"
    with pytest.raises(RuntimeError, match="read once"):
        list(feed)
    quiet = manager.watch_events(seconds=0.5)
    began = time.monotonic()
    assert list(quiet) == [] and quiet.ended_because == "0.5 s passed"
    assert time.monotonic() - began < 2
    with pytest.raises(ValueError, match="must end"):
        manager.watch_events(seconds=None, count=None)
    assert "lv-a" in repr(manager.follow_logs("lv-a", seconds=0.1))


def test_a_window_past_the_engines_last_256_events_says_so() -> None:
    engine = MemoryEngine(images=["redis:7"])
    manager = InfrastructureManager(engine=engine, config=InfrastructureManagerConfig(min_uptime=0))
    since = datetime.now(UTC) - timedelta(seconds=1)
    few = manager.events(since=since)
    assert "note" not in few.attrs
    for i in range(140):  # 280 events: create and start each
        engine.start_container(
            engine.create_container(
                parse_container({"image": "redis:7", "name": f"many-{i}"}, 0),
                {},
                {},
                ["bridge"],
            )
        )
    many = manager.events(since=since)
    assert len(many) == 256 and "keeps only its last 256 events" in many.attrs["note"]
