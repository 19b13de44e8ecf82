"""The manifests of the 50-service Compose project the compose bench uses, produced and
validated, against Compose v2's ``config`` of the same file.

    .venv/bin/python bench/kubernetes_bench.py [--rounds 5]

Each round, alternating: ``compose.load`` + ``manifests(project)`` (the objects), then
``Manifests.validate()`` (every object against the Kubernetes 1.37 schemas, strict, with
kubernetes-validate), against ``docker compose -f FILE config`` (Compose v2.40.3, which
reads, interpolates and prints the model, and converts nothing). Medians in seconds.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from compose_bench import big_file

from infranb import compose
from infranb.kubernetes import KUBERNETES_VERSION, manifests

V2 = str(Path(sys.executable).parent / "docker-compose")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    produce, check, config = [], [], []
    with tempfile.TemporaryDirectory() as folder:
        file = big_file(Path(folder), 50)
        for _ in range(args.rounds):
            began = time.perf_counter()
            made = manifests(compose.load(file, project_name="inbb-k8s", environ={}))
            produce.append(time.perf_counter() - began)
            began = time.perf_counter()
            problems = made.validate()
            check.append(time.perf_counter() - began)
            assert problems == [], problems[:3]
            began = time.perf_counter()
            subprocess.run(
                [V2, "-f", str(file), "-p", "inbb-k8s", "config"], check=True, capture_output=True
            )
            config.append(time.perf_counter() - began)
    med = statistics.median
    print(f"50-service compose project, {args.rounds} rounds (medians, s)")
    print(f"  {len(made.objects)} objects, {len(made.not_converted)} keys not converted")
    print(f"  load + manifests                 {med(produce):7.3f}")
    print(f"  validate (Kubernetes {KUBERNETES_VERSION}, strict) {med(check):7.3f}")
    print(f"  produce + validate               {med(produce) + med(check):7.3f}")
    print(f"  docker compose config (v2)       {med(config):7.3f}")
    print(f"  infranb / compose config         {(med(produce) + med(check)) / med(config):7.2f}x")


if __name__ == "__main__":
    main()
