"""README promises that had no test of their own, each asserted as the README words it."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from infranb import (
    InfrastructureManager,
    InfrastructureManagerConfig,
    InfrastructureOperation,
    compose,
)
from infranb.testing import MemoryEngine

BASE = "infranb-demo/base:1"


def manager(memory: MemoryEngine, tmp_path: Path, **config: Any) -> InfrastructureManager:
    settings: dict[str, Any] = {
        "journal": str(tmp_path / "journal.sqlite"),
        "stop_timeout": 0.1,
        "min_uptime": 0.05,
    }
    settings.update(config)
    return InfrastructureManager(InfrastructureManagerConfig(**settings), engine=memory)


def with_volume(**extra: Any) -> InfrastructureOperation:
    return InfrastructureOperation(
        operation="orchestrate_containers",
        stack="keep",
        containers=[{"image": BASE, "name": "keep-db", "volumes": {"keep-data": "/data"}}],
        **extra,
    )


def test_a_revert_never_deletes_volumes(tmp_path: Path) -> None:
    """ "A revert of the run that created a stack tears it down; volumes that run made are
    kept (a revert never deletes data)."""
    memory = MemoryEngine([BASE])
    m = manager(memory, tmp_path)
    made = m.run(with_volume())
    assert made.success and made.volumes_created == ["keep-data"]
    back = m.revert(made.run_id or "")
    assert back.success, back.error
    assert memory.list_containers(labels={"infranb.stack": "keep"}) == []
    assert "keep-data" in memory.volumes


def test_down_leaves_the_images_up_built(tmp_path: Path) -> None:
    """``up`` builds what a Compose project builds; ``down`` removes containers and networks,
    never the images (only a failed ``up`` removes what it built)."""
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "Dockerfile").write_text(f"FROM {BASE}\n")
    (tmp_path / "compose.yaml").write_text(
        "name: built\nservices:\n  app:\n    build: ./app\n    image: built/app:1\n"
    )
    memory = MemoryEngine([BASE])
    m = manager(memory, tmp_path)
    project = compose.load(tmp_path)
    up = m.up(project)
    assert up.success, up.error
    assert up.images_built == ["built/app:1"]
    assert m.down(project).success
    assert memory.image_id("built/app:1") is not None


def test_the_docker_socket_needs_allow_sensitive_mounts() -> None:
    mount = {"/var/run/docker.sock": "/var/run/docker.sock"}
    op = InfrastructureOperation(
        operation="orchestrate_containers",
        containers=[{"image": BASE, "name": "ci-runner", "volumes": mount}],
    )
    problems = op.validate()
    assert [p.path for p in problems] == ["containers[0].volumes"]
    assert "allow_sensitive_mounts" in problems[0]
    op.allow_sensitive_mounts = True
    assert op.validate() == []
    assert (
        InfrastructureOperation(
            operation="orchestrate_containers",
            containers=[{"image": BASE, "name": "ci-runner", "volumes": mount}],
        ).validate(InfrastructureManagerConfig(allow_sensitive_mounts=True))
        == []
    )


def test_url_passwords_never_show_in_frames_or_errors(tmp_path: Path) -> None:
    memory = MemoryEngine([BASE])
    m = manager(memory, tmp_path)
    url = "postgres://app:url-pw-5150@db/app"
    op = InfrastructureOperation(
        operation="orchestrate_containers",
        stack="urls",
        containers=[
            {
                "image": BASE,
                "name": "urls-app",
                "environment": {"DATABASE_URL": url},
                "command": ["sh", "-c", f"echo connecting to {url}; exit 2"],
            },
        ],
    )
    result = m.run(op)
    assert not result.success
    assert "postgres://app:" in (result.error or "")  # the probe: the URL is in the error
    shown = [
        result.error or "",
        repr(result),
        str(result),
        result.to_frame().to_string(),
        m.history().to_string(),
        *result._repr_mimebundle_().values(),
    ]
    assert all("url-pw-5150" not in text for text in shown)


def test_manage_images_runs_are_journaled(tmp_path: Path) -> None:
    memory = MemoryEngine([BASE])
    m = manager(memory, tmp_path)
    tag = InfrastructureOperation(
        operation="manage_images", image_params={"action": "tag", "image": BASE, "tag": "t/x:1"}
    )
    result = m.run(tag)
    assert result.success, result.error
    row = m.history().iloc[0]
    assert (row.run_id, row.operation, row.outcome) == (result.run_id, "manage_images", "succeeded")


class _JournalWatcher(MemoryEngine):
    """Checks, at the first call that changes the engine, that the run is already journaled."""

    book: Path
    seen: list[tuple[str, str]]

    def create_network(self, *args: Any, **kwargs: Any) -> str:
        if not self.seen:
            with sqlite3.connect(self.book) as db:
                self.seen += db.execute("SELECT run_id, outcome FROM runs").fetchall()
        return super().create_network(*args, **kwargs)


def test_the_record_is_written_before_the_first_engine_change(tmp_path: Path) -> None:
    memory = _JournalWatcher([BASE])
    memory.book, memory.seen = tmp_path / "journal.sqlite", []
    m = manager(memory, tmp_path)
    op = InfrastructureOperation(
        operation="orchestrate_containers",
        stack="first",
        containers=[{"image": BASE, "name": "first-a", "networks": ["first-net"]}],
    )
    result = m.run(op)
    assert result.success, result.error
    assert memory.seen == [(result.run_id, "running")]


@pytest.mark.parametrize("remove", [True, False])
def test_auto_remove_is_infranbs_own_never_the_engines(tmp_path: Path, remove: bool) -> None:
    """The container spec never asks the engine for AutoRemove; infranb removes what it
    stops only when ``auto_remove_containers`` says so (the real engine's HostConfig is
    checked in tests/integration/test_manager.py)."""
    memory = MemoryEngine([BASE])
    m = manager(memory, tmp_path, auto_remove_containers=remove)
    assert m.run(with_volume()).success
    m.stop(["keep-db"])
    assert (memory.inspect_container("keep-db") is None) is remove
