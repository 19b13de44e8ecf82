"""Benchmarks: infranb against docker-compose, docker-py loops and the docker CLI.

    .venv/bin/python bench/bench.py            # the full run (about 15 minutes)
    .venv/bin/python bench/bench.py --quick    # tiny sizes, to check it works

Prints one table per scenario with medians (min-max) over alternating runs (A B C ... A B C)
and the ratio of each tool to infranb. Every resource is named ``inbb-*`` and labelled
``infranb-bench=1``; each run removes what it created.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import docker

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from infranb import InfrastructureManager, InfrastructureManagerConfig, InfrastructureOperation

#: Debian's docker-compose 1.29, by path: .venv/bin/docker-compose is Compose v2
COMPOSE_V1 = "/usr/bin/docker-compose"

BASE = "infranb-demo/base:1"
WEB = "infranb-demo/web:1"
LABEL = {"infranb-bench": "1"}
THREADS = 8


class _LazyAPI:
    """docker-py's low-level client, connected on first use (importing needs no engine)."""

    _api = None

    def __getattr__(self, name: str):
        if _LazyAPI._api is None:
            _LazyAPI._api = docker.from_env(version="auto", max_pool_size=THREADS + 4).api
        return getattr(_LazyAPI._api, name)


api = _LazyAPI()


# ---------------------------------------------------------------- stacks


def names(tool: str, n: int) -> list[str]:
    return [f"inbb-{tool}-{i}" for i in range(n)]


def wait_ready(containers: list[str], healthy: bool) -> None:
    """Poll until every container runs (and is healthy), as a careful script would."""
    pending = set(containers)
    while pending:
        for name in list(pending):
            state = api.inspect_container(name)["State"]
            ok = state.get("Health", {}).get("Status") == "healthy" if healthy else state["Running"]
            if ok:
                pending.discard(name)
        if pending:
            time.sleep(0.05)


def teardown_nb(manager: InfrastructureManager, *, volumes: bool = False):
    """infranb's teardown of the benchmark stack."""
    return manager.run(
        InfrastructureOperation(
            operation="cleanup_resources",
            cleanup_stopped_containers=True,
            force_remove=True,
            cleanup_volumes=volumes,
            stack="inbb-nb",
        )
    )


def up_infranb(n: int, healthy: bool) -> Callable[[], None]:
    tool = "nb"
    manager = InfrastructureManager(config=InfrastructureManagerConfig(stop_timeout=2))
    op = InfrastructureOperation(
        operation="orchestrate_containers",
        stack="inbb-nb",
        containers=[
            {
                "image": WEB if healthy else BASE,
                "name": name,
                "networks": ["inbb-nb-net"],
                "volumes": {f"{name}-vol": "/data"},
                "labels": LABEL,
            }
            for name in names(tool, n)
        ],
    )
    result = manager.run(op)
    assert result.success, result.error

    def down() -> None:
        gone = teardown_nb(manager, volumes=True)
        assert gone.success, gone.error
        manager.close()

    return down


def up_compose(n: int, healthy: bool) -> Callable[[], None]:
    directory = Path(tempfile.mkdtemp(prefix="inbb-compose-"))
    services = {
        name: {
            "image": WEB if healthy else BASE,
            "container_name": name,
            "networks": ["net"],
            "volumes": [f"{name}-vol:/data"],
            "labels": LABEL,
            "stop_grace_period": "2s",
        }
        for name in names("compose", n)
    }
    spec = {
        "version": "2.4",
        "services": services,
        "networks": {"net": {"name": "inbb-compose-net"}},
        "volumes": {f"{name}-vol": {"name": f"{name}-vol"} for name in services},
    }
    (directory / "docker-compose.yml").write_text(json.dumps(spec))
    cmd = [COMPOSE_V1, "-p", "inbbcompose", "-f", str(directory / "docker-compose.yml")]
    subprocess.run([*cmd, "up", "-d"], check=True, capture_output=True)
    if healthy:
        wait_ready(list(services), healthy=True)

    def down() -> None:
        subprocess.run([*cmd, "down", "-v", "-t", "2"], check=True, capture_output=True)
        shutil.rmtree(directory)

    return down


def _create_start(name: str, image: str, net: str) -> None:
    api.create_volume(f"{name}-vol", labels=LABEL)
    container = api.create_container(
        image,
        name=name,
        labels=LABEL,
        host_config=api.create_host_config(
            binds={f"{name}-vol": {"bind": "/data", "mode": "rw"}}, network_mode=net
        ),
        networking_config=api.create_networking_config(
            {net: api.create_endpoint_config(aliases=[name])}
        ),
    )
    api.start(container["Id"])


def _stop_remove(name: str) -> None:
    api.stop(name, timeout=2)
    api.remove_container(name)
    api.remove_volume(f"{name}-vol")


