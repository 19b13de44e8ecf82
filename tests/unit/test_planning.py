from __future__ import annotations

import pytest

from infranb.core.planning import (
    CycleError,
    Desired,
    Observation,
    Observed,
    container_warnings,
    dependency_waves,
    plan_stack,
    teardown_waves,
)
from infranb.core.specs import ContainerSpec, parse_containers, spec_hash


def specs(*items: dict) -> list[ContainerSpec]:
    parsed, problems = parse_containers(list(items))
    assert not problems
    return parsed


def test_waves_follow_dependencies_and_keep_request_order() -> None:
    s = specs(
        {"image": "i", "name": "web", "depends_on": ["db", "cache"]},
        {"image": "i", "name": "db"},
        {"image": "i", "name": "cache"},
        {"image": "i", "name": "worker", "depends_on": ["db"]},
    )
    assert dependency_waves(s) == [["db", "cache"], ["web", "worker"]]


def test_cycle_is_named() -> None:
    s = specs(
        {"image": "i", "name": "a1", "depends_on": ["c1"]},
        {"image": "i", "name": "b1", "depends_on": ["a1"]},
        {"image": "i", "name": "c1", "depends_on": ["b1"]},
        {"image": "i", "name": "d1"},
    )
    with pytest.raises(CycleError) as info:
        dependency_waves(s)
    assert info.value.cycle == ["a1", "c1", "b1", "a1"]
    assert "a1 -> c1 -> b1 -> a1" in str(info.value)


def test_teardown_is_reverse_order() -> None:
    assert teardown_waves({"web": ["db"], "db": [], "x": []}) == [["web"], ["db", "x"]]


def _plan(desired: list[ContainerSpec], observed: dict[str, Observed], image_id: str = "sha:1"):
    prints = {s.name: s.field_fingerprints({}) for s in desired}
    hashes = {n: spec_hash(p) for n, p in prints.items()}
    return (
        plan_stack(
            Desired("st", desired, {}, prints, hashes),
            Observation(observed, {"i": image_id}, frozenset({"bridge", "net"}), frozenset()),
            default_network="bridge",
        ),
        prints,
        hashes,
    )


def test_plan_actions() -> None:
    desired = specs(
        {"image": "i", "name": "db", "networks": ["net"]},
        {"image": "i", "name": "web", "depends_on": ["db"], "networks": ["net"]},
        {"image": "i", "name": "new", "volumes": {"vol": "/v"}},
    )
    first, prints, hashes = _plan(desired, {})
    assert [s.action for s in first.steps] == ["create", "create", "create"]
    assert first.volumes_to_create == ["vol"]
    assert first.networks_to_create == []

    observed = {
        "db": Observed("1", "db", "running", "sha:1", hashes["db"], prints["db"]),
        "web": Observed("2", "web", "running", "sha:1", hashes["web"], prints["web"]),
        "new": Observed("3", "new", "exited", "sha:1", hashes["new"], prints["new"]),
        "gone": Observed("4", "gone", "running", "sha:1", "x", {}),
    }
    again, _, _ = _plan(desired, observed)
    assert {s.name: s.action for s in again.steps} == {
        "db": "unchanged",
        "web": "unchanged",
        "new": "start",
        "gone": "remove-orphan",
    }
    moved, _, _ = _plan(desired, observed, image_id="sha:2")
    step = moved.step("db")
    assert step.action == "recreate"
    assert "image" in step.reason
    assert moved.step("web").action == "recreate"


@pytest.mark.parametrize("restart", [True, False])
def test_dependent_of_recreated_restarts_when_it_asks(restart: bool) -> None:
    desired = specs(
        {"image": "i", "name": "db", "environment": {"V": "2"}},
        {"image": "i", "name": "web", "depends_on": {"db": {"restart": restart}}},
    )
    old_db = specs({"image": "i", "name": "db"})[0].field_fingerprints({"V": "1"})
    web_prints = desired[1].field_fingerprints({})
    observed = {
        "db": Observed("1", "db", "running", "sha:1", spec_hash(old_db), old_db),
        "web": Observed("2", "web", "running", "sha:1", spec_hash(web_prints), web_prints),
    }
    prints = {"db": desired[0].field_fingerprints({"V": "2"}), "web": web_prints}
    plan = plan_stack(
        Desired("st", desired, {}, prints, {n: spec_hash(p) for n, p in prints.items()}),
        Observation(observed, {"i": "sha:1"}, frozenset({"bridge"}), frozenset()),
        default_network="bridge",
    )
    assert plan.step("db").reason == "changed: environment.V"
    assert plan.step("web").action == ("restart" if restart else "unchanged")


def test_warnings() -> None:
    spec = specs({"image": "i", "name": "web", "volumes": {"/var/run/docker.sock": "/s"}})[0]
    notes = container_warnings(spec, "bridge", linked=True)
    assert any("names do not resolve" in n for n in notes)
    assert any("docker.sock" in n for n in notes)
    alone = container_warnings(spec, "bridge", linked=False)
    assert not any("names do not resolve" in n for n in alone)


def test_port_conflicts_name_the_holder_and_respect_addresses() -> None:
    from infranb.core.planning import Published, port_conflicts

    wanted = specs(
        {"image": "i", "name": "web", "ports": {"80": "127.0.0.1:18090"}},
        {"image": "i", "name": "api", "ports": {"80": "10.0.0.1:18091"}},
        {"image": "i", "name": "dns", "ports": ["5353:53/udp"]},
    )
    held = [
        Published.parse("other", "0.0.0.0:18090->80/tcp"),
        Published.parse("lan", "10.0.0.2:18091->80/tcp"),  # another address: no conflict
        Published.parse("tcp-only", "0.0.0.0:5353->53/tcp"),  # another protocol
    ]
    assert Published.parse("x", "80/tcp") is None
    found = port_conflicts(wanted, [p for p in held if p])
    assert [(i, s.name) for i, s, _ in found] == [(0, "web")]
    assert found[0][2].startswith("port 127.0.0.1:18090/tcp is already in use by container other")
