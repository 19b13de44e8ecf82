"""What "stayed up" costs: a 20-container bring-up with ``min_uptime=1.0`` against ``0``.

    .venv/bin/python bench/uptime_bench.py [--rounds 5] [-n 20]

The window overlaps the bring-up, so its cost should be at most ``min_uptime`` after the last
start and nothing per container. Printed per setting: the median bring-up, and the median time
from the last ``container_started`` event to the return. Runs alternate on one engine; every
round tears its stack down.
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid

from infranb import InfrastructureManager, InfrastructureManagerConfig, InfrastructureOperation
from infranb.core.records import ProgressEvent

BASE = "infranb-demo/base:1"


def bring_up(n: int, window: float) -> tuple[float, float]:
    stack = f"inbb-up-{uuid.uuid4().hex[:6]}"
    op = InfrastructureOperation(
        operation="orchestrate_containers",
        stack=stack,
        containers=[
            {"image": BASE, "name": f"{stack}-{i}", "networks": [f"{stack}-net"]} for i in range(n)
        ],
    )
    starts: list[float] = []

    def seen(event: ProgressEvent) -> None:
        if event.kind == "container_started":
            starts.append(time.perf_counter())

    config = InfrastructureManagerConfig(min_uptime=window, journal=None, stop_timeout=1)
    with InfrastructureManager(config) as manager:
        began = time.perf_counter()
        result = manager.run(op, progress=seen)
        ended = time.perf_counter()
        assert result.success, result.error
        assert manager.down(stack).success
    return ended - began, ended - max(starts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("-n", type=int, default=20)
    args = parser.parse_args()
    totals: dict[float, list[float]] = {0.0: [], 1.0: []}
    tails: dict[float, list[float]] = {0.0: [], 1.0: []}
    for _ in range(args.rounds):
        for window in totals:
            total, tail = bring_up(args.n, window)
            totals[window].append(total)
            tails[window].append(tail)
    for window in totals:
        total, tail = statistics.median(totals[window]), statistics.median(tails[window])
        print(
            f"N={args.n} min_uptime={window:g}: bring-up {total:.2f} s, "
            f"last start -> return {tail:.2f} s (median of {args.rounds})"
        )
    cost = statistics.median(totals[1.0]) - statistics.median(totals[0.0])
    print(f"cost of min_uptime=1: {cost:+.2f} s on the whole bring-up")


if __name__ == "__main__":
    main()
