"""One contract, two engines: every check here runs against the real Docker engine and the
in-memory engine, so the fake the fast tests use cannot drift from what Docker does."""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Iterator

import pytest

from infranb.core.errors import Conflict, NotFound, PullFailed
from infranb.core.records import EngineEvent
from infranb.core.specs import ContainerSpec, parse_container
from infranb.engines.base import Engine
from infranb.engines.docker import DockerEngine
from infranb.testing import MemoryEngine

BASE = "infranb-demo/base:1"
#: a manifest list holding only this machine's platform (scripts/registry.sh)
MULTIARCH = "127.0.0.1:5000/infranb-demo/multiarch:1"


@pytest.fixture(params=["memory", "docker"])
def any_engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    if request.param == "memory":
        memory = MemoryEngine([BASE], registry={MULTIARCH: "linux/amd64"})
        yield memory
        memory.close()
    else:
        engine = request.getfixturevalue("engine")
        request.getfixturevalue("census")  # the real engine ends as it began
        yield engine


@pytest.fixture
def made(any_engine: Engine) -> Iterator[list[tuple[str, str]]]:
    """What a test made, (kind, ref); removed whatever state the test left it in."""
    made: list[tuple[str, str]] = []
    yield made
    for kind, ref in reversed(made):
        with contextlib.suppress(NotFound):
            if kind == "container":
                any_engine.remove_container(ref, force=True)
            elif kind == "network":
                any_engine.remove_network(ref)
            elif kind == "volume":
                any_engine.remove_volume(ref)
            elif kind == "image":
                any_engine.remove_image(ref)


@pytest.fixture
def name() -> str:
    return f"inbt-{uuid.uuid4().hex[:8]}"


def spec(name: str, **extra: object) -> ContainerSpec:
    return parse_container({"image": BASE, "name": name, **extra}, 0)


def create(engine: Engine, made: list, name: str, networks=("bridge",), **extra: object) -> str:
    cid = engine.create_container(
        spec(name, **extra), {"GREETING": "hi"}, {"inbt": name}, list(networks)
    )
    made.append(("container", cid))
    return cid


