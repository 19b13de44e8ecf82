"""A Compose file runs under infranb as ``docker compose up`` (v2.40.3) runs it: the same file
is brought up by both, under two project names, and the containers' engine configuration is
compared field by field; then infranb adopts v2's containers without a change, and a re-run
with other replica counts adds and removes the highest numbers.

The file is written here. Its shapes are the ones stock files of self-hosted projects use
(see ``tests/compose/corpus/README.md`` for where each was seen): ulimits, sysctls, dns,
a fixed address on a network with ipam, ``network_mode: service:``, deploy limits,
reservations and restart policy, replicas, a bind of a folder that does not exist yet, an
anonymous volume, ``:z``, logging options, read-only root with tmpfs, tty, a secret from the
environment and a config from content (copied in), and values cast after interpolation.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from infranb import InfrastructureManager, compose
from infranb.engines.docker import DockerEngine
from tests.compose_cli import V2
from tests.conftest import Census
from tests.integration.conftest import Tracker

FILE = """\
x-logging: &logging
  driver: json-file
  options: {max-size: 10m, max-file: "3"}
services:
  app:
    image: infranb-demo/base:1
    command: ["sleep", "600"]
    init: ${APP_INIT:-true}
    tty: true
    stdin_open: true
    read_only: true
    tmpfs: [/tmp]
    shm_size: 128m
    ulimits:
      nofile: {soft: 10000, hard: 20000}  # this sandbox allows 20000 at most
      nproc: 512
    sysctls:
      net.core.somaxconn: 1024
    dns: [1.1.1.1]
    dns_search: [example.internal]
    security_opt: [no-new-privileges:true]
    group_add: ["1234"]
    oom_score_adj: 100
    cpu_shares: 512
    logging: *logging
    healthcheck:
      disable: ${NO_CHECK:-false}
      start_period: 0s
    volumes:
      - ./not-yet/made:/data/
      - ./conf:/conf:ro,z
      - /scratch
    networks:
      back:
        ipv4_address: 172.29.${SUBNET_OCTET:-77}.10
    deploy:
      restart_policy: {condition: on-failure, max_attempts: 4}
      resources:
        limits: {cpus: "0.50", memory: 64M, pids: 300}
        reservations: {memory: 32M}
  sidecar:
    image: infranb-demo/base:1
    command: ["sleep", "600"]
    network_mode: service:app
  worker:
    image: infranb-demo/base:1
    command: ["sleep", "600"]
    deploy:
      replicas: ${WORKERS:-2}
    secrets: [{source: token, target: token, mode: 0400}]
    configs: [{source: conf, target: /etc/worker.conf}]
secrets:
  token: {environment: APP_TOKEN}
configs:
  conf:
    content: "mode ${MODE:-fast}"
networks:
  back:
    ipam:
      config:
        - subnet: 172.29.${SUBNET_OCTET:-77}.0/24
