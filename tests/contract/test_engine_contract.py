"""One contract, two engines: every check here runs against the real Docker engine and the
in-memory engine, so the fake the fast tests use cannot drift from what Docker does."""

from __future__ import annotations

import contextlib
import io
import re
import tarfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from infranb.core.backups import relative
from infranb.core.errors import Conflict, EngineError, NotFound, PullFailed
from infranb.core.records import ContainerDetails, EngineEvent
from infranb.core.specs import ContainerSpec, Mount, parse_container
from infranb.engines.base import Engine
from infranb.engines.docker import DockerEngine
from infranb.testing import MemoryEngine
from tests.conftest import Census

BASE = "infranb-demo/base:1"
#: a manifest list holding only this machine's platform (scripts/registry.sh)
MULTIARCH = "127.0.0.1:5000/infranb-demo/multiarch:1"


@pytest.fixture(params=["memory", "docker", "podman"])
def any_engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    if request.param == "memory":
        memory = MemoryEngine([BASE], registry={MULTIARCH: "linux/amd64"})
        yield memory
        memory.close()
    elif request.param == "podman":
        podman = request.getfixturevalue("podman")
        before = Census.take(podman)
        yield podman
        left = Census.take(podman).new_since(before)
        assert not left, f"the test left resources on Podman: {left}"
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
                any_engine.remove_container(ref, force=True, volumes=True)  # its anonymous ones
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
    # Docker gives a container an endpoint when it starts; Podman when it is created.
    made_only = [name] if any_engine.info().kind == "podman" else []
    assert any_engine.network_containers(net) == made_only
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

    def checked() -> ContainerDetails | None:
        if not any_engine.runs_healthchecks():  # Podman without systemd: run one check now
            assert any_engine.run_healthcheck(healthy) in ("healthy", "starting")
        details = any_engine.inspect_container(healthy)
        return details if details and details.health == "healthy" else None

    details = wait_for(checked, "healthy")
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


# ---------------------------------------------------------------- every protocol method
# Each method of the Engine protocol is called by some case above or below, against both
# engines (``test_every_protocol_method_is_called_by_the_contract`` checks that list).


def test_info_and_host_describe_the_engine(any_engine: Engine, made: list, name: str) -> None:
    assert isinstance(any_engine.host, str) and "://" in any_engine.host
    create(any_engine, made, name)
    info = any_engine.info()
    assert info.host == any_engine.host
    assert info.version and info.api_version
    assert info.containers >= 1 and info.images >= 1  # what this test made, and BASE


def test_logs_with_timestamps_since_and_tail(any_engine: Engine, made: list, name: str) -> None:
    from datetime import UTC, datetime, timedelta

    cid = create(
        any_engine, made, name, command=["sh", "-c", "echo first-line; echo second-line; sleep 60"]
    )
    before = datetime.now(UTC) - timedelta(seconds=5)
    any_engine.start_container(cid)
    lines = wait_for(
        lambda: (got := any_engine.container_logs(cid, tail=None)) and len(got) == 2 and got,
        "two log lines",
    )
    assert lines == ["first-line", "second-line"]
    assert any_engine.container_logs(cid, tail=1) == ["second-line"]
    stamped = any_engine.container_logs(cid, tail=None, timestamps=True, since=before)
    assert [line.partition(" ")[2] for line in stamped] == lines
    assert all(datetime.fromisoformat(line.split()[0][:26]) for line in stamped)
    later = datetime.now(UTC) + timedelta(seconds=60)
    assert any_engine.container_logs(cid, tail=None, since=later) == []
    # both streams in one read, each line with its stream (these printed to stdout)
    both = any_engine.container_log_lines(cid, since=before)
    assert [line for _, line in both] == stamped and {s for s, _ in both} == {"stdout"}
    assert any_engine.container_log_lines(cid, tail=1)[-1][1].endswith("second-line")


