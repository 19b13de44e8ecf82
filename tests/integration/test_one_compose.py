"""One host, one Compose: projects made by ``docker compose`` (v2.40.3 and Debian's 1.29) are
stacks to infranb, and infranb's stacks are Compose projects to both CLIs.

The file is written here; its shape (a database with a named data volume and a healthcheck,
an app that waits for it to be healthy) is the one of the WordPress and Nextcloud examples in
docker/awesome-compose.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import docker
import pytest

from infranb import InfrastructureManager, InfrastructureOperation, compose
from infranb.engines.docker import DockerEngine
from tests.compose_cli import V1, V2
from tests.conftest import Census
from tests.engines import free_port
from tests.integration.conftest import BASE, Tracker, fast_config

FILE = """\
services:
  db:
    image: infranb-demo/base:1
    environment:
      MODE: "${MODE:-one}"
      DB_PASSWORD: "${DB_PASSWORD:-s3cret-value-x}"
    volumes: [data:/data]
    healthcheck:
      test: ["CMD", "true"]
      interval: 1s
  app:
    image: infranb-demo/base:1
    depends_on:
      db: {condition: service_healthy}
volumes:
  data: {}
"""

CLIS = {"v2": V2, "v1": V1}


def cli(which: str, project: str, folder: Path, *args: str, **env: str) -> str:
    """Run a Compose CLI on the project; its output (fails the test when it fails)."""
    command = [CLIS[which], "-p", project, "-f", str(folder / "compose.yaml"), *args]
    done = subprocess.run(
        command,
        cwd=folder,
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=120,
    )
    assert done.returncode == 0, f"{' '.join(command)} failed: {done.stderr}"
    return done.stdout


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "compose.yaml").write_text(FILE)
    return tmp_path


@pytest.fixture
def project_name(uid: str, tracker: Tracker) -> str:
    tracker.stacks.append(uid)
    return uid


def ids(engine: DockerEngine, project: str) -> set[str]:
    return {c.id for c in engine.list_containers(labels={"com.docker.compose.project": project})}


def mounts_of(engine: DockerEngine, volume: str) -> list[str]:
    return [c.name for c in engine.list_containers() if volume in c.volumes]


@pytest.mark.parametrize("which", ["v2", "v1"])
def test_a_project_compose_made_is_found_compared_adopted_and_torn_down(
    which: str,
    engine: DockerEngine,
    manager: InfrastructureManager,
    folder: Path,
    project_name: str,
    census: Census,
) -> None:
    cli(which, project_name, folder, "up", "-d")
    made = ids(engine, project_name)
    assert len(made) == 2

    stacks = manager.stacks()
    row = stacks[stacks["stack"] == project_name].iloc[0]
    assert (row.source, row.services, row.containers, row.volumes) == ("compose", 2, 2, 1)
    assert row.working_dir == str(folder)
    assert set(manager.containers(stack=project_name).id) == {i[:12] for i in made}

    project = compose.load(folder, project_name=project_name)
    assert manager.drift(project).empty, manager.drift(project).to_string()
    before = Census.take(engine)
    result = manager.up(project)
    assert result.success, result.error
    assert [c.action for c in result.containers] == ["adopt", "adopt"]
    assert Census.take(engine).new_since(before) == {}
    assert ids(engine, project_name) == made
    assert len(mounts_of(engine, f"{project_name}_data")) == 1

    # A colleague changes one value by hand: drift names it, the secret stays masked.
    cli(which, project_name, folder, "up", "-d", MODE="two")
    drift = manager.drift(project)
    assert list(drift.field) == ["environment.MODE"], drift.to_string()
    assert (drift.desired.iloc[0], drift.actual.iloc[0]) == ("one", "two")
    assert "s3cret-value-x" not in manager.drift(project).to_string()
    again = manager.up(project)
    assert again.success, again.error
    actions = {c.name: c.action for c in again.containers}
    assert actions[f"{project_name}-db-1"] == "recreate"
    assert len(mounts_of(engine, f"{project_name}_data")) == 1
    assert manager.drift(project).empty

    gone = manager.down(project_name)
    assert gone.success, gone.error
    assert ids(engine, project_name) == set()
    assert f"{project_name}_data" in {v.name for v in engine.list_volumes()}  # kept, unasked
    assert manager.down(project_name, volumes=True).success


@pytest.mark.parametrize("which", ["v2", "v1"])
def test_a_project_infranb_made_is_a_compose_project(
    which: str,
    engine: DockerEngine,
    manager: InfrastructureManager,
    folder: Path,
    project_name: str,
    census: Census,
) -> None:
    project = compose.load(folder, project_name=project_name)
    result = manager.up(project)
    assert result.success, result.error
    listed = set(cli(which, project_name, folder, "ps", "-q").split())
    assert listed == {c.container_id for c in result.containers}
    logs = cli(which, project_name, folder, "logs", "--no-color", "db")
    assert logs is not None  # the CLI reads the container's log stream
    assert manager.stacks().set_index("stack").loc[project_name, "source"] == "infranb"
    # The CLI's own up recreates once (its config hash is not infranb's, as the README
    # says); what it makes is then adopted by infranb, untouched.
    made = ids(engine, project_name)
    cli(which, project_name, folder, "up", "-d")
    remade = ids(engine, project_name)
    assert len(remade) == 2 and not remade & made
    adopted = manager.up(project)
    assert adopted.success, adopted.error
    assert [c.action for c in adopted.containers] == ["adopt", "adopt"]
    assert ids(engine, project_name) == remade
    cli(which, project_name, folder, "down", "-v")
    assert ids(engine, project_name) == set()


@pytest.mark.parametrize("which", ["v2", "v1"])
def test_a_project_publishing_a_port_is_adopted_from_either_cli(
    which: str,
    engine: DockerEngine,
    manager: InfrastructureManager,
    tmp_path: Path,
    project_name: str,
    census: Census,
) -> None:
    """Issue 43: a project 1.29 started names its containers ``P_S_1``; the port its own
    web container publishes was read as taken by another container."""
    port = free_port()
    (tmp_path / "compose.yaml").write_text(
        FILE.replace("    image: infranb-demo/base:1\n    depends_on:",
                     f"    image: infranb-demo/base:1\n    ports: ['127.0.0.1:{port}:80']\n"
                     "    depends_on:")
    )  # fmt: skip
    cli(which, project_name, tmp_path, "up", "-d")
    made = ids(engine, project_name)
    project = compose.load(tmp_path, project_name=project_name)
    plan = manager.up(project, dry_run=True)
    assert plan.success, plan.error
    result = manager.up(project)
    assert result.success, result.error
    assert [c.action for c in result.containers] == ["adopt", "adopt"]
    assert ids(engine, project_name) == made
    assert manager.down(project_name, volumes=True).success


@pytest.mark.parametrize("which", ["v2", "v1"])
def test_a_relabelled_volume_is_read_and_adopted_as_either_cli_made_it(
    which: str,
    engine: DockerEngine,
    manager: InfrastructureManager,
    tmp_path: Path,
    project_name: str,
    census: Census,
) -> None:
    """Issue 43: ``data:/data:Z`` refused the whole file; now the project loads, the
    container a CLI made compares equal (no drift) and is adopted, and infranb's own
    bring-up mounts the volume with the relabel the CLI gives it."""
    (tmp_path / "compose.yaml").write_text(FILE.replace("[data:/data]", "['data:/data:Z']"))
    cli(which, project_name, tmp_path, "up", "-d")
    made = ids(engine, project_name)
    project = compose.load(tmp_path, project_name=project_name)
    assert manager.drift(project).empty, manager.drift(project).to_string()
    result = manager.up(project)
    assert result.success, result.error
    assert [c.action for c in result.containers] == ["adopt", "adopt"]
    assert ids(engine, project_name) == made
    cli(which, project_name, tmp_path, "down")
    ours = manager.up(project)
    assert ours.success, ours.error
    db = next(c for c in ours.containers if "db" in c.name)
    with docker.APIClient() as api:
        [mount] = api.inspect_container(db.container_id)["Mounts"]
    assert (mount["Name"], "Z" in mount["Mode"].split(",")) == (f"{project_name}_data", True)
    assert manager.down(project_name, volumes=True).success


@pytest.mark.parametrize("which", ["v2", "v1"])
def test_a_project_name_with_capitals_is_no_project_to_compose(
    which: str,
    engine: DockerEngine,
    manager: InfrastructureManager,
    folder: Path,
    uid: str,
    census: Census,
) -> None:
    """Why a stack a bring-up makes is named by Compose's rule: a container labelled with
    project ``Inbt-…`` is in no project either CLI can name (v2 refuses ``-p Inbt-…`` with a
    file, 1.29 lowercases it, and the lowercase name is another project); infranb refuses
    that bring-up before anything is touched."""
    project = uid.capitalize()
    api = docker.from_env(version="auto").api
    made = api.create_container(
        BASE,
        name=f"{uid}-web",
        labels={
            "com.docker.compose.project": project,
            "com.docker.compose.service": "web",
            "com.docker.compose.oneoff": "False",
            "com.docker.compose.container-number": "1",
        },
    )
    try:
        command = [CLIS[which], "-p", project, "-f", str(folder / "compose.yaml"), "ps", "-a"]
        named = subprocess.run(command, cwd=folder, capture_output=True, text=True, timeout=120)
        assert named.returncode != 0 or uid not in named.stdout, named.stdout
        assert cli(which, uid, folder, "ps", "-a", "-q").split() == []
    finally:
        api.remove_container(made["Id"])
    refused = manager.run(
        InfrastructureOperation(
            operation="orchestrate_containers",
            stack=project,
            containers=[{"name": f"{uid}-web", "image": BASE}],
        )
    )
    assert not refused.success
    assert f"{project!r} is not a Compose project name" in str(refused.error)
    assert f"e.g. {uid!r}" in str(refused.error)


def test_a_compose_made_down_passes_the_gates_and_is_journaled(
    engine: DockerEngine, folder: Path, project_name: str, tmp_path: Path, census: Census
) -> None:
    cli("v2", project_name, folder, "up", "-d")
    config = fast_config(max_removals=1, journal=str(tmp_path / "journal.sqlite"))
    with InfrastructureManager(config=config) as manager:
        refused = manager.down(project_name)
        assert not refused.success and "max_removals" in str(refused.error)
        assert len(ids(engine, project_name)) == 2
        plan = manager.down(project_name, dry_run=True)
        assert {r.name for r in plan.removed} >= {f"{project_name}-db-1", f"{project_name}-app-1"}
    with InfrastructureManager(config=fast_config(journal=config.journal)) as manager:
        gone = manager.down(project_name, volumes=True)
        assert gone.success, gone.error
        assert {r.kind for r in gone.removed} == {"container", "network", "volume"}
        history = manager.history()  # newest first
        assert list(history.outcome[:2]) == ["succeeded", "refused"]
        assert set(history["stack"][:2]) == {project_name}


def test_a_second_writer_on_a_live_volume_is_refused(
    engine: DockerEngine,
    manager: InfrastructureManager,
    folder: Path,
    project_name: str,
    tracker: Tracker,
    census: Census,
) -> None:
    stack = f"{project_name}-s"
    tracker.stacks += [stack, f"{stack}-b"]
    cli("v2", project_name, folder, "up", "-d")
    volume = f"{project_name}_data"
    request = InfrastructureOperation(
        operation="orchestrate_containers",
        stack=stack,
        containers=[{"name": f"{stack}-db", "image": BASE, "volumes": [f"{volume}:/data"]}],
    )
    before = Census.take(engine)
    refused = manager.run(request)
    assert not refused.success
    message = str(refused.error)
    assert volume in message and f"{project_name}-db-1" in message and "external" in message
    assert Census.take(engine).new_since(before) == {}
    plan = manager.run(InfrastructureOperation(**{**request.__dict__, "dry_run": True}))
    assert any(w.startswith("a real run would be refused") for w in plan.warnings)
    # Shared on purpose: declared external, or read-only.
    for volumes, mounts in (
        ({volume: {"external": True}}, f"{volume}:/data"),
        ({}, f"{volume}:/data:ro"),
    ):
        shared = manager.run(
            InfrastructureOperation(
                operation="orchestrate_containers",
                stack=stack,
                containers=[{"name": f"{stack}-db", "image": BASE, "volumes": [mounts]}],
                volumes=volumes,
            )
        )
        assert shared.success, shared.error
        assert manager.down(stack).success
    # Two infranb stacks: the same rule.
    first = manager.run(
        InfrastructureOperation(
            operation="orchestrate_containers",
            stack=stack,
            containers=[{"name": f"{stack}-a", "image": BASE, "volumes": [f"{stack}_v:/data"]}],
        )
    )
    assert first.success, first.error
    other = f"{stack}-b"
    second = manager.run(
        InfrastructureOperation(
            operation="orchestrate_containers",
            stack=other,
            containers=[{"name": f"{other}-b", "image": BASE, "volumes": [f"{stack}_v:/data"]}],
        )
    )
    assert not second.success and f"{stack}-a" in str(second.error)
    assert manager.down(stack, volumes=True).success
    cli("v2", project_name, folder, "down", "-v")


def test_a_revert_brings_back_the_container_compose_made(
    engine: DockerEngine, tmp_path: Path, project_name: str, census: Census
) -> None:
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "compose.yaml").write_text(
        "services:\n  cache:\n    image: infranb-demo/base:1\n"
        "    environment: {MODE: '${MODE:-one}'}\n    volumes: [data:/data]\nvolumes:\n  data: {}\n"
    )
    cli("v2", project_name, folder, "up", "-d")
    (before,) = ids(engine, project_name)
    config = fast_config(journal=str(tmp_path / "journal.sqlite"))
    with InfrastructureManager(config=config) as manager:
        changed = compose.load(folder, project_name=project_name, environ={"MODE": "two"})
        result = manager.up(changed)
        assert result.success, result.error
        assert [c.action for c in result.containers] == ["recreate"]
        back = manager.revert(result.run_id)
        assert back.success, back.error
        (after,) = ids(engine, project_name)
        details = engine.inspect_container(after)
        assert after != before and details is not None
        assert details.environment["MODE"] == "one"
        assert details.labels["com.docker.compose.service"] == "cache"
        assert set(cli("v2", project_name, folder, "ps", "-q").split()) == {after}
        assert manager.down(project_name, volumes=True).success
