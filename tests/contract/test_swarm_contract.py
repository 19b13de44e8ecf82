"""The Swarm part of the engine contract: the in-memory swarm and a real two-node swarm
(tests/swarm_lab.py) answer the same calls the same way."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest

from infranb.core import labels as L
from infranb.core.errors import NotFound
from infranb.core.specs import parse_container
from infranb.core.swarm import DeploySpec, service_spec
from infranb.engines.base import Engine
from infranb.engines.docker import DockerEngine
from infranb.testing import MemoryEngine
from tests.swarm_lab import BASE, SwarmLab


@pytest.fixture(params=["memory", "docker"])
def swarm(request: pytest.FixtureRequest) -> Iterator[Engine]:
    if request.param == "memory":
        memory = MemoryEngine([BASE], swarm_nodes=2)
        yield memory
        memory.close()
    else:
        lab: SwarmLab = request.getfixturevalue("swarm_lab")
        engine = DockerEngine(lab.manager.host)
        yield engine
        engine.close()


def _running(engine: Engine, service_id: str, spec_hash: str, count: int) -> bool:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        tasks = [
            t for t in engine.list_tasks(services=[service_id]) if t.desired_state == "running"
        ]
        if len(tasks) == count and all(
            t.state == "running" and t.spec_hash == spec_hash for t in tasks
        ):
            return True
        time.sleep(0.2)
    return False


def test_service_lifecycle(swarm: Engine) -> None:
    assert swarm.swarm_role() == "manager"
    nodes = swarm.list_nodes()
    assert sorted(n.role for n in nodes) == ["manager", "worker"]
    assert sum(n.leader for n in nodes) == 1
    stack = f"inbc{uuid.uuid4().hex[:6]}"
    network = f"{stack}_default"
    swarm.create_network(network, L.managed(stack), driver="overlay")
    container = parse_container({"name": "app", "image": BASE}, 0)
    labels = {**L.managed(stack), L.SPEC_HASH: "h1"}
    spec = service_spec(container, DeploySpec(replicas=2), stack, {"A": "1"}, labels)
    service_id = swarm.create_service(spec)
    try:
        assert [s.id for s in swarm.list_services(labels=L.managed(stack))] == [service_id]
        assert swarm.list_services(labels=L.managed(f"{stack}x")) == []
        assert _running(swarm, service_id, "h1", 2)
        before = swarm.inspect_service(service_id)
        assert before is not None and before.replicas == 2 and before.image == BASE
        labels2 = {**labels, L.SPEC_HASH: "h2"}
        spec2 = service_spec(container, DeploySpec(replicas=2), stack, {"A": "2"}, labels2)
        swarm.update_service(service_id, before.version, spec2)
        after = swarm.inspect_service(spec["Name"])
        assert after is not None and after.version > before.version
        assert after.previous_spec is not None and after.labels[L.SPEC_HASH] == "h2"
        assert _running(swarm, service_id, "h2", 2)
    finally:
        swarm.remove_service(service_id)
    assert swarm.inspect_service(service_id) is None
    with pytest.raises(NotFound):
        swarm.remove_service(service_id)
    deadline = time.monotonic() + 30
    while True:
        try:
            swarm.remove_network(network)
            break
        except Exception:
            assert time.monotonic() < deadline
            time.sleep(0.2)


def test_an_engine_outside_a_swarm_says_so(engine: DockerEngine) -> None:
    assert engine.swarm_role() == "inactive"
    assert MemoryEngine().swarm_role() == "inactive"


def test_secret_lifecycle(swarm: Engine) -> None:
    """Secrets: made with labels, listed by them, one per name, removed by id; the content
    is never read back (the engine does not give it)."""
    from infranb.core.errors import Conflict

    stack = f"inbc{uuid.uuid4().hex[:6]}"
    name = f"{stack}_token_1"
    secret_id = swarm.create_secret(name, b"contract-value", L.managed(stack))
    try:
        [found] = swarm.list_secrets(labels=L.managed(stack))
        assert (found.id, found.name) == (secret_id, name)
        assert "contract-value" not in repr(found)
        assert swarm.list_secrets(labels=L.managed(f"{stack}x")) == []
        with pytest.raises(Conflict):
            swarm.create_secret(name, b"other", L.managed(stack))
    finally:
        swarm.remove_secret(secret_id)
    assert swarm.list_secrets(labels=L.managed(stack)) == []
    with pytest.raises(NotFound):
        swarm.remove_secret(secret_id)