def up_sequential(n: int, healthy: bool) -> Callable[[], None]:
    net = "inbb-seq-net"
    api.create_network(net, labels=LABEL, check_duplicate=True)
    containers = names("seq", n)
    for name in containers:
        _create_start(name, WEB if healthy else BASE, net)
    wait_ready(containers, healthy)

    def down() -> None:
        for name in containers:
            _stop_remove(name)
        api.remove_network(net)

    return down


def up_threads(n: int, healthy: bool) -> Callable[[], None]:
    net = "inbb-thr-net"
    api.create_network(net, labels=LABEL, check_duplicate=True)
    containers = names("thr", n)
    with concurrent.futures.ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(lambda c: _create_start(c, WEB if healthy else BASE, net), containers))
        wait_ready(containers, healthy)

    def down() -> None:
        with concurrent.futures.ThreadPoolExecutor(THREADS) as pool:
            list(pool.map(_stop_remove, containers))
        api.remove_network(net)

    return down


def up_cli(n: int, healthy: bool) -> Callable[[], None]:
    net = "inbb-cli-net"
    subprocess.run(
        ["docker", "network", "create", "--label", "infranb-bench=1", net],
        check=True,
        capture_output=True,
    )
    containers = names("cli", n)
    for name in containers:
        subprocess.run(
            [
                "docker",
                "run",
                "-d",
                "--name",
                name,
                "--network",
                net,
                "--label",
                "infranb-bench=1",
                "-v",
                f"{name}-vol:/data",
                WEB if healthy else BASE,
            ],
            check=True,
            capture_output=True,
        )
    wait_ready(containers, healthy)

    def down() -> None:
        for name in containers:
            subprocess.run(["docker", "rm", "-f", "-v", name], check=True, capture_output=True)
            subprocess.run(
                ["docker", "volume", "rm", f"{name}-vol"], check=True, capture_output=True
            )
        subprocess.run(["docker", "network", "rm", net], check=True, capture_output=True)

    return down


TOOLS: dict[str, Callable[[int, bool], Callable[[], None]]] = {
    "infranb": up_infranb,
    "docker-compose": up_compose,
    "docker-py seq": up_sequential,
    "docker-py threads": up_threads,
    "docker CLI": up_cli,
}


def scrub() -> None:
    """Remove anything a failed earlier run left (only inbb-* resources with our label)."""
    for c in api.containers(all=True, filters={"label": "infranb-bench=1"}):
        api.remove_container(c["Id"], force=True)
    for c in api.containers(all=True, filters={"label": "infranb.stack=inbb-nb"}):
        api.remove_container(c["Id"], force=True)
    for net in api.networks(filters={"name": "inbb-"}):
        if net["Name"].startswith("inbb-"):
            api.remove_network(net["Id"])
    for vol in api.volumes(filters={"name": "inbb-"}).get("Volumes") or []:
        if vol["Name"].startswith("inbb-"):
            api.remove_volume(vol["Name"])


# ---------------------------------------------------------------- reporting


def summary(samples: list[float]) -> str:
    return f"{statistics.median(samples):7.2f} ({min(samples):.2f}-{max(samples):.2f})"


def table(title: str, results: dict[str, list[float]], unit: str = "s") -> None:
    base = statistics.median(results["infranb"]) if "infranb" in results else None
    print(f"\n{title}")
    print(f"  {'tool':20} {'median ' + unit + ' (min-max)':>24} {'tool / infranb':>16}")
    for tool, samples in results.items():
        ratio = f"{statistics.median(samples) / base:.2f}x" if base else ""
        print(f"  {tool:20} {summary(samples):>24} {ratio:>16}")


def bring_up(sizes: list[int], runs: int, healthy: bool, tools: list[str]) -> None:
    for n in sizes:
        up: dict[str, list[float]] = {t: [] for t in tools}
        down: dict[str, list[float]] = {t: [] for t in tools}
        for _ in range(runs):
            for tool in tools:  # alternate the tools run by run
                scrub()
                start = time.perf_counter()
                teardown = TOOLS[tool](n, healthy)
                up[tool].append(time.perf_counter() - start)
                start = time.perf_counter()
                teardown()
                down[tool].append(time.perf_counter() - start)
        what = "all healthy" if healthy else "all running"
        table(f"bring-up of {n} containers (one network, a volume each) to {what}", up)
        table(f"teardown of {n} containers", down)


# ---------------------------------------------------------------- other scenarios


