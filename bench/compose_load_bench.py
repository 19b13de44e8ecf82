"""Reading Compose files: infranb's loader against Compose v2's own ``config`` of the same files.

    .venv/bin/python bench/compose_load_bench.py [RUNS]      (default 15 runs per file)

1. the largest project of ``tests/compose/corpus`` (by the size of its files):
   ``compose.load`` in this process (a running kernel: Python and infranb already imported)
   against ``docker compose config --format json`` (the v2.40.3 binary, run as a user runs it);
2. every project of the corpus, one after the other, the same two ways.

Target: <= 1.0x v2's time each. Medians (min-max) of RUNS and the ratio infranb / v2. Nothing
touches an engine.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.compose.test_reference import CASES, load
from tests.compose.test_v2_reference import v2_config as v2_config_run
from tests.compose_cli import V2


def v2_config(case: Path) -> None:
    done = v2_config_run(case)
    if done.returncode != 0:
        raise RuntimeError(f"v2 config of {case.name}: {done.stderr}")


def timed(action: Callable[[], object], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        action()
        times.append(time.perf_counter() - began)
    return times


def line(label: str, ours: list[float], theirs: list[float]) -> str:
    a, b = statistics.median(ours), statistics.median(theirs)
    return (
        f"{label:<44} infranb {a * 1000:7.1f} ms ({min(ours) * 1000:.1f}-{max(ours) * 1000:.1f})"
        f"   v2 config {b * 1000:7.1f} ms ({min(theirs) * 1000:.1f}-{max(theirs) * 1000:.1f})"
        f"   ratio {a / b:.2f}x"
    )


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 15

    def size(case: Path) -> int:
        return sum(f.stat().st_size for f in case.iterdir() if f.suffix in (".yaml", ".yml"))

    largest = max(CASES, key=size)
    load(largest)  # the first load pays for imports a running kernel has already paid
    print(f"Compose v2: {V2}")
    print(
        line(
            f"largest: {largest.name} ({size(largest)} bytes)",
            timed(lambda: load(largest), runs),
            timed(lambda: v2_config(largest), runs),
        )
    )

    def all_ours() -> None:
        for case in CASES:
            load(case)

    def all_theirs() -> None:
        for case in CASES:
            v2_config(case)

    print(
        line(
            f"all {len(CASES)} projects, one after the other",
            timed(all_ours, max(3, runs // 5)),
            timed(all_theirs, max(3, runs // 5)),
        )
    )


if __name__ == "__main__":
    main()
