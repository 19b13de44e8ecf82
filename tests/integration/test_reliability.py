"""Faults injected for real, and load: clear errors, nothing leaked, nothing foreign touched."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from infranb import InfrastructureManager, InfrastructureOperation, ProgressEvent
from infranb.engines.docker import DockerEngine
from tests.conftest import raw_api
from tests.integration.conftest import BASE, WEB, Census, fast_config, foreign_container, teardown

pytestmark = pytest.mark.usefixtures("demo_images")

HOSTILE = st.sampled_from(
    [
        "<script>alert(1)</script>",
        "a&b\"c'd",
        "..",
        "web server",
        "ünïcødé",
        "x" * 500,
        "$(rm -rf /)",
        "\\n",
        "😀",
    ]
)


class SocketProxy:
    """A TCP proxy on 127.0.0.1 to the engine's unix socket, which a test can cut."""

    def __init__(self, target: str = "/var/run/docker.sock") -> None:
        self.target = target
        self.server = socket.socket()
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(64)
        self.port = self.server.getsockname()[1]
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()
        self.cut_event = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self.cut_event.is_set():
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            if self.cut_event.is_set():
                client.close()
                return
            upstream = socket.socket(socket.AF_UNIX)
            upstream.connect(self.target)
            with self.lock:
                self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)

    def cut(self) -> None:
        """The engine disappears: every connection drops, new ones are refused."""
        self.cut_event.set()
        self.server.close()
        with self.lock:
            for s in self.sockets:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()


def test_engine_unreachable_at_start(engine) -> None:
    before = Census.take(engine)
    with InfrastructureManager(engine=DockerEngine("tcp://127.0.0.1:1")) as manager:
        result = manager.run(
            InfrastructureOperation(
                operation="orchestrate_containers",
                containers=[{"image": BASE, "name": "inbt-unreachable"}],
            )
        )
        plan = manager.run(
            InfrastructureOperation(
                operation="orchestrate_containers",
                dry_run=True,
                containers=[{"image": BASE, "name": "inbt-unreachable"}],
            )
        )
    assert not result.success
    assert result.error.startswith("No Docker engine answers at tcp://127.0.0.1:1")
    assert "\n" not in result.error
    assert plan.success and plan.warnings == [
        "No Docker engine is reachable: this plan assumes an empty engine."
    ]
    assert [s.action for s in plan.plan] == ["create"]
    assert Census.take(engine) == before


def test_engine_lost_mid_orchestrate_then_teardown_leaves_nothing(engine, stack, uid) -> None:
    before = Census.take(engine)
    proxy = SocketProxy()

    def cut_after_first_start(event: ProgressEvent) -> None:
        if event.kind == "container_started" and not proxy.cut_event.is_set():
            proxy.cut()

    with InfrastructureManager(
        config=fast_config(container_start_timeout=30), engine=DockerEngine(proxy.url)
    ) as manager:
        result = manager.run(
            InfrastructureOperation(
                operation="orchestrate_containers",
                stack=stack,
                containers=[
                    {"image": WEB, "name": f"{uid}-db", "networks": [f"{uid}-net"]},
                    {
                        "image": BASE,
                        "name": f"{uid}-app",
                        "networks": [f"{uid}-net"],
                        "depends_on": [f"{uid}-db"],
                    },
                ],
            ),
            progress=cut_after_first_start,
        )
    assert proxy.cut_event.is_set()
    assert not result.success
    assert "engine" in result.error
    assert f"manager.down({stack!r})" in result.error  # says how to finish the job

    with InfrastructureManager(config=fast_config()) as manager:  # the engine is back
        down = manager.run(teardown(stack, volumes=True))
    assert down.success, down.error
    assert Census.take(engine) == before