def chain(runs: int) -> None:
    """db -> cache -> web, each waiting for the previous one to be healthy (1 s interval)."""
    hc = {
        "test": ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1/"],
        "interval": "1s",
        "retries": 3,
        "start_period": "5s",
    }
    links = [
        ("inbb-chain-db", None),
        ("inbb-chain-cache", "inbb-chain-db"),
        ("inbb-chain-web", "inbb-chain-cache"),
    ]
    totals: dict[str, list[float]] = {"infranb": [], "docker-compose": []}
    gaps: dict[str, list[float]] = {"infranb": [], "docker-compose": []}
    reaction: list[float] = []
    for _ in range(runs):
        for tool in totals:
            scrub()
            events: list[dict] = []
            stream = api.events(
                decode=True, filters={"type": "container", "label": "infranb-bench=1"}
            )
            reader = threading.Thread(target=events.extend, args=(stream,), daemon=True)
            reader.start()
            start = time.perf_counter()
            if tool == "infranb":
                manager = InfrastructureManager(config=InfrastructureManagerConfig(stop_timeout=2))
                starting: dict[str, float] = {}

                def note(event, starting=starting) -> None:
                    if event.kind == "container_starting":
                        starting[event.resource] = time.time()

                result = manager.run(
                    InfrastructureOperation(
                        operation="orchestrate_containers",
                        stack="inbb-nb",
                        containers=[
                            {
                                "image": WEB,
                                "name": name,
                                "healthcheck": hc,
                                "labels": LABEL,
                                "networks": ["inbb-chain-net"],
                                **({"depends_on": {dep: "healthy"}} if dep else {}),
                            }
                            for name, dep in links
                        ],
                    ),
                    progress=note,
                )
                assert result.success, result.error
                wait_ready([n for n, _ in links], healthy=True)
                totals[tool].append(time.perf_counter() - start)
                teardown_nb(manager)
                manager.close()
            else:
                directory = Path(tempfile.mkdtemp(prefix="inbb-chain-"))
                services = {
                    name: {
                        "image": WEB,
                        "container_name": name,
                        "labels": LABEL,
                        "healthcheck": {
                            "test": hc["test"],
                            "interval": "1s",
                            "retries": 3,
                            "start_period": "5s",
                        },
                        **({"depends_on": {dep: {"condition": "service_healthy"}}} if dep else {}),
                    }
                    for name, dep in links
                }
                (directory / "c.yml").write_text(
                    json.dumps({"version": "2.4", "services": services})
                )
                cmd = [COMPOSE_V1, "-p", "inbbchain", "-f", str(directory / "c.yml")]
                subprocess.run([*cmd, "up", "-d"], check=True, capture_output=True)
                wait_ready([n for n, _ in links], healthy=True)
                totals[tool].append(time.perf_counter() - start)
                subprocess.run([*cmd, "down", "-t", "2"], check=True, capture_output=True)
                shutil.rmtree(directory)
            stream.close()
            gaps[tool].extend(_link_gaps(events, links))
            if tool == "infranb":
                reaction.extend(_link_gaps(events, links, starting))
    table("health-gated chain db -> cache -> web (1 s healthcheck interval), end to end", totals)
    table(
        "from a dependency's 'healthy' event to its dependent's 'start' event, per link",
        {k: [v * 1000 for v in vs] for k, vs in gaps.items()},
        unit="ms",
    )
    print(
        f"  infranb's own reaction: dependency 'healthy' event -> start request sent: "
        f"{summary([v * 1000 for v in reaction])} ms (the rest is the engine's start call)"
    )


def _link_gaps(
    events: list[dict], links: list[tuple[str, str | None]], starts: dict[str, float] | None = None
) -> list[float]:
    """Per link: from the dependency's healthy event to the dependent's start event (or to
    the wall-clock time in ``starts`` when infranb sent the start request)."""

    def first(name: str, action: str) -> float | None:
        for e in events:
            if (
                e.get("Actor", {}).get("Attributes", {}).get("name") == name
                and e.get("Action") == action
            ):
                return float(e["timeNano"]) / 1e9
        return None

    gaps = []
    for name, dep in links:
        if dep:
            healthy = first(dep, "health_status: healthy")
            started = starts.get(name) if starts is not None else first(name, "start")
            if healthy is not None and started is not None:
                gaps.append(started - healthy)
    return gaps


def rerun(n: int, runs: int) -> None:
    scrub()
    manager = InfrastructureManager(config=InfrastructureManagerConfig(stop_timeout=2))
    op = InfrastructureOperation(
        operation="orchestrate_containers",
        stack="inbb-nb",
        containers=[
            {"image": BASE, "name": name, "networks": ["inbb-nb-net"], "labels": LABEL}
            for name in names("nb", n)
        ],
    )
    assert manager.run(op).success
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        result = manager.run(op)
        samples.append(time.perf_counter() - start)
        assert {c.action for c in result.containers} == {"unchanged"}
    table(f"re-run of an unchanged {n}-container stack", {"infranb": samples})
    teardown_nb(manager)
    manager.close()


