"""Podman as an engine: the same runbooks against a real ``podman system service`` of this
test session (tests/engines.py), named as Podman, with health gates that work although
Podman runs no health checks by itself here (no systemd session)."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from infranb import Fleet, InfrastructureManager, InfrastructureOperation
from infranb.core.errors import NotSwarmManager
from infranb.core.swarm import NO_SWARM
from infranb.engines.base import Engine
from infranb.manager import down_operation
from tests.conftest import Census
from tests.engines import PodmanService
from tests.integration.conftest import BASE, fast_config


@pytest.fixture
def stack() -> str:
    return f"inbt-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def on_podman(
    podman: Engine, podman_service: PodmanService, stack: str
) -> Iterator[InfrastructureManager]:
    """A manager of the Podman service; the test must leave Podman as it found it (its
    stacks are taken down here whatever happened, then counted)."""
    before = Census.take(podman)
    with InfrastructureManager(fast_config(docker_host=podman_service.host)) as manager:
        try:
            yield manager
        finally:
            for name in (stack, f"{stack}-2"):
                manager.run(down_operation(name, volumes=True))
    left = Census.take(podman).new_since(before)
    assert not left, f"the test left resources on Podman: {left}"


def gated_stack(stack: str, interval: str = "300ms") -> InfrastructureOperation:
    """db with a healthcheck, web that waits for it to be healthy, one network and volume."""
    return InfrastructureOperation(
        operation="orchestrate_containers",
        stack=stack,
        containers=[
            {
                "image": BASE,
                "name": f"{stack}-db",
                "command": ["sleep", "300"],
                "networks": [f"{stack}-net"],
                "volumes": {f"{stack}-data": "/data"},
                "healthcheck": {"test": ["CMD", "true"], "interval": interval, "retries": 2},
            },
            {
                "image": BASE,
                "name": f"{stack}-web",
                "command": ["sleep", "300"],
                "networks": [f"{stack}-net"],
                "depends_on": {f"{stack}-db": "healthy"},
            },
        ],
    )


def test_a_health_gated_stack_comes_up_reruns_unchanged_and_goes_down(
    on_podman: InfrastructureManager, podman: Engine, stack: str
) -> None:
    manager = on_podman
    before = Census.take(podman)
    result = manager.run(gated_stack(stack))
    assert result.success, result.error
    db = podman.inspect_container(f"{stack}-db")
    assert db is not None and db.health == "healthy"  # infranb ran the check
    assert manager.info().kind == "podman"
    assert "Podman 4" in str(manager) and "kind='podman'" in repr(manager)

    # Service-name DNS on the stack's network (netavark with aardvark-dns).
    code, output = podman.exec_in(f"{stack}-web", ["nslookup", f"{stack}-db"])
    assert code == 0, output

    again = manager.run(gated_stack(stack))
    assert again.success, again.error
    assert {c.action for c in again.containers} == {"unchanged"}
    assert manager.drift(stack).empty  # Podman's defaults are read as Docker reports them

    down = manager.run(down_operation(stack, volumes=True))
    assert down.success, down.error
    assert Census.take(podman).new_since(before) == {}


def test_health_check_runs_each_check_once_before_reading_it(
    on_podman: InfrastructureManager, podman: Engine, stack: str
) -> None:
    """A check with an hour's interval: nothing on this host would ever run it."""
    from infranb.core.specs import parse_container

    name = f"{stack}-slow"
    spec = parse_container(
        {"image": BASE, "name": name, "command": ["sleep", "300"],
         "healthcheck": {"test": ["CMD", "true"], "interval": "1h"}},
        0,
    )  # fmt: skip
    podman.create_container(spec, {}, {"inbt": stack}, ["bridge"])
    try:
        podman.start_container(name)
        assert (podman.inspect_container(name) or pytest.fail()).health == "starting"
        result = manager_health(on_podman, name)
        assert result.success, result.error
        assert [h.status for h in result.health] == ["healthy"]
    finally:
        podman.remove_container(name, force=True)


def manager_health(manager: InfrastructureManager, name: str):  # type: ignore[no-untyped-def]
    return manager.run(InfrastructureOperation(operation="health_check", container_ids=[name]))


def test_a_failing_check_fails_the_run_and_rolls_back(
    on_podman: InfrastructureManager, podman: Engine, stack: str
) -> None:
    before = Census.take(podman)
    op = gated_stack(stack)
    op.containers[0]["healthcheck"] = {"test": ["CMD", "false"], "interval": "200ms", "retries": 2}
    result = on_podman.run(op)
    assert not result.success and result.rolled_back
    assert f"container {stack}-db is unhealthy" in (result.error or "")
    assert Census.take(podman).new_since(before) == {}


def test_cancelling_a_bring_up_rolls_back_on_podman(
    on_podman: InfrastructureManager, podman: Engine, stack: str
) -> None:
    before = Census.take(podman)

    async def scenario() -> None:
        task = asyncio.ensure_future(on_podman.execute(gated_stack(stack, interval="30s")))
        for _ in range(400):  # until db runs and the bring-up waits for its first check
            await asyncio.sleep(0.05)
            db = podman.inspect_container(f"{stack}-db")
            if db is not None and db.state == "running":
                break
        assert db is not None and db.health == "starting" and not task.done()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(scenario())
    assert Census.take(podman).new_since(before) == {}