def wait_for(check, what: str, seconds: float = 20.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_container_lifecycle(any_engine: Engine, made: list, name: str) -> None:
    cid = create(any_engine, made, name)
    [row] = any_engine.list_containers(labels={"inbt": name})
    assert (row.id, row.name, row.state) == (cid, name, "created")
    assert [c.id for c in any_engine.list_containers(names=[name])] == [cid]
    assert any_engine.list_containers(names=[name[:-1]]) == []  # exact names only
    assert any_engine.list_containers(labels={"inbt": name}, state="running") == []

    any_engine.start_container(name)
    details = any_engine.inspect_container(cid)
    assert details is not None
    assert (details.name, details.state, details.health) == (name, "running", None)
    assert details.environment["GREETING"] == "hi"
    assert details.labels["inbt"] == name

    any_engine.stop_container(cid, timeout=2)
    stopped = any_engine.inspect_container(name)
    assert stopped is not None and stopped.state == "exited"
    any_engine.remove_container(cid)
    assert any_engine.inspect_container(cid) is None


def test_a_running_container_needs_force_and_names_are_unique(
    any_engine: Engine, made: list, name: str
) -> None:
    cid = create(any_engine, made, name)
    any_engine.start_container(cid)
    with pytest.raises(Conflict):
        create(any_engine, made, name)
    other = create(any_engine, made, f"{name}-b")
    with pytest.raises(Conflict):
        any_engine.rename_container(other, name)
    with pytest.raises(Conflict):
        any_engine.remove_container(cid)
    any_engine.remove_container(cid, force=True)
    assert any_engine.inspect_container(cid) is None


def test_missing_things_are_not_found(any_engine: Engine, name: str) -> None:
    assert any_engine.inspect_container(name) is None
    assert any_engine.image_id(f"{name}/none:1") is None
    for call in (
        lambda: any_engine.remove_container(name),
        lambda: any_engine.start_container(name),
        lambda: any_engine.remove_image(f"{name}/none:1"),
        lambda: any_engine.network_containers(name),
        lambda: any_engine.remove_volume(name),
    ):
        with pytest.raises(NotFound):
            call()


def test_network_lifecycle(any_engine: Engine, made: list, name: str) -> None:
    net = f"{name}-net"
    any_engine.create_network(net, {"inbt": name})
    made.append(("network", net))
    with pytest.raises(Conflict):
        any_engine.create_network(net, {"inbt": name})
    assert [n.name for n in any_engine.list_networks(labels={"inbt": name})] == [net]
    cid = create(any_engine, made, name, networks=(net,))
    assert any_engine.network_containers(net) == []  # only running containers hold endpoints
    any_engine.start_container(cid)
    assert any_engine.network_containers(net) == [name]
    with pytest.raises(Conflict):
        any_engine.remove_network(net)
    any_engine.stop_container(cid, timeout=2)
    any_engine.remove_container(cid)
    any_engine.remove_network(net)
    assert any_engine.list_networks(labels={"inbt": name}) == []


def test_volume_lifecycle(any_engine: Engine, made: list, name: str) -> None:
    vol = f"{name}-vol"
    any_engine.create_volume(vol, "local", {"inbt": name})
    made.append(("volume", vol))
    assert [v.name for v in any_engine.list_volumes(labels={"inbt": name})] == [vol]
    assert any_engine.list_volumes(labels={"inbt": f"{name}-other"}) == []
    cid = create(any_engine, made, name, volumes={vol: "/data"})
    with pytest.raises(Conflict):
        any_engine.remove_volume(vol)  # in use, even by a stopped container
    any_engine.remove_container(cid)
    any_engine.remove_volume(vol)
    with pytest.raises(NotFound):
        any_engine.remove_volume(vol)


def test_events_follow_labelled_containers(any_engine: Engine, made: list, name: str) -> None:
    stream = any_engine.events(labels={"inbt": name})
    seen: list[EngineEvent] = []
    reader = threading.Thread(target=lambda: seen.extend(stream), daemon=True)
    reader.start()
    cid = create(any_engine, made, name)
    any_engine.start_container(cid)
    any_engine.stop_container(cid, timeout=2)
    wait_for(lambda: {"start", "die"} <= {e.action for e in seen}, "start and die events")
    stream.close()
    reader.join(10)
    assert not reader.is_alive(), "closing a stream ends its iteration"
    assert {e.id for e in seen} == {cid}
    assert {e.name for e in seen} == {name}


def test_health_and_exit_codes(any_engine: Engine, made: list, name: str) -> None:
    healthy = create(
        any_engine,
        made,
        name,
        healthcheck={"test": ["CMD", "true"], "interval": "200ms", "retries": 1},
    )
    exits = create(any_engine, made, f"{name}-x", command=["sh", "-c", "exit 3"])
    any_engine.start_container(healthy)
    any_engine.start_container(exits)
    details = wait_for(
        lambda: (d := any_engine.inspect_container(healthy)) and d.health == "healthy" and d,
        "healthy",
    )
    assert details.state == "running"
    gone = wait_for(
        lambda: (d := any_engine.inspect_container(exits)) and d.state == "exited" and d,
        "exit",
    )
    assert gone.exit_code == 3


def test_images_tag_remove_and_pull(any_engine: Engine, made: list, name: str) -> None:
    base = any_engine.image_id(BASE)
    assert base is not None
    tag = f"inbt/{name}:1"
    any_engine.tag_image(BASE, tag)
    made.append(("image", tag))
    assert any_engine.image_id(tag) == base
    assert tag in {t for i in any_engine.list_images() for t in i.tags}
    any_engine.remove_image(tag)  # only the reference goes: the image keeps its other tag
    assert any_engine.image_id(tag) is None
    assert any_engine.image_id(BASE) == base

    with pytest.raises(PullFailed):
        any_engine.pull_image("127.0.0.1:5000/infranb-demo/none:1")
    with pytest.raises(PullFailed, match="no matching manifest for linux/s390x"):
        any_engine.pull_image(MULTIARCH, platform="linux/s390x")


def test_both_engines_satisfy_the_protocol() -> None:
    assert isinstance(MemoryEngine(), Engine)
    assert isinstance(DockerEngine(), Engine)
