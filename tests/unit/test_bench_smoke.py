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