def test_a_taken_port_short_names_and_swarm_say_what_podman_does(
    on_podman: InfrastructureManager, podman: Engine, stack: str
) -> None:
    # Images loaded locally are localhost/NAME:TAG on Podman; the name as typed finds them.
    tags = {t for image in podman.list_images() for t in image.tags}
    assert BASE in tags and podman.image_id(BASE) is not None

    with pytest.raises(NotSwarmManager, match="Podman has no Swarm"):
        on_podman.services()
    plan = on_podman.run(
        InfrastructureOperation(
            operation="deploy_stack", stack=stack, dry_run=True,
            containers=[{"image": BASE, "name": "web"}],
        )
    )  # fmt: skip
    assert NO_SWARM in " ".join(plan.warnings)

    # A host port a process holds: refused before anything is made, as on Docker.
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        port = holder.getsockname()[1]
        clash = on_podman.run(
            InfrastructureOperation(
                operation="orchestrate_containers", stack=stack,
                containers=[{"image": BASE, "name": f"{stack}-a", "command": ["sleep", "300"],
                             "ports": [f"127.0.0.1:{port}:80"]}],
            )
        )  # fmt: skip
    assert not clash.success
    assert f"port 127.0.0.1:{port}/tcp is already in use" in (clash.error or ""), clash.error


def test_exploring_a_podman_host(on_podman: InfrastructureManager, stack: str) -> None:
    """The views read Podman in Docker's words; an update in place is one sentence."""
    from infranb import EngineError

    up = on_podman.run(
        InfrastructureOperation(
            operation="orchestrate_containers", stack=stack,
            containers=[{"image": BASE, "name": f"{stack}-a", "command": ["sleep", "300"]}],
        )
    )  # fmt: skip
    assert up.success, up.error
    events = on_podman.events(since="2m", filters={"container": f"{stack}-a"})
    assert {"create", "start"} <= set(events.action)
    assert any("sleep 300" in c for c in on_podman.top(f"{stack}-a").command)
    disk = on_podman.disk_usage()
    assert BASE in " ".join(disk[disk.kind == "image"].name)
    assert f"{stack}-a" in set(on_podman.restarts(stack=stack).name)
    refused = on_podman.update(f"{stack}-a", restart="always")
    assert isinstance(refused.exception, EngineError)
    assert "Podman does not change a container's restart" in str(refused.error)


def test_a_fleet_of_docker_and_podman_side_by_side(
    podman: Engine, podman_service: PodmanService, engine: Engine, stack: str
) -> None:
    before = {"docker": Census.take(engine), "podman": Census.take(podman)}
    fleet = Fleet(
        {"local": "unix:///var/run/docker.sock", "pod": podman_service.host},
        config=fast_config(),
    )
    try:
        engines = fleet.engines().set_index("engine")
        assert engines.loc["local", "kind"] == "docker"
        assert engines.loc["pod", "kind"] == "podman"
        results = fleet.run(gated_stack(stack))
        assert results.success, {n: r.error for n, r in results.items()}
        frame = results.to_frame()
        assert sorted(set(frame["engine"])) == ["local", "pod"]
        running = fleet.containers(stack=stack)
        assert sorted(zip(running["engine"], running["name"], strict=True)) == [
            ("local", f"{stack}-db"), ("local", f"{stack}-web"),
            ("pod", f"{stack}-db"), ("pod", f"{stack}-web"),
        ]  # fmt: skip
        health = fleet.health([f"{stack}-db"]).set_index("engine")
        assert health["status"].tolist() == ["healthy", "healthy"]
    finally:
        down = fleet.run(down_operation(stack, volumes=True))
        fleet.close()
    assert down.success
    assert Census.take(engine).new_since(before["docker"]) == {}
    assert Census.take(podman).new_since(before["podman"]) == {}


