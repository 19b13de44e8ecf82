"""Swarm: time until a stack has converged, infranb against ``docker stack deploy``.

    .venv/bin/python bench/swarm_bench.py            # 10 services, 3 runs per tool
    .venv/bin/python bench/swarm_bench.py --quick    # 3 services, 1 run: does it work

Starts the tests' real two-node swarm (``tests/swarm_lab.py``: two engines, each in its own
network namespace, a registry on the lab's bridge) and stops it at the end. Each run deploys
the same stack of N services (one replica each, the demo base image from the lab registry,
one overlay network, DNS round robin) from nothing:

* infranb: ``manager.run(deploy_stack)``, which returns once every service converged;
* docker: ``docker stack deploy -c FILE`` then polling ``docker service ls`` every 0.25 s
  until every service shows all its replicas running (``docker stack deploy`` returns before
  anything runs, so a script must poll).

Also: a stack where every service depends on the previous one (``healthy``; the web image's
1 s healthcheck): infranb waits for each wave, ``docker stack deploy`` ignores depends_on
(moby/moby#46827), so its number is not the same guarantee. Tools alternate run by run;
each run's stack is removed (and waited for) before the next. Medians (min-max), ratios.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from infranb import InfrastructureManager, InfrastructureManagerConfig, InfrastructureOperation
from tests.swarm_lab import BASE, WEB, SwarmLab

POLL = 0.25


def services(n: int, chain: bool) -> list[dict]:
    out = []
    for i in range(n):
        entry: dict = {
            "name": f"s{i:02d}",
            "image": WEB if chain else BASE,
            "networks": ["benchnet"],
            "deploy": {"replicas": 1, "endpoint_mode": "dnsrr"},
        }
        if chain and i:
            entry["depends_on"] = {f"s{i - 1:02d}": "healthy"}
        out.append(entry)
    return out


def compose_file(folder: Path, specs: list[dict]) -> Path:
    doc = {
        "version": "3.8",
        "services": {
            s["name"]: {
                "image": s["image"],
                "networks": ["benchnet"],
                "deploy": s["deploy"],
                **({"depends_on": list(s["depends_on"])} if "depends_on" in s else {}),
            }
            for s in specs
        },
        "networks": {"benchnet": {"driver": "overlay", "name": "benchnet"}},
    }
    path = folder / "stack.yml"
    path.write_text(yaml.safe_dump(doc))
    return path


def wait_gone(lab: SwarmLab, stack_filter: str) -> None:
    while lab.manager.docker("service", "ls", "-q", "--filter", stack_filter).stdout.strip():
        time.sleep(POLL)
    while b"benchnet" in lab.manager.docker("network", "ls", "--format", "{{.Name}}").stdout:
        lab.manager.docker("network", "rm", "benchnet")
        time.sleep(POLL)


def run_infranb(lab: SwarmLab, manager: InfrastructureManager, specs: list[dict]) -> float:
    op = InfrastructureOperation(operation="deploy_stack", stack="inbb", containers=specs)
    start = time.perf_counter()
    result = manager.run(op)
    took = time.perf_counter() - start
    assert result.success, result.error
    manager.down("inbb")
    wait_gone(lab, "label=infranb.stack=inbb")
    return took


def run_docker(lab: SwarmLab, path: Path, n: int) -> float:
    start = time.perf_counter()
    deployed = lab.manager.docker("stack", "deploy", "-c", str(path), "inbd")
    assert deployed.returncode == 0, deployed.stderr
    while True:
        out = lab.manager.docker(
            "service", "ls", "--filter", "label=com.docker.stack.namespace=inbd",
            "--format", "{{json .}}",
        ).stdout.decode()  # fmt: skip
        rows = [json.loads(line) for line in out.splitlines() if line.strip()]
        ready = [r for r in rows if r["Replicas"].split(" ")[0] == "1/1"]
        if len(ready) == n:
            break
        time.sleep(POLL)
    took = time.perf_counter() - start
    lab.manager.docker("stack", "rm", "inbd")
    wait_gone(lab, "label=com.docker.stack.namespace=inbd")
    return took


def shown(values: list[float]) -> str:
    return f"{statistics.median(values):6.2f} s ({min(values):.2f}-{max(values):.2f})"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--no-chain", action="store_true", help="independent services only")
    args = parser.parse_args()
    n, runs = (3, 1) if args.quick else (10, 3)
    lab = SwarmLab()
    lab.start()
    try:
        config = InfrastructureManagerConfig(
            docker_host=lab.manager.host, container_start_timeout=120.0, journal=None
        )
        with InfrastructureManager(config) as manager, tempfile.TemporaryDirectory() as tmp:
            for chain in (False,) if args.no_chain else (False, True):
                specs = services(n, chain)
                path = compose_file(Path(tmp), specs)
                ours: list[float] = []
                theirs: list[float] = []
                for _ in range(runs):
                    ours.append(run_infranb(lab, manager, specs))
                    theirs.append(run_docker(lab, path, n))
                shape = "depends_on chain (healthy)" if chain else "independent services"
                print(f"{n} services, {shape}:")
                print(f"  infranb deploy_stack (returns converged)   {shown(ours)}")
                print(f"  docker stack deploy + poll until running  {shown(theirs)}")
                ratio = statistics.median(ours) / statistics.median(theirs)
                print(f"  ratio infranb / docker: {ratio:.2f}x")
    finally:
        lab.stop()


if __name__ == "__main__":
    main()
