"""manage_images against the engine and the local registries (127.0.0.1:5000 / :5001)."""

from __future__ import annotations

import base64
import json

import pytest

from infranb import InfrastructureManager, InfrastructureOperation
from infranb.engines.docker import DockerEngine
from tests.conftest import raw_api
from tests.integration.conftest import (
    AUTH_REGISTRY,
    BASE,
    REGISTRY,
    Census,
    fast_config,
    registry_up,
)

pytestmark = pytest.mark.usefixtures("demo_images")
PASSWORD = "infranb-test-pass"  # the local test registry's password, see scripts/registry.sh


def images(**params) -> InfrastructureOperation:
    return InfrastructureOperation(operation="manage_images", image_params=params)


@pytest.fixture
def registry() -> str:
    if not registry_up(5000):
        pytest.fail("the local registry on 127.0.0.1:5000 is not running: scripts/registry.sh")
    return REGISTRY


def test_pull_from_local_registry_with_progress(manager, engine, tracker, registry) -> None:
    ref = f"{registry}/infranb-demo/web:1"
    tracker.images.append(ref)
    if engine.image_id(ref):
        engine.remove_image(ref)
    events = []
    result = manager.run(images(action="pull", image=ref), progress=events.append)
    assert result.success, result.error
    assert result.images_pulled == [ref]
    assert engine.image_id(ref) == engine.image_id("infranb-demo/web:1")
    assert result.images[0].size and result.images[0].size > 0
    assert any(e.kind == "pull" for e in events)


def test_pull_of_missing_image_reports_engine_message(manager, registry) -> None:
    result = manager.run(images(action="pull", image=f"{registry}/infranb-demo/absent:9"))
    assert not result.success
    assert "absent" in result.error and "not found" in result.error.lower()


def test_platform_reaches_the_engine(manager, engine, registry) -> None:
    """Pulling a manifest list for a platform it lacks fails with the engine's message (the
    engine pulls a single-platform image whatever platform is asked, so that proves nothing)."""
    ref = f"{registry}/infranb-demo/multiarch:1"
    before = Census.take(engine)
    result = manager.run(images(action="pull", image=ref, platform="linux/s390x"))
    assert not result.success
    assert "no matching manifest for linux/s390x" in result.error
    assert Census.take(engine) == before


@pytest.mark.parametrize(
    "params",
    [
        {"action": "remove", "image": BASE},
        {"action": "pull", "image": f"{REGISTRY}/infranb-demo/base:1"},
        {"action": "tag", "image": BASE, "tag": "inbt-dry/never:1"},
    ],
    ids=lambda p: p["action"],
)
def test_a_dry_run_touches_nothing_and_says_what_would_happen(manager, engine, params) -> None:
    before = Census.take(engine)
    op = InfrastructureOperation(operation="manage_images", image_params=params, dry_run=True)
    result = manager.run(op)
    assert result.success, result.error
    assert result.dry_run
    assert Census.take(engine) == before
    assert engine.image_id(BASE) is not None
    assert result.images_removed == result.images_pulled == []
    [row] = result.images
    assert row.action == params["action"]
    if params["action"] == "remove":
        assert row.image_id == engine.image_id(BASE) and row.size
        assert "would untag" in row.detail
    if params["action"] == "pull":
        assert "127.0.0.1:5000" in row.detail


