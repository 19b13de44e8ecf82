"""README promises that need the real engine to be proved, each asserted as the README words it."""

from __future__ import annotations

import pytest

from infranb import InfrastructureOperation
from tests.conftest import raw_api
from tests.integration.conftest import BASE, teardown

pytestmark = pytest.mark.usefixtures("demo_images")


def test_auto_remove_containers_never_uses_the_engines_auto_remove(
    manager, engine, stack, uid
) -> None:
    """ "it never uses the engine's AutoRemove, which would destroy a crashed container's
    logs": the container infranb made says so in its own HostConfig."""
    result = manager.run(
        InfrastructureOperation(
            operation="orchestrate_containers",
            stack=stack,
            containers=[{"image": BASE, "name": f"{uid}-a"}],
        )
    )
    assert result.success, result.error
    assert manager.config.auto_remove_containers is True  # the default, under which it holds
    host_config = raw_api().inspect_container(f"{uid}-a")["HostConfig"]
    assert host_config["AutoRemove"] is False
    assert manager.run(teardown(stack)).success


def test_a_cleanup_dry_run_says_the_bytes_the_engine_would_free(
    manager, engine, tracker, tmp_path, uid
) -> None:
    """ "``dry_run=True`` lists what would go and the bytes it would free": the bytes are the
    engine's own size of the image, and nothing goes."""
    (tmp_path / "Dockerfile").write_text(f"FROM {BASE}\nRUN echo {uid} > /id\n")
    tag = f"infranb-test/{uid}:unused"
    tracker.images.append(tag)
    built = manager.run(
        InfrastructureOperation(
            operation="manage_images",
            image_params={"action": "build", "path": str(tmp_path), "tag": tag, "nocache": True},
        )
    )
    assert built.success, built.error
    size = engine.image_size(tag)
    plan = manager.run(
        InfrastructureOperation(
            operation="cleanup_resources", cleanup_unused_images=True, dry_run=True
        )
    )
    assert plan.success, plan.error
    rows = [r for r in plan.removed if r.kind == "image" and tag in r.name]
    assert [r.bytes_reclaimed for r in rows] == [size]
    assert plan.cleanup_summary["bytes_reclaimed"] >= size
    assert engine.image_id(tag) is not None  # a dry run touches nothing