def test_notebook_09_adds_the_podman_engine_that_answers(
    podman: Engine, podman_service: PodmanService, engine: Engine, stack: str, tmp_path
) -> None:
    """The fleet notebook, run as the main job runs notebooks (papermill), with the Podman
    service of this session at its PODMAN_HOST parameter: Podman joins, and the notebook
    brings its stack up and down on both engines."""
    import json
    import subprocess
    from pathlib import Path

    before = {"docker": Census.take(engine), "podman": Census.take(podman)}
    repo = Path(__file__).parents[2]
    out = tmp_path / "09.ipynb"
    run = subprocess.run(
        [str(repo / ".venv/bin/papermill"), "notebooks/09-fleet.ipynb", str(out),
         "--cwd", "notebooks", "--kernel", "python3", "--log-level", "WARNING",
         "-p", "STACK", stack, "-p", "PODMAN_HOST", podman_service.host],
        cwd=repo, capture_output=True, text=True, timeout=280,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    cells = json.loads(out.read_text())["cells"]
    printed = "".join(
        "".join(o.get("text", "")) for c in cells if c["cell_type"] == "code" for o in c["outputs"]
    )
    assert "adding Podman 4" in printed and "as 'podman'" in printed, printed[:2000]
    assert "'podman': [" in printed  # the teardown cell's removals, per engine
    assert Census.take(engine).new_since(before["docker"]) == {}
    assert Census.take(podman).new_since(before["podman"]) == {}


def test_a_start_first_swap_on_podman(
    on_podman: InfrastructureManager, podman: Engine, stack: str
) -> None:
    """The swap's engine calls work on Podman 4.3: the replacement ends under the name with
    the service's alias, the old one is gone. (What clients then reach is not asserted: here
    Podman's DNS often loses a replaced container's names, in either order and with the code
    before start-first too; docs/podman.md.)"""
    from tests.integration.test_start_first import request

    def op(version: str) -> InfrastructureOperation:
        base = request(stack, stack, version)
        return InfrastructureOperation(
            operation="orchestrate_containers",
            stack=stack,
            containers=[{**c, "image": BASE} for c in base.containers],  # busybox has httpd
        )

    first = on_podman.run(op("v1"))
    assert first.success, first.error
    old = podman.inspect_container(f"{stack}-web")
    update = on_podman.run(op("v2"))
    assert update.success, update.error
    web = next(s for s in update.plan if s.name == f"{stack}-web")
    assert web.order == "start-first", web
    assert [m for m, _ in update.containers[0].timeline][-2:] == ["swapped", "ready"]
    new = podman.inspect_container(f"{stack}-web")
    assert old is not None and new is not None and new.id != old.id and new.state == "running"
    assert podman.inspect_container(old.id) is None
    config = podman.container_config(new.id)
    assert config is not None and "api" in config.networks[f"{stack}-net"]
    assert new.environment["VERSION"] == "v2"


def test_a_volume_is_backed_up_and_restored_on_podman(
    on_podman: InfrastructureManager, stack: str, tmp_path: Path
) -> None:
    """Podman's archive endpoints carry the bytes both ways; they drop owners (every file
    reads and lands as the container's user), which the result says."""
    assert on_podman.run(gated_stack(stack)).success
    (tmp_path / "rows").write_text("one\ntwo\n")
    assert on_podman.copy_to(f"{stack}-db", tmp_path / "rows", "/data/rows").success
    taken = on_podman.backup(stack=stack, to=tmp_path / "backups")
    assert taken.success, taken.error
    assert taken.archives[0].quiesced == (f"{stack}-db",)
    assert any("owned by the container's user" in w for w in taken.warnings)
    restored = on_podman.restore(taken.archives[0].archive, volume=f"{stack}-copy")
    assert restored.success, restored.error
    assert restored.archives[0].verified is True
    assert on_podman.containers().query(f"name == '{stack}-db'")["state"].tolist() == ["running"]


def test_a_restore_replaces_a_volume_its_container_uses_on_podman(
    on_podman: InfrastructureManager, stack: str, tmp_path: Path
) -> None:
    """replace=True on Podman: the container that uses the volume is removed and made again
    from its inspect around the restore, and runs on the restored data."""
    assert on_podman.run(gated_stack(stack)).success
    (tmp_path / "rows").write_text("before\n")
    assert on_podman.copy_to(f"{stack}-db", tmp_path / "rows", "/data/rows").success
    archive = on_podman.backup(f"{stack}-data", to=tmp_path / "b").archives[0].archive
    (tmp_path / "rows").write_text("after\n")
    assert on_podman.copy_to(f"{stack}-db", tmp_path / "rows", "/data/rows").success
    result = on_podman.restore(archive, replace=True)
    assert result.success, result.error
    assert list(on_podman.exec(f"{stack}-db", ["cat", "/data/rows"])["line"]) == ["before"]


def test_heal_runs_podmans_checks_itself_and_restarts_what_fails(
    on_podman: InfrastructureManager, stack: str
) -> None:
    """Podman runs no check by itself here: heal runs it before it reads the health, then
    restarts the unhealthy container and runs its checks until it is healthy again."""
    serve = "trap 'exit 143' TERM; rm -f /tmp/flag; while :; do sleep 0.2 & wait $!; done"
    check = ["CMD-SHELL", "if [ -f /tmp/flag ]; then echo flagged; exit 1; fi"]
    op = InfrastructureOperation(
        operation="orchestrate_containers", stack=stack,
        containers=[{"name": f"{stack}-app", "image": BASE, "command": ["sh", "-c", serve],
                     "healthcheck": {"test": check, "interval": "300ms", "retries": 1}}],
    )  # fmt: skip
    assert on_podman.run(op).success
    on_podman.exec(f"{stack}-app", ["touch", "/tmp/flag"])
    result = on_podman.heal(stack=stack)
    assert result.success, result.error
    (record,) = result.healed
    assert (record.action, record.health_after) == ("restart", "healthy")
    assert record.evidence is not None
    assert any("flagged" in p.output for p in record.evidence.probes)
