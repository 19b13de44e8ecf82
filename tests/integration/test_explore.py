"""Exploring a host infranb did not build, against the real engine: what happened (events),
what takes the disk, why a container restarts, how two containers differ, their logs merged,
processes, filesystem changes and published ports. The containers here are made with the
docker API directly, as someone else's would be."""

from __future__ import annotations

import json
import subprocess
import time
from datetime import UTC, datetime, timedelta

import pytest

from infranb import InfrastructureManager, InfrastructureOperation
from tests.browser.conftest import free_port
from tests.conftest import raw_api
from tests.integration.conftest import BASE, Tracker


def foreign(tracker: Tracker, name: str, command: list[str], **host: object) -> str:
    """A container made without infranb (no infranb label), started, tracked for cleanup."""
    api = raw_api()
    ports = host.pop("ports", None)
    environment = host.pop("environment", None)
    config = api.create_host_config(**host, port_bindings=ports)
    made = api.create_container(
        BASE,
        command,
        name=name,
        environment=environment,
        host_config=config,
        ports=list(ports) if ports else None,
        labels={"inbt.test": name},
    )
    tracker.containers.append(made["Id"])
    api.start(made["Id"])
    return str(made["Id"])


def test_events_of_a_bring_up_and_a_crash(manager: InfrastructureManager, stack, uid) -> None:
    since = datetime.now(UTC) - timedelta(seconds=1)
    result = manager.run(
        InfrastructureOperation(
            operation="orchestrate_containers",
            stack=stack,
            containers=[
                {
                    "image": BASE,
                    "name": f"{uid}-db",
                    "command": ["sleep", "60"],
                    "healthcheck": {"test": ["CMD", "true"], "interval": "1s"},
                },
            ],
        )
    )
    assert result.success, result.error
    raw_api().kill(f"{uid}-db", signal="SIGKILL")
    time.sleep(0.5)
    events = manager.events(since=since, filters={"type": "container"})
    mine = events[events.name == f"{uid}-db"]
    actions = list(mine.action)
    assert actions[:2] == ["create", "start"], actions
    assert "health_status" in actions and "die" in actions
    assert mine[mine.action == "health_status"].health.iloc[0] == "healthy"
    assert int(mine[mine.action == "die"].exit_code.iloc[0]) == 137
    assert set(mine["stack"]) == {stack}
    assert events["time"].is_monotonic_increasing
    assert (events["time"] >= since).all()
    # a window that ended before the run has none of them
    before = manager.events(since=since - timedelta(minutes=5), until=since - timedelta(seconds=2))
    assert f"{uid}-db" not in set(before.name)
    # epoch seconds and "ago" read the same way
    assert f"{uid}-db" in set(manager.events(since=since.timestamp()).name)
    assert f"{uid}-db" in set(manager.events(since="2m", filters={"event": "die"}).name)


def test_disk_usage_agrees_with_docker_system_df(
    manager: InfrastructureManager, tracker: Tracker, uid
) -> None:
    name = f"{uid}-disk"
    foreign(tracker, name, ["sh", "-c", "head -c 300000 /dev/zero > /blob; sleep 60"])
    time.sleep(0.5)
    usage = manager.disk_usage()
    cli = subprocess.run(
        ["docker", "system", "df", "--format", "{{json .}}"],
        capture_output=True,
        text=True,
        check=True,
    )
    totals = {row["Type"]: row for row in map(json.loads, cli.stdout.splitlines())}
    for kind, type_ in (
        ("image", "Images"),
        ("container", "Containers"),
        ("volume", "Local Volumes"),
    ):
        assert (usage.kind == kind).sum() == int(totals[type_]["TotalCount"]), kind
    images = usage[usage.kind == "image"]
    assert (images.in_use_by > 0).sum() == int(totals["Images"]["Active"])
    mine = usage[usage.name == name].iloc[0]
    assert mine["size_bytes"] >= 300_000 and mine["in_use_by"] == 1
    base = images[images.name.str.contains(BASE, regex=False)].iloc[0]
    assert base["reclaimable_bytes"] == 0  # a container uses it


