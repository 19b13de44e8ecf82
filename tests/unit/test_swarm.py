"""deploy_stack's logic on the in-memory swarm: parsing, service specs, plans, waves,
rollback, dry runs, secrets. (The real two-node swarm: tests/integration/test_swarm.py.)"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from infranb import (
    InfrastructureManager,
    InfrastructureManagerConfig,
    InfrastructureOperation,
    compose,
)
from infranb.core.errors import NotSwarmManager
from infranb.core.records import ProgressEvent
from infranb.core.specs import parse_container
from infranb.core.swarm import parse_deploy, service_spec
from infranb.testing import MemoryEngine

ISSUE_API = {
    "name": "api",
    "image": "web:1",
    "depends_on": {"db": "healthy"},
    "networks": ["shop-net"],
    "environment": {"API_TOKEN": "tok-never-shown"},
    "deploy": {
        "replicas": 4,
        "placement": {"preferences": [{"spread": "node.id"}]},
        "update_config": {
            "parallelism": 1,
            "delay": "1s",
            "failure_action": "rollback",
            "order": "start-first",
        },
        "resources": {"limits": {"cpus": "0.5", "memory": "64M"}},
    },
}
ISSUE_DB = {
    "name": "db",
    "image": "db:1",
    "healthcheck": {"test": "true", "interval": 1},
    "deploy": {"replicas": 1, "placement": {"constraints": ["node.role==manager"]}},
}


def request(*containers: dict[str, Any], **fields: Any) -> InfrastructureOperation:
    return InfrastructureOperation(
        operation="deploy_stack", stack="shop", containers=list(containers), **fields
    )


@pytest.fixture
def swarm() -> MemoryEngine:
    return MemoryEngine(["web:1", "db:1"], swarm_nodes=2)


@pytest.fixture
def manager(swarm: MemoryEngine) -> InfrastructureManager:
    return InfrastructureManager(InfrastructureManagerConfig(journal=None), engine=swarm)


def test_the_issue_example_becomes_the_engine_service_spec() -> None:
    container = parse_container({k: v for k, v in ISSUE_API.items() if k != "deploy"}, 0)
    deploy = parse_deploy(ISSUE_API["deploy"], "containers[0].deploy")
    spec = service_spec(container, deploy, "shop", {"API_TOKEN": "x"}, {"infranb.stack": "shop"})
    assert spec["Name"] == "shop_api"
    assert spec["Mode"] == {"Replicated": {"Replicas": 4}}
    task = spec["TaskTemplate"]
    assert task["Placement"] == {"Preferences": [{"Spread": {"SpreadDescriptor": "node.id"}}]}
    assert task["Resources"] == {"Limits": {"NanoCPUs": 500_000_000, "MemoryBytes": 64 << 20}}
    assert task["Networks"] == [{"Target": "shop-net", "Aliases": ["api"]}]
    assert spec["UpdateConfig"] == {
        "Parallelism": 1,
        "Delay": 1_000_000_000,
        "FailureAction": "rollback",
        "Order": "start-first",
    }


@pytest.mark.parametrize(
    ("deploy", "path"),
    [
        ({"replicas": -1}, "containers[0].deploy.replicas"),
        ({"update_config": {"failure_action": "explode"}}, "update_config.failure_action"),
        ({"placement": {"constraints": ["node.role"]}}, "placement.constraints"),
        ({"replica": 2}, "containers[0].deploy.replica"),
        ({"mode": "global", "replicas": 2}, "containers[0].deploy.replicas"),
    ],
)
def test_bad_deploy_keys_are_named_before_anything_is_touched(
    manager: InfrastructureManager, swarm: MemoryEngine, deploy: dict[str, Any], path: str
) -> None:
    result = manager.run(request({"name": "a", "image": "web:1", "deploy": deploy}))
    assert not result.success and any(path in p.path for p in result.problems), result.problems
    assert swarm.calls == []


def test_completed_successfully_is_refused_for_services(manager: InfrastructureManager) -> None:
    result = manager.run(
        request(
            ISSUE_DB,
            {"name": "job", "image": "web:1", "depends_on": {"db": "completed_successfully"}},
        )
    )
    assert not result.success and "never completes" in (result.error or "")


def test_waves_rerun_update_and_teardown(
    manager: InfrastructureManager, swarm: MemoryEngine
) -> None:
    events: list[ProgressEvent] = []
    result = manager.run(request(ISSUE_DB, ISSUE_API), progress=events.append)
    assert result.success, result.error
    order = [(e.kind, e.resource) for e in events if e.kind.startswith("service_")]
    assert order.index(("service_converged", "db")) < order.index(("service_creating", "api"))
    frame = result.to_frame().set_index("service")
    assert list(frame["wave"]) == [0, 1]
    assert frame.loc["api", "replicas_running"] == 4
    assert frame.loc["api", "nodes"] == "mem-1, mem-2" and frame.loc["db", "nodes"] == "mem-1"
    assert "tok-never-shown" not in repr(result) + str(result) + result.to_frame().to_string()

    again = manager.run(request(ISSUE_DB, ISSUE_API))
    assert set(again.to_frame()["action"]) == {"unchanged"}
    changed = manager.run(request(ISSUE_DB, {**ISSUE_API, "environment": {"API_TOKEN": "t2"}}))
    row = changed.to_frame().set_index("service").loc["api"]
    assert (row["action"], row["changed"]) == ("update", "environment.API_TOKEN")

    down = manager.down("shop")
    assert sorted((r.kind, r.name) for r in down.removed) == [
        ("network", "shop-net"),
        ("network", "shop_default"),
        ("service", "shop_api"),
        ("service", "shop_db"),
    ]
    assert swarm.services == {}


def test_a_failed_first_deploy_removes_what_it_created(
    manager: InfrastructureManager, swarm: MemoryEngine
) -> None:
    before = (set(swarm.services), set(swarm.networks))
    config = InfrastructureManagerConfig(journal=None, container_start_timeout=2)
    manager = InfrastructureManager(config, engine=swarm)
    result = manager.run(request(ISSUE_DB, {**ISSUE_API, "image": "missing:1"}))
    assert not result.success and result.rolled_back
    assert "No such image: missing:1" in (result.error or "") and "mem-1" in (result.error or "")
    assert (set(swarm.services), set(swarm.networks)) == before


def test_a_failed_update_that_swarm_did_not_roll_back_is_rolled_back(
    manager: InfrastructureManager, swarm: MemoryEngine
) -> None:
    paused = {**ISSUE_API, "deploy": {"replicas": 2, "update_config": {"failure_action": "pause"}}}
    assert manager.run(request(ISSUE_DB, paused)).success
    result = manager.run(request(ISSUE_DB, {**paused, "command": "exit 3"}))
    assert not result.success and result.rolled_back
    assert "restored the previous spec of shop_api" in (result.error or "")
    service = next(s for s in swarm.services.values() if s.name == "shop_api")
    assert "Args" not in service.spec["TaskTemplate"]["ContainerSpec"]


def test_a_dry_run_reads_only_and_works_without_a_swarm() -> None:
    engine = MemoryEngine(["web:1", "db:1"])
    manager = InfrastructureManager(InfrastructureManagerConfig(journal=None), engine=engine)
    plan = manager.run(request(ISSUE_DB, ISSUE_API, dry_run=True))
    assert plan.success and list(plan.to_frame()["action"]) == ["create", "create"]
    assert any("docker swarm init" in w for w in plan.warnings)
    assert engine.calls == ["swarm_role"]
    real = manager.run(request(ISSUE_DB, ISSUE_API))
    assert isinstance(real.exception, NotSwarmManager)
    assert engine.calls == ["swarm_role", "swarm_role"]


def test_orphans_are_kept_unless_asked(manager: InfrastructureManager, swarm: MemoryEngine) -> None:
    assert manager.run(request(ISSUE_DB, ISSUE_API)).success
    kept = manager.run(request(ISSUE_DB))
    assert any("orphan service(s) kept: api" in w for w in kept.warnings)
    assert len(swarm.services) == 2
    removed = manager.run(request(ISSUE_DB, remove_orphans=True))
    rows = removed.to_frame()
    assert ("api", "remove") in zip(rows["service"], rows["action"], strict=True)
    assert len(swarm.services) == 1


def test_a_compose_project_deploys_with_its_deploy_keys(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(
        """
