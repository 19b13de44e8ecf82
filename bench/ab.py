"""Head to head: bring-up and teardown of one stack with two checkouts of infranb, alternating
on the same engine (A B A B ...), so that the machine's drift hits both alike.

    .venv/bin/python bench/ab.py OLD_TREE NEW_TREE [N ...] [--rounds 5]

OLD_TREE and NEW_TREE are folders holding an ``infranb`` package (e.g. a ``git worktree`` of
an older commit). Prints medians with min-max per tree and size, and the median of the
per-pair new/old ratios.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys

ONE_RUN = """
import sys, time
sys.path.insert(0, sys.argv[1])
from infranb import InfrastructureManager, InfrastructureManagerConfig, InfrastructureOperation
names = [f"inbb-ab-{i}" for i in range(int(sys.argv[2]))]
op = InfrastructureOperation(operation="orchestrate_containers", stack="inbb-ab", containers=[
    {"image": "infranb-demo/base:1", "name": x, "networks": ["inbb-ab-net"],
     "volumes": {f"{x}-vol": "/data"}, "labels": {"infranb-bench": "1"}} for x in names])
down = InfrastructureOperation(operation="cleanup_resources", stack="inbb-ab",
    cleanup_stopped_containers=True, force_remove=True, cleanup_volumes=True)
m = InfrastructureManager(config=InfrastructureManagerConfig(stop_timeout=2))
t = time.monotonic(); r = m.run(op); up = time.monotonic() - t
assert r.success, r.error
t = time.monotonic(); d = m.run(down); gone = time.monotonic() - t
assert d.success, d.error
print(up, gone)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old")
    parser.add_argument("new")
    parser.add_argument("sizes", nargs="*", type=int, default=[5, 20])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    for n in args.sizes:
        times: dict[str, list[tuple[float, float]]] = {"old": [], "new": []}
        for _ in range(args.rounds):
            for label, tree in (("old", args.old), ("new", args.new)):
                out = subprocess.run(
                    [sys.executable, "-c", ONE_RUN, tree, str(n)],
                    capture_output=True,
                    text=True,
                    check=True,
                    timeout=600,
                )
                up, gone = map(float, out.stdout.split())
                times[label].append((up, gone))
        for label, runs in times.items():
            ups, downs = [u for u, _ in runs], [g for _, g in runs]
            print(
                f"N={n:<3} {label}: bring-up {statistics.median(ups):.2f} s "
                f"({min(ups):.2f}-{max(ups):.2f}), teardown {statistics.median(downs):.2f} s "
                f"({min(downs):.2f}-{max(downs):.2f})"
            )
        # Round i of each tree ran back to back: the ratio of each pair cancels the engine's
        # drift over the series, where single runs spread widely.
        pairs = list(zip(times["old"], times["new"], strict=True))
        up_ratio = statistics.median(new[0] / old[0] for old, new in pairs)
        down_ratio = statistics.median(new[1] / old[1] for old, new in pairs)
        print(
            f"N={n:<3} new/old, median of {len(pairs)} pairs: bring-up {up_ratio:.3f}, "
            f"teardown {down_ratio:.3f}"
        )


if __name__ == "__main__":
    main()
