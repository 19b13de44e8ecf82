"""Compose projects on the real engine: up, idempotent re-runs, a one-value change, down;
exact rollback of a failed bring-up (builds included); service-name DNS per network and
isolation between networks; dry runs and external networks.

Each test copies the demo project shipped with the notebooks (``notebooks/compose-shop``)
and names it after the test's uid, so nothing collides with other runs.
"""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import pytest

from infranb import InfrastructureManager, compose
from infranb.engines.docker import DockerEngine
from tests.conftest import Census, raw_api
from tests.integration.conftest import Tracker

pytestmark = pytest.mark.integration

SHOP = Path(__file__).parents[2] / "notebooks" / "compose-shop"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def shop(tmp_path: Path, uid: str, tracker: Tracker, demo_images: None) -> Path:
    folder = tmp_path / "shop"
    shutil.copytree(SHOP, folder)
    tracker.stacks.append(uid)
    tracker.images.append(f"{uid}-api")
    return folder


PORTS: dict[str, str] = {}


def load(folder: Path, uid: str, **kwargs: object) -> compose.Project:
    """The project as the test's uid, on one free host port for the whole test."""
    environ = {"WEB_PORT": PORTS.setdefault(uid, str(free_port()))}
    return compose.load(folder, project_name=uid, environ=environ, **kwargs)  # type: ignore[arg-type]


def exec_code(manager: InfrastructureManager, container: str, command: str) -> int:
    frame = manager.exec(container, command)
    print(container, command, frame["line"].tolist())
    return int(frame["exit_code"].iloc[0])


def test_up_rerun_change_one_value_and_down(
    manager: InfrastructureManager, engine: DockerEngine, shop: Path, uid: str
) -> None:
    project = load(shop, uid)
    result = manager.up(project)
    assert result.success, result.error
    assert result.images_built == [f"{uid}-api"]
    assert {c.name: c.action for c in result.containers} == {
        f"{uid}-db-1": "create",
        f"{uid}-migrate-1": "create",
        f"{uid}-api-1": "create",
        f"{uid}-web-1": "create",
    }
    assert {c.name: c.health for c in result.containers}[f"{uid}-api-1"] == "healthy"
    details = engine.inspect_container(f"{uid}-migrate-1")
    assert details is not None and details.state == "exited" and details.exit_code == 0

    again = manager.up(load(shop, uid))
    assert again.success, again.error
    assert {c.action for c in again.containers} == {"unchanged"}  # the finished job included
    assert again.images_built == []

    compose_file = shop / "compose.yaml"
    compose_file.write_text(
        compose_file.read_text().replace(
            "    env_file: [api.env]",
            "    env_file: [api.env]\n    environment: {API_MODE: changed}",
        )
    )
    changed = manager.up(load(shop, uid))
    assert changed.success, changed.error
    assert {c.name: c.action for c in changed.containers} == {
        f"{uid}-db-1": "unchanged",
        f"{uid}-migrate-1": "unchanged",
        f"{uid}-api-1": "recreate",
        # it depends on api without restart: true, and Compose v2 leaves it running (#44)
        f"{uid}-web-1": "unchanged",
    }
    assert manager.exec(f"{uid}-api-1", "sh -c 'echo $API_MODE'")["line"].tolist() == ["changed"]

    down = manager.down(load(shop, uid), volumes=True)
    assert down.success, down.error
    assert sorted(down.containers_removed) == sorted(c.name for c in result.containers)
    assert engine.list_containers(labels={"infranb.stack": uid}) == []
    assert engine.list_networks(labels={"infranb.stack": uid}) == []
    assert engine.list_volumes(labels={"infranb.stack": uid}) == []


def test_service_names_resolve_on_each_network_and_networks_stay_isolated(
    manager: InfrastructureManager, shop: Path, uid: str
) -> None:
    project = load(shop, uid, profiles=["debug"])
    result = manager.up(project)
    assert result.success, result.error
    web, api, debug = f"{uid}-web-1", f"{uid}-api-1", f"{uid}-debug-1"
    # front: web, api, debug; back: db, migrate, api, debug
    assert exec_code(manager, web, "timeout 3 wget -q -O /dev/null http://api/version") == 0
    assert exec_code(manager, api, "timeout 3 wget -q -O /dev/null http://db/") == 0
    assert exec_code(manager, debug, "timeout 3 wget -q -O /dev/null http://www/") == 0  # an alias
    assert exec_code(manager, debug, "timeout 3 wget -q -O /dev/null http://db/") == 0
    # web is on front only: db's name does not resolve there, and its address is unreachable.
    assert exec_code(manager, web, "nslookup db") != 0
    db_address = raw_api().inspect_container(f"{uid}-db-1")["NetworkSettings"]["Networks"][
        f"{uid}_back"
    ]["IPAddress"]
    assert exec_code(manager, web, f"timeout 3 wget -q -O /dev/null http://{db_address}/") != 0
    assert manager.down(project, volumes=True).success


def test_a_failed_bring_up_leaves_nothing_it_created(
    manager: InfrastructureManager, engine: DockerEngine, shop: Path, uid: str
) -> None:
    compose_file = shop / "compose.yaml"
    # api's health check now asks for a page that is not there: it never turns healthy,
    # so web never starts and the whole run rolls back (the build too).
    compose_file.write_text(
        compose_file.read_text().replace("http://127.0.0.1/version", "http://127.0.0.1/missing")
    )
    fast = compose_file.read_text().replace("retries: 30", "retries: 2")
    compose_file.write_text(fast)
    before = Census.take(engine)
    result = manager.up(load(shop, uid))
    assert not result.success
    assert f"{uid}-api-1" in (result.error or "")
    assert "unhealthy" in (result.error or "")
    assert Census.take(engine).new_since(before) == {}, result.warnings  # image included


def test_a_dry_run_touches_nothing(
    manager: InfrastructureManager, engine: DockerEngine, shop: Path, uid: str
) -> None:
    before = Census.take(engine)
    result = manager.up(load(shop, uid), dry_run=True)
    assert result.success, result.error
    assert [s.action for s in result.plan] == ["create"] * 4
    assert any(f"{uid}-api is built from" in w for w in result.warnings)
    assert Census.take(engine).new_since(before) == {}


def test_external_networks_must_exist_and_are_never_removed(
    manager: InfrastructureManager, engine: DockerEngine, tmp_path: Path, uid: str, tracker: Tracker
) -> None:
    (tmp_path / "compose.yaml").write_text(
        f"""
services:
  app:
    image: infranb-demo/base:1
    networks: [shared]
networks:
  shared:
    external: true
    name: {uid}-shared
"""
    )
    tracker.stacks.append(uid)
    project = compose.load(tmp_path, project_name=uid, environ={})
    before = Census.take(engine)
    missing = manager.up(project)
    assert not missing.success
    assert f"external network '{uid}-shared' not found" in (missing.error or "")
    assert Census.take(engine).new_since(before) == {}

    network = raw_api().create_network(f"{uid}-shared")
    tracker.networks.append(network["Id"])
    assert manager.up(project).success
    assert manager.down(project).success
    assert [n.name for n in engine.list_networks() if n.name == f"{uid}-shared"] == [
        f"{uid}-shared"
    ]
