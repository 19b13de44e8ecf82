"""The benchmark still runs end to end (tiny sizes); its numbers are not judged here."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.usefixtures("demo_images")


def test_bench_quick_runs(engine) -> None:
    bench = Path(__file__).parents[2] / "bench" / "bench.py"
    run = subprocess.run(
        [sys.executable, str(bench), "--quick"], capture_output=True, text=True, timeout=280
    )
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    for heading in (
        "bring-up of 2 containers",
        "teardown of 2 containers",
        "health-gated chain",
        "re-run of an unchanged",
        "cleanup of 5 stopped",
        "inventory DataFrame",
        "import infranb",
        "peak memory",
    ):
        assert heading in run.stdout, heading
    assert not engine.list_containers(labels={"infranb-bench": "1"})  # it cleaned up


def test_compose_bench_quick_runs(engine) -> None:
    bench = Path(__file__).parents[2] / "bench" / "compose_bench.py"
    run = subprocess.run(
        [sys.executable, str(bench), "--quick"], capture_output=True, text=True, timeout=280
    )
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    for heading in ("load + plan of a 10-service", "bring-up of a 3-service", "teardown of"):
        assert heading in run.stdout, heading


def test_journal_bench_quick_runs(engine) -> None:
    bench = Path(__file__).parents[2] / "bench" / "journal_bench.py"
    run = subprocess.run(
        [sys.executable, str(bench), "--quick"], capture_output=True, text=True, timeout=280
    )
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    for heading in ("local engine", "in-memory engine", "journal cost", "history() of 500"):
        assert heading in run.stdout, heading
    assert not engine.list_containers(labels={"infranb.stack": "inbb-journal-on"})


def test_podman_bench_quick_runs(engine, podman_service) -> None:
    """On the session's Podman service (the bench starts its own when given none)."""
    bench = Path(__file__).parents[2] / "bench" / "podman_bench.py"
    run = subprocess.run(
        [sys.executable, str(bench), "--quick", "--podman-host", podman_service.host],
        capture_output=True, text=True, timeout=280,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    for heading in ("on Podman to all running", "teardown of 2 containers", "on Docker"):
        assert heading in run.stdout, heading
    assert not engine.list_containers(labels={"infranb-bench": "1"})