name: shop
services:
  db:
    image: db:1
    healthcheck: {test: [CMD, "true"], interval: 1s}
  api:
    image: web:1
    depends_on: {db: {condition: service_healthy}}
    deploy:
      replicas: 3
      placement: {preferences: [{spread: node.id}]}
"""
    )
    op = compose.load(tmp_path).deploy()
    assert op.operation == "deploy_stack" and op.stack == "shop"
    api = next(c for c in op.containers if c["name"] == "api")
    assert api["deploy"]["replicas"] == 3 and api["depends_on"] == {"db": "healthy"}
    assert op.networks["shop_default"]["driver"] == "overlay"
    engine = MemoryEngine(["web:1", "db:1"], swarm_nodes=2)
    result = InfrastructureManager(InfrastructureManagerConfig(journal=None), engine=engine).run(op)
    assert result.success, result.error
    assert result.to_frame().set_index("service").loc["api", "replicas_running"] == 3


def test_secret_files_become_swarm_secrets_versioned_by_content(
    manager: InfrastructureManager, swarm: MemoryEngine, tmp_path: Path
) -> None:
    token = tmp_path / "api_token.txt"
    token.write_text("first-token-value")
    api = {**ISSUE_API, "secrets": [{"file": str(token)}]}
    result = manager.run(request(ISSUE_DB, api))
    assert result.success, result.error
    names = [s.name for s in swarm.secrets.values()]
    assert len(names) == 1 and names[0].startswith("shop_api_token_")
    service = next(s for s in swarm.services.values() if s.name == "shop_api")
    mounted = service.spec["TaskTemplate"]["ContainerSpec"]["Secrets"]
    assert [m["File"]["Name"] for m in mounted] == ["/run/secrets/api_token"]
    assert set(manager.run(request(ISSUE_DB, api)).to_frame()["action"]) == {"unchanged"}

    token.write_text("second-token-value")
    changed = manager.run(request(ISSUE_DB, api))
    row = changed.to_frame().set_index("service").loc["api"]
    assert (row["action"], row["changed"]) == ("update", "secrets")
    assert [s.name for s in swarm.secrets.values()] != names  # the old version is gone
    assert len(swarm.secrets) == 1
    shown = repr(changed) + str(changed) + changed.to_frame().to_string()
    assert "token-value" not in shown

    down = manager.down("shop")
    assert ("secret", sum(r.kind == "secret" for r in down.removed)) == ("secret", 1)
    assert swarm.secrets == {}


def test_a_missing_secret_file_is_named_before_anything_is_touched(
    manager: InfrastructureManager, swarm: MemoryEngine, tmp_path: Path
) -> None:
    api = {**ISSUE_API, "secrets": [{"file": str(tmp_path / "nope.txt")}]}
    result = manager.run(request(ISSUE_DB, api))
    assert not result.success
    assert [p.path for p in result.problems] == ["containers[1].secrets[0].file"]
    assert swarm.services == {} and swarm.secrets == {}


def test_compose_file_secrets_become_swarm_secrets(tmp_path: Path) -> None:
    (tmp_path / "pw.txt").write_text("compose-secret")
    (tmp_path / "compose.yaml").write_text(
        """
