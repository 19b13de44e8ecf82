"""deploy_stack on a real two-node swarm (two engines, each in its own network namespace).

The lab (``tests/swarm_lab.py``) is started once for this module and stopped by pid at the
end; the last test proves the host was left as found.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

from infranb import InfrastructureManager, InfrastructureOperation
from infranb.core.errors import NotSwarmManager
from infranb.core.records import ProgressEvent
from tests.integration.conftest import fast_config
from tests.swarm_lab import BASE, BRIDGE, REGISTRY, WEB, SwarmLab

pytestmark = pytest.mark.usefixtures("demo_images")


@pytest.fixture
def lab(swarm_lab: SwarmLab) -> SwarmLab:
    return swarm_lab


@pytest.fixture
def smanager(lab: SwarmLab) -> Iterator[InfrastructureManager]:
    config = fast_config(docker_host=lab.manager.host, container_start_timeout=60.0)
    with InfrastructureManager(config=config) as m:
        yield m


def census(lab: SwarmLab) -> dict[str, list[str]]:
    """Services, networks and task containers on both nodes."""
    manager = lab.manager
    return {
        "services": sorted(manager.docker("service", "ls", "-q").stdout.decode().split()),
        "networks": sorted(manager.docker("network", "ls", "-q").stdout.decode().split()),
        "containers": sorted(
            c for node in lab.nodes for c in node.docker("ps", "-aq").stdout.decode().split()
        ),
    }


def shop(stack: str, api: dict[str, Any] | None = None) -> InfrastructureOperation:
    """db (healthchecked, on the manager) and api (4 replicas spread over the nodes)."""
    return InfrastructureOperation(
        operation="deploy_stack",
        stack=stack,
        containers=[
            {
                "name": "db",
                "image": WEB,
                "networks": [f"{stack}-net"],
                "environment": {"DB_PASSWORD": "pw-never-shown"},
                "deploy": {
                    "replicas": 1,
                    "placement": {"constraints": ["node.role==manager"]},
                    "endpoint_mode": "dnsrr",
                },
            },
            {
                "name": "api",
                "image": BASE,
                "depends_on": {"db": "healthy"},
                "networks": [f"{stack}-net"],
                "environment": {"VERSION": "1"},
                "deploy": {
                    "replicas": 4,
                    "placement": {"preferences": [{"spread": "node.id"}]},
                    "update_config": {
                        "parallelism": 1,
                        "delay": "0.2s",
                        "failure_action": "rollback",
                        "monitor": "2s",
                        "order": "start-first",
                    },
                    "resources": {"limits": {"cpus": "0.5", "memory": "64M"}},
                    "endpoint_mode": "dnsrr",
                },
                **(api or {}),
            },
        ],
    )


def service(lab: SwarmLab, name: str) -> dict[str, Any]:
    out = lab.manager.docker("service", "inspect", name)
    assert out.returncode == 0, out.stderr
    return dict(json.loads(out.stdout)[0])


def test_waves_spread_rerun_rolling_update_rollback_and_teardown(
    lab: SwarmLab, smanager: InfrastructureManager
) -> None:
    stack = f"inbs{uuid.uuid4().hex[:6]}"
    events: list[ProgressEvent] = []
    before = census(lab)

    result = smanager.run(shop(stack), progress=events.append)
    assert result.success, result.error
    frame = result.to_frame().set_index("service")
    assert frame.loc["api", "replicas_running"] == 4 and frame.loc["db", "replicas_running"] == 1
    # Wave order: api was created only after db converged (healthy), as the engine saw it.
    db_running = min(
        t["Status"]["Timestamp"]
        for t in json.loads(lab.manager.docker("inspect", *_tasks(lab, f"{stack}_db")).stdout)
    )
    assert service(lab, f"{stack}_api")["CreatedAt"] > db_running
    # `docker stack` sees it: the namespace label docker stack deploy sets.
    listed = lab.manager.docker("stack", "services", "--format", "{{.Name}}", stack)
    assert set(listed.stdout.decode().split()) == {f"{stack}_api", f"{stack}_db"}, listed.stderr
    assert smanager.stacks().set_index("stack").loc[stack, "source"] == "swarm"
    order = [(e.kind, e.resource) for e in events if e.kind.startswith("service_")]
    assert order.index(("service_converged", "db")) < order.index(("service_creating", "api"))
    # Spread: api runs on both nodes.
    assert len(frame.loc["api", "nodes"].split(", ")) == 2
    # Overlay networking across nodes: every api task reaches db by its service name.
    for node in lab.nodes:
        for cid in node.docker("ps", "-q", "--filter", f"name={stack}_api").stdout.split():
            probe = node.docker("exec", cid.decode(), "sh", "-c", "timeout 5 wget -qO- http://db/")
            assert probe.stdout.decode().strip() == "ok", (node.index, probe)
    # Secrets stay out of every text form.
    assert "pw-never-shown" not in str(result) + repr(result) + result.to_frame().to_string()

    again = smanager.run(shop(stack))
    assert again.success and set(again.to_frame()["action"]) == {"unchanged"}

    updated = smanager.run(shop(stack, {"environment": {"VERSION": "2"}}))
    assert updated.success, updated.error
    row = updated.to_frame().set_index("service").loc["api"]
    assert (row["action"], row["changed"], row["replicas_running"]) == (
        "update",
        "environment.VERSION",
        4,
    )
    assert (
        "VERSION=2" in service(lab, f"{stack}_api")["Spec"]["TaskTemplate"]["ContainerSpec"]["Env"]
    )

    broken = smanager.run(shop(stack, {"environment": {"VERSION": "3"}, "command": "exit 3"}))
    assert not broken.success and broken.rolled_back
    assert "rolled it back" in (broken.error or "") and "non-zero exit (3)" in (broken.error or "")
    spec = service(lab, f"{stack}_api")["Spec"]["TaskTemplate"]["ContainerSpec"]
    assert "VERSION=2" in spec["Env"] and "Args" not in spec

    down = smanager.down(stack)
    assert down.success, down.error
    assert {r.kind for r in down.removed} == {"service", "network"}
    assert census(lab)["services"] == before["services"]
    assert census(lab)["networks"] == before["networks"]


def _tasks(lab: SwarmLab, name: str) -> list[str]:
    return lab.manager.docker("service", "ps", "-q", name).stdout.decode().split()


def test_a_failed_first_deploy_leaves_nothing(
    lab: SwarmLab, smanager: InfrastructureManager
) -> None:
    stack = f"inbs{uuid.uuid4().hex[:6]}"
    before = census(lab)
    op = shop(stack, {"image": f"{REGISTRY}/infranb-demo/missing:1"})
    result = smanager.run(op)
    assert not result.success and result.rolled_back
    assert "api" in (result.error or "") and "missing" in (result.error or "")
    after = census(lab)
    assert after["services"] == before["services"]
    assert after["networks"] == before["networks"]


def test_a_secret_file_is_readable_in_every_task_and_shown_nowhere(
    lab: SwarmLab, smanager: InfrastructureManager, tmp_path: Path
) -> None:
    stack = f"inbs{uuid.uuid4().hex[:6]}"
    token = tmp_path / "api_token.txt"
    token.write_text("swarm-secret-value-7")
    op = InfrastructureOperation(
        operation="deploy_stack",
        stack=stack,
        containers=[
            {
                "name": "api",
                "image": BASE,
                "secrets": [{"file": str(token)}],
                "deploy": {"replicas": 2, "placement": {"max_replicas_per_node": 1}},
            }
        ],
    )
    result = smanager.run(op)
    assert result.success, result.error
    for node in lab.nodes:
        (cid,) = node.docker("ps", "-q", "--filter", f"name={stack}_api").stdout.split()
        read = node.docker("exec", cid.decode(), "cat", "/run/secrets/api_token")
        assert read.stdout.decode() == "swarm-secret-value-7"
    shown = str(result) + repr(result) + result.to_frame().to_string()
    shown += smanager.services(stack=stack).to_string() + smanager.tasks(stack=stack).to_string()
    assert "swarm-secret-value-7" not in shown
    down = smanager.down(stack)
    assert sorted(r.kind for r in down.removed) == ["network", "secret", "service"]
    secrets = lab.manager.docker("secret", "ls", "--format", "{{.Name}}").stdout.decode()
    assert stack not in secrets


def test_a_cancelled_deploy_removes_what_it_created(lab: SwarmLab) -> None:
    stack = f"inbs{uuid.uuid4().hex[:6]}"
    before = census(lab)
    # db never turns healthy, so api waits for it: cancel while the run waits.
    op = shop(stack)
    op.containers[0]["healthcheck"] = {"test": ["CMD", "false"], "interval": "30s"}

    async def scenario() -> None:
        config = fast_config(docker_host=lab.manager.host, container_start_timeout=60.0)
        with InfrastructureManager(config=config) as manager:
            task = asyncio.ensure_future(manager.execute(op))
            for _ in range(200):
                await asyncio.sleep(0.1)
                if f"{stack}_db".encode() in lab.manager.docker("service", "ls").stdout:
                    break
            else:
                raise AssertionError("db was never created")
            await asyncio.sleep(0.5)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    asyncio.run(scenario())
    after = census(lab)
    assert after["services"] == before["services"]
    assert after["networks"] == before["networks"]


def test_a_service_no_node_can_take_fails_after_the_timeout_naming_why(lab: SwarmLab) -> None:
    stack = f"inbs{uuid.uuid4().hex[:6]}"
    before = census(lab)
    op = InfrastructureOperation(
        operation="deploy_stack",
        stack=stack,
        containers=[
            {
                "name": "pinned",
                "image": BASE,
                "deploy": {"placement": {"constraints": ["node.labels.inbs-none==yes"]}},
            }
        ],
    )
    config = fast_config(docker_host=lab.manager.host, container_start_timeout=4.0)
    with InfrastructureManager(config=config) as manager:
        result = manager.run(op)
    assert not result.success and result.rolled_back
    assert "did not converge in 4s (0/1 tasks running)" in (result.error or "")
    assert "no suitable node" in (result.error or "")
    after = census(lab)
    assert (after["services"], after["networks"]) == (before["services"], before["networks"])


def test_a_dry_run_touches_nothing(lab: SwarmLab, smanager: InfrastructureManager) -> None:
    stack = f"inbs{uuid.uuid4().hex[:6]}"
    before = census(lab)
    op = shop(stack)
    op.dry_run = True
    plan = smanager.run(op)
    assert plan.success and plan.dry_run
    assert list(plan.to_frame()["action"]) == ["create", "create"]
    assert census(lab) == before


def test_an_engine_that_is_not_a_manager_gets_one_sentence(manager: InfrastructureManager) -> None:
    result = manager.run(shop("inbs-nomanager"))
    assert not result.success and isinstance(result.exception, NotSwarmManager)
    assert "docker swarm init" in (result.error or "")
    op = shop("inbs-nomanager")
    op.dry_run = True
    plan = manager.run(op)
    assert plan.success and len(plan.to_frame()) == 2
    assert any("not a swarm manager" in w for w in plan.warnings)


def test_the_swarm_notebook_deploys_updates_and_tears_down_on_a_real_swarm(
    lab: SwarmLab, tmp_path: Path
) -> None:
    before = census(lab)
    path = Path(__file__).parents[2] / "notebooks" / "10-swarm.ipynb"
    nb = nbformat.read(path, as_version=4)
    env = {
        **os.environ,
        "INFRANB_SWARM_HOST": lab.manager.host,
        "INFRANB_SWARM_REGISTRY": f"{REGISTRY}/",
        "HOME": str(tmp_path),  # its journal stays in this test
    }
    client = NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    client.execute(env=env)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "".join(o.get("text", "") + o.get("data", {}).get("text/plain", "") for o in outputs)
    assert "swarm role of this engine: manager" in text
    assert "failed update rolled back: True" in text
    assert "demo-only-password" not in text
    assert census(lab)["services"] == before["services"]
    assert census(lab)["networks"] == before["networks"]


def test_infranbs_own_rollback_of_a_paused_update_on_a_real_swarm(
    lab: SwarmLab, smanager: InfrastructureManager
) -> None:
    """With ``failure_action: pause`` Swarm leaves a failed update paused; infranb puts the
    previous spec back itself, and the service runs it again on the real swarm."""
    stack = f"inbs{uuid.uuid4().hex[:6]}"
    before = census(lab)

    def request(**api: Any) -> InfrastructureOperation:
        return InfrastructureOperation(
            operation="deploy_stack",
            stack=stack,
            containers=[
                {
                    "name": "api",
                    "image": BASE,
                    "environment": {"VERSION": "1"},
                    "deploy": {
                        "replicas": 2,
                        "update_config": {"failure_action": "pause", "monitor": "1s"},
                        "endpoint_mode": "dnsrr",
                    },
                    **api,
                }
            ],
        )

    try:
        assert smanager.run(request()).success
        failed = smanager.run(request(command=["sh", "-c", "exit 3"]))
        assert not failed.success
        assert failed.rolled_back, failed.error
        assert f"restored the previous spec of {stack}_api" in (failed.error or "")
        service = json.loads(
            lab.manager.docker("service", "inspect", f"{stack}_api").stdout.decode()
        )[0]
        assert "Args" not in service["Spec"]["TaskTemplate"]["ContainerSpec"]
        # Swarm converges on the restored spec by itself: two tasks run it again.
        deadline = time.monotonic() + 60
        while True:
            tasks = smanager.tasks(stack=stack)
            wanted = tasks[(tasks["state"] == "running") & (tasks["desired_state"] == "running")]
            if len(wanted) == 2 or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert len(wanted) == 2, tasks.to_string()
    finally:
        assert smanager.down(stack).success
    after = census(lab)  # task containers go a moment after their service
    assert (after["services"], after["networks"]) == (before["services"], before["networks"])


def test_the_swarm_lab_leaves_the_host_as_found(lab: SwarmLab) -> None:
    lab.stop()
    assert all(n.process is None or n.process.poll() is not None for n in lab.nodes)
    namespaces = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert "inbs-" not in namespaces
    links = subprocess.run(["ip", "link", "show", BRIDGE], capture_output=True)
    assert links.returncode != 0
    rules = subprocess.run(["iptables", "-S", "FORWARD"], capture_output=True, text=True).stdout
    assert BRIDGE not in rules
