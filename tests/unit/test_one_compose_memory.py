"""Compose's identity on the in-memory engine (the logic; the CLIs' side is in
tests/integration/test_one_compose.py): the labels written, stacks(), drift, adoption by
labels, and the pure comparison of a spec with a container's configuration."""

from __future__ import annotations

from typing import Any

import pytest

from infranb import InfrastructureManager, InfrastructureManagerConfig, InfrastructureOperation
from infranb.core import labels as L
from infranb.core.drift import ContainerConfig, ImageConfig, desired_config, differences
from infranb.core.records import ContainerInfo
from infranb.core.specs import parse_container
from infranb.ops.orchestrate import match_containers
from infranb.testing import MemoryEngine

BASE = "infranb-demo/base:1"


@pytest.fixture
def memory() -> MemoryEngine:
    return MemoryEngine([BASE])


def manager(memory: MemoryEngine) -> InfrastructureManager:
    config = InfrastructureManagerConfig(health_check_interval=0.01, min_uptime=0.05, journal=None)
    return InfrastructureManager(config, engine=memory)


def request(**env: str) -> InfrastructureOperation:
    return InfrastructureOperation(
        operation="orchestrate_containers",
        stack="shop",
        containers=[
            {
                "name": "shop-db",
                "service": "db",
                "image": BASE,
                "environment": env,
                "volumes": ["shop_data:/data"],
                "networks": ["shop_default"],
            },
            {
                "name": "shop-app",
                "image": BASE,
                "depends_on": {"shop-db": "service_started"},
                "networks": ["shop_default"],
            },
        ],
        project_dir="/srv/shop",
        config_files=["/srv/shop/compose.yaml"],
    )


def test_what_infranb_makes_carries_composes_labels(memory: MemoryEngine) -> None:
    result = manager(memory).run(request(MODE="one"))
    assert result.success, result.error
    by_name = {c.name: c for c in memory.containers.values()}
    db, app = by_name["shop-db"].labels, by_name["shop-app"].labels
    assert {k: db[k] for k in (L.COMPOSE_PROJECT, L.COMPOSE_SERVICE, L.COMPOSE_NUMBER)} == {
        L.COMPOSE_PROJECT: "shop",
        L.COMPOSE_SERVICE: "db",
        L.COMPOSE_NUMBER: "1",
    }
    assert db[L.COMPOSE_ONEOFF] == "False"
    assert db[L.COMPOSE_WORKING_DIR] == "/srv/shop"
    assert db[L.COMPOSE_CONFIG_FILES] == "/srv/shop/compose.yaml"
    assert db[L.COMPOSE_CONFIG_HASH] == db[L.SPEC_HASH]
    assert db[L.COMPOSE_IMAGE] == memory.image_id(BASE)
    assert app[L.COMPOSE_SERVICE] == "shop-app"  # a dict stack: the service is the name
    assert app[L.COMPOSE_DEPENDS_ON] == "db:service_started:false"
    assert memory.networks["shop_default"].labels[L.COMPOSE_NETWORK] == "default"
    assert memory.volumes["shop_data"].labels[L.COMPOSE_VOLUME] == "data"


def test_stacks_lists_each_stack_once(memory: MemoryEngine) -> None:
    m = manager(memory)
    assert m.run(request()).success
    row = m.stacks().set_index("stack").loc["shop"]
    assert (row.source, row.services, row.containers, row.running) == ("infranb", 2, 2, 2)
    assert (row.networks, row.volumes, row.working_dir) == (1, 1, "/srv/shop")


def test_drift_is_empty_in_sync_and_names_each_changed_field(memory: MemoryEngine) -> None:
    m = manager(memory)
    assert m.run(request(MODE="one", DB_PASSWORD="hunter2-xyz")).success
    assert m.drift(request(MODE="one", DB_PASSWORD="hunter2-xyz")).empty
    drift = m.drift(request(MODE="two", DB_PASSWORD="other-secret"))
    assert list(drift.field) == ["environment.DB_PASSWORD", "environment.MODE"]
    assert "hunter2-xyz" not in drift.to_string() and "other-secret" not in drift.to_string()
    assert list(drift[drift.field == "environment.MODE"].iloc[0][["desired", "actual"]]) == [
        "two",
        "one",
    ]


def test_labels_that_say_who_made_a_thing_are_not_the_requests(memory: MemoryEngine) -> None:
    for key in ("com.docker.compose.project", "com.docker.stack.namespace", "infranb.stack"):
        op = InfrastructureOperation(
            operation="orchestrate_containers",
            containers=[{"name": "x1", "image": BASE, "labels": {key: "other"}}],
        )
        (problem,) = op.validate()
        assert problem.path == "containers[0].labels" and key in problem.message
    op = InfrastructureOperation(
        operation="orchestrate_containers",
        containers=[{"name": "x1", "image": BASE}],
        networks={"n1": {"labels": {"com.docker.compose.network": "x"}}},
    )
    assert [p.path for p in op.validate()] == ["networks.n1.labels"]


