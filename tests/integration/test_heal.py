"""Heal on the real engine (issue 46): a container whose health check starts failing is
restarted and healthy after, with the failing probe's output as evidence; one that stays
broken is over budget after ``max_restarts`` and left untouched, also with two managers on
one journal; one stopped on purpose is skipped, one the engine restarts is left to it, and
secrets in its logs never reach the journal's bytes."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from infranb import InfrastructureManager, InfrastructureOperation
from infranb.core.labels import managed
from infranb.engines.docker import DockerEngine
from infranb.manager import run_sync
from tests.conftest import raw_api
from tests.integration.conftest import BASE, fast_config

pytestmark = pytest.mark.usefixtures("demo_images")

SECRET = "heal-s3cret-token-value"
#: runs until SIGTERM (then exits 143, as a process killed by it does) or until /tmp/die
#: appears (then exits 3 by itself); its start clears both that and the flag that makes its
#: health check fail
SERVE = (
    "trap 'exit 143' TERM; rm -f /tmp/flag /tmp/die; echo starting with token=$API_TOKEN; "
    "while :; do [ -f /tmp/die ] && exit 3; sleep 0.2 & wait $!; done"
)
FLAGGED = {
    "test": ["CMD-SHELL", "if [ -f /tmp/flag ]; then echo flagged: failing on purpose; exit 1; fi"],
    "interval": "300ms", "timeout": "2s", "retries": 1,
}  # fmt: skip


def config(tmp_path: Path, **more: Any) -> Any:
    return fast_config(journal=str(tmp_path / "journal.sqlite"), **more)


def up(m: InfrastructureManager, stack: str, *containers: dict[str, Any]) -> None:
    op = InfrastructureOperation(
        operation="orchestrate_containers", stack=stack, containers=list(containers)
    )
    result = run_sync(m.execute(op))
    assert result.success, result.error


def wait_for(engine: DockerEngine, name: str, check: Any, seconds: float = 20) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        d = engine.inspect_container(name)
        if d is not None and check(d):
            return d
        time.sleep(0.1)
    pytest.fail(f"{name} never reached the state the test waits for: {d}")


def actions(result: Any) -> dict[str, str]:
    return {r["name"]: r["action"] for r in result.to_frame().to_dict("records")}


def test_a_container_whose_check_starts_failing_is_restarted_and_healthy_after(
    census: Any, engine: DockerEngine, stack: str, tmp_path: Path
) -> None:
    app = f"{stack}-app"
    with InfrastructureManager(config(tmp_path)) as m:
        up(m, stack, {"name": app, "image": BASE, "command": ["sh", "-c", SERVE],
                      "environment": {"API_TOKEN": SECRET}, "healthcheck": FLAGGED,
                      "restart": "always"})  # fmt: skip
        before = wait_for(engine, app, lambda d: d.health == "healthy")
        raw_api().exec_start(raw_api().exec_create(app, ["touch", "/tmp/flag"]))
        wait_for(engine, app, lambda d: d.health == "unhealthy")
        result = m.heal([app])
        assert result.success, result.error
        (record,) = result.healed
        # unhealthy under restart: always is healed: Docker never restarts it for that
        assert (record.action, record.health_after) == ("restart", "healthy")
        assert record.evidence is not None
        assert any("flagged: failing on purpose" in p.output for p in record.evidence.probes)
        assert any("starting with token=" in line for line in record.evidence.logs)
        assert all(SECRET not in line for line in record.evidence.logs)
        after = engine.inspect_container(app)
        assert after is not None and after.started_at != before.started_at
        assert after.health == "healthy"
        run_id = str(result.run_id)
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("journal.sqlite*"))
    assert b"flagged: failing on purpose" in stored and run_id.encode() in stored
    assert SECRET.encode() not in stored


def test_one_that_stays_broken_is_over_budget_and_left_untouched(
    census: Any, engine: DockerEngine, stack: str, tmp_path: Path
) -> None:
    app = f"{stack}-app"
    # Its start does not clear the flag: a restart leaves it unhealthy.
    stays = SERVE.replace("rm -f /tmp/flag /tmp/die; ", "")
    assert stays != SERVE
    with (
        InfrastructureManager(config(tmp_path)) as first,
        InfrastructureManager(config(tmp_path)) as second,
    ):
        up(first, stack, {"name": app, "image": BASE, "command": ["sh", "-c", stays],
                          "healthcheck": FLAGGED})  # fmt: skip
        raw_api().exec_start(raw_api().exec_create(app, ["touch", "/tmp/flag"]))
        wait_for(engine, app, lambda d: d.health == "unhealthy")
        for manager in (first, second):  # the budget is the journal's, shared
            failed = manager.heal([app], max_restarts=2)
            assert not failed.success and "unhealthy after its restart" in str(failed.error)
            assert failed.healed[0].health_after == "unhealthy"
        untouched = wait_for(engine, app, lambda d: d.health == "unhealthy")
        over = second.heal([app], max_restarts=2)
        assert over.success, over.error
        assert actions(over) == {app: "over budget"}
        assert "healed 2 time(s) in the last 15m" in over.plan[0].reason
        now = engine.inspect_container(app)
        assert now is not None and now.started_at == untouched.started_at


def test_stopped_on_purpose_and_left_to_the_engine(
    census: Any, engine: DockerEngine, stack: str, tmp_path: Path
) -> None:
    stopped, looping, crashed = f"{stack}-stopped", f"{stack}-looping", f"{stack}-crashed"
    with InfrastructureManager(config(tmp_path, min_uptime=0)) as m:
        up(
            m, stack,
            {"name": stopped, "image": BASE, "command": ["sh", "-c", SERVE]},
            {"name": crashed, "image": BASE, "command": ["sh", "-c", SERVE]},
        )  # fmt: skip
        raw = raw_api()
        raw.stop(stopped, timeout=5)  # SIGTERM: exit 143, after a kill and before a stop event
        assert wait_for(engine, stopped, lambda d: d.state == "exited").exit_code == 143
        raw.exec_start(raw.exec_create(crashed, ["touch", "/tmp/die"]))
        wait_for(engine, crashed, lambda d: d.state == "exited")
        made = raw.create_container(
            BASE, ["sh", "-c", "exit 3"], name=looping, labels=managed(stack),
            host_config=raw.create_host_config(restart_policy={"Name": "always"}),
        )  # fmt: skip
        raw.start(made["Id"])
        wait_for(engine, looping, lambda d: d.restart_count >= 3)
        result = m.heal(stack=stack)
        assert result.success, result.error
        found = actions(result)
        assert found[stopped] == "skipped: stopped on purpose (stop)"
        assert found[looping].startswith("skipped:") and "restart policy always" in found[looping]
        assert found[crashed] == "start"
        assert engine.inspect_container(stopped).state == "exited"  # type: ignore[union-attr]
        assert engine.inspect_container(crashed).state == "running"  # type: ignore[union-attr]
        raw.remove_container(looping, force=True)


def test_keep_healthy_heals_one_failure_and_ends_by_itself(
    census: Any, engine: DockerEngine, stack: str, tmp_path: Path
) -> None:
    import threading

    app = f"{stack}-app"
    with InfrastructureManager(config(tmp_path)) as m:
        up(m, stack, {"name": app, "image": BASE, "command": ["sh", "-c", SERVE],
                      "healthcheck": FLAGGED})  # fmt: skip
        wait_for(engine, app, lambda d: d.health == "healthy")
        threads = set(threading.enumerate())
        feed = m.keep_healthy(stack=stack, seconds=10)
        flag = threading.Timer(
            1.0, lambda: raw_api().exec_start(raw_api().exec_create(app, ["touch", "/tmp/flag"]))
        )
        flag.start()
        began = time.monotonic()
        rows = list(feed)
        assert 10 <= time.monotonic() - began < 20
        assert feed.ended_because == "10 s passed"
        assert [(r["name"], r["trigger"], r["action"], r["health_after"]) for r in rows] == [
            (app, "unhealthy", "restart", "healthy")
        ]
        assert "flagged: failing on purpose" in rows[0]["evidence"]
        assert engine.inspect_container(app).health == "healthy"  # type: ignore[union-attr]
        flag.join()
        deadline = time.monotonic() + 5
        while set(threading.enumerate()) - threads and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not set(threading.enumerate()) - threads
