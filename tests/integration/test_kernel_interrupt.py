"""Interrupting ``manager.run(op)`` in a real Jupyter kernel rolls the bring-up back."""

from __future__ import annotations

import time

import pytest
from jupyter_client.manager import start_new_kernel

from infranb import InfrastructureManager
from infranb.engines.docker import DockerEngine
from tests.integration.conftest import BASE

pytestmark = pytest.mark.usefixtures("demo_images")


def test_interrupting_manager_run_in_a_kernel_rolls_back(engine: DockerEngine, uid: str) -> None:
    # db never turns healthy in time (its probe sleeps), so the run is still waiting when the
    # interrupt comes; api, worker and web were created and wait for it.
    code = f"""
from infranb import InfrastructureManager, InfrastructureManagerConfig, InfrastructureOperation
manager = InfrastructureManager(InfrastructureManagerConfig(stop_timeout=1.0))
slow = {{"test": ["CMD", "sleep", "60"], "interval": "30s", "timeout": "60s", "retries": 1}}
net = ["{uid}-net"]
op = InfrastructureOperation(operation="orchestrate_containers", stack="{uid}", containers=[
    {{"image": "{BASE}", "name": "{uid}-db", "healthcheck": slow, "networks": net,
      "volumes": {{"{uid}-data": "/data"}}}},
    {{"image": "{BASE}", "name": "{uid}-api", "depends_on": {{"{uid}-db": "healthy"}},
      "networks": net}},
    {{"image": "{BASE}", "name": "{uid}-worker", "depends_on": {{"{uid}-db": "healthy"}},
      "networks": net}},
    {{"image": "{BASE}", "name": "{uid}-web", "depends_on": ["{uid}-api"], "networks": net}},
])
manager.run(op)
"""
    kernel, client = start_new_kernel(kernel_name="python3")
    try:
        msg_id = client.execute(code)
        deadline = time.monotonic() + 60
        while len(engine.list_containers(labels={"infranb.stack": uid})) < 4:
            assert time.monotonic() < deadline, "the bring-up never created its containers"
            time.sleep(0.1)
        # Every container is created (a create starts nothing): wait for db's start.
        db = engine.inspect_container(f"{uid}-db")
        while db is not None and db.state == "created" and time.monotonic() < deadline:
            time.sleep(0.05)
            db = engine.inspect_container(f"{uid}-db")
        assert db is not None and db.state == "running"  # interrupted while waiting on db
        kernel.interrupt_kernel()
        while True:
            reply = client.get_shell_msg(timeout=120)
            if reply["parent_header"].get("msg_id") == msg_id:
                break
        assert reply["content"]["status"] == "error"
        assert reply["content"]["ename"] == "KeyboardInterrupt"
        # One sentence, not a traceback into threading.py: how long, what was rolled back.
        [sentence] = reply["content"]["traceback"]
        assert sentence.startswith("orchestrate_containers was cancelled after "), sentence
        assert "; rolled back: " in sentence, sentence
        # The cell ended only after the rollback: nothing of the run is left now.
        assert engine.list_containers(labels={"infranb.stack": uid}) == []
        assert engine.list_networks(labels={"infranb.stack": uid}) == []
        assert engine.list_volumes(labels={"infranb.stack": uid}) == []
    finally:
        client.stop_channels()
        kernel.shutdown_kernel(now=True)
        # A failed assertion above leaves the run's stack: take down this test's stack only.
        if engine.list_containers(labels={"infranb.stack": uid}):
            with InfrastructureManager() as manager:
                manager.down(uid, volumes=True)
