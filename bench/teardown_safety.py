"""Which teardown leaves a network Docker 20.10 will not delete ("has active endpoints")?

    .venv/bin/python bench/teardown_safety.py                  # 3 trials of each pairing
    .venv/bin/python bench/teardown_safety.py --trials 5 --size 50

Each trial brings N containers up on one network (a volume each) with one tool and tears
them down with another, then tries to remove the network. It runs on an extra engine of its
own (``tests/engines.py``: own socket, state and bridge), because a network that engine has
lost count of stays until the engine restarts: a stuck network must not land on the engine
everything else on this machine shares. The engine is stopped (by its pid) at the end.

Bring-ups: infranb, Compose 1.29 (``/usr/bin/docker-compose``), Compose v2
(``.venv/bin/docker-compose``) and a threaded docker-py loop (network given at create).
Teardowns: the same two Compose versions' ``down -v``; ``stop-all`` (stop every container at
once, then remove each: what 1.29 and the loop do); ``stop-remove`` (each container stopped
and then removed, all at once: what v2 does); infranb's ``down``. A Compose teardown only
follows a Compose bring-up (it finds its containers by Compose's labels).

Whether a network sticks is rare and random (1 of 58 trials at 50 here, bench/README.md),
so a verdict needs many trials; a teardown that releases one endpoint per network at a time
has never left one here.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import docker

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from infranb import (  # noqa: E402
    InfrastructureManager,
    InfrastructureManagerConfig,
    InfrastructureOperation,
)
from tests.engines import BASE, ExtraEngine, temporary_root  # noqa: E402

V1 = "/usr/bin/docker-compose"
V2 = str(ROOT / ".venv" / "bin" / "docker-compose")
LABEL = {"infranb-bench": "safety"}


class Lab:
    def __init__(self, engine: ExtraEngine) -> None:
        self.engine = engine
        self.api = docker.APIClient(base_url=engine.host, version="auto", max_pool_size=64)
        self.pool = concurrent.futures.ThreadPoolExecutor(50)
        self.trial = 0
        config = InfrastructureManagerConfig(docker_host=engine.host, stop_timeout=2, min_uptime=0)
        self.manager = InfrastructureManager(config=config)

    def compose(self, binary: str, folder: Path, *args: str) -> None:
        env = {**os.environ, "DOCKER_HOST": self.engine.host}
        env.pop("DOCKER_CONTEXT", None)
        command = [binary, "-p", folder.name, "-f", str(folder / "compose.json"), *args]
        done = subprocess.run(command, env=env, capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"{' '.join(command)}: {done.stderr[-800:]}")

    def up(self, tool: str, n: int) -> tuple[str, list[str], Path | None]:
        self.trial += 1
        project = f"safety{self.trial}"
        network = f"{project}-net"
        names = [f"{project}-c{i}" for i in range(n)]
        if tool == "infranb":
            op = InfrastructureOperation(
                operation="orchestrate_containers",
                stack=project,
                containers=[
                    {
                        "image": BASE,
                        "name": name,
                        "networks": [network],
                        "volumes": {f"{name}-vol": "/data"},
                        "labels": LABEL,
                    }
                    for name in names
                ],
            )
            result = self.manager.run(op)
            assert result.success, result.error
            return network, names, None
        if tool == "loop":
            self.api.create_network(network, labels=LABEL)

            def create_start(name: str) -> None:
                self.api.create_volume(f"{name}-vol", labels=LABEL)
                config = self.api.create_host_config(
                    binds=[f"{name}-vol:/data"], network_mode=network
                )
                made = self.api.create_container(
                    BASE, name=name, host_config=config, labels=LABEL, stop_timeout=2
                )
                self.api.start(made["Id"])

            list(self.pool.map(create_start, names))
            return network, names, None
        folder = Path(tempfile.mkdtemp(prefix="safety-")) / project
        folder.mkdir()
        spec = {
            "services": {
                name: {
                    "image": BASE,
                    "container_name": name,
                    "networks": [network],
                    "volumes": [f"{name}-vol:/data"],
                    "labels": LABEL,
                    "stop_grace_period": "2s",
                }
                for name in names
            },
            "networks": {network: {"name": network}},
            "volumes": {f"{name}-vol": {"name": f"{name}-vol"} for name in names},
        }
        (folder / "compose.json").write_text(json.dumps(spec))
        self.compose(V1 if tool == "v1" else V2, folder, "up", "-d")
        return network, names, folder

    def down(self, tool: str, network: str, names: list[str], folder: Path | None) -> None:
        if tool in ("v1", "v2"):
            assert folder is not None
            self.compose(V1 if tool == "v1" else V2, folder, "down", "-v", "-t", "2")
            return
        if tool == "infranb":
            project = network.removesuffix("-net")
            gone = self.manager.down(project, volumes=True)
            if gone.error or gone.warnings:
                print(f"    infranb down: {gone.error or ''} {'; '.join(gone.warnings)}")
            return
        if tool == "stop-all":
            list(self.pool.map(lambda name: self.api.stop(name, timeout=2), names))
            list(self.pool.map(self.api.remove_container, names))
        else:  # stop-remove

            def stop_remove(name: str) -> None:
                self.api.stop(name, timeout=2)
                self.api.remove_container(name, force=True)

            list(self.pool.map(stop_remove, names))
        with_volumes = [f"{name}-vol" for name in names]
        list(self.pool.map(self.api.remove_volume, with_volumes))

    def network_left(self, network: str) -> bool:
        """Whether the network is still there after its teardown and one more removal try
        (a stuck one refuses it)."""
        if not self.api.networks(names=[network]):
            return False
        try:
            self.api.remove_network(network)
        except docker.errors.APIError as e:
            print(f"    {network}: {e.explanation}")
            return True
        return False


PAIRS = [
    ("v1", "v1"),
    ("v1", "v2"),
    ("v2", "v1"),
    ("v2", "v2"),
    ("loop", "stop-all"),
    ("loop", "stop-remove"),
    ("infranb", "infranb"),
    ("infranb", "stop-all"),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--size", type=int, default=50)
    parser.add_argument("--pairs", default="", help="e.g. v1:v1,loop:stop-all")
    args = parser.parse_args()
    pairs = [tuple(p.split(":")) for p in args.pairs.split(",")] if args.pairs else PAIRS
    engine = ExtraEngine("safety", 7, temporary_root("inbb-safety-"))
    engine.start()
    stuck: Counter[tuple[str, str]] = Counter()
    try:
        lab = Lab(engine)
        for trial in range(args.trials):
            for up, down in pairs:  # alternating, trial by trial
                began = time.perf_counter()
                network, names, folder = lab.up(up, args.size)
                lab.down(down, network, names, folder)
                left = lab.network_left(network)
                stuck[(up, down)] += left
                seconds = time.perf_counter() - began
                print(f"trial {trial + 1}: up {up:5} down {down:12} {seconds:5.1f} s", end="")
                print("  STUCK" if left else "")
        print(f"\n{args.size} containers on one network, {args.trials} trials each:")
        for up, down in pairs:
            print(f"  up {up:5} down {down:12} stuck {stuck[(up, down)]} of {args.trials}")
    finally:
        engine.stop()


if __name__ == "__main__":
    main()
