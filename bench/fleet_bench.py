"""A fleet's inventory against the same calls one engine after another.

    .venv/bin/python bench/fleet_bench.py            # 3 engines, 30 containers each
    .venv/bin/python bench/fleet_bench.py --quick    # 3 engines, 3 containers each

Starts two extra engines beside the local one (``tests/engines.py``: own socket, state,
bridge and address pool; stopped by pid at the end), creates ``inbb-fleet-*`` containers
on each, then times ``fleet.containers()`` (the engines asked at once) against
``manager.containers()`` on each engine in turn, alternating, and prints medians and the
ratio. Everything it created is removed.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from infranb import Fleet, InfrastructureManager, InfrastructureManagerConfig
from tests.engines import BASE, ExtraEngine, temporary_root

LOCAL = "unix:///var/run/docker.sock"


def docker(host: str, *args: str) -> None:
    subprocess.run(["docker", "-H", host, *args], check=True, capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    per_engine, runs = (3, 3) if args.quick else (30, 15)
    extras = [ExtraEngine(f"e{i}", i, temporary_root(f"inbb-e{i}-")) for i in (5, 6)]
    hosts = {"local": LOCAL}
    try:
        for extra in extras:
            extra.start()
            hosts[extra.name] = extra.host
        for host in hosts.values():
            for i in range(per_engine):
                docker(
                    host, "create", "--name", f"inbb-fleet-{i}", "--label", "infranb-bench=1", BASE
                )
        config = InfrastructureManagerConfig()
        managers = {
            name: InfrastructureManager(InfrastructureManagerConfig(docker_host=h))
            for name, h in hosts.items()
        }
        fleet = Fleet(managers, config=config)
        fleet.containers(label="infranb-bench=1")  # connect every client before timing
        results: dict[str, list[float]] = {
            "fleet.containers()": [],
            "one engine after another": [],
            "await fleet.acontainers()": [],
            "await each acontainers()": [],
        }

        async def one_loop() -> tuple[float, float]:
            # In a notebook cell: one running loop, no per-call loop set-up.
            start = time.perf_counter()
            together = await fleet.acontainers(label="infranb-bench=1")
            middle = time.perf_counter()
            each = [await m.acontainers(label="infranb-bench=1") for m in managers.values()]
            end = time.perf_counter()
            assert len(together) == sum(len(f) for f in each)
            return middle - start, end - middle

        for _ in range(runs):
            start = time.perf_counter()
            together = fleet.containers(label="infranb-bench=1")
            results["fleet.containers()"].append(time.perf_counter() - start)
            start = time.perf_counter()
            one_by_one = [m.containers(label="infranb-bench=1") for m in managers.values()]
            results["one engine after another"].append(time.perf_counter() - start)
            assert len(together) == sum(len(f) for f in one_by_one) == per_engine * len(hosts)
            fleet_s, each_s = asyncio.run(one_loop())
            results["await fleet.acontainers()"].append(fleet_s)
            results["await each acontainers()"].append(each_s)
        base = statistics.median(results["fleet.containers()"])
        print(
            f"inventory of {len(hosts)} engines, {per_engine} containers each; "
            f"{runs} runs, alternating"
        )
        print(f"  {'how':28} {'median s (min-max)':>26} {'ratio to fleet':>16}")
        for how, samples in results.items():
            shown = f"{statistics.median(samples):7.4f} ({min(samples):.4f}-{max(samples):.4f})"
            print(f"  {how:28} {shown:>26} {statistics.median(samples) / base:15.2f}x")
        fleet.close()
    finally:
        for i in range(per_engine):
            subprocess.run(
                ["docker", "-H", LOCAL, "rm", "-f", f"inbb-fleet-{i}"], capture_output=True
            )
        for extra in extras:
            extra.stop()


if __name__ == "__main__":
    main()
