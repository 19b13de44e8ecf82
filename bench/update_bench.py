"""Updates without an outage, measured against Compose v2 on the same engine, alternating.

    .venv/bin/python bench/update_bench.py [--updates 10] [--containers 50]

1. A service answers on a user network; two clients on it ask it every 50 ms, without a
   retry, one by its alias (``api``) and one by its container name. Each update changes its
   environment: infranb start-first with a drain before the old container leaves its
   networks, infranb start-first leaving at once (no drain), and Compose v2's
   ``up -d --wait``. Printed per tool and client: the failed requests of each update, how
   many updates had none, and the longest time without an answer (from the client's log
   timestamps).
2. A service that publishes a host port (so stop-first): a client in this process asks
   ``127.0.0.1:<port>`` every 50 ms; the longest time without an answer, infranb against
   Compose v2.
3. ``image_updates`` over ``--containers`` containers against pulling each one's image.

The service is busybox httpd (``infranb-demo/web:1``); a client resolves the name each time
with busybox's own resolver and takes the first address, as a client without a cache does.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import tempfile
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
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
    "while true; do ip=$(nslookup $TARGET 2>/dev/null | sed -n 's/^Address: \\([0-9.]*\\)$/\\1/p' "
    '| head -n 1); if [ -n "$ip" ] && v=$(timeout 1 wget -q -O - http://$ip/ 2>/dev/null); '
    "then echo ok $v; else echo fail; fi; usleep 50000; done"
)
PROBE = ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1/"]


CLIENTS = ("alias", "name")
#: (failed requests, longest seconds without an answer) per client, and the update's seconds
Update = tuple[dict[str, tuple[int, float]], float]


def infranb_request(
    stack: str, version: int, *, ports: tuple[str, ...] = ()
) -> InfrastructureOperation:
    net = f"{stack}-net"
    web = {
        "name": f"{stack}-web", "image": WEB, "command": ["sh", "-c", SERVE],
        "environment": {"VERSION": f"v{version}"}, "networks": {net: {"aliases": ["api"]}},
        "healthcheck": {"test": PROBE, "interval": 0.2, "timeout": 1, "retries": 2,
                        "start_period": 5},
        "update_config": {"order": "start-first"}, "ports": list(ports),
    }  # fmt: skip
    clients = [
        {"name": f"{stack}-by-{how}", "image": BASE, "command": ["sh", "-c", ASK],
         "environment": {"TARGET": "api" if how == "alias" else f"{stack}-web"},
         "networks": [net], "stop_signal": "SIGKILL"}
        for how in CLIENTS
    ]  # fmt: skip
    return InfrastructureOperation(
        operation="orchestrate_containers",
        stack=stack,
        containers=[web, *([] if ports else clients)],
    )


COMPOSE_FILE = """\
services:
  web:
    image: {web}
    command: ["sh", "-c", {serve}]
    environment: {{VERSION: "v${{VERSION}}"}}
    networks: {{default: {{aliases: [api]}}}}
    ports: {ports}
    healthcheck:
      test: {probe}
      interval: 200ms
      timeout: 1s
      retries: 2
      start_period: 5s
"""
COMPOSE_CLIENT = """\
  by-{how}:
    image: {base}
    command: ["sh", "-c", {ask}]
    environment: {{TARGET: {target}}}
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


def updates_with_clients(
    engine: DockerEngine, names: dict[str, str], update: Callable[[int], float], count: int
) -> list[Update]:
    """Run ``count`` updates, reading each client's log (``names``: client -> container)."""
    results = []
    for i in range(1, count + 1):
        marks = {how: len(engine.container_logs(n, tail=None)) for how, n in names.items()}
        seconds = update(i)
        time.sleep(1.5)
        judged = {how: judge(lines_since(engine, n, marks[how])) for how, n in names.items()}
        results.append((judged, seconds))
    return results


