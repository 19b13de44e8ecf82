"""Teardown's order on an engine that records overlap: the containers of a wave stop and go
at once (as Compose v2's ``down``), and a network goes as soon as none of them holds an
endpoint on it, while the containers are still being removed; never before."""

from __future__ import annotations

import threading
import time

from infranb import InfrastructureManager, InfrastructureManagerConfig, InfrastructureOperation
from infranb.testing import MemoryEngine

IMAGE = "infranb-demo/base:1"


class OverlapEngine(MemoryEngine):
    """Slow stops and removals that remember how many ran at once, and what still ran on
    a network when it was removed."""

    def __init__(self) -> None:
        super().__init__([IMAGE])
        self.guard = threading.Lock()
        self.stops_in_flight = 0
        self.most_stops = 0
        self.removals_in_flight = 0
        self.disconnects = 0
        self.network_removed_while_removing: list[str] = []
        self.running_at_network_removal: dict[str, list[str]] = {}

    def stop_container(self, ref: str, timeout: float = 10) -> None:
        with self.guard:
            self.stops_in_flight += 1
            self.most_stops = max(self.most_stops, self.stops_in_flight)
        time.sleep(0.02)
        try:
            super().stop_container(ref, timeout)
        finally:
            with self.guard:
                self.stops_in_flight -= 1

    def disconnect(self, network: str, container: str) -> None:
        self.disconnects += 1
        super().disconnect(network, container)

    def remove_container(self, ref: str, *, force: bool = False, volumes: bool = False) -> None:
        with self.guard:
            self.removals_in_flight += 1
        time.sleep(0.05)
        try:
            super().remove_container(ref, force=force, volumes=volumes)
        finally:
            with self.guard:
                self.removals_in_flight -= 1

    def remove_network(self, ref: str) -> None:
        with self.guard:
            if self.removals_in_flight:
                self.network_removed_while_removing.append(ref)
            self.running_at_network_removal[ref] = sorted(
                c.name
                for c in self.containers.values()
                if ref in c.networks and c.state == "running"
            )
        super().remove_network(ref)


def bring_up_and_down(engine: OverlapEngine, stack: str, containers: list[dict]):
    with InfrastructureManager(
        config=InfrastructureManagerConfig(max_parallel=8, health_check_interval=0.01),
        engine=engine,
    ) as manager:
        up = manager.run(
            InfrastructureOperation(
                operation="orchestrate_containers", stack=stack, containers=containers
            )
        )
        assert up.success, up.error
        return manager.down(stack)


def test_a_wave_stops_at_once() -> None:
    engine = OverlapEngine()
    containers = [
        {"image": IMAGE, "name": f"shared-{i}", "networks": ["inbt-shared"]} for i in range(6)
    ] + [{"image": IMAGE, "name": f"own-{i}", "networks": [f"inbt-own-{i}"]} for i in range(4)]
    down = bring_up_and_down(engine, "inbt-td", containers)
    assert down.success, down.error
    assert sorted(down.containers_removed) == sorted(c["name"] for c in containers)
    assert engine.most_stops > 1  # side by side, on one network too
    assert engine.disconnects == 0  # the stops release the endpoints
    assert engine.list_networks(labels={"infranb.stack": "inbt-td"}) == []


def test_a_network_goes_once_its_containers_have_stopped() -> None:
    """A teardown removes a network as soon as no container of it holds an endpoint there,
    while the containers still go; never while one still runs on it."""
    engine = OverlapEngine()
    containers = [
        {"image": IMAGE, "name": f"shared-{i}", "networks": ["inbt-early"]} for i in range(6)
    ]
    down = bring_up_and_down(engine, "inbt-early", containers)
    assert down.success, down.error
    assert [r.name for r in down.removed if r.kind == "network"] == ["inbt-early"]
    assert sorted(down.containers_removed) == sorted(c["name"] for c in containers)
    assert engine.running_at_network_removal == {"inbt-early": []}  # all had stopped
    assert engine.network_removed_while_removing == ["inbt-early"]  # not after the last


def test_dependents_stop_before_what_they_depend_on() -> None:
    """Waves still hold: a container depended on goes only after its dependents."""
    engine = OverlapEngine()
    order: list[str] = []
    original = engine.stop_container

    def recording_stop(ref: str, timeout: float = 10) -> None:
        order.append(engine.containers[ref].name)
        original(ref, timeout)

    engine.stop_container = recording_stop  # type: ignore[method-assign]
    containers = [
        {"image": IMAGE, "name": "inbt-db", "networks": ["inbt-waves"]},
        {
            "image": IMAGE,
            "name": "inbt-app",
            "networks": ["inbt-waves"],
            "depends_on": ["inbt-db"],
        },
    ]
    down = bring_up_and_down(engine, "inbt-waves", containers)
    assert down.success, down.error
    assert order == ["inbt-app", "inbt-db"]