def test_disk_usage_reads_of_one_engine_wait_for_each_other(
    manager: InfrastructureManager,
) -> None:
    """Docker 20.10 refuses a second /system/df while one runs; infranb's wait instead."""
    import asyncio

    async def three() -> list:
        return await asyncio.gather(*(manager.adisk_usage() for _ in range(3)))

    frames = asyncio.run(three())
    assert all(len(f) == len(frames[0]) for f in frames)


def test_logs_of_two_containers_merged_in_time_order(
    manager: InfrastructureManager, tracker: Tracker, uid
) -> None:
    loop = (
        "for i in 1 2 3; do echo {name}-out-$i; echo {name}-err-$i >&2; sleep 0.3; done; sleep 60"
    )
    for who in ("a", "b"):
        foreign(tracker, f"{uid}-{who}", ["sh", "-c", loop.format(name=who)])
        time.sleep(0.15)
    time.sleep(1.5)
    logs = manager.logs([f"{uid}-a", f"{uid}-b"])
    assert list(logs.columns) == ["time", "container", "stream", "line"]
    assert len(logs) == 12 and logs["time"].is_monotonic_increasing
    assert set(logs[logs.stream == "stderr"].line) == {
        f"{w}-err-{i}" for w in "ab" for i in (1, 2, 3)
    }
    assert logs.container.iloc[0] == f"{uid}-a"  # a started first
    middle = logs["time"].iloc[5]
    later = manager.logs([f"{uid}-a", f"{uid}-b"], since=middle.to_pydatetime(warn=False))
    assert len(later) < 12 and (later["time"] >= middle.floor("s")).all()
    found = manager.logs([f"{uid}-a", f"{uid}-b"], grep=r"-err-[23]$")
    assert sorted(found.line) == ["a-err-2", "a-err-3", "b-err-2", "b-err-3"]


