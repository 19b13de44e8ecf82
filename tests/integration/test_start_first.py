"""Start-first replacements on the real engine (issue 44): clients on the stack's network ask
the service by its alias and by its container name every 50 ms, through a good update and a
bad one. They retry a failed request once (the count without a retry is the bench's:
``bench/update_bench.py``; a test must not depend on luck). Stop-first where two copies
cannot run at once: an image that declares a VOLUME."""

from __future__ import annotations

import time
from typing import Any

import pytest

from infranb import InfrastructureManager, InfrastructureOperation
from infranb.engines.docker import DockerEngine
from tests.conftest import raw_api
from tests.integration.conftest import BASE, WEB, Tracker, fast_config

pytestmark = pytest.mark.usefixtures("demo_images")

# The page says which version answers; httpd stops on SIGTERM (the image's own trap).
SERVE = (
    "mkdir -p /w && echo $VERSION > /w/index.html && httpd -f -p 80 -h /w & pid=$!; "
    "trap 'kill $pid; exit 0' TERM INT; wait $pid"
)
# One line per request: "ok <version>", "retried <version>" (the first try failed), "fail".
# Each request asks the engine's DNS first and takes the first address, as a client that
# keeps no cache does (busybox's own resolver: the static wget cannot resolve names; its -T
# crashes here, so timeout bounds it).
ASK = (
    "ask() { ip=$(nslookup $TARGET 2>/dev/null | sed -n 's/^Address: \\([0-9.]*\\)$/\\1/p' "
    '| head -n 1); [ -n "$ip" ] && timeout 1 wget -q -O - http://$ip/ 2>/dev/null; }; '
    "while true; do if v=$(ask); then echo ok $v; elif v=$(ask); then echo retried $v; "
    "else echo fail; fi; usleep 50000; done"
)


def request(stack: str, uid: str, version: str, **web: Any) -> InfrastructureOperation:
    net = f"{uid}-net"
    service = {
        "name": f"{uid}-web", "image": WEB, "command": ["sh", "-c", SERVE],
        "environment": {"VERSION": version}, "networks": {net: {"aliases": ["api"]}},
        "healthcheck": {"test": ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1/"],
                        "interval": 0.2, "timeout": 1, "retries": 2, "start_period": 5},
        "update_config": {"order": "start-first", "monitor": "1s"},
        **web,
    }  # fmt: skip
    clients = [
        {"name": f"{uid}-by-{how}", "image": BASE, "command": ["sh", "-c", ASK],
         "environment": {"TARGET": target}, "networks": [net], "stop_signal": "SIGKILL"}
        for how, target in (("alias", "api"), ("name", f"{uid}-web"))
    ]  # fmt: skip
    return InfrastructureOperation(
        operation="orchestrate_containers", stack=stack, containers=[service, *clients]
    )


def answers(engine: DockerEngine, uid: str, how: str) -> list[str]:
    return engine.container_logs(f"{uid}-by-{how}", tail=None)


def wait_for(engine: DockerEngine, uid: str, line: str, *, after: int) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if all(line in answers(engine, uid, h)[after:] for h in ("alias", "name")):
            return
        time.sleep(0.1)
    raise AssertionError(f"no client saw {line!r}")


def test_start_first_update_keeps_answering_and_a_bad_one_rolls_back(
    engine: DockerEngine, stack: str, uid: str
) -> None:
    with InfrastructureManager(config=fast_config(update_drain=0.5)) as manager:
        first = manager.run(request(stack, uid, "v1"))
        assert first.success, first.error
        wait_for(engine, uid, "ok v1", after=0)
        old_id = engine.inspect_container(f"{uid}-web").id  # type: ignore[union-attr]
        marks = {h: len(answers(engine, uid, h)) for h in ("alias", "name")}

        good = manager.run(request(stack, uid, "v2"))
        assert good.success, good.error
        web = next(s for s in good.plan if s.name == f"{uid}-web")
        assert (web.action, web.order) == ("recreate", "start-first"), web
        assert "start-first (its update_config)" in web.order_reason
        wait_for(engine, uid, "ok v2", after=0)
        for how, mark in marks.items():
            seen = answers(engine, uid, how)[mark:]
            assert "fail" not in seen, (how, seen)
            assert any(line.endswith("v1") for line in seen), (how, seen[:5])
        new = engine.inspect_container(f"{uid}-web")
        assert new is not None and new.id != old_id and new.state == "running"
        assert engine.inspect_container(old_id) is None  # removed once the run succeeded
        names = {c.name for c in engine.list_containers(labels={"infranb.stack": stack})}
        assert names == {f"{uid}-web", f"{uid}-by-alias", f"{uid}-by-name"}

        marks = {h: len(answers(engine, uid, h)) for h in ("alias", "name")}
        bad = manager.run(
            request(stack, uid, "v3", healthcheck={"test": ["CMD", "false"], "interval": 0.2,
                                                   "retries": 1})
        )  # fmt: skip
        assert not bad.success and bad.rolled_back, bad.error
        time.sleep(0.5)
        for how, mark in marks.items():
            seen = answers(engine, uid, how)[mark:]
            assert seen and set(seen) <= {"ok v2", "retried v2"}, (how, seen)
        still = engine.inspect_container(f"{uid}-web")
        assert still is not None and still.id == new.id and still.state == "running"
        names = {c.name for c in engine.list_containers(labels={"infranb.stack": stack})}
        assert names == {f"{uid}-web", f"{uid}-by-alias", f"{uid}-by-name"}
        assert manager.down(stack).success


