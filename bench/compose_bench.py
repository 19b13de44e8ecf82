"""Compose projects: infranb against docker-compose on the same files.

    .venv/bin/python bench/compose_bench.py            # the full run (a few minutes)
    .venv/bin/python bench/compose_bench.py --quick    # tiny sizes, to check it works

1. load + plan of a 50-service file: ``compose.load`` + ``manager.up(project, dry_run=True)``
   (the plan against the real engine) vs ``docker-compose config`` on the same file.
2. bring-up and teardown of a 10-service project: ``manager.up`` / ``manager.down`` vs
   ``docker-compose up -d`` / ``down``, the tools alternating run by run. Two shapes: services
   without a healthcheck (both return once every container runs), and the same services with
   the demo web image's healthcheck and ``depends_on: {condition: service_healthy}`` chains
   (``docker-compose up -d`` then polls until every container is healthy, as a script must).

Medians (min-max) and the ratio of each tool to infranb. Projects are named ``inbb-*``.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import docker
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from infranb import InfrastructureManager, InfrastructureManagerConfig, compose

#: Debian's docker-compose 1.29, by path: .venv/bin/docker-compose is Compose v2
COMPOSE_V1 = "/usr/bin/docker-compose"

BASE = "infranb-demo/base:1"
WEB = "infranb-demo/web:1"


def big_file(directory: Path, services: int) -> Path:
    """A realistic-looking project: tiers of api/worker/db-like services on three networks,
    with env, ports, volumes, healthchecks and depends_on chains."""
    spec: dict = {"services": {}, "networks": {"edge": {}, "mesh": {}, "data": {}}, "volumes": {}}
    for i in range(services):
        name = f"svc{i:02d}"
        service: dict = {
            "image": WEB if i % 2 else BASE,
            "environment": {"SERVICE": name, "LOG_LEVEL": "${LOG_LEVEL:-info}", "INDEX": str(i)},
            "networks": ["mesh", "data" if i % 3 == 0 else "edge"],
            "labels": {"com.example.tier": str(i % 5)},
        }
        if i % 4 == 0:
            spec["volumes"][f"{name}-data"] = {}
            service["volumes"] = [f"{name}-data:/data"]
        if i % 5 == 0:
            service["ports"] = [f"127.0.0.1:{20000 + i}:80"]
        if i >= 5:
            service["depends_on"] = [f"svc{i - 5:02d}"]
        if i % 2:
            service["healthcheck"] = {"test": ["CMD", "true"], "interval": "2s"}
        spec["services"][name] = service
    (directory / "docker-compose.yml").write_text(yaml.safe_dump(spec, sort_keys=False))
    return directory / "docker-compose.yml"


def small_project(directory: Path, services: int, healthy: bool) -> Path:
    spec: dict = {"services": {}, "volumes": {}}
    for i in range(services):
        name = f"s{i}"
        service: dict = {
            "image": WEB if healthy else BASE,
            "volumes": [f"{name}-data:/data"],
            "stop_grace_period": "2s",
        }
        spec["volumes"][f"{name}-data"] = {}
        if i:
            dep = f"s{(i - 1) // 2}"  # a tree: each service waits for its parent
            service["depends_on"] = {dep: {"condition": "service_healthy"}} if healthy else [dep]
        spec["services"][name] = service
    (directory / "docker-compose.yml").write_text(yaml.safe_dump(spec, sort_keys=False))
    return directory / "docker-compose.yml"


def summary(samples: list[float]) -> str:
    return f"{statistics.median(samples):7.3f} ({min(samples):.3f}-{max(samples):.3f})"


def table(title: str, results: dict[str, list[float]]) -> None:
    base = statistics.median(results["infranb"])
    print(f"\n{title}")
    print(f"  {'tool':24} {'median s (min-max)':>26} {'tool / infranb':>16}")
    for tool, samples in results.items():
        print(f"  {tool:24} {summary(samples):>26} {statistics.median(samples) / base:15.2f}x")


def load_and_plan(services: int, runs: int) -> None:
    directory = Path(tempfile.mkdtemp(prefix="inbb-compose-"))
    try:
        file = big_file(directory, services)
        results: dict[str, list[float]] = {
            "infranb": [],
            "infranb load only": [],
            "docker-compose config": [],
        }
        with InfrastructureManager() as manager:
            for _ in range(runs):
                start = time.perf_counter()
                project = compose.load(file, project_name="inbb-plan", environ={})
                loaded = time.perf_counter()
                plan = manager.up(project, dry_run=True)
                results["infranb"].append(time.perf_counter() - start)
                results["infranb load only"].append(loaded - start)
                assert plan.success and len(plan.plan) == services, plan.error
                start = time.perf_counter()
                subprocess.run(
                    [COMPOSE_V1, "-p", "inbbplan", "-f", str(file), "config", "-q"],
                    check=True,
                    capture_output=True,
                )
                results["docker-compose config"].append(time.perf_counter() - start)
        table(f"load + plan of a {services}-service compose file", results)
    finally:
        shutil.rmtree(directory)


def wait_healthy(names: list[str]) -> None:
    api = docker.from_env(version="auto").api
    pending = set(names)
    while pending:
        for name in list(pending):
            if api.inspect_container(name)["State"].get("Health", {}).get("Status") == "healthy":
                pending.discard(name)
        if pending:
            time.sleep(0.05)


def bring_up(services: int, runs: int, healthy: bool) -> None:
    directory = Path(tempfile.mkdtemp(prefix="inbb-compose-"))
    file = small_project(directory, services, healthy)
    config = InfrastructureManagerConfig(stop_timeout=2, health_check_interval=0.5)
    up: dict[str, list[float]] = {"infranb": [], "docker-compose": []}
    down: dict[str, list[float]] = {"infranb": [], "docker-compose": []}
    command = [COMPOSE_V1, "-p", "inbbdc", "-f", str(file)]
    try:
        with InfrastructureManager(config=config) as manager:
            for _ in range(runs):
                start = time.perf_counter()
                project = compose.load(file, project_name="inbb-nb", environ={})
                result = manager.up(project)
                up["infranb"].append(time.perf_counter() - start)
                assert result.success, result.error
                start = time.perf_counter()
                gone = manager.down(project, volumes=True)
                down["infranb"].append(time.perf_counter() - start)
                assert gone.success, gone.error

                start = time.perf_counter()
                subprocess.run([*command, "up", "-d"], check=True, capture_output=True)
                if healthy:
                    wait_healthy([f"inbbdc_s{i}_1" for i in range(services)])
                up["docker-compose"].append(time.perf_counter() - start)
                start = time.perf_counter()
                subprocess.run([*command, "down", "-v", "-t", "2"], check=True, capture_output=True)
                down["docker-compose"].append(time.perf_counter() - start)
    finally:
        subprocess.run([*command, "down", "-v", "-t", "2"], capture_output=True)
        with InfrastructureManager() as manager:
            manager.down("inbb-nb", volumes=True)
        shutil.rmtree(directory)
    what = "all healthy (service_healthy chains)" if healthy else "all running"
    table(f"bring-up of a {services}-service compose project to {what}", up)
    table("teardown of that project (volumes too)", down)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one run")
    args = parser.parse_args()
    runs = 1 if args.quick else 5
    version = subprocess.run(
        [COMPOSE_V1, "version", "--short"], capture_output=True, text=True
    ).stdout.strip()
    print(f"docker-compose {version}; {runs} run(s) per tool, alternating")
    load_and_plan(10 if args.quick else 50, runs)
    bring_up(3 if args.quick else 10, 1 if args.quick else 3, healthy=False)
    bring_up(3 if args.quick else 10, 1 if args.quick else 3, healthy=True)


if __name__ == "__main__":
    main()