def test_a_dry_run_of_a_build_reads_the_context_only(manager, engine, tmp_path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM infranb-demo/base:1\n")
    (tmp_path / "payload").write_bytes(b"x" * 1000)
    before = Census.take(engine)
    op = InfrastructureOperation(
        operation="manage_images",
        image_params={"action": "build", "path": str(tmp_path), "tag": "inbt-dry/build:1"},
        dry_run=True,
    )
    result = manager.run(op)
    assert result.success and result.dry_run
    assert result.images[0].size >= 1000
    assert result.images_built == []
    assert Census.take(engine) == before


def test_pull_when_registry_is_down(manager) -> None:
    result = manager.run(images(action="pull", image="127.0.0.1:5999/infranb-demo/base:1"))
    assert not result.success
    assert result.error == (
        "pulling 127.0.0.1:5999/infranb-demo/base:1: the image is not on the engine and its "
        "registry 127.0.0.1:5999 cannot be reached from the engine (connection refused); build "
        "or load the image, or use a registry the engine reaches"
    )


def test_a_missing_image_without_its_registry_names_both(
    manager, engine, tracker, stack, uid
) -> None:
    """Docker Hub is unreachable here: a stack naming a Hub image that is not local fails in
    one sentence naming the image and the registry, before anything is created."""
    before = Census.take(engine)
    op = InfrastructureOperation(
        operation="orchestrate_containers",
        stack=stack,
        containers=[
            {"image": f"infranb-absent/{uid}:1", "name": f"{uid}-x", "networks": [f"{uid}-net"]}
        ],
    )
    result = manager.run(op)
    assert not result.success
    assert result.error.startswith(
        f"pulling infranb-absent/{uid}:1: the image is not on the engine and its registry "
        "docker.io cannot be reached from the engine ("
    )
    assert "registry-1.docker.io" not in result.error and "\n" not in result.error
    assert Census.take(engine) == before


def test_credentials_from_docker_config(engine, tracker, tmp_path, monkeypatch, uid) -> None:
    if not registry_up(5001):
        pytest.fail("the auth registry on 127.0.0.1:5001 is not running: scripts/registry.sh")
    ref = f"{AUTH_REGISTRY}/infranb-demo/{uid}:1"
    tracker.images.append(ref)
    # Push a private image with the engine's own auth, then pull it back through infranb.
    raw_api().tag(BASE, f"{AUTH_REGISTRY}/infranb-demo/{uid}", "1")
    auth = {"username": "infranb", "password": PASSWORD}
    for line in raw_api().push(
        f"{AUTH_REGISTRY}/infranb-demo/{uid}", "1", auth_config=auth, stream=True, decode=True
    ):
        assert "error" not in line, line
    engine.remove_image(ref)

    denied_dir = tmp_path / "none"
    denied_dir.mkdir()
    monkeypatch.setenv("DOCKER_CONFIG", str(denied_dir))
    with InfrastructureManager(config=fast_config()) as anonymous:
        denied = anonymous.run(images(action="pull", image=ref))
    assert not denied.success
    assert "no basic auth credentials" in denied.error or "unauthorized" in denied.error

    config_dir = tmp_path / "docker"
    config_dir.mkdir()
    token = base64.b64encode(f"infranb:{PASSWORD}".encode()).decode()
    (config_dir / "config.json").write_text(json.dumps({"auths": {AUTH_REGISTRY: {"auth": token}}}))
    monkeypatch.setenv("DOCKER_CONFIG", str(config_dir))
    with InfrastructureManager(config=fast_config()) as authorised:
        pulled = authorised.run(images(action="pull", image=ref))
    assert pulled.success, pulled.error
    for text in (repr(pulled), pulled._repr_mimebundle_()["text/html"], str(pulled.to_frame())):
        assert PASSWORD not in text and token not in text


def test_build_tag_remove(manager, engine, tracker, tmp_path, uid) -> None:
    (tmp_path / "Dockerfile.prod").write_text(
        f"FROM {BASE}\nARG GREETING\nRUN echo built-$GREETING > /www/greeting\n"
    )
    tag = f"infranb-test/{uid}:1"
    tracker.images += [tag, f"infranb-test/{uid}:2"]
    events = []
    built = manager.run(
        images(
            action="build",
            path=str(tmp_path),
            tag=tag,
            dockerfile="Dockerfile.prod",
            buildargs={"GREETING": "hi"},
        ),
        progress=events.append,
    )
    assert built.success, built.error
    assert built.images_built == [tag]
    assert any(line.startswith("Step 3/") and "RUN echo" in line for line in built.build_logs)
    assert any(e.kind == "build" for e in events)
    image_id = engine.image_id(tag)
    assert image_id and built.images[0].image_id == image_id
    assert raw_api().inspect_image(tag)["Config"]["Labels"]["infranb.managed"] == "true"

    tagged = manager.run(images(action="tag", image=tag, tag=f"infranb-test/{uid}:2"))
    assert tagged.success and engine.image_id(f"infranb-test/{uid}:2") == image_id
    removed = manager.run(images(action="remove", image=f"infranb-test/{uid}:2"))
    assert removed.success and removed.images_removed == [f"infranb-test/{uid}:2"]
    assert engine.image_id(f"infranb-test/{uid}:2") is None


def test_failing_build_reports_the_step(manager, tmp_path, uid, tracker) -> None:
    (tmp_path / "Dockerfile").write_text(f"FROM {BASE}\nRUN echo about-to-fail && exit 7\n")
    tracker.images.append(f"infranb-test/{uid}:bad")
    result = manager.run(images(action="build", path=str(tmp_path), tag=f"infranb-test/{uid}:bad"))
    assert not result.success
    assert "returned a non-zero code: 7" in result.error
    assert any("about-to-fail" in line for line in result.build_logs)


def test_build_args_that_look_secret_are_masked(manager, tmp_path, uid, tracker) -> None:
    (tmp_path / "Dockerfile").write_text(f"FROM {BASE}\nARG API_TOKEN\nRUN echo $API_TOKEN\n")
    tracker.images.append(f"infranb-test/{uid}:s")
    result = manager.run(
        images(
            action="build",
            path=str(tmp_path),
            tag=f"infranb-test/{uid}:s",
            buildargs={"API_TOKEN": "tok-123456"},
        )
    )
    assert result.success, result.error
    assert "tok-123456" not in "\n".join(result.build_logs)


def test_engine_unavailable_is_one_sentence() -> None:
    with InfrastructureManager(engine=DockerEngine("unix:///nonexistent/docker.sock")) as m:
        result = m.run(images(action="pull", image="a:1"))
    assert not result.success
    assert result.error.startswith("No Docker engine answers at unix:///nonexistent/docker.sock")
    assert "Traceback" not in result.error


def test_push_uses_the_docker_config_credentials(
    engine, tracker, tmp_path, monkeypatch, uid, registry
) -> None:
    """Push through infranb to the open registry, then to the htpasswd one: refused without
    credentials, accepted with the Docker config's; the pushed image pulls back."""
    if not registry_up(5001):
        pytest.fail("the auth registry on 127.0.0.1:5001 is not running: scripts/registry.sh")
    token = base64.b64encode(f"infranb:{PASSWORD}".encode()).decode()
    config_dir = tmp_path / "docker"
    config_dir.mkdir()
    (config_dir / "config.json").write_text(json.dumps({"auths": {AUTH_REGISTRY: {"auth": token}}}))
    empty_dir = tmp_path / "none"
    empty_dir.mkdir()
    for target in (f"{REGISTRY}/infranb-test/{uid}:1", f"{AUTH_REGISTRY}/infranb-test/{uid}:1"):
        tracker.images.append(target)
        monkeypatch.setenv("DOCKER_CONFIG", str(empty_dir))
        with InfrastructureManager(config=fast_config()) as anonymous:
            assert anonymous.run(images(action="tag", image=BASE, tag=target)).success
            plan = anonymous.run(
                InfrastructureOperation(
                    operation="manage_images",
                    image_params={"action": "push", "image": target},
                    dry_run=True,
                )
            )
            assert plan.images[0].detail.startswith("would push")
            pushed = anonymous.run(images(action="push", image=target))
        if target.startswith(AUTH_REGISTRY):
            assert not pushed.success
            assert "no basic auth credentials" in pushed.error or "unauthorized" in pushed.error
            monkeypatch.setenv("DOCKER_CONFIG", str(config_dir))
            with InfrastructureManager(config=fast_config()) as authorised:
                pushed = authorised.run(images(action="push", image=target))
        assert pushed.success, pushed.error
        assert [i.action for i in pushed.images] == ["pushed"]
        for text in (repr(pushed), str(pushed), pushed._repr_mimebundle_()["text/html"]):
            assert PASSWORD not in text and token not in text
        engine.remove_image(target)
        with InfrastructureManager(config=fast_config()) as again:
            assert again.run(images(action="pull", image=target)).success  # it is in the registry