def test_an_image_volume_makes_start_first_stop_first_with_its_reason(
    engine: DockerEngine, stack: str, uid: str, tracker: Tracker, tmp_path: Any
) -> None:
    image = f"{uid}-volumed:1"
    (tmp_path / "Dockerfile").write_text(f"FROM {BASE}\nVOLUME /data\n")
    list(raw_api().build(path=str(tmp_path), tag=image, rm=True))  # a stream: read to its end
    tracker.images.append(image)

    def op(version: str) -> InfrastructureOperation:
        return InfrastructureOperation(
            operation="orchestrate_containers",
            stack=stack,
            containers=[
                {"name": f"{uid}-db", "image": image, "command": ["sleep", "300"],
                 "stop_signal": "SIGKILL", "environment": {"VERSION": version},
                 "update_config": {"order": "start-first"}}
            ],
        )  # fmt: skip

    with InfrastructureManager(config=fast_config()) as manager:
        assert manager.run(op("1")).success
        result = manager.run(op("2"))
        assert result.success, result.error
        (step,) = result.plan
        assert step.order == "stop-first"
        assert "its image's VOLUME /data" in step.order_reason, step.order_reason
        assert manager.down(stack, volumes=True).success


def test_replicas_roll_one_at_a_time_stop_first(engine: DockerEngine, stack: str, uid: str) -> None:
    """Three replicas of a service behind one alias, replaced stop-first (the default): one
    at a time, in order, so two always answer."""

    def op(version: str) -> InfrastructureOperation:
        base = request(stack, uid, version)
        (web, *clients) = base.containers
        web = {k: v for k, v in web.items() if k != "update_config"}
        replicas = [
            {**web, "name": f"{uid}-web-{i}", "service": "web", "container_number": i}
            for i in (1, 2, 3)
        ]
        clients = [{**c, "environment": {"TARGET": "api"}} for c in clients[:1]]
        return InfrastructureOperation(
            operation="orchestrate_containers", stack=stack, containers=[*replicas, *clients]
        )

    with InfrastructureManager(config=fast_config()) as manager:
        first = manager.run(op("v1"))
        assert first.success, first.error
        wait_one = time.monotonic() + 15
        while "ok v1" not in answers(engine, uid, "alias") and time.monotonic() < wait_one:
            time.sleep(0.1)
        mark = len(answers(engine, uid, "alias"))
        result = manager.run(op("v2"))
        assert result.success, result.error
        orders = {s.name: s.order for s in result.plan if s.action == "recreate"}
        assert orders == {f"{uid}-web-{i}": "stop-first" for i in (1, 2, 3)}
        times = {c.name: dict(c.timeline) for c in result.containers}
        for i in (2, 3):
            assert times[f"{uid}-web-{i}"]["started"] >= times[f"{uid}-web-{i - 1}"]["ready"]
        # Until the client has an answer of v2 (its first try may fail while a replica
        # leaves DNS: then the retry answers, "retried v2").
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if {"ok v2", "retried v2"} & set(answers(engine, uid, "alias")[mark:]):
                break
            time.sleep(0.1)
        seen = answers(engine, uid, "alias")[mark:]
        # The service never went dark (that would be a run of failures, ~20 a second); a
        # request in flight to a replica as it stops may fail even with its retry, which
        # can ask the same replica again before it leaves DNS: at most one per replica.
        assert seen and seen.count("fail") <= 3, seen
        assert {"ok v2", "retried v2"} & set(seen), seen
        assert manager.down(stack).success


def test_failure_action_continue_puts_the_old_container_back_stop_first(
    engine: DockerEngine, stack: str, uid: str
) -> None:
    """A host port makes it stop-first: the old container is stopped and renamed before the
    replacement starts; when the replacement never gets healthy, the old one has its name
    back and runs again, the other service's update stands, and nothing is rolled back."""
    from tests.engines import free_port

    port = free_port()

    def op(version: str, probe: str) -> InfrastructureOperation:
        check = {"test": ["CMD", probe], "interval": 0.2, "retries": 1}
        return InfrastructureOperation(
            operation="orchestrate_containers",
            stack=stack,
            containers=[
                {"name": f"{uid}-api", "image": BASE, "command": ["sleep", "300"],
                 "stop_signal": "SIGKILL", "environment": {"V": version}, "healthcheck": check,
                 "ports": [f"127.0.0.1:{port}:80"],
                 "update_config": {"failure_action": "continue"}},
                {"name": f"{uid}-worker", "image": BASE, "command": ["sleep", "300"],
                 "stop_signal": "SIGKILL", "environment": {"V": version}},
            ],
        )  # fmt: skip

    with InfrastructureManager(config=fast_config(container_start_timeout=5)) as manager:
        first = manager.run(op("1", "true"))
        assert first.success, first.error
        ids = {c.name: c.container_id for c in first.containers}
        result = manager.run(op("2", "false"))
        assert not result.success and not result.rolled_back
        (api,) = [s for s in result.plan if s.name == f"{uid}-api"]
        assert api.order == "stop-first"
        assert "failure_action continue" in str(result.error), result.error
        api_now = engine.inspect_container(f"{uid}-api")
        assert api_now is not None and api_now.id == ids[f"{uid}-api"]
        assert api_now.state == "running"
        worker = engine.inspect_container(f"{uid}-worker")
        assert worker is not None and worker.id != ids[f"{uid}-worker"]
        assert worker.environment["V"] == "2"
        names = {c.name for c in engine.list_containers(labels={"infranb.stack": stack})}
        assert names == {f"{uid}-api", f"{uid}-worker"}
        assert manager.down(stack).success