def run_infranb(engine: DockerEngine, count: int, drain: float) -> list[Update]:
    stack = f"inbb-upd-{uuid.uuid4().hex[:6]}"
    config = InfrastructureManagerConfig(
        journal=None, stop_timeout=2, min_uptime=1.0, update_drain=drain,
        health_check_interval=0.2,
    )  # fmt: skip
    with InfrastructureManager(config) as manager:
        assert manager.run(infranb_request(stack, 0)).success
        time.sleep(2)

        def update(i: int) -> float:
            began = time.perf_counter()
            result = manager.run(infranb_request(stack, i))
            assert result.success, result.error
            return time.perf_counter() - began

        try:
            names = {how: f"{stack}-by-{how}" for how in CLIENTS}
            return updates_with_clients(engine, names, update, count)
        finally:
            manager.down(stack)


class Compose:
    """A Compose v2 project in a folder of its own."""

    def __init__(self, ports: tuple[str, ...] = ()) -> None:
        self.project = f"inbb-cupd-{uuid.uuid4().hex[:6]}"
        self.folder = Path(tempfile.mkdtemp(prefix="inbb-"))
        text = COMPOSE_FILE.format(
            web=WEB, serve=shell(SERVE), probe=json.dumps(PROBE), ports=json.dumps(list(ports))
        )
        for how in () if ports else CLIENTS:
            target = "api" if how == "alias" else f"{self.project}-web-1"
            text += COMPOSE_CLIENT.format(how=how, base=BASE, ask=shell(ASK), target=target)
        (self.folder / "compose.yaml").write_text(text)

    def up(self, version: int) -> float:
        env = {**os.environ, "VERSION": str(version)}
        began = time.perf_counter()
        subprocess.run(
            [COMPOSE, "-p", self.project, "up", "-d", "--wait"], cwd=self.folder, env=env,
            check=True, capture_output=True,
        )  # fmt: skip
        return time.perf_counter() - began

    def down(self) -> None:
        subprocess.run(
            [COMPOSE, "-p", self.project, "down", "-t", "1"], cwd=self.folder,
            capture_output=True, check=False,
        )  # fmt: skip


def run_compose(engine: DockerEngine, count: int) -> list[Update]:
    compose = Compose()
    try:
        compose.up(0)
        time.sleep(2)
        names = {how: f"{compose.project}-by-{how}-1" for how in CLIENTS}
        return updates_with_clients(engine, names, compose.up, count)
    finally:
        compose.down()


class HostClient:
    """Asks ``127.0.0.1:<port>`` every 50 ms from this process, with a 0.2 s timeout (the
    engine's port proxy accepts a connection while nothing is behind it: a longer timeout
    would be the gap it measures); keeps when each request was answered."""

    def __init__(self, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}/"
        self.answered: list[float] = []
        self.failed = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._ask, daemon=True)
        self._thread.start()

    def _ask(self) -> None:
        while not self._stop.is_set():
            try:
                with urllib.request.urlopen(self.url, timeout=0.2) as answer:
                    answer.read()
                self.answered.append(time.perf_counter())
            except OSError:
                self.failed += 1
            self._stop.wait(0.05)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()

    def longest_gap(self, since: float) -> float:
        times = [t for t in self.answered if t >= since]
        return max((b - a for a, b in itertools.pairwise(times)), default=0.0)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def host_port_gaps(count: int) -> tuple[list[float], list[float]]:
    """Stop-first with a host port: the longest time without an answer per update."""
    port = free_port()
    published = (f"127.0.0.1:{port}:80",)
    stack = f"inbb-hp-{uuid.uuid4().hex[:6]}"
    config = InfrastructureManagerConfig(
        journal=None, stop_timeout=2, min_uptime=1.0, health_check_interval=0.2
    )
    ours: list[float] = []
    with InfrastructureManager(config) as manager:
        assert manager.run(infranb_request(stack, 0, ports=published)).success
        client = HostClient(port)
        try:
            for i in range(1, count + 1):
                began = time.perf_counter()
                assert manager.run(infranb_request(stack, i, ports=published)).success
                time.sleep(1.5)
                ours.append(client.longest_gap(began))
        finally:
            client.close()
            manager.down(stack)
    port = free_port()
    compose = Compose(ports=(f"127.0.0.1:{port}:80",))
    theirs: list[float] = []
    try:
        compose.up(0)
        client = HostClient(port)
        try:
            for i in range(1, count + 1):
                began = time.perf_counter()
                compose.up(i)
                time.sleep(1.5)
                theirs.append(client.longest_gap(began))
        finally:
            client.close()
    finally:
        compose.down()
    return ours, theirs


