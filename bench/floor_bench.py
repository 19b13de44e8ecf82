"""Bring-up and teardown at the engine's floor: infranb against Compose v2, the threaded
docker-py loop and Compose 1.29, on the same engine, alternating run by run.

    .venv/bin/python bench/floor_bench.py                  # 5 runs of each shape
    .venv/bin/python bench/floor_bench.py --runs 7
    .venv/bin/python bench/floor_bench.py --one-network --runs 9   # 20 and 50 on one network
    .venv/bin/python bench/floor_bench.py --quick          # N = 4, 1 run (the smoke test)
    .venv/bin/python bench/floor_bench.py --stress 100     # 100 rounds of 20 on one network

Shapes: N containers on **one network** (a Compose project's default network) at N = 20 and
50, and **a network each** at N = 20 and 25 (the engine's default address pools hold 31
networks); a named volume each. infranb runs with ``min_uptime=0``, so every tool stops at
"running" (Compose's ``up -d`` returns once its containers are started); the default
``min_uptime``'s cost is its own line. Every tool tears down what it brought up, volumes too.

Compose 1.29 is left out of 50 on one network: releasing many endpoints of one network at
once can leave that network undeletable on Docker 20.10 until the engine restarts (1.29 did
in 2 of 2 tries on 2026-11-28; ``bench/teardown_safety.py`` pairs tools on an engine of its
own), and a benchmark must not break the engine it shares. Compose v2 takes the same risk;
it is the peer to race, so it runs, and the census after each run says if it broke something.

The stress mode brings 20 containers up on one network and tears them down with infranb,
``--stress`` times, with a census of this run's containers, networks and volumes after each
round; it exits non-zero when a round failed or left anything.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import docker

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from infranb import (  # noqa: E402
    InfrastructureManager,
    InfrastructureManagerConfig,
    InfrastructureOperation,
)

BASE = "infranb-demo/base:1"
LABEL = {"infranb-bench": "floor"}
PREFIX = "inbb-fl-"
THREADS = 8
V1 = "/usr/bin/docker-compose"  # Debian's Compose 1.29
V2 = str(ROOT / ".venv" / "bin" / "docker-compose")  # Compose v2, the static binary
api = docker.from_env(version="auto", max_pool_size=THREADS + 4).api

#: One manager per setting for the whole run, as a notebook keeps one (the loop keeps its client).
MANAGERS = {
    window: InfrastructureManager(
        config=InfrastructureManagerConfig(stop_timeout=2, min_uptime=window)
    )
    for window in (0.0, 1.0)
}


def names(tool: str, n: int) -> list[str]:
    return [f"{PREFIX}{tool}-{i}" for i in range(n)]


def network_of(tool: str, shape: str, name: str) -> str:
    return f"{PREFIX}{tool}-net" if shape == "shared" else f"{name}-net"


# ---------------------------------------------------------------- tools: up returns down


def up_infranb(n: int, shape: str, window: float = 0.0) -> Callable[[], None]:
    manager = MANAGERS[window]
    stack = f"{PREFIX}nb"
    op = InfrastructureOperation(
        operation="orchestrate_containers",
        stack=stack,
        containers=[
            {
                "image": BASE,
                "name": name,
                "networks": [network_of("nb", shape, name)],
                "volumes": {f"{name}-vol": "/data"},
                "labels": LABEL,
            }
            for name in names("nb", n)
        ],
    )
    result = manager.run(op)
    assert result.success, result.error

    def down() -> None:
        gone = manager.down(stack, volumes=True)
        assert gone.success and not gone.warnings, (gone.error, gone.warnings)

    return down


def up_compose(binary: str, tool: str) -> Callable[[int, str], Callable[[], None]]:
    def up(n: int, shape: str) -> Callable[[], None]:
        directory = Path(tempfile.mkdtemp(prefix=PREFIX))
        services = {
            name: {
                "image": BASE,
                "container_name": name,
                "networks": [network_of(tool, shape, name)],
                "volumes": [f"{name}-vol:/data"],
                "labels": LABEL,
                "stop_grace_period": "2s",
            }
            for name in names(tool, n)
        }
        networks = {net for s in services.values() for net in s["networks"]}
        spec = {
            "services": services,
            "networks": {net: {"name": net} for net in networks},
            "volumes": {f"{name}-vol": {"name": f"{name}-vol"} for name in services},
        }
        (directory / "compose.json").write_text(json.dumps(spec))
        command = [binary, "-p", f"inbbfl{tool}", "-f", str(directory / "compose.json")]
        subprocess.run([*command, "up", "-d"], check=True, capture_output=True)

        def down() -> None:
            subprocess.run([*command, "down", "-v", "-t", "2"], check=True, capture_output=True)
            shutil.rmtree(directory)

        return down

    return up


def up_threads(n: int, shape: str) -> Callable[[], None]:
    """The fastest hand-written loop: 8 threads, create and start each (volume and network
    given at create), then stop all, remove all, networks and volumes."""
    members = names("py", n)
    networks = sorted({network_of("py", shape, name) for name in members})
    pool = concurrent.futures.ThreadPoolExecutor(THREADS)
    list(pool.map(lambda net: api.create_network(net, labels=LABEL), networks))

    def create_start(name: str) -> None:
        api.create_volume(f"{name}-vol", labels=LABEL)
        config = api.create_host_config(
            binds=[f"{name}-vol:/data"], network_mode=network_of("py", shape, name)
        )
        created = api.create_container(
            BASE, name=name, host_config=config, labels=LABEL, stop_timeout=2
        )
        api.start(created["Id"])

    list(pool.map(create_start, members))

    def down() -> None:
        list(pool.map(lambda name: api.stop(name, timeout=2), members))
        list(pool.map(lambda name: api.remove_container(name), members))
        list(pool.map(api.remove_network, networks))
        list(pool.map(lambda name: api.remove_volume(f"{name}-vol"), members))
        pool.shutdown()

    return down


TOOLS: dict[str, Callable[[int, str], Callable[[], None]]] = {
    "infranb": up_infranb,
    "compose v2": up_compose(V2, "v2"),
    "docker-py threads": up_threads,
    "compose 1.29": up_compose(V1, "v1"),
}


# ---------------------------------------------------------------- census and scrub


def census() -> set[str]:
    """This script's containers, networks and volumes that are still there."""
    containers = {
        c["Names"][0] for c in api.containers(all=True, filters={"label": "infranb-bench"})
    }
    containers = {c for c in containers if c.lstrip("/").startswith(PREFIX)}
    networks = {n["Name"] for n in api.networks(filters={"name": PREFIX})}
    volumes = {v["Name"] for v in api.volumes(filters={"name": PREFIX}).get("Volumes") or []}
    return (
        containers
        | {n for n in networks if n.startswith(PREFIX)}
        | {v for v in volumes if v.startswith(PREFIX)}
    )


