"""Bring-up and teardown on Podman: infranb against a threaded docker-py loop on the same
Podman socket, and both on the local Docker engine for context.

    .venv/bin/python bench/podman_bench.py                 # starts a Podman service of its own
    .venv/bin/python bench/podman_bench.py --quick         # tiny sizes, to check it works
    .venv/bin/python bench/podman_bench.py --podman-host unix:///run/podman/podman.sock

The shape is bench/bench.py's: N containers on one network with a volume each, to all
running. infranb runs with ``min_uptime=0`` here, because the loop does not wait to see its
containers stay up either (with the default 1 s window infranb's bring-up ends about 1 s
after its last start; bench/uptime_bench.py measures that). The runs alternate tool by tool;
each prints medians (min-max) and the ratio of each tool to infranb on the same engine.
Every resource is named ``inbb-*`` and labelled ``infranb-bench=1``.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import docker

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from infranb import InfrastructureManager, InfrastructureManagerConfig, InfrastructureOperation

BASE = "infranb-demo/base:1"
LABEL = {"infranb-bench": "1"}
THREADS = 8


def up_infranb(host: str, n: int) -> Callable[[], None]:
    config = InfrastructureManagerConfig(docker_host=host, stop_timeout=2, min_uptime=0)
    manager = InfrastructureManager(config)
    op = InfrastructureOperation(
        operation="orchestrate_containers",
        stack="inbb-nb",
        containers=[
            {
                "image": BASE,
                "name": f"inbb-nb-{i}",
                "command": ["sleep", "600"],
                "networks": ["inbb-nb-net"],
                "volumes": {f"inbb-nb-{i}-vol": "/data"},
                "labels": LABEL,
            }
            for i in range(n)
        ],
    )
    result = manager.run(op)
    assert result.success, result.error

    def down() -> None:
        gone = manager.run(
            InfrastructureOperation(
                operation="cleanup_resources", stack="inbb-nb", force_remove=True,
                cleanup_stopped_containers=True, cleanup_volumes=True,
            )
        )  # fmt: skip
        assert gone.success, gone.error
        manager.close()

    return down


def up_threads(host: str, n: int) -> Callable[[], None]:
    api = docker.APIClient(base_url=host, version="auto", max_pool_size=THREADS + 4)
    net = "inbb-thr-net"
    api.create_network(net, labels=LABEL, check_duplicate=True)
    names = [f"inbb-thr-{i}" for i in range(n)]

    def create_start(name: str) -> None:
        api.create_volume(f"{name}-vol", labels=LABEL)
        created = api.create_container(
            BASE,
            ["sleep", "600"],
            name=name,
            labels=LABEL,
            host_config=api.create_host_config(
                binds={f"{name}-vol": {"bind": "/data", "mode": "rw"}}, network_mode=net
            ),
            networking_config=api.create_networking_config(
                {net: api.create_endpoint_config(aliases=[name])}
            ),
        )
        api.start(created["Id"])

    def stop_remove(name: str) -> None:
        api.stop(name, timeout=2)
        api.remove_container(name)
        api.remove_volume(f"{name}-vol")

    with concurrent.futures.ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(create_start, names))
    pending = set(names)  # until every container runs, as a careful script would check
    while pending:
        pending = {c for c in pending if not api.inspect_container(c)["State"]["Running"]}
        if pending:
            time.sleep(0.05)

    def down() -> None:
        with concurrent.futures.ThreadPoolExecutor(THREADS) as pool:
            list(pool.map(stop_remove, names))
        api.remove_network(net)
        api.close()

    return down


TOOLS = {"infranb": up_infranb, "docker-py threads": up_threads}


def scrub(host: str) -> None:
    """Remove what a failed earlier run left (only inbb-* resources with the bench label)."""
    api = docker.APIClient(base_url=host, version="auto")
    for label in ("infranb-bench=1", "infranb.stack=inbb-nb"):
        for c in api.containers(all=True, filters={"label": label}):
            api.remove_container(c["Id"], force=True)
    for net in api.networks():
        if net["Name"].startswith("inbb-"):
            api.remove_network(net["Id"])
    for vol in api.volumes().get("Volumes") or []:
        if vol["Name"].startswith("inbb-"):
            api.remove_volume(vol["Name"])
    api.close()


def table(title: str, results: dict[str, list[float]]) -> None:
    base = statistics.median(results["infranb"])
    print(f"\n{title}")
    print(f"  {'tool':20} {'median s (min-max)':>24} {'tool / infranb':>16}")
    for tool, samples in results.items():
        median = statistics.median(samples)
        shown = f"{median:7.2f} ({min(samples):.2f}-{max(samples):.2f})"
        print(f"  {tool:20} {shown:>24} {median / base:>15.2f}x")


def measure(engines: dict[str, str], sizes: list[int], runs: int) -> None:
    for n in sizes:
        for engine, host in engines.items():
            up: dict[str, list[float]] = {t: [] for t in TOOLS}
            down: dict[str, list[float]] = {t: [] for t in TOOLS}
            for _ in range(runs):
                for tool, bring_up in TOOLS.items():  # alternate the tools run by run
                    scrub(host)
                    start = time.perf_counter()
                    teardown = bring_up(host, n)
                    up[tool].append(time.perf_counter() - start)
                    start = time.perf_counter()
                    teardown()
                    down[tool].append(time.perf_counter() - start)
            what = f"{n} containers (one network, a volume each) on {engine}"
            table(f"bring-up of {what} to all running", up)
            table(f"teardown of {what}", down)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 containers, 1 run")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--podman-host", help="a Podman service's socket (default: start one)")
    args = parser.parse_args()
    sizes, runs = ([2], 1) if args.quick else ([10, 20], args.runs)
    service = None
    host = args.podman_host
    if host is None:
        from tests.engines import PodmanService, temporary_root

        service = PodmanService(temporary_root("inbb-podman-"))
        service.start()
        host = service.host
    try:
        version = docker.APIClient(base_url=host, version="auto").version()
        print(f"Podman {version.get('Version')} at {host}; {runs} run(s) per tool and size")
        measure({"Podman": host, "Docker": "unix:///var/run/docker.sock"}, sizes, runs)
    finally:
        if service is not None:
            service.stop()


if __name__ == "__main__":
    main()