def test_exec_and_stats_of_a_running_container(any_engine: Engine, made: list, name: str) -> None:
    cid = create(any_engine, made, name, command=["sleep", "60"])
    with pytest.raises(Conflict):  # not running yet
        any_engine.exec_in(cid, ["sh", "-c", "echo nope"])
    any_engine.start_container(cid)
    assert any_engine.exec_in(cid, ["sh", "-c", "echo exec-out; exit 3"]) == (3, "exec-out\n")
    assert any_engine.exec_in(cid, "echo plain") == (0, "plain\n")
    sample = any_engine.container_stats(cid)
    assert sample.name == name
    assert sample.pids is not None and sample.pids >= 1
    assert sample.cpu_percent is not None and sample.cpu_percent >= 0
    series = any_engine.container_stats_series(cid, 2)
    assert [s.name for s in series] == [name, name]
    first, second = (s.read_at for s in series)
    assert first is not None and second is not None
    assert 0.5 <= (second - first).total_seconds() <= 3  # a second apart, by the engine's clock


def test_a_file_put_before_the_start_is_there_once_it_runs(
    any_engine: Engine, made: list, name: str
) -> None:
    cid = create(any_engine, made, name, command=["sleep", "60"])
    any_engine.put_file(cid, "/run/secrets/token", b"tok-123", 0o400)  # created, not started
    any_engine.start_container(cid)
    assert any_engine.exec_in(cid, ["cat", "/run/secrets/token"]) == (0, "tok-123")
    any_engine.put_file(cid, "/etc/app.conf", b"mode fast\n")  # while it runs
    assert any_engine.exec_in(cid, ["cat", "/etc/app.conf"]) == (0, "mode fast\n")
    code, _ = any_engine.exec_in(cid, ["cat", "/run/secrets/other"])
    assert code != 0


def test_a_host_port_taken_by_another_container_is_a_clear_error(
    any_engine: Engine, made: list, name: str
) -> None:
    import socket

    with socket.socket() as probe:  # a free port, let go before the engine binds it
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    first = create(any_engine, made, name, command=["sleep", "60"], ports=[f"127.0.0.1:{port}:80"])
    second = create(
        any_engine, made, f"{name}-b", command=["sleep", "60"], ports=[f"127.0.0.1:{port}:80"]
    )
    any_engine.start_container(first)
    with pytest.raises(EngineError, match=f"port 127.0.0.1:{port}.* is already in use"):
        any_engine.start_container(second)


def test_restart_starts_a_container_again(any_engine: Engine, made: list, name: str) -> None:
    cid = create(any_engine, made, name, command=["sleep", "60"])
    any_engine.start_container(cid)
    first = any_engine.inspect_container(cid)
    assert first is not None and first.started_at is not None
    time.sleep(0.01)
    any_engine.restart_container(cid, timeout=1)
    again = any_engine.inspect_container(cid)
    assert again is not None and again.state == "running"
    assert again.started_at is not None and again.started_at > first.started_at


def test_disconnect_takes_a_container_off_a_network(
    any_engine: Engine, made: list, name: str
) -> None:
    any_engine.create_network(name, {"inbt": name})
    made.append(("network", name))
    cid = create(any_engine, made, f"{name}-c", networks=[name], command=["sleep", "60"])
    any_engine.start_container(cid)
    assert any_engine.network_containers(name) == [f"{name}-c"]
    any_engine.disconnect(name, cid)
    assert any_engine.network_containers(name) == []
    any_engine.remove_network(name)  # no endpoint left: it can go


def test_a_container_made_without_aliases_takes_them_when_connected(
    any_engine: Engine, made: list, name: str
) -> None:
    """A start-first replacement's moves: made answering to its own name only, then
    reconnected with the service's aliases (read back from its configuration)."""
    any_engine.create_network(name, {"inbt": name})
    made.append(("network", name))
    cid = any_engine.create_container(
        spec(name, command=["sleep", "60"]), {}, {"inbt": name}, [name],
        name=f"{name}-next", aliases=False,
    )  # fmt: skip
    made.append(("container", cid))
    any_engine.start_container(cid)
    config = any_engine.container_config(cid)
    assert config is not None and "api" not in config.networks[name]
    any_engine.disconnect(name, cid)
    any_engine.connect(name, cid, [name, "api"])
    config = any_engine.container_config(cid)
    assert config is not None and {name, "api"} <= set(config.networks[name])
    assert any_engine.network_containers(name) == [f"{name}-next"]


def test_image_and_volume_sizes(any_engine: Engine, made: list, name: str) -> None:
    size = any_engine.image_size(BASE)
    assert isinstance(size, int) and size > 0
    with pytest.raises(NotFound):
        any_engine.image_size(f"inbt/{name}-missing:1")
    any_engine.create_volume(name, "local", {"inbt": name})
    made.append(("volume", name))
    sizes = any_engine.volume_sizes()
    assert sizes.get(name, -1) >= 0


