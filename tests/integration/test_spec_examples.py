"""The specification's usage examples 3, 4 and 5, run as written against the real engine.

Only what the examples need around them is added: ``context = None``, a build context
``./app`` with ``Dockerfile.prod`` made from the demo image, and containers named ``web``,
``db`` and ``cache`` (demo images) for the health example.
"""

from __future__ import annotations

import asyncio
import textwrap

import pytest

from infranb import InfrastructureManager, InfrastructureOperation
from tests.integration.conftest import BASE, WEB, fast_config

pytestmark = pytest.mark.usefixtures("demo_images")

EXAMPLE_3 = """
# Build custom image
build_op = InfrastructureOperation(
    operation="manage_images",
    image_params={
        "action": "build",
        "path": "./app",
        "tag": "myapp:v1.0.0",
        "dockerfile": "Dockerfile.prod"
    }
)

build_result = await manager.execute(build_op, context)

# Deploy built image
deploy_op = InfrastructureOperation(
    operation="orchestrate_containers",
    containers=[
        {
            "image": "myapp:v1.0.0",
            "name": "app-server",
            "ports": {"8000": "8000"}
        }
    ]
)

deploy_result = await manager.execute(deploy_op, context)
"""

EXAMPLE_4 = """
# Check health of running containers
health_op = InfrastructureOperation(
    operation="health_check",
    container_ids=["web", "db", "cache"]
)

result = await manager.execute(health_op, context)

for container, status in result.health_status.items():
    print(f"{container}: {status}")
    # web: healthy
    # db: healthy
    # cache: starting
"""

EXAMPLE_5 = """
# Clean up stopped containers and unused images
cleanup_op = InfrastructureOperation(
    operation="cleanup_resources",
    cleanup_stopped_containers=True,
    cleanup_unused_images=True,
    force_remove=False
)

result = await manager.execute(cleanup_op, context)
print(f"Removed {len(result.containers_removed)} containers")
print(f"Removed {len(result.images_removed)} images")
"""


def run_example(source: str, namespace: dict) -> dict:
    """Run example code with top-level ``await`` as a notebook cell would."""
    body = textwrap.indent(source, "    ")
    exec(f"async def __example():\n{body}\n    return locals()", namespace)
    return asyncio.run(namespace["__example"]())


def test_examples_3_4_5(engine, tracker, tmp_path, monkeypatch, uid, capsys) -> None:
    names = ["app-server", "web", "db", "cache"]
    held = [c.name for c in engine.list_containers(names=names)]
    if held or engine.image_id("myapp:v1.0.0"):
        pytest.skip(f"the examples' names are taken on this engine: {held or 'myapp:v1.0.0'}")
    tracker.containers += names
    tracker.images.append("myapp:v1.0.0")
    tracker.stacks.append(uid)
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "Dockerfile.prod").write_text(f"FROM {WEB}\n")
    monkeypatch.chdir(tmp_path)

    manager = InfrastructureManager(config=fast_config())
    namespace = {
        "InfrastructureOperation": InfrastructureOperation,
        "manager": manager,
        "context": None,
    }

    out = run_example(EXAMPLE_3, namespace)
    assert out["build_result"].success, out["build_result"].error
    assert out["build_result"].images_built == ["myapp:v1.0.0"]
    assert out["deploy_result"].success, out["deploy_result"].error
    assert out["deploy_result"].containers_started == ["app-server"]

    stack = manager.run(
        InfrastructureOperation(
            operation="orchestrate_containers",
            stack=uid,
            containers=[
                {"image": WEB, "name": "web"},
                {"image": WEB, "name": "db"},
                {"image": BASE, "name": "cache"},
            ],
        )
    )
    assert stack.success, stack.error
    out = run_example(EXAMPLE_4, namespace)
    assert out["result"].health_status == {"web": "healthy", "db": "healthy", "cache": "running"}
    assert "web: healthy" in capsys.readouterr().out

    engine.stop_container("app-server", 1)
    out = run_example(EXAMPLE_5, namespace)
    assert out["result"].success, out["result"].error
    assert "app-server" in out["result"].containers_removed
    assert "myapp:v1.0.0" in out["result"].images_removed
    assert engine.inspect_container("web").state == "running"  # running ones stay
    assert "Removed" in capsys.readouterr().out
    manager.close()
