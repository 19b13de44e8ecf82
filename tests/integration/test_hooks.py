"""Lifecycle hooks on the real engine (issue 44): execs in the container, as Compose v2
runs them (its user and environment), a failing post_start rolls the run back, a pre_stop
runs before infranb's stop and its file survives the stop."""

from __future__ import annotations

from pathlib import Path

import pytest

from infranb import InfrastructureManager, InfrastructureOperation
from infranb.engines.docker import DockerEngine
from tests.conftest import Census
from tests.integration.conftest import BASE, fast_config

pytestmark = pytest.mark.usefixtures("demo_images")


def request(stack: str, name: str, **hooks: object) -> InfrastructureOperation:
    return InfrastructureOperation(
        operation="orchestrate_containers",
        stack=stack,
        containers=[
            {"name": name, "image": BASE, "command": ["sleep", "300"], "stop_signal": "SIGKILL",
             **hooks}
        ],
    )  # fmt: skip


def test_hooks_run_in_the_container_with_their_user_and_environment(
    engine: DockerEngine, stack: str, uid: str, tmp_path: Path
) -> None:
    name = f"{uid}-hooked"
    journal = str(tmp_path / "journal.sqlite")
    with InfrastructureManager(config=fast_config(journal=journal)) as manager:
        up = manager.run(
            request(
                stack, name,
                tmpfs={"/w": "mode=1777"},  # writable by the hook's user from the start
                post_start=[{"command": ["sh", "-c", "echo $GREETING:$(id -u) > /w/started"],
                             "user": "65534", "environment": {"GREETING": "hello"}}],
                pre_stop=[{"command": ["sh", "-c", "echo bye > /tmp/stopped"]}],
            )
        )  # fmt: skip
        assert up.success, up.error
        assert list(manager.exec(name, "cat /w/started").line) == ["hello:65534"]
        stopped = manager.stop([name], remove=False)
        assert stopped.success and stopped.containers_stopped == [name], stopped.error
        back = manager.copy_from(name, "/tmp/stopped", tmp_path / "stopped")
        assert back.read_text() == "bye\n"
        steps = manager.history_entry(str(stopped.run_id)).steps  # the hook is a step
        assert [s["kind"] for s in steps][:2] == ["hook", "container_stopped"], steps


def test_a_failing_post_start_rolls_the_run_back(
    engine: DockerEngine, stack: str, uid: str
) -> None:
    before = Census.take(engine)
    with InfrastructureManager(config=fast_config()) as manager:
        result = manager.run(
            request(stack, f"{uid}-bad", post_start=[{"command": ["sh", "-c", "echo no; exit 5"]}])
        )
    assert not result.success and result.rolled_back
    assert "post_start hook" in str(result.error) and "exited 5: no" in str(result.error)
    assert Census.take(engine).new_since(before) == {}
