"""The benchmark still runs end to end (tiny sizes); its numbers are not judged here."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.usefixtures("demo_images")

BENCH = Path(__file__).parents[2] / "bench"


def run_bench(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run a bench script with this interpreter; fail with its output's tail if it fails."""
    run = subprocess.run(
        [sys.executable, str(BENCH / script), *args], capture_output=True, text=True, timeout=280
    )
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    return run


def test_bench_quick_runs(engine) -> None:
    run = run_bench("bench.py", "--quick")
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
    run = run_bench("compose_bench.py", "--quick")
    for heading in ("load + plan of a 10-service", "bring-up of a 3-service", "teardown of"):
        assert heading in run.stdout, heading


def test_journal_bench_quick_runs(engine) -> None:
    run = run_bench("journal_bench.py", "--quick")
    for heading in ("local engine", "in-memory engine", "journal cost", "history() of 500"):
        assert heading in run.stdout, heading
    assert not engine.list_containers(labels={"infranb.stack": "inbb-journal-on"})


def test_podman_bench_quick_runs(engine, podman_service) -> None:
    """On the session's Podman service (the bench starts its own when given none)."""
    run = run_bench("podman_bench.py", "--quick", "--podman-host", podman_service.host)
    for heading in ("on Podman to all running", "teardown of 2 containers", "on Docker"):
        assert heading in run.stdout, heading
    assert not engine.list_containers(labels={"infranb-bench": "1"})


def test_floor_bench_quick_runs(engine) -> None:
    """Every tool of the Compose v2 race brings up and tears down both shapes, and the census
    after each run finds nothing left (the script exits non-zero otherwise)."""
    run = run_bench("floor_bench.py", "--quick")
    for heading in (
        "bring-up of 4 containers, one network",
        "teardown of 2 containers, a network each",
        "compose v2",
        "docker-py threads",
        "compose 1.29",
        "min_uptime at N=4",
    ):
        assert heading in run.stdout, heading
    assert not engine.list_containers(labels={"infranb-bench": "floor"})


def test_floor_stress_three_rounds(engine) -> None:
    """CI's share of the stress run: 3 bring-ups and teardowns of 20 containers on one
    network, a census after each (the full run is 100 rounds, bench/README.md)."""
    run = run_bench("floor_bench.py", "--stress", "3")
    assert "3 bring-ups and teardowns of 20 containers" in run.stdout
    assert "failed: 0; rounds leaving anything: 0" in run.stdout
    assert not engine.list_containers(labels={"infranb-bench": "floor"})


def test_teardown_safety_runs() -> None:
    """The stuck-network experiment runs on an engine of its own and stops it (tiny size:
    whether a network sticks is not judged here)."""
    run = run_bench(
        "teardown_safety.py",
        "--trials",
        "1",
        "--size",
        "3",
        "--pairs",
        "infranb:infranb,v2:v2,loop:stop-remove",
    )
    for line in ("up infranb down infranb", "up v2    down v2", "up loop  down stop-remove"):
        assert line in run.stdout, line
