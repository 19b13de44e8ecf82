"""Teardown's order on an engine that records overlap: the endpoints of one network are
released one at a time (the Docker 20.10 endpoint-count bug), different networks at once,
and a container is stopped only after it has left its networks."""

from __future__ import annotations

import threading
import time
from collections import defaultdict

from infranb import InfrastructureManager, InfrastructureManagerConfig, InfrastructureOperation
from infranb.testing import MemoryEngine

IMAGE = "infranb-demo/base:1"


class OverlapEngine(MemoryEngine):
    """Slow disconnects that remember how many ran at once, per network and in all."""

    def __init__(self) -> None:
        super().__init__([IMAGE])
        self.guard = threading.Lock()
        self.in_flight: dict[str, int] = defaultdict(int)
        self.most_per_network: dict[str, int] = defaultdict(int)
        self.most_overall = 0
        self.left: dict[str, set[str]] = defaultdict(set)  # container id -> networks left
        self.stopped_before_leaving: list[str] = []

    def disconnect(self, network: str, container: str) -> None:
        with self.guard:
            self.in_flight[network] += 1
            self.most_per_network[network] = max(
                self.most_per_network[network], self.in_flight[network]
            )
            self.most_overall = max(self.most_overall, sum(self.in_flight.values()))
        time.sleep(0.02)
        super().disconnect(network, container)
        with self.guard:
            self.in_flight[network] -= 1
            self.left[container].add(network)

    def stop_container(self, ref: str, timeout: float = 10) -> None:
        container = self.containers.get(ref)
        if container is not None and set(container.networks) - self.left[ref] - {"bridge"}:
            self.stopped_before_leaving.append(container.name)
        super().stop_container(ref, timeout)


def test_one_network_at_a_time_different_networks_together() -> None:
    engine = OverlapEngine()
    containers = [
        {"image": IMAGE, "name": f"shared-{i}", "networks": ["inbt-shared"]} for i in range(6)
    ] + [{"image": IMAGE, "name": f"own-{i}", "networks": [f"inbt-own-{i}"]} for i in range(4)]
    with InfrastructureManager(
        config=InfrastructureManagerConfig(max_parallel=8, health_check_interval=0.01),
        engine=engine,
    ) as manager:
        up = manager.run(
            InfrastructureOperation(
                operation="orchestrate_containers", stack="inbt-td", containers=containers
            )
        )
        assert up.success, up.error
        down = manager.down("inbt-td")
    assert down.success, down.error
    assert sorted(down.containers_removed) == sorted(c["name"] for c in containers)
    assert engine.most_per_network["inbt-shared"] == 1  # never two releases on one network
    assert max(engine.most_per_network.values()) == 1
    assert engine.most_overall > 1  # but different networks went side by side
    assert engine.stopped_before_leaving == []
    assert engine.list_networks(labels={"infranb.stack": "inbt-td"}) == []


class SlowRemovalEngine(OverlapEngine):
    """Slow container removals; remembers what had left a network when it was removed."""

    def __init__(self) -> None:
        super().__init__()
        self.removals_in_flight = 0
        self.network_removed_while_removing: list[str] = []
        self.holders_at_network_removal: dict[str, list[str]] = {}

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
            self.holders_at_network_removal[ref] = sorted(
                c.name
                for cid, c in self.containers.items()
                if ref in c.networks and ref not in self.left[cid]
            )
        super().remove_network(ref)


def test_a_network_goes_once_its_endpoints_are_released() -> None:
    """A teardown removes a network as soon as its last endpoint is released, while the
    containers still go; never before."""
    engine = SlowRemovalEngine()
    containers = [
        {"image": IMAGE, "name": f"shared-{i}", "networks": ["inbt-early"]} for i in range(6)
    ]
    with InfrastructureManager(
        config=InfrastructureManagerConfig(max_parallel=8, health_check_interval=0.01),
        engine=engine,
    ) as manager:
        up = manager.run(
            InfrastructureOperation(
                operation="orchestrate_containers", stack="inbt-early", containers=containers
            )
        )
        assert up.success, up.error
        down = manager.down("inbt-early")
    assert down.success, down.error
    assert [r.name for r in down.removed if r.kind == "network"] == ["inbt-early"]
    assert sorted(down.containers_removed) == sorted(c["name"] for c in containers)
    assert engine.holders_at_network_removal == {"inbt-early": []}  # all had left it
    assert engine.network_removed_while_removing == ["inbt-early"]  # not after the last
    assert engine.most_per_network["inbt-early"] == 1