def scrub() -> list[str]:
    """Remove what a failed run left (only this script's names); return networks the engine
    would not delete."""
    stuck = []
    for c in api.containers(all=True, filters={"label": "infranb-bench=floor"}):
        api.remove_container(c["Id"], force=True, v=True)
    for net in api.networks(filters={"name": PREFIX}):
        if net["Name"].startswith(PREFIX):
            try:
                api.remove_network(net["Id"])
            except docker.errors.APIError as e:  # the engine lost count of its endpoints
                stuck.append(f"{net['Name']}: {e.explanation}")
    for vol in api.volumes(filters={"name": PREFIX}).get("Volumes") or []:
        if vol["Name"].startswith(PREFIX):
            api.remove_volume(vol["Name"])
    return stuck


# ---------------------------------------------------------------- runs and reporting


def summary(samples: list[float]) -> str:
    return f"{statistics.median(samples):6.2f} ({min(samples):.2f}-{max(samples):.2f})"


def table(title: str, results: dict[str, list[float]]) -> None:
    """Medians, the ratio of medians, and the median of the runs' own ratios (run i of each
    tool ran back to back, so the engine's drift over the series cancels out of those)."""
    print(f"\n{title}")
    ours = results["infranb"]
    base = statistics.median(ours)
    print(f"  {'tool':20} {'median s (min-max)':>22} {'infranb / tool':>15} {'run by run':>19}")
    for tool, samples in results.items():
        ratio = base / statistics.median(samples)
        paired = [a / b for a, b in zip(ours, samples, strict=True)]
        spread = f"{statistics.median(paired):.2f}x ({min(paired):.2f}-{max(paired):.2f})"
        print(f"  {tool:20} {summary(samples):>22} {ratio:14.2f}x {spread:>19}")


