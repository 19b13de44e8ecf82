"""``image_updates``: a newer image in the registry is found without a pull (issue 44),
against the local registries, the open one and the htpasswd one."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from infranb import InfrastructureManager, InfrastructureOperation
from infranb.engines.docker import DockerEngine
from tests.conftest import raw_api
from tests.integration.conftest import (
    AUTH_REGISTRY,
    BASE,
    REGISTRY,
    Tracker,
    fast_config,
    registry_up,
)

pytestmark = pytest.mark.usefixtures("demo_images")
PASSWORD = "infranb-test-pass"  # the local test registry's password, see scripts/registry.sh


def push(manager: InfrastructureManager, ref: str) -> None:
    pushed = manager.run(
        InfrastructureOperation(
            operation="manage_images", image_params={"action": "push", "image": ref}
        )
    )
    assert pushed.success, pushed.error


@pytest.mark.parametrize("where", [REGISTRY, AUTH_REGISTRY], ids=["open", "htpasswd"])
def test_a_newer_image_in_the_registry_is_found_without_a_pull(
    engine: DockerEngine,
    tracker: Tracker,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    uid: str,
    where: str,
) -> None:
    if not registry_up(int(where.rsplit(":", 1)[1])):
        pytest.fail(f"the registry on {where} is not running: scripts/registry.sh")
    # The credentials infranb's pulls and pushes use: the Docker config's.
    token = base64.b64encode(f"infranb:{PASSWORD}".encode()).decode()
    (tmp_path / "docker").mkdir()
    (tmp_path / "docker" / "config.json").write_text(
        json.dumps({"auths": {AUTH_REGISTRY: {"auth": token}}})
    )
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker"))
    ref = f"{where}/infranb-updates/{uid}:1"
    tracker.images.append(ref)
    name = f"{uid}-runs-v1"
    with InfrastructureManager(config=fast_config()) as manager:
        raw_api().tag(BASE, ref.rsplit(":", 1)[0], "1")
        push(manager, ref)  # v1
        made = raw_api().create_container(ref, ["sleep", "300"], name=name, stop_signal="KILL")
        tracker.containers.append(made["Id"])
        raw_api().start(made["Id"])

        current = manager.image_updates([name])
        assert list(current.container) == [name] and list(current.image) == [ref]
        assert current.newer.iloc[0] == False  # noqa: E712 (a pandas boolean)
        assert current.running_digest.iloc[0] == current.registry_digest.iloc[0]
        assert current.registry_digest.iloc[0].startswith("sha256:")

        # v2 under the same tag, pushed, then gone from this engine: it is not local.
        (tmp_path / "v2").mkdir()
        (tmp_path / "v2" / "Dockerfile").write_text(f"FROM {BASE}\nLABEL infranb.test.v=2\n")
        v2, _ = engine.build_image(str(tmp_path / "v2"), ref)
        tracker.images.append(v2)
        push(manager, ref)
        engine.remove_image(ref)
        before = {(i.id, i.tags) for i in engine.list_images()}

        behind = manager.image_updates(stack=None, names=[name])
        assert behind.newer.iloc[0] == True  # noqa: E712
        assert behind.registry_digest.iloc[0] != behind.running_digest.iloc[0]
        assert pd_na(behind.error.iloc[0])
        assert {(i.id, i.tags) for i in engine.list_images()} == before  # nothing pulled

        pulled = manager.run(
            InfrastructureOperation(
                operation="manage_images", image_params={"action": "pull", "image": ref}
            )
        )
        assert pulled.success and pulled.images[0].image_id == v2, pulled.error


def pd_na(value: object) -> bool:
    import pandas as pd

    return bool(pd.isna(value))


def test_an_image_built_here_or_a_registry_that_cannot_answer_is_na_never_a_raise(
    engine: DockerEngine, tracker: Tracker, tmp_path: Path, uid: str
) -> None:
    """A locally built image has no registry digest; a registry that is down is one
    sentence for its containers; the other rows are still there."""
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "Dockerfile").write_text(f"FROM {BASE}\nLABEL infranb.test.local=1\n")
    local = f"infranb-local/{uid}:1"
    tracker.images.append(local)
    engine.build_image(str(tmp_path / "app"), local)
    gone = f"127.0.0.1:5999/infranb-updates/{uid}:1"  # no registry listens there
    tracker.images.append(gone)
    raw_api().tag(BASE, gone.rsplit(":", 1)[0], "1")
    # BASE carries a registry digest (scripts/registry.sh pushed it), so this one is asked
    names = []
    for image, suffix in ((local, "local"), (gone, "gone")):
        made = raw_api().create_container(
            image, ["sleep", "300"], name=f"{uid}-{suffix}", stop_signal="KILL"
        )
        tracker.containers.append(made["Id"])
        raw_api().start(made["Id"])
        names.append(f"{uid}-{suffix}")
    with InfrastructureManager(config=fast_config()) as manager:
        rows = manager.image_updates(names).set_index("container")
    assert pd_na(rows.loc[f"{uid}-local", "newer"])
    assert "not from a registry" in rows.loc[f"{uid}-local", "error"]
    assert pd_na(rows.loc[f"{uid}-gone", "newer"])
    assert isinstance(rows.loc[f"{uid}-gone", "error"], str)


def test_an_always_rerun_recreates_onto_the_newer_image_and_only_then(
    engine: DockerEngine, tracker: Tracker, tmp_path: Path, uid: str, stack: str
) -> None:
    """``pull_policy: always`` re-runs pull; the plan recreates a container only when the
    registry has another image than the local one (asked first, without a pull)."""
    if not registry_up(5000):
        pytest.fail("the registry on 127.0.0.1:5000 is not running: scripts/registry.sh")
    ref = f"{REGISTRY}/infranb-updates/{uid}-always:1"
    tracker.images.append(ref)
    raw_api().tag(BASE, ref.rsplit(":", 1)[0], "1")
    request = InfrastructureOperation(
        operation="orchestrate_containers",
        stack=stack,
        containers=[
            {"name": f"{uid}-app", "image": ref, "pull_policy": "always",
             "command": ["sleep", "300"], "stop_signal": "SIGKILL"}
        ],
    )  # fmt: skip
    with InfrastructureManager(config=fast_config()) as manager:
        push(manager, ref)
        first = manager.run(request)
        assert first.success, first.error
        again = manager.run(request)
        assert again.success and [s.action for s in again.plan] == ["unchanged"], again.error
        # v2 pushed under the tag; the local tag goes back to v1, as on a host that has
        # not pulled since
        (tmp_path / "v2").mkdir()
        (tmp_path / "v2" / "Dockerfile").write_text(f"FROM {BASE}\nLABEL infranb.test.v=2\n")
        v2, _ = engine.build_image(str(tmp_path / "v2"), ref)
        tracker.images.append(v2)
        push(manager, ref)
        raw_api().tag(BASE, ref.rsplit(":", 1)[0], "1")
        plan = manager.run(InfrastructureOperation(**{**vars(request), "dry_run": True}))
        (step,) = plan.plan
        assert step.action == "recreate" and "registry has a newer one" in step.reason, step
        updated = manager.run(request)
        assert updated.success, updated.error
        assert [s.action for s in updated.plan] == ["recreate"]
        running = engine.inspect_container(f"{uid}-app")
        assert running is not None and running.image_id == v2
