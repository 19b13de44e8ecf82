"""Lifecycle hooks (issue 44) on the in-memory engine: the order and the rules; the proof
that they run in a container is on Docker (tests/integration/test_hooks.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from infranb import InfrastructureOperation, compose
from infranb.core import labels as L
from infranb.testing import MemoryEngine
from tests.unit.test_operations_memory import BASE, manager

SECRET = "hook-s3cret-value"


def stack(**hooks: object) -> InfrastructureOperation:
    return InfrastructureOperation(
        operation="orchestrate_containers",
        stack="hooks",
        containers=[{"name": "app", "image": BASE, **hooks}],
    )


def test_post_start_runs_after_the_start_and_pre_stop_before_each_stop() -> None:
    memory = MemoryEngine([BASE])
    m = manager(memory)
    up = m.run(
        stack(
            post_start=[{"command": ["echo", "warm"], "user": "root"}],
            pre_stop=[{"command": "echo bye", "environment": {"REASON": "stop"}}],
        )
    )
    assert up.success, up.error
    assert memory.execs == [("app", "echo warm", "root", {})]
    assert "app" in [c.name for c in memory.list_containers(labels={L.PRE_STOP: ""})]
    memory.execs.clear()
    assert m.stop(["app"], remove=False).success
    assert memory.execs == [("app", "echo bye", None, {"REASON": "stop"})]
    memory.execs.clear()
    assert m.run(stack(pre_stop=[{"command": "echo bye", "environment": {"REASON": "stop"}}]))
    memory.execs.clear()
    assert m.down("hooks").success  # the label, not the file, says what to run
    assert [e[1] for e in memory.execs] == ["echo bye"]


def test_a_failing_post_start_fails_the_start_and_the_run_rolls_back() -> None:
    memory = MemoryEngine([BASE])
    result = manager(memory).run(stack(post_start=[{"command": ["sh", "-c", "exit 3"]}]))
    assert not result.success and result.rolled_back
    assert "post_start hook" in str(result.error) and "exited 3" in str(result.error)
    assert memory.list_containers(labels={L.STACK: "hooks"}) == []


def test_a_failing_pre_stop_is_a_warning_and_the_stop_goes_on() -> None:
    memory = MemoryEngine([BASE])
    m = manager(memory)
    assert m.run(stack(pre_stop=[{"command": ["sh", "-c", "exit 4"]}])).success
    stopped = m.stop(["app"], remove=False)
    assert stopped.success and stopped.containers_stopped == ["app"]
    assert any("pre_stop hook" in w and "exited 4" in w for w in stopped.warnings)


def test_a_hooks_secret_is_masked_and_never_in_the_label() -> None:
    memory = MemoryEngine([BASE])
    m = manager(memory)
    request = stack(pre_stop=[{"command": "echo bye", "environment": {"API_TOKEN": SECRET}}])
    assert SECRET not in repr(request) and SECRET not in str(request)
    up = m.run(request)
    assert up.success, up.error
    (app,) = memory.list_containers(labels={L.STACK: "hooks"})
    assert SECRET not in str(app.labels)


@pytest.mark.parametrize(
    ("hooks", "path"),
    [
        ({"post_start": "echo"}, "containers[0].post_start"),
        ({"post_start": [{"user": "root"}]}, "containers[0].post_start[0].command"),
        ({"pre_stop": [{"command": "x", "shell": "sh"}]}, "containers[0].pre_stop[0].shell"),
        ({"pre_stop": [{"command": "x", "privileged": "yes"}]},
         "containers[0].pre_stop[0].privileged"),
    ],
)  # fmt: skip
def test_a_bad_hook_is_refused_by_path(hooks: dict, path: str) -> None:
    assert [p.path for p in stack(**hooks).validate()] == [path]


def test_a_compose_files_hooks_are_applied(tmp_path: Path) -> None:
    """Shapes seen in Compose's docs (a post_start that fixes ownership as root, a pre_stop
    that flushes): written here, not copied."""
    (tmp_path / "compose.yaml").write_text(
        f"""name: hooked
services:
  app:
    image: {BASE}
    post_start:
      - command: chown -R 1000:1000 /data
        user: root
    pre_stop:
      - command: ["sh", "-c", "echo flushing"]
        environment:
          - MODE=fast
"""
    )
    project = compose.load(tmp_path)
    assert not [r for r in project.unsupported.itertuples() if r.key in ("post_start", "pre_stop")]
    memory = MemoryEngine([BASE])
    m = manager(memory)
    assert m.up(project).success
    assert memory.execs[0][1:3] == ("chown -R 1000:1000 /data", "root")
    memory.execs.clear()
    assert m.down(project).success
    assert memory.execs == [("hooked-app-1", "sh -c echo flushing", None, {"MODE": "fast"})]
