"""Exploring a host at volume: ``manager.logs`` of 100,000 lines into a frame against
``docker logs --timestamps`` into a file, and ``manager.watch_events`` of a live stream of
10,000 events against ``docker events`` into a file, both reading the same stream at once.

    .venv/bin/python bench/explore_bench.py            # 100,000 lines, 10,000 events, 5 runs
    .venv/bin/python bench/explore_bench.py --quick    # small sizes, to check it works

Logs: one container prints N lines and exits; then the two readers alternate, 5 runs each,
medians (min-max), the ratio infranb / docker. infranb does more (both streams read apart,
masked, parsed into datetimes, merged in time order), and the ratio says what that costs.

Events: N events come from volumes made and removed as fast as the engine takes them (two
events each, labelled); ``docker events`` and ``watch_events`` follow the same stream from
before the first. The events come at the engine's pace, so the wall time of both is the
stream's; what differs is how long after the last event each has all of them (lag) and the
CPU it took (infranb's process against the CLI's). Every resource is named ``inbb-*`` and
labelled ``infranb-bench=1``; each is removed.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import docker

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from infranb import InfrastructureManager

BASE = "infranb-demo/base:1"
LABEL = {"infranb-bench": "1"}


def median(values: list[float]) -> str:
    return f"{statistics.median(values):.3f} s ({min(values):.3f}-{max(values):.3f})"


def logs_bench(api: docker.APIClient, lines: int, runs: int) -> None:
    name = f"inbb-logs-{uuid.uuid4().hex[:6]}"
    made = api.create_container(
        BASE, ["sh", "-c", f"seq 1 {lines} | sed 's/^/log line number /'"], name=name, labels=LABEL
    )
    try:
        api.start(made["Id"])
        api.wait(made["Id"], timeout=120)
        manager = InfrastructureManager()
        manager.logs(name, tail=10)  # connected, pandas loaded: what a notebook has already
        ours, cli = [], []
        for _ in range(runs):
            began = time.perf_counter()
            frame = manager.logs(name, tail=None)
            ours.append(time.perf_counter() - began)
            assert len(frame) == lines, len(frame)
            with tempfile.TemporaryFile() as out:
                began = time.perf_counter()
                subprocess.run(["docker", "logs", "--timestamps", name], stdout=out, check=True)
                cli.append(time.perf_counter() - began)
        ratio = statistics.median(ours) / statistics.median(cli)
        print(f"logs of {lines:,} lines, {runs} alternating runs")
        print(f"  infranb manager.logs -> frame   {median(ours)}")
        print(f"  docker logs --timestamps > file {median(cli)}")
        print(f"  ratio infranb / docker: {ratio:.2f}x (target <= 1.5x)")
    finally:
        api.remove_container(made["Id"], force=True)


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def events_bench(api: docker.APIClient, count: int) -> None:
    tag = uuid.uuid4().hex[:6]
    manager = InfrastructureManager()
    manager.events(since="1s")  # connected: what a notebook has already
    # Volume events carry no labels: both follow volume events, and count this run's own.
    feed = manager.watch_events(filters={"type": "volume"}, seconds=600, count=count)
    with tempfile.NamedTemporaryFile(prefix="inbb-events-", delete=False) as out:
        path = out.name
    with open(path, "wb") as out:
        cli = subprocess.Popen(
            ["docker", "events", "--format", "{{json .}}", "--filter", "type=volume"],
            stdout=out,
        )
    got: dict[str, float] = {}
    cpu_before = cpu_seconds()

    def read() -> None:
        for _row in feed:
            pass
        got["infranb"] = time.monotonic()

    reader = threading.Thread(target=read)
    reader.start()
    time.sleep(1.0)  # both are subscribed

    def churn(i: int) -> None:
        name = f"inbb-ev-{tag}-{i}"
        api.create_volume(name, labels={**LABEL, "inbb-events": tag})
        api.remove_volume(name)

    began = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(churn, range(count // 2)))
    made = time.monotonic()
    reader.join(timeout=120)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        with open(path, "rb") as seen:
            if sum(1 for line in seen if f"inbb-ev-{tag}-".encode() in line) >= count:
                got["docker"] = time.monotonic()
                break
        time.sleep(0.05)
    cli_cpu = _process_cpu(cli.pid)
    ours_cpu = cpu_seconds() - cpu_before
    cli.terminate()
    cli.wait()
    os.unlink(path)
    print(f"a live stream of {count:,} events ({count // 2:,} volumes made and removed)")
    print(f"  the engine made them in {made - began:.2f} s")
    print(
        f"  watch_events had all {len(feed.rows):,} {got.get('infranb', made) - made:.3f} s after"
    )
    print(f"  docker events had all  {got.get('docker', made) - made:.3f} s after")
    print(
        f"  CPU: infranb's process {ours_cpu:.2f} s (the volume calls included), "
        f"docker events {cli_cpu:.2f} s"
    )


def _process_cpu(pid: int) -> float:
    """User and system CPU seconds of a running process (``/proc/PID/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, to check it works")
    options = parser.parse_args()
    api = docker.from_env().api
    lines, events, runs = (2_000, 200, 1) if options.quick else (100_000, 10_000, 5)
    logs_bench(api, lines, runs)
    events_bench(api, events)


if __name__ == "__main__":
    main()
