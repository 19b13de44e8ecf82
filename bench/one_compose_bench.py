"""One host, one Compose: what reading Compose's projects costs, against the engine's floor.

    python bench/one_compose_bench.py [PROJECTS] [PER_PROJECT]   (default 20 x 15 = 300 containers)

1. ``manager.stacks()`` on a host with PROJECTS Compose v2 projects of PER_PROJECT containers
   each, against ``docker ps -a`` (the listing alone; target: within 1.5x);
2. ``manager.drift(project)`` of one 20-container project against ``docker inspect`` of its
   containers (target: within 1.5x);
3. adoption of that running project (``manager.up``, every container ``adopt``) against
   Compose v2's own ``up -d`` of it, unchanged (target: <= 1.0x).

Everything is made by Compose v2 under ``inbbc-*`` project names and removed at the end.
Medians of 5 runs, printed with the ratios.
"""

from __future__ import annotations

import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from infranb import InfrastructureManager, InfrastructureManagerConfig, compose

#: the Go binary itself, not .venv/bin's Python shim (which adds an interpreter start and
#: drops the exit status); results before 2026-12-02 were taken through the shim
V2 = str(Path(importlib.util.find_spec("compose").origin).parent / "docker-compose")  # type: ignore[union-attr, arg-type]
IMAGE = "infranb-demo/base:1"


def project_file(services: int) -> str:
    lines = ["services:"]
    for i in range(services):
        lines += [f"  s{i}:", f"    image: {IMAGE}", f"    environment: {{INDEX: '{i}'}}"]
    return "\n".join(lines) + "\n"


def median_seconds(action: Callable[[], object], runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        action()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def v2(folder: Path, project: str, *args: str) -> None:
    done = subprocess.run([V2, "-p", project, *args], cwd=folder, capture_output=True, text=True)
    if done.returncode != 0:  # the binary's status counts (the pip shim dropped it)
        raise RuntimeError(f"docker compose -p {project} {' '.join(args)}: {done.stderr.strip()}")


def main() -> None:
    projects = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    per_project = int(sys.argv[2]) if len(sys.argv) > 2 else 15
    names = [f"inbbc-{i:02d}" for i in range(projects)]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(os.environ.get("KEEP_DIR") or tmp)
        folders = {}
        for name in names:
            folder = root / name
            folder.mkdir()
            size = 20 if name == names[0] else per_project
            (folder / "compose.yaml").write_text(project_file(size))
            folders[name] = folder
        try:
            began = time.perf_counter()
            for name in names:
                v2(folders[name], name, "up", "-d")
            total = sum(20 if n == names[0] else per_project for n in names)
            took = time.perf_counter() - began
            print(f"set-up: {projects} projects, {total} containers, {took:.1f}s")
            config = InfrastructureManagerConfig(journal=None, min_uptime=0)
            with InfrastructureManager(config) as manager:
                manager.stacks()  # warm the connection
                ours = median_seconds(manager.stacks)
                floor = median_seconds(
                    lambda: subprocess.run(
                        ["docker", "ps", "-a", "-q"], check=True, capture_output=True
                    )
                )
                print(
                    f"stacks(): {ours * 1000:.0f} ms; docker ps -a: {floor * 1000:.0f} ms; "
                    f"ratio {ours / floor:.2f}x"
                )

                first = names[0]
                project = compose.load(folders[first], project_name=first)
                label = f"label=com.docker.compose.project={first}"
                ids = subprocess.run(
                    ["docker", "ps", "-a", "-q", "--filter", label],
                    check=True,
                    capture_output=True,
                    text=True,
                ).stdout.split()
                ours = median_seconds(lambda: manager.drift(project))
                floor = median_seconds(
                    lambda: subprocess.run(
                        ["docker", "inspect", *ids], check=True, capture_output=True
                    )
                )
                print(
                    f"drift() of {len(ids)} containers: {ours * 1000:.0f} ms; docker inspect: "
                    f"{floor * 1000:.0f} ms; ratio {ours / floor:.2f}x"
                )

                def adopt() -> None:
                    result = manager.up(project)
                    assert result.success and {c.action for c in result.containers} == {"adopt"}

                ours = median_seconds(adopt)
                floor = median_seconds(lambda: v2(folders[first], first, "up", "-d"))
                print(
                    f"adopt {len(ids)} running containers: {ours * 1000:.0f} ms; v2 up -d "
                    f"(unchanged): {floor * 1000:.0f} ms; ratio {ours / floor:.2f}x"
                )
        finally:
            if not os.environ.get("KEEP"):  # KEEP=1 leaves the projects up (to profile)
                for name in names:
                    try:
                        v2(folders[name], name, "down", "-v")
                    except RuntimeError as e:  # the others still go; say what stayed
                        print(f"teardown: {e}", file=sys.stderr)


if __name__ == "__main__":
    main()