def test_a_restarting_container_shows_its_counts(
    manager: InfrastructureManager, tracker: Tracker, uid
) -> None:
    name = f"{uid}-crashy"
    foreign(
        tracker,
        name,
        ["sh", "-c", "exit 3"],
        restart_policy={"Name": "on-failure", "MaximumRetryCount": 2},
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        state = raw_api().inspect_container(name)
        if state["RestartCount"] == 2 and not state["State"]["Running"]:
            break
        time.sleep(0.2)
    row = manager.restarts().set_index("name").loc[name]
    assert row["restart_count"] == 2 and row["exit_code"] == 3
    assert row["restart_policy"] == "on-failure:2" and not row["oom_killed"]
    assert row["finished_at"] > datetime.now(UTC) - timedelta(minutes=1)


def test_diff_of_two_containers_differing_in_one_value_and_one_port(
    manager: InfrastructureManager, tracker: Tracker, uid
) -> None:
    one, two = free_port(), free_port()
    for who, port, mode in (("a", one, "red"), ("b", two, "blue")):
        foreign(
            tracker,
            f"{uid}-{who}",
            ["sleep", "60"],
            ports={80: ("127.0.0.1", port)},
            environment={"MODE": mode, "API_TOKEN": f"token-{who}-secret"},
        )
    diff = manager.diff(f"{uid}-a", f"{uid}-b")
    fields = dict(zip(diff.field, zip(diff.a, diff.b, strict=True), strict=True))
    assert fields.pop("environment.MODE") == ("red", "blue")
    assert fields.pop("environment.API_TOKEN") == ("••••••", "••••••")
    assert fields.pop("ports") == (f"127.0.0.1:{one}->80/tcp", f"127.0.0.1:{two}->80/tcp")
    assert fields.pop("labels.inbt.test") == (f"{uid}-a", f"{uid}-b")
    assert fields == {}, fields
    alone = manager.diff(f"{uid}-a")  # against its image's defaults
    assert {"command", "environment.MODE", "ports"} <= set(alone.field)
    assert "secret" not in alone.to_string() + diff.to_string()


def test_processes_changes_and_ports(manager: InfrastructureManager, tracker: Tracker, uid) -> None:
    port = free_port()
    name = f"{uid}-web"
    foreign(
        tracker,
        name,
        ["sh", "-c", "touch /tmp/made-here; sleep 60"],
        ports={80: ("127.0.0.1", port)},
    )
    time.sleep(0.5)
    top = manager.top(name)
    assert any("sleep 60" in c for c in top.command) and top.pid.notna().all()
    changes = manager.fs_changes(name)
    assert ("added", "/tmp/made-here") in set(zip(changes.change, changes.path, strict=True))
    ports = manager.ports()
    row = ports[ports.host_port == port].iloc[0]
    assert (row.host_ip, row.container, row.container_port, row.protocol) == (
        "127.0.0.1",
        name,
        80,
        "tcp",
    )


@pytest.mark.parametrize("view", ["top", "fs_changes"])
def test_a_missing_container_is_one_sentence(manager: InfrastructureManager, view: str) -> None:
    from infranb import NotFound

    with pytest.raises(NotFound, match="inbt-no-such"):
        getattr(manager, view)("inbt-no-such")


def test_update_then_revert_checked_by_inspect(tmp_path, tracker: Tracker, stack, uid) -> None:
    from tests.integration.conftest import fast_config

    manager = InfrastructureManager(config=fast_config(journal=str(tmp_path / "j.sqlite")))
    request = InfrastructureOperation(
        operation="orchestrate_containers",
        stack=stack,
        containers=[
            {
                "image": BASE,
                "name": f"{uid}-app",
                "command": ["sleep", "60"],
                "mem_limit": "64m",
                "cpus": 1.0,
            }
        ],
    )
    assert manager.run(request).success
    changed = manager.update(f"{uid}-app", restart="on-failure:3", mem_limit="96m", cpus=0.5)
    assert changed.success, changed.error
    host = raw_api().inspect_container(f"{uid}-app")["HostConfig"]
    assert host["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 3}
    assert host["Memory"] == 96 * 1024 * 1024 and host["NanoCpus"] == 500_000_000
    assert host["MemorySwap"] >= host["Memory"]
    assert list(changed.to_frame().before) == ["no", str(64 * 1024 * 1024), "1.0"]
    plan = manager.run(InfrastructureOperation(**{**request.__dict__, "dry_run": True}))
    assert plan.plan[0].action == "recreate", plan.plan[0]
    assert manager.revert(str(changed.run_id)).success
    host = raw_api().inspect_container(f"{uid}-app")["HostConfig"]
    assert host["RestartPolicy"]["Name"] in ("", "no")
    assert host["Memory"] == 64 * 1024 * 1024 and host["NanoCpus"] == 1_000_000_000
    again = manager.run(InfrastructureOperation(**{**request.__dict__, "dry_run": True}))
    assert again.plan[0].action == "unchanged", again.plan[0]
    # a limit cannot be removed in place: one sentence, nothing changed
    from infranb import EngineError

    kept = manager.update(f"{uid}-app", cpus=0, restart="always")
    assert isinstance(kept.exception, EngineError)
    assert "does not remove a cpus limit in place; a recreate" in str(kept.error)
    host = raw_api().inspect_container(f"{uid}-app")["HostConfig"]
    assert host["NanoCpus"] == 1_000_000_000 and host["RestartPolicy"]["Name"] == "no"
    # a foreign container is updated in place too
    foreign(tracker, f"{uid}-other", ["sleep", "60"])
    assert manager.update(f"{uid}-other", pids_limit=64).to_frame().after.iloc[0] == "64"
    assert raw_api().inspect_container(f"{uid}-other")["HostConfig"]["PidsLimit"] == 64
    assert manager.update(f"{uid}-other", pids_limit=0).to_frame().after.iloc[0] == "0"


def test_copy_to_and_from_a_container(tmp_path, tracker: Tracker, uid) -> None:
    from infranb import Refused
    from tests.integration.conftest import fast_config

    manager = InfrastructureManager(config=fast_config(journal=str(tmp_path / "j.sqlite")))
    name = f"{uid}-files"
    foreign(tracker, name, ["sleep", "60"])
    source = tmp_path / "site"
    (source / "css").mkdir(parents=True)
    (source / "index.html").write_text("<h1>hello</h1>")
    (source / "css" / "main.css").write_text("h1 { color: red }")
    plan = manager.copy_to(name, source, "/srv/site", dry_run=True)
    assert [(s.name, s.action) for s in plan.plan] == [(name, "copy")]
    copied = manager.copy_to(name, source, "/srv/site")
    assert [c.container_path for c in copied.copied] == ["/srv/site"]
    assert copied.copied[0].bytes == len("<h1>hello</h1>") + len("h1 { color: red }")
    out = manager.exec(name, ["cat", "/srv/site/index.html", "/srv/site/css/main.css"])
    assert list(out.line) == ["<h1>hello</h1>h1 { color: red }"]
    history = manager.history()
    assert history.operation.iloc[0] == "copy_to" and history.outcome.iloc[0] == "succeeded"
    # back out: into a folder, and as a new name
    back = manager.copy_from(name, "/srv/site", tmp_path / "back")
    assert back == tmp_path / "back" and (back / "css" / "main.css").read_text().startswith("h1")
    (tmp_path / "into").mkdir()
    inside = manager.copy_from(name, "/srv/site/index.html", tmp_path / "into")
    assert inside == tmp_path / "into" / "index.html" and inside.read_text() == "<h1>hello</h1>"
    from infranb import NotFound, ValidationError

    with pytest.raises(NotFound):
        manager.copy_from(name, "/no/such/file", tmp_path / "x")
    invalid = manager.copy_to(name, tmp_path / "missing", "/srv/x")
    assert isinstance(invalid.exception, ValidationError)
    assert [p.path for p in invalid.problems] == ["params.host_path"]
    gated = InfrastructureManager(config=fast_config(confirm_destructive=True, journal=None))
    assert isinstance(gated.copy_to(name, source, "/srv/other").exception, Refused)


def test_watching_events_and_following_logs_live(
    manager: InfrastructureManager, tracker: Tracker, uid
) -> None:
    import threading

    feed = manager.watch_events(
        filters={"type": "container", "container": f"{uid}-live"}, seconds=20, count=3
    )

    def later() -> None:
        time.sleep(0.5)
        foreign(
            tracker,
            f"{uid}-live",
            ["sh", "-c", "for i in 1 2 3 4; do echo line-$i; sleep 0.2; done; exit 5"],
        )

    threading.Thread(target=later).start()
    began = time.monotonic()
    actions = [row["action"] for row in feed]
    assert actions[:2] == ["create", "start"] and len(actions) == 3, actions
    assert feed.ended_because == "3 rows came" and time.monotonic() - began < 15
    assert list(feed.to_frame().columns)[:3] == ["time", "type", "action"]
    follow = manager.follow_logs(f"{uid}-live", since="1m", seconds=3, grep=r"line-[24]")
    lines = [row["line"] for row in follow]
    assert lines == ["line-2", "line-4"], lines
    assert (
        follow.ended_because.endswith("s passed") or follow.ended_because == "the engine ended it"
    )
    stopped = manager.watch_events(seconds=30)
    threading.Timer(0.5, stopped.stop).start()
    began = time.monotonic()
    list(stopped)  # ends when stopped, whatever came
    assert time.monotonic() - began < 5 and stopped.ended_because == "stopped"