def test_build_then_push_then_pull_back(
    any_engine: Engine, made: list, name: str, tmp_path
) -> None:
    """A build from a context, a push to the local registry, and the pushed image pulled back
    after its local tag is gone (the proof the push reached the registry)."""
    (tmp_path / "Dockerfile").write_text(f"FROM {BASE}\nLABEL inbt.build={name}\n")
    tag = f"inbt/{name}:1"
    seen: list[str] = []
    image_id, logs = any_engine.build_image(
        str(tmp_path), tag, labels={"inbt": name}, on_log=seen.append
    )
    made.append(("image", tag))
    assert any_engine.image_id(tag) == image_id
    assert logs and seen  # build output reaches both the result and the callback
    pushed = f"127.0.0.1:5000/inbt/{name}:1"
    any_engine.tag_image(tag, pushed)
    made.append(("image", pushed))
    any_engine.push_image(pushed)
    # The registry's digest, read without a pull (image_updates): Podman has no way to.
    if any_engine.info().kind == "podman":
        with pytest.raises(EngineError, match="no distribution endpoint"):
            any_engine.registry_digest(pushed)
        digest = None
    else:
        digest = any_engine.registry_digest(pushed)
        assert re.fullmatch(r"sha256:[0-9a-f]{64}", digest), digest
    any_engine.remove_image(pushed)
    assert any_engine.image_id(pushed) is None
    assert any_engine.pull_image(pushed) == image_id
    if digest is not None:  # what was pulled carries the digest the registry gave
        (pulled,) = [i for i in any_engine.list_images() if i.id == image_id]
        assert f"127.0.0.1:5000/inbt/{name}@{digest}" in pulled.digests
    container = create(any_engine, made, name, image=pushed)
    details = any_engine.inspect_container(container)
    assert details is not None and details.image == pushed  # the reference, as created


def test_every_protocol_method_is_called_by_the_contract() -> None:
    """The contract keeps the in-memory engine answering as Docker does only where it asks:
    every method of ``Engine`` is called by a case of this file or the Swarm contract."""
    import inspect
    from pathlib import Path

    members = {name for name, _ in inspect.getmembers(Engine) if not name.startswith("_")}
    here = Path(__file__).parent
    text = "".join(p.read_text() for p in here.glob("test_*contract.py"))
    called = {m for m in members if re.search(rf"\.{m}\b", text)}
    assert members - called == set()


def test_a_containers_configuration_compares_equal_to_its_spec(
    any_engine: Engine, made: list, name: str
) -> None:
    """What ``container_config`` reads back is what ``desired_config`` says the spec makes:
    the adoption check and ``drift`` see no difference for a container made from it."""
    from infranb.core.drift import desired_config, differences

    net = f"{name}-net"
    any_engine.create_network(net, {"inbt": name})
    made.append(("network", net))
    fields = {
        "command": "sh -c 'sleep 30'",
        "ports": ["127.0.0.1::80"],
        "restart": "on-failure:2",
        "healthcheck": {"test": ["CMD", "true"], "interval": "2s", "retries": 2},
        "mem_limit": "64m",
        "labels": {"tier": "db"},
        "networks": {net: {"aliases": ["db"]}},
        "user": "nobody",
        # run options, as Compose files give them
        "ulimits": {"nofile": {"soft": 1024, "hard": 2048}, "nproc": 512},
        "dns": ["127.0.0.1"],
        "sysctls": {"net.core.somaxconn": "1024"},
        "read_only": True,
        "tty": True,
        "shm_size": "128m",
        "logging": {"driver": "json-file", "options": {"max-size": "1m"}},
        "security_opt": ["no-new-privileges:true"],
        "pids_limit": 100,
        "volumes": ["/scratch"],
    }
    cid = any_engine.create_container(
        spec(name, **fields), {"GREETING": "hi"}, {"tier": "db"}, [net]
    )
    made.append(("container", cid))
    image = any_engine.image_config(BASE)
    assert image is not None and any_engine.image_config(f"{name}/missing:1") is None
    actual = any_engine.container_config(cid)
    assert actual is not None and any_engine.container_config(f"{name}-gone") is None
    want = desired_config(
        spec(name, **fields), {"GREETING": "hi"}, any_engine.image_id(BASE) or "", image,
        default_network=net,
    )  # fmt: skip
    assert differences(want, actual, image) == []
    other = desired_config(
        spec(name, **{**fields, "user": "root"}), {"GREETING": "bye"}, actual.image_id, image,
        default_network=net,
    )  # fmt: skip
    assert [d.field for d in differences(other, actual, image)] == ["environment.GREETING", "user"]