name: shop
services:
  db:
    image: db:1
    secrets: [db_password]
secrets:
  db_password: {file: ./pw.txt}
"""
    )
    op = compose.load(tmp_path).deploy()
    db = op.containers[0]
    assert "volumes" not in db
    assert db["secrets"] == [
        {
            "file": str(tmp_path / "pw.txt"),
            "name": "db_password",
            "target": "/run/secrets/db_password",
        }
    ]


def test_the_swarm_form_builds_deploy_requests() -> None:
    from infranb.notebook.widgets import DeployStackForm

    op = request({"name": "api", "image": "web:1", "deploy": {"replicas": 3}})
    form = DeployStackForm.from_operation(op)
    assert form.operation.operation == "deploy_stack"
    assert form.operation.containers == op.containers
    assert form.problems() == []


def test_a_secrets_name_does_not_reveal_a_hash_of_its_content(
    manager: InfrastructureManager, swarm: MemoryEngine, tmp_path: Path
) -> None:
    """An unsalted digest in ``docker secret ls`` lets a guessed value be confirmed offline:
    the digest is keyed with the stack's key (on its services), stable across re-runs."""
    import hashlib

    import infranb.core.labels as L

    token = tmp_path / "api_token.txt"
    token.write_text("guessable")
    api = {**ISSUE_API, "secrets": [{"file": str(token)}]}
    assert manager.run(request(ISSUE_DB, api)).success
    (name,) = [s.name for s in swarm.secrets.values()]
    assert hashlib.sha256(b"guessable").hexdigest()[:10] not in name
    keys = {s.labels.get(L.SECRET_KEY) for s in swarm.services.values()}
    assert len(keys) == 1 and None not in keys  # one key per stack, on every service
    assert manager.run(request(ISSUE_DB, api)).success
    assert [s.name for s in swarm.secrets.values()] == [name]  # same key: same name
