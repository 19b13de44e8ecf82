"""What the journal costs: per operation, and to read a long history.

    .venv/bin/python bench/journal_bench.py            # 15 rounds, 10,000 records
    .venv/bin/python bench/journal_bench.py --quick    # 3 rounds, 500 records

1. A one-container orchestrate on the local engine, journal on and off, alternating; each
   bring-up is torn down (untimed) before the next. Prints medians, the difference (the
   journal's cost) and the ratio.
2. The same on the in-memory engine, where an operation costs ~1 ms, so the journal's own
   cost per operation (a few SQLite writes) is measured without the engine's noise.
3. ``history()`` of a journal holding N records: the DataFrame a notebook shows.

Everything runs on its own ``inbb-journal-*`` stack and in a temporary journal file.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from infranb import InfrastructureManager, InfrastructureManagerConfig, InfrastructureOperation
from infranb import journal as J
from infranb.testing import MemoryEngine

BASE = "infranb-demo/base:1"


def one_container(stack: str) -> InfrastructureOperation:
    return InfrastructureOperation(
        operation="orchestrate_containers",
        stack=stack,
        containers=[{"image": BASE, "name": f"{stack}-app", "environment": {"MODE": "bench"}}],
    )


def shown(samples: list[float]) -> str:
    low, high = min(samples) * 1000, max(samples) * 1000
    return f"{statistics.median(samples) * 1000:8.2f} ms ({low:.2f}-{high:.2f})"


Timer = Callable[[], float]


def compare(label: str, runs: int, make: Callable[[str | None], Timer], folder: Path) -> None:
    """Alternate journal on / off; ``make(journal_path)`` returns a callable timing one op."""
    on = make(str(folder / f"{label}.sqlite"))
    off = make(None)
    timings: dict[str, list[float]] = {"journal on": [], "journal off": []}
    for _ in range(runs):
        timings["journal on"].append(on())
        timings["journal off"].append(off())
    with_j, without = (statistics.median(timings[k]) for k in ("journal on", "journal off"))
    print(f"{label}: {runs} runs each, alternating")
    for key, samples in timings.items():
        print(f"  {key:12} {shown(samples)}")
    cost = (with_j - without) * 1000
    print(f"  journal cost {cost:+.2f} ms per operation ({with_j / without:.3f}x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    runs, records = (3, 500) if args.quick else (15, 10_000)
    folder = Path(tempfile.mkdtemp(prefix="inbb-journal-"))

    def real(journal: str | None) -> Timer:
        stack = "inbb-journal-on" if journal else "inbb-journal-off"
        manager = InfrastructureManager(InfrastructureManagerConfig(journal=journal))
        manager.down(stack)

        def once() -> float:
            start = time.perf_counter()
            result = manager.run(one_container(stack))
            took = time.perf_counter() - start
            assert result.success, result.error
            manager.down(stack)
            return took

        return once

    def memory(journal: str | None) -> Timer:
        manager = InfrastructureManager(
            InfrastructureManagerConfig(journal=journal), engine=MemoryEngine([BASE])
        )
        counter = iter(range(10**9))

        def once() -> float:
            op = one_container(f"inbb-journal-m{next(counter)}")
            start = time.perf_counter()
            result = manager.run(op)
            took = time.perf_counter() - start
            assert result.success, result.error
            return took

        return once

    compare("one-container orchestrate, local engine", runs, real, folder)
    compare("one-container orchestrate, in-memory engine", runs * 20, memory, folder)

    book = J.Journal(folder / "history.sqlite")
    for i in range(records):
        start = J.RunStart(f"r{i:06d}", "orchestrate_containers", f"s{i % 20}", "unix://", "id", {})
        book.begin(start).finish("succeeded", changes={"create": 2}, error=None, plan=[], result={})
    import pandas  # noqa: F401  (loaded in any notebook; not the journal's cost)

    book.close()  # the last connection folds the write-ahead log into the file
    samples = []
    for _ in range(5):
        fresh = J.Journal(book.path)  # a new kernel reading the file
        start_t = time.perf_counter()
        frame = fresh.history()
        samples.append(time.perf_counter() - start_t)
        fresh.close()
        assert len(frame) == records
    print(f"history() of {records} records: {shown(samples)} (5 reads, each a fresh open)")
    size = sum(p.stat().st_size for p in folder.glob("history.sqlite*"))
    print(f"  journal file: {size / records:.0f} bytes per record")


if __name__ == "__main__":
    main()