def test_a_relabelled_volume_and_a_binds_propagation_reach_the_engine(
    any_engine: Engine, made: list, name: str, tmp_path: Path
) -> None:
    """Issue 43: ``:Z`` on a named volume (Compose passes it; the stock files of an ELK
    stack and a mail suite use it) is sent as a bind entry, since the Mount API has no
    relabel field; a bind's propagation too. The engine's inspect says each as asked, and
    the container compares equal to its spec (no drift, no recreate on a re-run)."""
    from infranb.core.drift import desired_config, differences

    volumes = [f"{name}-z:/z:Z", f"{name}-r:/r:ro,Z", f"{name}-l:/l:z", f"{tmp_path}:/h:rshared"]
    cid = any_engine.create_container(spec(name, volumes=volumes), {}, {}, ["bridge"])
    made.extend(("volume", f"{name}-{v}") for v in "zrl")
    made.append(("container", cid))
    image = any_engine.image_config(BASE)
    assert image is not None
    want = desired_config(
        spec(name, volumes=volumes), {}, any_engine.image_id(BASE) or "", image,
        default_network="bridge",
    )  # fmt: skip
    actual = any_engine.container_config(cid)
    assert actual is not None
    assert differences(want, actual, image) == []
    if isinstance(any_engine, MemoryEngine):
        return
    with docker.APIClient(base_url=any_engine.host) as api:
        mounts = {m["Destination"]: m for m in api.inspect_container(cid)["Mounts"]}
    assert (mounts["/z"]["Type"], mounts["/z"]["Name"]) == ("volume", f"{name}-z")
    assert "Z" in mounts["/z"]["Mode"].split(",") and mounts["/z"]["RW"]
    assert "Z" in mounts["/r"]["Mode"].split(",") and not mounts["/r"]["RW"]
    assert mounts["/h"]["Propagation"] == "rshared"
    # The trap the issue measured: no extra anonymous volume at "/z:Z".
    assert sorted(mounts) == ["/h", "/l", "/r", "/z"]


def test_what_a_host_tells_about_its_containers(any_engine: Engine, made: list, name: str) -> None:
    """Processes, filesystem changes, recorded events and disk usage: what exploring a host
    reads, the same on each engine."""
    from datetime import UTC, datetime, timedelta

    before = datetime.now(UTC) - timedelta(seconds=1)
    cid = create(any_engine, made, name, command=["sleep", "60"])
    with pytest.raises(Conflict):  # not running: no processes to list
        any_engine.container_top(cid)
    any_engine.put_file(cid, "/etc/inbt-added.txt", b"added")
    any_engine.start_container(cid)
    titles, processes = any_engine.container_top(cid)
    assert "PID" in titles and len(processes) >= 1
    command = next(t for t in titles if t.upper() in ("CMD", "COMMAND"))
    assert any("sleep" in row[titles.index(command)] for row in processes)
    changes = any_engine.container_changes(cid)
    # Docker names the file; Podman 4.3 the folder it was added to
    assert any(kind in "AC" and "/etc/inbt-added.txt".startswith(path) for kind, path in changes)
    any_engine.stop_container(cid, timeout=0)
    after = datetime.now(UTC) + timedelta(seconds=1)
    events = any_engine.past_events(before, after, {"type": ["container"], "container": [name]})
    actions = [e.action for e in events]
    assert "create" in actions and "start" in actions and "die" in actions, actions
    assert all(e.name == name and e.type == "container" for e in events)
    assert [e.time for e in events] == sorted(e.time for e in events)
    assert all(before <= e.time <= after for e in events)
    die = next(e for e in events if e.action == "die")
    assert die.attributes.get("exitCode") not in (None, "")
    assert any_engine.past_events(after, after + timedelta(seconds=1)) == []
    usage = any_engine.disk_usage()
    kinds = {u.kind for u in usage}
    assert {"image", "container"} <= kinds
    mine = [u for u in usage if u.kind == "container" and u.name == name]
    assert len(mine) == 1 and mine[0].id == cid and mine[0].in_use_by == 0
    base = [u for u in usage if u.kind == "image" and BASE in u.name]
    assert base and base[0].size > 0 and base[0].in_use_by >= 1