def test_volume_in_use_by_a_foreign_container_is_kept(manager, engine, tracker, stack, uid) -> None:
    assert manager.run(
        InfrastructureOperation(
            operation="orchestrate_containers",
            stack=stack,
            containers=[{"image": BASE, "name": f"{uid}-a", "volumes": {f"{uid}-vol": "/data"}}],
        )
    ).success
    foreign = foreign_container(
        engine,
        tracker,
        f"{uid}-foreign",
        host_config=raw_api().create_host_config(binds=[f"{uid}-vol:/shared"]),
    )
    tracker.volumes.append(f"{uid}-vol")
    down = manager.run(teardown(stack, volumes=True))
    assert down.success, down.error
    assert down.containers_removed == [f"{uid}-a"]
    assert f"{uid}-vol" in {v.name for v in engine.list_volumes()}
    assert engine.inspect_container(foreign).state == "running"
    assert f"volume {uid}-vol kept: still used by {uid}-foreign" in down.warnings


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(label=HOSTILE, env=HOSTILE)
def test_hostile_values_reach_the_engine_intact_or_are_refused(engine, uid, label, env) -> None:
    """With an image that is present, hostile values get past validation to the engine, its
    labels, the HTML and the errors: they arrive intact, are escaped, and leave nothing."""
    before = Census.take(engine)
    with InfrastructureManager(config=fast_config()) as manager:
        result = manager.run(
            InfrastructureOperation(
                operation="orchestrate_containers",
                stack=uid,
                containers=[
                    {
                        "image": BASE,
                        "name": f"{uid}-x",
                        "labels": {"note": label},
                        "environment": {"V": env},
                        "networks": [f"{uid}-net"],
                        "volumes": {f"{uid}-v": "/d"},
                    }
                ],
            )
        )
        html = result._repr_mimebundle_()["text/html"]
        assert "<script>" not in html
        if result.success:
            details = engine.inspect_container(f"{uid}-x")
            assert details is not None
            assert details.labels["note"] == label and details.environment["V"] == env
            assert manager.down(uid, volumes=True).success
        else:
            assert result.problems, result.error  # refused by validation, naming the field
    assert Census.take(engine) == before


def test_hostile_labels_and_env_reach_the_engine_intact(manager, engine, stack, uid) -> None:
    hostile = "<script>alert('x')</script> & \"quoted\" ünïcødé"
    result = manager.run(
        InfrastructureOperation(
            operation="orchestrate_containers",
            stack=stack,
            containers=[
                {
                    "image": BASE,
                    "name": f"{uid}-x",
                    "labels": {"note": hostile},
                    "environment": {"NOTE": hostile},
                }
            ],
        )
    )
    assert result.success, result.error
    details = engine.inspect_container(f"{uid}-x")
    assert details.labels["note"] == hostile and details.environment["NOTE"] == hostile
    assert "<script>" not in manager.containers(stack=stack).to_html(escape=True)


# ---------------------------------------------------------------- load


def test_hundred_container_stack_up_and_down(engine, stack, uid) -> None:
    before = Census.take(engine)
    with InfrastructureManager(config=fast_config(container_start_timeout=60)) as manager:
        started = time.monotonic()
        up = manager.run(
            InfrastructureOperation(
                operation="orchestrate_containers",
                stack=stack,
                containers=[
                    {"image": BASE, "name": f"{uid}-{i}", "networks": [f"{uid}-net"]}
                    for i in range(100)
                ],
            )
        )
        up_seconds = time.monotonic() - started
        assert up.success, up.error
        assert len(up.containers_started) == 100
        down = manager.run(teardown(stack))
    assert down.success and len(down.containers_removed) == 100
    assert Census.take(engine) == before
    print(f"100 containers: up {up_seconds:.1f} s, down {down.duration_seconds:.1f} s")


def test_fifty_concurrent_health_checks_and_twenty_parallel_operations(
    engine, tracker, uid
) -> None:
    stacks = [f"{uid}-p{i}" for i in range(20)]
    tracker.stacks += stacks

    async def scenario() -> None:
        with InfrastructureManager(config=fast_config()) as manager:
            ups = await asyncio.gather(
                *(
                    manager.execute(
                        InfrastructureOperation(
                            operation="orchestrate_containers",
                            stack=s,
                            containers=[{"image": WEB, "name": f"{s}-web"}],
                        )
                    )
                    for s in stacks
                )
            )
            assert all(r.success for r in ups), [r.error for r in ups if not r.success]
            checks = await asyncio.gather(
                *(
                    manager.execute(
                        InfrastructureOperation(
                            operation="health_check", container_ids=[f"{stacks[i % 20]}-web"]
                        )
                    )
                    for i in range(50)
                )
            )
            assert all(
                r.health_status == {f"{stacks[i % 20]}-web": "healthy"}
                for i, r in enumerate(checks)
            )
            downs = await asyncio.gather(*(manager.execute(teardown(s)) for s in stacks))
            assert all(r.success for r in downs)

    before = Census.take(engine)
    asyncio.run(scenario())
    assert Census.take(engine) == before


def test_fifty_teardowns_never_leave_a_network(engine, stack, uid) -> None:
    before = Census.take(engine)
    with InfrastructureManager(config=fast_config()) as manager:
        for round_ in range(50):
            up = manager.run(
                InfrastructureOperation(
                    operation="orchestrate_containers",
                    stack=stack,
                    containers=[
                        {"image": BASE, "name": f"{uid}-{i}", "networks": [f"{uid}-net"]}
                        for i in range(4)
                    ],
                )
            )
            assert up.success, (round_, up.error)
            down = manager.run(teardown(stack))
            assert down.success, (round_, down.error)
            assert f"{uid}-net" not in {n.name for n in engine.list_networks()}, round_
    assert Census.take(engine) == before
