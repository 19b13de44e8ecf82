"""Heal's overhead beyond the restart itself, and apply's second look, at 20 containers.

    .venv/bin/python bench/heal_bench.py [--rounds 5] [--containers 20]

A stack of ``--containers`` containers whose health check fails while a flag file exists (a
start clears it) every 200 ms on the first; the others have none (20 checks every 200 ms
keep a 2-core daemon busy enough to slow every call it answers). Each round makes the first
unhealthy, then heals it two ways, alternating:

1. ``manager.heal([name])``: look (inspect, events, budget), evidence (probes, 50 log
   lines), journal, restart, wait healthy and stayed up (``min_uptime=0`` here);
2. the peer, a docker-py loop on a thread: ``restart`` then ``inspect`` every 50 ms until
   healthy (what a hand-written remediation does; no evidence, no budget, no journal).

Then saved plans: ``manager.plan`` of the stack's request (the first look), and
``manager.apply`` of that plan with nothing to change (its second look, the comparison,
then the run), against ``manager.execute`` of the same request (one look and the run).
Medians of ``--rounds``, in milliseconds, and the ratios.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import docker

from infranb import InfrastructureManager, InfrastructureManagerConfig, InfrastructureOperation

BASE = "infranb-demo/base:1"
SERVE = "trap 'exit 0' TERM; rm -f /tmp/flag; while :; do sleep 1 & wait $!; done"
CHECK = {
    "test": ["CMD-SHELL", "test ! -f /tmp/flag"],
    "interval": "200ms", "timeout": "2s", "retries": 1,
}  # fmt: skip


def request(stack: str, count: int) -> InfrastructureOperation:
    return InfrastructureOperation(
        operation="orchestrate_containers", stack=stack,
        containers=[
            {"name": f"{stack}-c{i}", "image": BASE, "command": ["sh", "-c", SERVE],
             **({"healthcheck": CHECK} if i == 0 else {})}
            for i in range(count)
        ],
    )  # fmt: skip


def unhealthy(api: docker.APIClient, name: str) -> None:
    api.exec_start(api.exec_create(name, ["touch", "/tmp/flag"]))
    while (api.inspect_container(name)["State"].get("Health") or {}).get("Status") != "unhealthy":
        time.sleep(0.05)


def peer_heal(api: docker.APIClient, name: str) -> None:
    api.restart(name, timeout=2)
    while (api.inspect_container(name)["State"].get("Health") or {}).get("Status") != "healthy":
        time.sleep(0.05)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--containers", type=int, default=20)
    args = parser.parse_args()
    stack = f"bench-heal-{uuid.uuid4().hex[:6]}"
    api = docker.APIClient()
    pool = ThreadPoolExecutor(1)
    with tempfile.TemporaryDirectory() as folder:
        config = InfrastructureManagerConfig(
            journal=f"{folder}/journal.sqlite", min_uptime=0.0, stop_timeout=2.0,
            snapshot_before=(),
        )  # fmt: skip
        with InfrastructureManager(config) as manager:
            up = request(stack, args.containers)
            assert manager.run(up).success
            try:
                heal_ms, inside_ms, peer_ms = [], [], []
                for _ in range(args.rounds):
                    name = f"{stack}-c0"
                    unhealthy(api, name)
                    began = time.perf_counter()
                    result = manager.heal([name], max_restarts=1000)
                    heal_ms.append((time.perf_counter() - began) * 1000)
                    assert result.success, result.error
                    inside_ms.append((result.healed[0].seconds or 0) * 1000)
                    unhealthy(api, name)
                    began = time.perf_counter()
                    pool.submit(peer_heal, api, name).result()
                    peer_ms.append((time.perf_counter() - began) * 1000)
                plan_ms, apply_ms, execute_ms = [], [], []
                for _ in range(args.rounds):
                    began = time.perf_counter()
                    plan = manager.plan(up)
                    plan_ms.append((time.perf_counter() - began) * 1000)
                    began = time.perf_counter()
                    applied = manager.apply(plan)
                    apply_ms.append((time.perf_counter() - began) * 1000)
                    assert applied.success, applied.error
                    began = time.perf_counter()
                    assert manager.run(up).success
                    execute_ms.append((time.perf_counter() - began) * 1000)
            finally:
                manager.run(InfrastructureOperation(
                    operation="cleanup_resources", stack=stack, force_remove=True,
                    cleanup_stopped_containers=True,
                ))  # fmt: skip
    med = statistics.median
    print(f"heal of 1 of {args.containers} containers, {args.rounds} rounds (medians, ms)")
    print(f"  manager.heal total          {med(heal_ms):8.0f}")
    print(f"    its restart and wait      {med(inside_ms):8.0f}")
    print(f"    look, evidence, journal   {med(heal_ms) - med(inside_ms):8.0f}")
    print(f"  docker-py restart + poll    {med(peer_ms):8.0f}")
    print(f"  heal / peer                 {med(heal_ms) / med(peer_ms):8.2f}x")
    print(f"saved plans of {args.containers} containers, nothing to change (medians, ms)")
    print(f"  manager.plan (first look)   {med(plan_ms):8.0f}")
    print(f"  manager.apply (second look, compare, run) {med(apply_ms):8.0f}")
    print(f"  manager.execute (one look, run)           {med(execute_ms):8.0f}")
    print(f"  apply / execute             {med(apply_ms) / med(execute_ms):8.2f}x")
    print(f"  second look / first         {(med(apply_ms) - med(execute_ms)) / med(plan_ms):8.2f}x")


if __name__ == "__main__":
    main()