def test_a_live_update_shows_in_the_containers_configuration(
    any_engine: Engine, made: list, name: str
) -> None:
    """Docker and the in-memory engine change restart and limits in place; Podman says it
    does not, and changes nothing."""
    cid = create(any_engine, made, name, command=["sleep", "60"], mem_limit="64m")
    any_engine.start_container(cid)
    changes = {"restart": "on-failure:2", "mem_limit": 96 * 1024 * 1024, "pids_limit": 50}
    if any_engine.info().kind == "podman":
        with pytest.raises(EngineError, match="does not change a container's restart"):
            any_engine.update_container(cid, changes)
        after = any_engine.container_config(cid)
        assert after is not None and after.restart == "no"
        return
    any_engine.update_container(cid, changes)
    after = any_engine.container_config(cid)
    assert after is not None
    assert (after.restart, after.mem_limit, after.options.get("pids_limit")) == (
        "on-failure:2",
        96 * 1024 * 1024,
        50,
    )


def test_archives_go_in_and_come_out(any_engine: Engine, made: list, name: str) -> None:
    import io
    import tarfile

    cid = create(any_engine, made, name, command=["sleep", "60"])
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for path, text in (("srv/app/a.txt", b"alpha"), ("srv/app/sub/b.txt", b"beta")):
            info = tarfile.TarInfo(path)
            info.size = len(text)
            tar.addfile(info, io.BytesIO(text))
    any_engine.put_archive(cid, "/", buffer.getvalue())
    with tarfile.open(fileobj=io.BytesIO(any_engine.get_archive(cid, "/srv/app"))) as tar:
        files = {
            m.name: tar.extractfile(m).read()  # type: ignore[union-attr]
            for m in tar.getmembers()
            if m.isfile()
        }
    assert files == {"app/a.txt": b"alpha", "app/sub/b.txt": b"beta"}
    with pytest.raises(NotFound):
        any_engine.get_archive(cid, "/srv/none")


def test_live_feeds_of_events_and_log_lines_end_when_closed(
    any_engine: Engine, made: list, name: str
) -> None:
    from datetime import UTC, datetime, timedelta

    def first(feed, done, seconds: float = 20) -> list:  # type: ignore[no-untyped-def]
        got: list = []

        def read() -> None:
            for item in feed:
                got.append(item)
                if done(got):
                    return

        reader = threading.Thread(target=read)
        reader.start()
        reader.join(timeout=seconds)
        feed.close()
        reader.join(timeout=5)
        assert not reader.is_alive(), "close ended the feed"
        return got

    feed = any_engine.event_feed({"type": ["container"], "container": [name]})
    time.sleep(0.3)  # subscribed before the events happen
    before = datetime.now(UTC) - timedelta(seconds=1)
    cid = create(any_engine, made, name, command=["sh", "-c", "echo one; echo two; sleep 60"])
    any_engine.start_container(cid)
    events = first(feed, lambda got: any(e.action == "start" for e in got))
    actions = [e.action for e in events]  # Podman has one of its own between: init
    assert actions[0] == "create" and actions[-1] == "start" and events[0].name == name
    wait_for(lambda: len(any_engine.container_logs(cid, tail=None)) >= 2, "two lines")
    lines = first(any_engine.log_feed(cid, "stdout", since=before), lambda got: len(got) >= 2)
    assert [line.partition(" ")[2] for line in lines] == ["one", "two"]
    # a feed of lines that never come: made at once, closed at once (Podman answers the
    # request under it only with a first line: its reader waits for that, on its own thread)
    began = time.monotonic()
    quiet = any_engine.log_feed(cid, "stderr")
    quiet.close()
    assert list(quiet) == [] and time.monotonic() - began < 2


