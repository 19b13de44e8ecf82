from __future__ import annotations

import pytest

from infranb import InfrastructureManagerConfig, InfrastructureOperation


def problems(**kwargs) -> list[str]:
    return InfrastructureOperation(**kwargs).validate()


def test_valid_requests_have_no_problems(tmp_path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    assert problems(operation="health_check", container_ids=["web"]) == []
    assert problems(operation="cleanup_resources", cleanup_stopped_containers=True) == []
    assert (
        problems(operation="manage_images", image_params={"action": "pull", "image": "a:1"}) == []
    )
    assert (
        problems(
            operation="manage_images",
            image_params={"action": "build", "path": str(tmp_path), "tag": "t:1"},
        )
        == []
    )
    assert (
        problems(operation="orchestrate_containers", containers=[{"image": "a", "name": "web"}])
        == []
    )


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"operation": "deploy"}, "operation"),
        ({"operation": "orchestrate_container"}, "orchestrate_containers"),
        ({"operation": "orchestrate_containers"}, "containers"),
        ({"operation": "orchestrate_containers", "containers": [{"name": "ab"}]}, "image"),
        ({"operation": "manage_images", "image_params": {"action": "pull"}}, "image_params.image"),
        ({"operation": "manage_images", "image_params": {}}, "image_params"),
        ({"operation": "manage_images", "image_params": {"action": "zap"}}, "image_params.action"),
        (
            {
                "operation": "manage_images",
                "image_params": {"action": "build", "path": "/nonexistent", "tag": "t"},
            },
            "image_params.path",
        ),
        ({"operation": "cleanup_resources"}, "cleanup_stopped_containers"),
        ({"operation": "health_check"}, "container_ids"),
        ({"operation": "health_check", "container_ids": [""]}, "container_ids[0]"),
        (
            {"operation": "cleanup_resources", "cleanup_unused_images": True, "scope": "host"},
            "scope",
        ),
        (
            {"operation": "cleanup_resources", "cleanup_unused_images": True, "stack": "a b"},
            "stack",
        ),
        (
            {
                "operation": "orchestrate_containers",
                "containers": [{"image": "a", "name": "ab", "privileged": True}],
            },
            "privileged",
        ),
        (
            {
                "operation": "orchestrate_containers",
                "containers": [{"image": "a", "name": "ab", "volumes": {"/": "/host"}}],
            },
            "allow_sensitive_mounts",
        ),
        (
            {
                "operation": "orchestrate_containers",
                "containers": [
                    {"image": "a", "name": "ab", "depends_on": ["cd"]},
                    {"image": "a", "name": "cd", "depends_on": ["ab"]},
                ],
            },
            "cycle",
        ),
    ],
)
def test_each_problem_names_its_field(kwargs: dict, field: str) -> None:
    found = problems(**kwargs)
    assert found, kwargs
    assert any(field in p for p in found), found


def test_sensitive_mounts_allowed_by_opt_in() -> None:
    op = InfrastructureOperation(
        operation="orchestrate_containers",
        containers=[{"image": "a", "name": "ab", "volumes": {"/etc": "/host-etc:ro"}}],
    )
    assert op.validate()
    assert op.validate(InfrastructureManagerConfig(allow_sensitive_mounts=True)) == []
    op.allow_sensitive_mounts = True
    assert op.validate() == []


def test_config_validation() -> None:
    assert InfrastructureManagerConfig().validate() == []
    found = InfrastructureManagerConfig(max_parallel=0, default_stack="a b").validate()
    assert any("max_parallel" in p for p in found)
    assert any("default_stack" in p for p in found)
