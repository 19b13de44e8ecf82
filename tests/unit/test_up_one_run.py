"""``up`` is one operation (issue 42): a Compose project's builds and its bring-up are one
``orchestrate_containers`` run, with its builds in the request's ``params``, one journal
record, one plan and one rollback that undoes the builds after the containers."""

from __future__ import annotations

from pathlib import Path

import pytest

from infranb import (
    InfrastructureManager,
    InfrastructureManagerConfig,
    InfrastructureOperation,
    compose,
)
from infranb.testing import MemoryEngine

BASE = "infranb-demo/base:1"


def project_in(folder: Path, *, healthy: bool = True, secret_arg: str = "") -> compose.Project:
    (folder / "app").mkdir(exist_ok=True)
    (folder / "app" / "Dockerfile").write_text(f"FROM {BASE}\n")
    test = "true" if healthy else "false"  # the memory engine's probe fails on "false"
    args = f"\n      args:\n        NPM_TOKEN: {secret_arg}" if secret_arg else ""
    (folder / "compose.yaml").write_text(
        f"""name: one
services:
  app:
    build:
      context: ./app{args}
    image: built/app:1
    healthcheck: {{test: ["CMD", "{test}"], interval: 1s, retries: 1}}
  web:
    image: {BASE}
    depends_on: {{app: {{condition: service_healthy}}}}
"""
    )
    return compose.load(folder)


def manager(memory: MemoryEngine, folder: Path) -> InfrastructureManager:
    config = InfrastructureManagerConfig(
        health_check_interval=0.01, stop_timeout=0.1, min_uptime=0.05,
        journal=str(folder / "journal.sqlite"),
    )  # fmt: skip
    return InfrastructureManager(config, engine=memory)


def test_an_up_that_builds_is_one_journaled_run(tmp_path: Path) -> None:
    memory = MemoryEngine([BASE])
    m = manager(memory, tmp_path)
    up = m.up(project_in(tmp_path))
    assert up.success, up.error
    assert up.operation == "orchestrate_containers" and up.images_built == ["built/app:1"]
    history = m.history()
    assert list(history.operation) == ["orchestrate_containers"]  # not a build, then a run
    stored = m.history_entry(str(up.run_id)).request
    assert stored["params"]["builds"][0]["tag"] == "built/app:1"
    assert m.drift("one").empty  # the stack's desired state is its containers


def test_a_failed_bring_up_undoes_its_builds_after_its_containers(tmp_path: Path) -> None:
    memory = MemoryEngine([BASE])
    m = manager(memory, tmp_path)
    result = m.up(project_in(tmp_path, healthy=False))
    assert not result.success and result.rolled_back, result.error
    assert result.images_built == ["built/app:1"]  # what the run did, before its rollback
    assert memory.image_id("built/app:1") is None
    assert memory.list_containers(labels={"infranb.stack": "one"}) == []
    assert list(m.history().outcome) == ["rolled back"]


def test_a_rebuild_that_fails_gives_the_tag_its_image_back(tmp_path: Path) -> None:
    memory = MemoryEngine([BASE])
    m = manager(memory, tmp_path)
    assert m.up(project_in(tmp_path)).success
    before = memory.image_id("built/app:1")
    assert m.down(project_in(tmp_path)).success
    again = m.up(project_in(tmp_path, healthy=False), build=True)
    assert not again.success and again.images_built == ["built/app:1"]
    assert memory.image_id("built/app:1") == before


def test_a_dry_run_plans_the_builds_and_touches_nothing(tmp_path: Path) -> None:
    memory = MemoryEngine([BASE])
    m = manager(memory, tmp_path)
    memory.calls.clear()
    plan = m.up(project_in(tmp_path), dry_run=True)
    assert plan.success, plan.error
    assert [(i.reference, i.action) for i in plan.images] == [("built/app:1", "build")]
    app = next(s for s in plan.plan if s.image == "built/app:1")
    assert not app.pull  # built, not pulled
    assert any("built/app:1 is built from" in w for w in plan.warnings)
    assert "build_image" not in memory.calls and memory.image_id("built/app:1") is None


@pytest.mark.parametrize(
    ("params", "paths"),
    [
        ({"bulids": []}, ["params.bulids"]),
        ({"builds": [{"tag": "x:1"}]}, ["params.builds[0].path"]),
        ({"builds": [{"path": "/no/such", "tag": "x:1"}]}, ["params.builds[0].path"]),
        ({"builds": "nope"}, ["params.builds"]),
        ({"rebuild": "yes"}, ["params.rebuild"]),
    ],
)
def test_bad_builds_are_refused_by_path_before_anything_is_touched(
    params: dict, paths: list[str]
) -> None:
    memory = MemoryEngine([BASE])
    request = InfrastructureOperation(
        operation="orchestrate_containers",
        containers=[{"image": BASE, "name": "solo"}],
        params=params,
    )
    memory.calls.clear()
    result = InfrastructureManager(engine=memory).run(request)
    assert not result.success and [p.path for p in result.problems] == paths
    assert memory.calls == []


def test_a_builds_secret_argument_is_masked_in_the_request_and_the_journal(
    tmp_path: Path,
) -> None:
    memory = MemoryEngine([BASE])
    m = manager(memory, tmp_path)
    project = project_in(tmp_path, secret_arg="tok-9f8e7d6c")
    request = project.operation()
    request.params = {"builds": [b.image_params for b in project.builds()]}
    assert "tok-9f8e7d6c" not in repr(request) and "tok-9f8e7d6c" not in str(request)
    up = m.up(project)
    assert up.success, up.error
    journal = (tmp_path / "journal.sqlite").read_bytes()
    assert b"tok-9f8e7d6c" not in journal