def image_updates_against_pulls(containers: int) -> tuple[float, float]:
    """``image_updates`` over ``containers`` containers of one image from the local registry,
    against a threaded loop pulling each container's image (what one would do by hand)."""
    image = "127.0.0.1:5000/infranb-demo/base:1"
    stack = f"inbb-iu-{uuid.uuid4().hex[:6]}"
    op = InfrastructureOperation(
        operation="orchestrate_containers",
        stack=stack,
        containers=[
            {"name": f"{stack}-{i}", "image": image, "stop_signal": "SIGKILL"}
            for i in range(containers)
        ],
    )
    config = InfrastructureManagerConfig(journal=None, stop_timeout=1, min_uptime=0)
    with InfrastructureManager(config) as manager:
        assert manager.run(op).success
        try:
            import docker

            api = docker.from_env().api
            manager.image_updates(stack=stack)  # both warm: a first call loads its modules
            api.pull(image)

            def view_once() -> float:
                began = time.perf_counter()
                frame = manager.image_updates(stack=stack)
                assert len(frame) == containers and frame["error"].isna().all(), frame
                return time.perf_counter() - began

            def pulls_once() -> float:
                began = time.perf_counter()
                with ThreadPoolExecutor(8) as pool:
                    list(pool.map(lambda _: api.pull(image), range(containers)))
                return time.perf_counter() - began

            view = sorted(view_once() for _ in range(3))[1]
            pulls = sorted(pulls_once() for _ in range(3))[1]
        finally:
            manager.down(stack)
    return view, pulls


def show(tool: str, results: list[Update]) -> None:
    seconds = sorted(s for _, s in results)
    for how in CLIENTS:
        failed = [judged[how][0] for judged, _ in results]
        gap = max(judged[how][1] for judged, _ in results)
        print(
            f"{tool:38} by {how:5}  failed per update {failed}  with 0 failed: "
            f"{sum(1 for f in failed if f == 0)}/{len(failed)}  longest without an answer "
            f"{gap:.2f}s  median update {seconds[len(seconds) // 2]:.2f}s"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--updates", type=int, default=10)
    parser.add_argument("--containers", type=int, default=50)
    parser.add_argument("--parts", default="123", help="which parts to run, e.g. 2 or 13")
    args = parser.parse_args()
    engine = DockerEngine()
    if "1" in args.parts:
        part_one(engine, args.updates)
    if "2" in args.parts:
        part_two(args.updates)
    if "3" in args.parts:
        part_three(args.containers)


def part_one(engine: DockerEngine, updates: int) -> None:
    print("# 1. start-first on a user network; clients without a retry, every 50 ms")
    show("infranb start-first, 1 s drain", run_infranb(engine, updates, drain=1.0))
    show("infranb start-first, no drain", run_infranb(engine, updates, drain=0.0))
    show("Compose v2 up -d --wait", run_compose(engine, updates))


def part_two(updates: int) -> None:
    print("# 2. a host port (stop-first): longest time without an answer per update")
    ours, theirs = host_port_gaps(updates)
    print(f"infranb stop-first   {[round(g, 2) for g in ours]}  max {max(ours):.2f}s")
    print(f"Compose v2           {[round(g, 2) for g in theirs]}  max {max(theirs):.2f}s")
    ratio = (sorted(ours)[len(ours) // 2]) / (sorted(theirs)[len(theirs) // 2])
    print(f"median gap ratio infranb/Compose: {ratio:.2f}")


def part_three(containers: int) -> None:
    print(f"# 3. newer images over {containers} containers")
    view, pulls = image_updates_against_pulls(containers)
    print(
        f"image_updates {view:.3f}s; pulling each (8 threads) {pulls:.3f}s; ratio "
        f"{pulls / view:.1f}x (medians of 3, both warm; the image is unchanged, so a pull "
        "fetches its manifest only: a newer one would also fetch its layers and move the tag)"
    )


if __name__ == "__main__":
    main()