SHAPES = [("shared", 20), ("shared", 50), ("per-container", 20), ("per-container", 25)]


def compare(shapes: list[tuple[str, int]], runs: int) -> int:
    problems = 0
    for shape, n in shapes:
        tools = dict(TOOLS)
        if shape == "shared" and n > 20:
            del tools["compose 1.29"]  # see the docstring: not on the shared engine
        up: dict[str, list[float]] = {tool: [] for tool in tools}
        down: dict[str, list[float]] = {tool: [] for tool in tools}
        order = list(tools.items())
        for i in range(runs):
            # Alternating, run by run, and each run starts with the next tool: none always
            # follows the same one (a teardown leaves the engine work that the next run meets).
            for tool, bring_up in order[i % len(order) :] + order[: i % len(order)]:
                start = time.perf_counter()
                teardown = bring_up(n, shape)
                up[tool].append(time.perf_counter() - start)
                start = time.perf_counter()
                teardown()
                down[tool].append(time.perf_counter() - start)
                left = census()
                if left:
                    problems += 1
                    print(f"  {tool} left {len(left)} behind; stuck: {scrub() or 'none'}")
        where = "one network" if shape == "shared" else "a network each"
        table(f"bring-up of {n} containers, {where}, a volume each (to running)", up)
        table(f"teardown of {n} containers, {where}, volumes too", down)
    return problems


def uptime_cost(n: int, runs: int) -> None:
    """The default min_uptime (1 s) against 0, alternating."""
    samples: dict[float, list[float]] = {0.0: [], 1.0: []}
    for _ in range(runs):
        for window in samples:
            start = time.perf_counter()
            teardown = up_infranb(n, "shared", window)
            samples[window].append(time.perf_counter() - start)
            teardown()
    cost = statistics.median(samples[1.0]) - statistics.median(samples[0.0])
    print(
        f"\nmin_uptime at N={n}, one network: 0 s {summary(samples[0.0])}, "
        f"1 s (the default) {summary(samples[1.0])}: +{cost:.2f} s"
    )


def stress(rounds: int, n: int) -> int:
    failed = left = 0
    started = time.perf_counter()
    for i in range(rounds):
        try:
            teardown = up_infranb(n, "shared")
            teardown()
        except AssertionError as e:
            failed += 1
            print(f"  round {i + 1} failed: {e}")
        remains = census()
        if remains:
            left += 1
            print(f"  round {i + 1} left {sorted(remains)}; stuck: {scrub() or 'none'}")
    minutes = (time.perf_counter() - started) / 60
    print(
        f"stress: {rounds} bring-ups and teardowns of {n} containers on one network in "
        f"{minutes:.1f} min; failed: {failed}; rounds leaving anything: {left}"
    )
    return failed + left


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--stress", type=int, default=0, help="rounds of 20 on one network")
    parser.add_argument("--size", type=int, default=20)
    parser.add_argument(
        "--one-network", action="store_true", help="only the shapes on one network (20, 50)"
    )
    args = parser.parse_args()
    stuck = scrub()
    if stuck:
        sys.exit(f"networks from an earlier run cannot be removed: {stuck}")
    if args.stress:
        sys.exit(1 if stress(args.stress, args.size) else 0)
    if args.quick:
        problems = compare([("shared", 4), ("per-container", 2)], 1)
        uptime_cost(4, 1)
    else:
        shapes = [s for s in SHAPES if s[0] == "shared"] if args.one_network else SHAPES
        problems = compare(shapes, args.runs)
        uptime_cost(20, args.runs)
    scrub()
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