def _tar(entries: list[tuple[str, bytes | None, int]]) -> bytes:
    """A tar of (name, contents or None for a folder, mode) entries, owned by root."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for entry_name, data, mode in entries:
            info = tarfile.TarInfo(entry_name)
            info.mode = mode
            if data is None:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def test_a_volume_streams_through_a_created_helper(
    any_engine: Engine, made: list, name: str
) -> None:
    """What backups stand on: a never-started container from an image imported out of an
    empty tar reads and writes its volume through the archive endpoints, in chunks."""
    vol = f"{name}-vol"
    any_engine.create_volume(vol, "local", {"inbt": name})
    made.append(("volume", vol))
    image = any_engine.import_image(_tar([]))
    made.append(("image", image))
    helper = ContainerSpec(
        name=name, image=image, command=("never-run",), network_mode="none",
        volumes=(Mount(vol, "/volume", "volume"),),
    )  # fmt: skip
    cid = any_engine.create_container(helper, {}, {"inbt": name}, [])
    made.append(("container", cid))
    body = b"x" * 300_000
    any_engine.put_archive_stream(
        cid, "/volume", iter([_tar([("sub", None, 0o750), ("sub/big", body, 0o600)])])
    )
    chunks = any_engine.get_archive_stream(cid, "/volume/.")
    stream = io.BytesIO(b"".join(chunks))
    with tarfile.open(fileobj=stream) as tar:
        found = {relative(m.name): m for m in tar.getmembers()}
        big = tar.extractfile(found["sub/big"])
        assert big is not None and big.read() == body
    assert found["sub/big"].mode & 0o777 == 0o600 and found["sub"].isdir()
    assert any_engine.inspect_container(cid).state == "created"  # never started


def test_a_read_only_mount_refuses_an_archive(any_engine: Engine, made: list, name: str) -> None:
    """Docker refuses to write through a read-only volume mount (Podman 4.3 writes: a
    restore's helper mounts writable only then, and a backup's read-only)."""
    vol = f"{name}-vol"
    any_engine.create_volume(vol, "local", {"inbt": name})
    made.append(("volume", vol))
    cid = create(any_engine, made, name, volumes=[f"{vol}:/volume:ro"])
    archive = iter([_tar([("a", b"1", 0o644)])])
    if getattr(any_engine, "kind", "") == "podman":
        any_engine.put_archive_stream(cid, "/volume", archive)  # measured: it writes
    else:
        with pytest.raises(EngineError):
            any_engine.put_archive_stream(cid, "/volume", archive)
    listed = any_engine.list_containers(labels={"inbt": name})
    assert listed[0].volumes == (vol,) and listed[0].read_only_volumes == (vol,)


def test_pause_and_unpause(any_engine: Engine, made: list, name: str) -> None:
    cid = create(any_engine, made, name)
    any_engine.start_container(cid)
    any_engine.pause_container(cid)
    assert any_engine.inspect_container(cid).state == "paused"
    any_engine.unpause_container(cid)
    assert any_engine.inspect_container(cid).state == "running"


def test_anonymous_volumes_are_listed_with_the_container(
    any_engine: Engine, made: list, name: str
) -> None:
    create(any_engine, made, name, volumes=["/scratch"])
    (listed,) = any_engine.list_containers(labels={"inbt": name})
    assert len(listed.volumes) == 1 and len(listed.volumes[0]) == 64


def test_archives_keep_owners_says_what_the_archive_endpoints_do(
    any_engine: Engine, made: list, name: str
) -> None:
    """A file owned by uid 1000 goes in and comes back owned so where the engine says its
    archives keep owners (Docker), and as the container's user (0) where not (Podman 4.3)."""
    vol = f"{name}-vol"
    any_engine.create_volume(vol, "local", {"inbt": name})
    made.append(("volume", vol))
    cid = create(any_engine, made, name, volumes=[f"{vol}:/volume"])
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo("owned")
        info.size, info.uid, info.gid = 2, 1000, 1000
        tar.addfile(info, io.BytesIO(b"hi"))
    any_engine.put_archive_stream(cid, "/volume", iter([buffer.getvalue()]))
    stream = io.BytesIO(b"".join(any_engine.get_archive_stream(cid, "/volume/.")))
    with tarfile.open(fileobj=stream) as tar:
        (owned,) = [m for m in tar.getmembers() if relative(m.name) == "owned"]
    expected = 1000 if any_engine.archives_keep_owners() else 0
    assert (owned.uid, owned.gid) == (expected, expected)