"""

#: the engine fields ``up`` sets from the file, compared between v2's and infranb's
HOST_FIELDS = (
    "Init", "ShmSize", "Ulimits", "Sysctls", "Dns", "DnsSearch", "SecurityOpt", "GroupAdd",
    "PidsLimit", "OomScoreAdj", "CpuShares", "NanoCpus", "Memory", "MemoryReservation",
    "RestartPolicy", "ReadonlyRootfs", "Tmpfs", "LogConfig",
)  # fmt: skip
CONFIG_FIELDS = ("Tty", "OpenStdin", "Cmd", "Healthcheck")


def v2(project: str, folder: Path, *args: str, **env: str) -> None:
    done = subprocess.run(
        [V2, "-p", project, *args],
        cwd=folder,
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=180,
    )
    assert done.returncode == 0, done.stderr


def inspect(engine: DockerEngine, name: str) -> dict[str, Any]:
    data: dict[str, Any] = engine._api.inspect_container(name)
    return data


def load(folder: Path, project: str, **env: str) -> compose.Project:
    return compose.load(folder, project_name=project, environ={**os.environ, **env})


def comparable(data: dict[str, Any], project: str) -> dict[str, Any]:
    host, config = data["HostConfig"], data["Config"]
    found = {k: host.get(k) for k in HOST_FIELDS}
    found.update({k: config.get(k) for k in CONFIG_FIELDS})
    # An empty healthcheck and none both keep the image's: the same to the engine.
    found["Healthcheck"] = config.get("Healthcheck") or None
    found["Ulimits"] = sorted(host.get("Ulimits") or [], key=lambda u: u["Name"])  # any order
    found["Binds"] = sorted(b.replace(project, "P") for b in host.get("Binds") or [])
    found["Mounts"] = sorted(
        (m["Destination"], m["Type"], m["RW"], m.get("Mode", "")) for m in data["Mounts"]
    )
    found["NetworkMode"] = host["NetworkMode"].replace(project, "P")
    networks = data["NetworkSettings"]["Networks"]
    found["Addresses"] = {
        n.replace(project, "P"): (v.get("IPAMConfig") or {}).get("IPv4Address")
        for n, v in networks.items()
    }
    return found


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "compose.yaml").write_text(FILE)
    (tmp_path / "conf").mkdir()
    return tmp_path


def test_a_file_runs_as_compose_v2_runs_it(
    engine: DockerEngine,
    manager: InfrastructureManager,
    folder: Path,
    uid: str,
    tracker: Tracker,
    census: Census,
) -> None:
    theirs, ours = f"{uid}-v2", f"{uid}-nb"
    tracker.stacks += [theirs, ours]
    # Two subnets: both projects run at once.
    os.environ.setdefault("APP_TOKEN", "token-of-the-test")  # read by both (a secret)
    v2(theirs, folder, "up", "-d", SUBNET_OCTET="78")
    project = load(folder, ours, SUBNET_OCTET="79")
    assert project.unsupported.empty, project.unsupported.to_string()
    result = manager.up(project)
    assert result.success, result.error
    assert (folder / "not-yet" / "made").is_dir()  # made by the engine, as for v2

    for service in ("app", "sidecar", "worker"):
        mine = comparable(inspect(engine, f"{ours}-{service}-1"), ours)
        reference = comparable(inspect(engine, f"{theirs}-{service}-1"), theirs)
        mine["Addresses"] = {
            k: v and v.replace(".79.", ".78.") for k, v in mine["Addresses"].items()
        }
        for key in reference:
            if service == "sidecar" and key == "NetworkMode":
                assert mine[key].startswith("container:") and reference[key].startswith(
                    "container:"
                )
                continue
            assert mine[key] == reference[key], f"{service}: {key}"
    # Secrets and configs from environment and content are copied in, as v2 copies them.
    for path in ("/run/secrets/token", "/etc/worker.conf"):
        mine_file = engine.exec_in(f"{ours}-worker-1", ["cat", path])
        assert mine_file == engine.exec_in(f"{theirs}-worker-1", ["cat", path]), path
        assert mine_file[0] == 0, mine_file
    assert (
        inspect(engine, f"{ours}-worker-2")["Config"]["Labels"][
            "com.docker.compose.container-number"
        ]
        == "2"
    )

    # infranb reads v2's containers as what the file asks: nothing to adopt differently.
    again = load(folder, theirs, SUBNET_OCTET="78")
    drift = manager.drift(again)
    assert drift.empty, drift.to_string()

    # A change recreates app: its anonymous volume (and what is in it) comes along.
    engine.exec_in(f"{ours}-app-1", ["sh", "-c", "echo kept > /scratch/mark"])
    changed = manager.up(
        compose.load(
            folder,
            project_name=ours,
            environ={**os.environ, "SUBNET_OCTET": "79", "APP_INIT": "false"},
        )
    )
    assert changed.success, changed.error
    assert {c.name: c.action for c in changed.containers}[f"{ours}-app-1"] == "recreate"
    assert engine.exec_in(f"{ours}-app-1", ["cat", "/scratch/mark"]) == (0, "kept\n")

    # More workers, then fewer: the highest numbers come and go, no remove_orphans needed.
    more = manager.up(
        compose.load(
            folder, project_name=ours, environ={**os.environ, "SUBNET_OCTET": "79", "WORKERS": "3"}
        )
    )
    assert more.success, more.error
    assert {c.name: c.action for c in more.containers}[f"{ours}-worker-3"] == "create"
    fewer = manager.up(
        compose.load(
            folder, project_name=ours, environ={**os.environ, "SUBNET_OCTET": "79", "WORKERS": "1"}
        )
    )
    assert fewer.success, fewer.error
    names = {c.name for c in engine.list_containers(labels={"com.docker.compose.project": ours})}
    assert names == {f"{ours}-app-1", f"{ours}-sidecar-1", f"{ours}-worker-1"}
    assert {r.name for r in fewer.removed} == {f"{ours}-worker-2", f"{ours}-worker-3"}
    assert not fewer.orphans

    v2(theirs, folder, "down", "-v")
    assert manager.down(ours, volumes=True).success
