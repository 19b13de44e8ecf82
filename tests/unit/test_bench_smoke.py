"""Keep the benchmark script importable and its reporting helpers honest (no timings)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

BENCH = Path(__file__).parents[2] / "bench" / "bench.py"


def test_link_gaps_pair_each_dependency_with_its_dependent() -> None:
    spec = importlib.util.spec_from_file_location("bench_module", BENCH)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # importing needs no engine
    events = [
        {
            "Action": "health_status: healthy",
            "timeNano": 1_000_000_000,
            "Actor": {"Attributes": {"name": "db"}},
        },
        {"Action": "start", "timeNano": 1_250_000_000, "Actor": {"Attributes": {"name": "web"}}},
    ]
    assert module._link_gaps(events, [("db", None), ("web", "db")]) == [0.25]
    assert module._link_gaps(events, [("web", "db")], {"web": 1.004}) == [pytest.approx(0.004)]


def test_the_explore_bench_reads_the_engines_log_frames() -> None:
    """Its import needs no engine, and the demultiplexing it measures is right: each frame's
    stream, lines split across frames joined, a TTY answer read as stdout."""
    spec = importlib.util.spec_from_file_location(
        "explore_bench", BENCH.parent / "explore_bench.py"
    )
    assert spec and spec.loader
    spec.loader.exec_module(importlib.util.module_from_spec(spec))
    from infranb.engines.docker import _log_frames

    def frame(stream: int, data: bytes) -> bytes:
        return bytes([stream, 0, 0, 0]) + len(data).to_bytes(4, "big") + data

    answer = frame(1, b"t1 out one\nt2 out ") + frame(2, b"t3 err\n") + frame(1, b"two\n")
    assert _log_frames(answer) == [
        ("stdout", "t1 out one"),
        ("stderr", "t3 err"),
        ("stdout", "t2 out two"),
    ]
    assert _log_frames(b"t1 plain tty line\nt2 next\n") == [
        ("stdout", "t1 plain tty line"),
        ("stdout", "t2 next"),
    ]