def _create_stopped(count: int, stack: str) -> None:
    def create(i: int) -> None:
        api.create_container(
            BASE,
            name=f"inbb-{stack}-{i}",
            labels={**LABEL, "infranb.managed": "true", "infranb.stack": stack},
        )

    with concurrent.futures.ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(create, range(count)))


def cleanup_stopped(count: int, runs: int) -> None:
    samples: dict[str, list[float]] = {"infranb": [], "docker-py threads": [], "prune": []}
    for _ in range(runs):
        for tool in samples:
            scrub()
            _create_stopped(count, "inbb-clean")
            start = time.perf_counter()
            if tool == "infranb":
                with InfrastructureManager() as manager:
                    result = manager.run(
                        InfrastructureOperation(
                            operation="cleanup_resources",
                            cleanup_stopped_containers=True,
                            stack="inbb-clean",
                        )
                    )
                assert result.success and len(result.containers_removed) == count, result.error
            elif tool == "prune":
                api.prune_containers(filters={"label": "infranb.stack=inbb-clean"})
            else:
                ids = [
                    c["Id"]
                    for c in api.containers(all=True, filters={"label": "infranb.stack=inbb-clean"})
                ]
                with concurrent.futures.ThreadPoolExecutor(THREADS) as pool:
                    list(pool.map(api.remove_container, ids))
            samples[tool].append(time.perf_counter() - start)
    table(f"cleanup of {count} stopped managed containers", samples)


def inventory(count: int, runs: int) -> None:
    scrub()
    _create_stopped(count, "inbb-inv")
    engine_only, total = [], []
    with InfrastructureManager() as manager:
        for _ in range(runs):
            start = time.perf_counter()
            api.containers(all=True)
            engine_only.append(time.perf_counter() - start)
            start = time.perf_counter()
            frame = manager.containers()
            total.append(time.perf_counter() - start)
            assert len(frame) >= count
    print(f"\ninventory DataFrame of {count}+ containers")
    print(f"  engine's own answer (raw list) {summary(engine_only)} s")
    print(f"  manager.containers()           {summary(total)} s")
    print(
        f"  infranb's own time             "
        f"{statistics.median(total) - statistics.median(engine_only):7.3f} s (median difference)"
    )
    scrub()


def import_time(runs: int) -> None:
    samples = []
    for _ in range(runs):
        out = subprocess.run(
            [
                sys.executable,
                "-c",
                "import time; t = time.perf_counter(); import infranb; "
                "print(time.perf_counter() - t)",
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        samples.append(float(out.stdout))
    print(f"\nimport infranb (no pandas, no widgets)  {summary(samples)} s")


def peak_memory(n: int) -> None:
    code = (
        "import resource, sys; sys.argv = ['x']; "
        "from infranb import *; "
        f"ops = [{{'image': '{BASE}', 'name': f'inbb-mem-{{i}}', 'networks': ['inbb-mem-net'], "
        "'volumes': {f'inbb-mem-{i}-vol': '/data'}, 'labels': {'infranb-bench': '1'}} "
        f"for i in range({n})]; "
        "m = InfrastructureManager(); "
        "r = m.run(InfrastructureOperation(operation='orchestrate_containers', stack='inbb-nb', "
        "containers=ops)); assert r.success, r.error; r.to_frame(); "
        "m.run(InfrastructureOperation(operation='cleanup_resources', "
        "cleanup_stopped_containers=True, force_remove=True, cleanup_volumes=True, "
        "stack='inbb-nb')); "
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    )
    scrub()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    print(
        f"\npeak memory (max RSS) of a process bringing up {n} containers: "
        f"{int(out.stdout.split()[-1]) / 1024:.0f} MiB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one run each")
    args = parser.parse_args()
    if not shutil.which(COMPOSE_V1):
        sys.exit("bench: install docker-compose first (apt-get install docker-compose)")
    info = api.version()
    print(
        f"machine: {os.cpu_count()} cores, Docker {info['Version']} (API {info['ApiVersion']}), "
        f"docker-compose {_compose_version()}, Python {sys.version.split()[0]}"
    )
    runs = 1 if args.quick else 3
    tools = list(TOOLS)
    try:
        bring_up([2] if args.quick else [1, 5, 10, 20, 50], runs, False, tools)
        bring_up([2] if args.quick else [10, 20], runs, True, tools)
        chain(1 if args.quick else 3)
        rerun(3 if args.quick else 20, 3 if args.quick else 10)
        cleanup_stopped(5 if args.quick else 200, runs)
        inventory(20 if args.quick else 1000, 3)
        import_time(3 if args.quick else 10)
        peak_memory(3 if args.quick else 50)
    finally:
        scrub()
    print(
        f"\nmax RSS of this benchmark process: "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB"
    )


def _compose_version() -> str:
    out = subprocess.run([COMPOSE_V1, "version", "--short"], capture_output=True, text=True)
    return out.stdout.strip() or "?"


if __name__ == "__main__":
    main()