def _row(name: str, **labels: str) -> ContainerInfo:
    from datetime import UTC, datetime

    return ContainerInfo(name, name, BASE, "sha256:1", "running", "Up", labels, datetime.now(UTC))


def test_a_service_container_is_found_by_composes_labels_whatever_its_name() -> None:
    specs = [parse_container({"name": "wp-db-1", "service": "db", "image": BASE}, 0)]
    v1 = _row(
        "wp_db_1", **{L.COMPOSE_PROJECT: "wp", L.COMPOSE_SERVICE: "db", L.COMPOSE_NUMBER: "1"}
    )
    second = _row(
        "wp_db_2", **{L.COMPOSE_PROJECT: "wp", L.COMPOSE_SERVICE: "db", L.COMPOSE_NUMBER: "2"}
    )
    existing, orphans = match_containers(specs, [second, v1])
    assert existing["wp-db-1"] is v1 and orphans == [second]


def test_the_comparison_follows_the_engines_rules_for_unset_fields() -> None:
    image = ImageConfig(command=("sh", "-c", "idle"), environment={"PATH": "/bin"}, user="app")

    def want(**fields: Any) -> ContainerConfig:
        spec = parse_container({"name": "c1", "image": BASE, **fields}, 0)
        return desired_config(spec, {}, "sha256:1", image, default_network="net")

    running = ContainerConfig(
        image_id="sha256:1",
        command=("sh", "-c", "idle"),
        environment={"PATH": "/bin"},
        networks={"net": ("c1", "abc123")},
        user="app",
    )
    assert differences(want(), running, image) == []
    # a string command is split as the shell would; an entrypoint alone clears the command
    assert differences(want(command="sh -c idle"), running, image) == []
    changed = differences(want(entrypoint=["/bin/run"]), running, image)
    assert [d.field for d in changed] == ["command", "entrypoint"]
    assert [d.field for d in differences(want(user="root"), running, image)] == ["user"]


def test_a_revert_brings_back_a_compose_made_container_it_replaced(
    memory: MemoryEngine, tmp_path: Any
) -> None:
    """The run that replaced a container docker compose made journals it from its inspect
    (secrets masked): the revert makes it again, under its own name and labels."""
    compose_labels = {
        L.COMPOSE_PROJECT: "shop",
        L.COMPOSE_SERVICE: "db",
        L.COMPOSE_NUMBER: "1",
        L.COMPOSE_ONEOFF: "False",
    }
    memory.create_network("shop_default", {L.COMPOSE_PROJECT: "shop", L.COMPOSE_NETWORK: "default"})
    made = parse_container(
        {"name": "shop_db_1", "image": BASE, "networks": {"shop_default": {"aliases": ["db"]}}}, 0
    )
    old = memory.create_container(made, {"MODE": "one"}, compose_labels, ["shop_default"])
    memory.start_container(old)
    journal = str(tmp_path / "journal.sqlite")
    config = InfrastructureManagerConfig(
        health_check_interval=0.01, min_uptime=0.05, journal=journal
    )
    m = InfrastructureManager(config, engine=memory)
    wanted = {"name": "shop-db-1", "service": "db", "image": BASE, "environment": {"MODE": "two"},
              "networks": {"shop_default": {"aliases": ["db"]}}}  # fmt: skip
    request = InfrastructureOperation(
        operation="orchestrate_containers", stack="shop", containers=[wanted]
    )
    assert m.drift(request).set_index("field").loc["environment.MODE", "actual"] == "one"
    same = InfrastructureOperation(
        operation="orchestrate_containers",
        stack="shop",
        containers=[{**wanted, "environment": {"MODE": "one"}}],
    )
    adopted = m.run(same)
    assert [c.action for c in adopted.containers] == ["adopt"]
    assert adopted.containers[0].name == "shop_db_1"  # what runs: nothing was touched
    steps = m.history_entry(adopted.run_id).steps
    assert any("made by docker-compose" in str(s) for s in steps), steps
    result = m.run(request)
    assert result.success, result.error
    assert [c.action for c in result.containers] == ["recreate"]
    back = m.revert(result.run_id)
    assert back.success, back.error
    (again,) = [c for c in memory.containers.values()]
    assert again.name == "shop_db_1" and again.environment["MODE"] == "one"
    assert again.labels[L.COMPOSE_SERVICE] == "db"


def test_drift_of_a_stack_name_compares_with_its_last_run(
    memory: MemoryEngine, tmp_path: Any
) -> None:
    config = InfrastructureManagerConfig(
        health_check_interval=0.01, min_uptime=0.05, journal=str(tmp_path / "journal.sqlite")
    )
    m = InfrastructureManager(config, engine=memory)
    with pytest.raises(Exception, match="no successful orchestrate run of stack 'shop'"):
        m.drift("shop")
    assert m.run(request(MODE="one")).success
    assert m.drift("shop").empty
    memory.stop_container("shop-app")
    assert m.drift("shop").empty  # a stopped container runs what was asked: not drift
    assert m.run(request(MODE="two")).success
    assert m.drift("shop").empty
