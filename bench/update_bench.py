"""Updates without an outage: a client asks a service by its alias every 50 ms, without a
retry, while the service's container is replaced; infranb start-first against Compose v2's
``up -d --wait`` on the same change, in one process, alternating.

    .venv/bin/python bench/update_bench.py [--updates 10]

Printed per tool: the failed requests of each update, and the longest time the client went
without an answer (between two answered requests, from the client's own log timestamps).
The service is busybox httpd (``infranb-demo/web:1``); the client resolves the name each time
with busybox's own resolver and takes the first address, as a client without a cache does.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path

from infranb import InfrastructureManager, InfrastructureManagerConfig, InfrastructureOperation
from infranb.engines.docker import DockerEngine

BASE, WEB = "infranb-demo/base:1", "infranb-demo/web:1"
COMPOSE = str(Path(__file__).resolve().parent.parent / ".venv" / "bin" / "docker-compose")
SERVE = (
    "mkdir -p /w && echo $VERSION > /w/index.html && httpd -f -p 80 -h /w & pid=$!; "
    "trap 'kill $pid; exit 0' TERM INT; wait $pid"
)
ASK = (
    "while true; do ip=$(nslookup api 2>/dev/null | sed -n 's/^Address: \\([0-9.]*\\)$/\\1/p' "
    '| head -n 1); if [ -n "$ip" ] && v=$(timeout 1 wget -q -O - http://$ip/ 2>/dev/null); '
    "then echo ok $v; else echo fail; fi; usleep 50000; done"
)
PROBE = ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1/"]


def infranb_request(stack: str, version: int) -> InfrastructureOperation:
    net = f"{stack}-net"
    return InfrastructureOperation(
        operation="orchestrate_containers",
        stack=stack,
        containers=[
            {"name": f"{stack}-web", "image": WEB, "command": ["sh", "-c", SERVE],
             "environment": {"VERSION": f"v{version}"}, "networks": {net: {"aliases": ["api"]}},
             "healthcheck": {"test": PROBE, "interval": 0.2, "timeout": 1, "retries": 2,
                             "start_period": 5},
             "update_config": {"order": "start-first"}},
            {"name": f"{stack}-client", "image": BASE, "command": ["sh", "-c", ASK],
             "networks": [net], "stop_signal": "SIGKILL"},
        ],
    )  # fmt: skip


COMPOSE_FILE = """\
services:
  web:
    image: {web}
    command: ["sh", "-c", {serve}]
    environment: {{VERSION: "v${{VERSION}}"}}
    networks: {{default: {{aliases: [api]}}}}
    healthcheck:
      test: {probe}
      interval: 200ms
      timeout: 1s
      retries: 2
      start_period: 5s
  client:
    image: {base}
    command: ["sh", "-c", {ask}]
    stop_signal: SIGKILL
"""


def shell(command: str) -> str:
    """A shell command in a Compose file: JSON (which YAML reads) with ``$`` kept from
    Compose's interpolation."""
    return json.dumps(command.replace("$", "$$"))


def lines_since(engine: DockerEngine, name: str, mark: int) -> list[tuple[datetime, str]]:
    raw = engine.container_logs(name, tail=None, timestamps=True)
    out = []
    for line in raw[mark:]:
        stamp, _, text = line.partition(" ")
        out.append((datetime.fromisoformat(stamp[:26].rstrip("Z")), text.strip()))
    return out


def judge(rows: list[tuple[datetime, str]]) -> tuple[int, float]:
    failed = sum(1 for _, text in rows if text == "fail")
    answered = [t for t, text in rows if text.startswith("ok")]
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(answered)]
    return failed, max(gaps, default=0.0)


def run_infranb(engine: DockerEngine, updates: int) -> list[tuple[int, float, float]]:
    stack = f"inbb-upd-{uuid.uuid4().hex[:6]}"
    config = InfrastructureManagerConfig(
        journal=None, stop_timeout=2, min_uptime=1.0, update_drain=1.0,
        health_check_interval=0.2,
    )  # fmt: skip
    results = []
    with InfrastructureManager(config) as manager:
        assert manager.run(infranb_request(stack, 0)).success
        time.sleep(2)
        try:
            for i in range(1, updates + 1):
                mark = len(engine.container_logs(f"{stack}-client", tail=None))
                began = time.perf_counter()
                result = manager.run(infranb_request(stack, i))
                seconds = time.perf_counter() - began
                assert result.success, result.error
                time.sleep(1.5)
                failed, gap = judge(lines_since(engine, f"{stack}-client", mark))
                results.append((failed, gap, seconds))
        finally:
            manager.down(stack)
    return results


def run_compose(engine: DockerEngine, updates: int) -> list[tuple[int, float, float]]:
    project = f"inbb-cupd-{uuid.uuid4().hex[:6]}"
    folder = Path(tempfile.mkdtemp(prefix="inbb-"))
    (folder / "compose.yaml").write_text(
        COMPOSE_FILE.format(
            web=WEB, base=BASE, serve=shell(SERVE), ask=shell(ASK), probe=json.dumps(PROBE)
        )
    )

    def up(version: int) -> float:
        env = {**os.environ, "VERSION": str(version)}
        began = time.perf_counter()
        subprocess.run(
            [COMPOSE, "-p", project, "up", "-d", "--wait"], cwd=folder, env=env, check=True,
            capture_output=True,
        )  # fmt: skip
        return time.perf_counter() - began

    client = f"{project}-client-1"
    results = []
    try:
        up(0)
        time.sleep(2)
        for i in range(1, updates + 1):
            mark = len(engine.container_logs(client, tail=None))
            seconds = up(i)
            time.sleep(1.5)
            failed, gap = judge(lines_since(engine, client, mark))
            results.append((failed, gap, seconds))
    finally:
        subprocess.run(
            [COMPOSE, "-p", project, "down", "-t", "1"], cwd=folder, capture_output=True,
            check=False,
        )  # fmt: skip
    return results


def show(tool: str, results: list[tuple[int, float, float]]) -> None:
    failed = [f for f, _, _ in results]
    gaps = [g for _, g, _ in results]
    seconds = sorted(s for _, _, s in results)
    print(
        f"{tool:34} failed per update {failed}  updates with 0 failed: "
        f"{sum(1 for f in failed if f == 0)}/{len(failed)}  longest without an answer "
        f"{max(gaps):.2f}s  median update {seconds[len(seconds) // 2]:.2f}s"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--updates", type=int, default=10)
    args = parser.parse_args()
    engine = DockerEngine()
    show("infranb start-first", run_infranb(engine, args.updates))
    show("Compose v2 up -d --wait", run_compose(engine, args.updates))


if __name__ == "__main__":
    main()
