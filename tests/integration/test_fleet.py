"""Several real engines on this machine: a second one on a unix socket, a third on TCP with
TLS client certificates, one reached over SSH (a real sshd and the system ssh client), and
Docker CLI contexts. Each extra engine has its own bridge, state and address pool
(``tests/engines.py``); the module starts them and stops them by pid."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from infranb import (
    Fleet,
    InfrastructureManager,
    InfrastructureManagerConfig,
    InfrastructureOperation,
    TLSFiles,
)
from infranb.engines.docker import DockerEngine, context_names
from tests.conftest import Census
from tests.engines import ExtraEngine, SSHServer, free_port, temporary_root

pytestmark = pytest.mark.integration

BASE = "infranb-demo/base:1"


@pytest.fixture(scope="module")
def e2(engine: DockerEngine) -> Iterator[ExtraEngine]:
    extra = ExtraEngine("e2", 2, temporary_root("inbt-e2-"))
    extra.start()
    yield extra
    extra.stop()


@pytest.fixture(scope="module")
def e3(engine: DockerEngine) -> Iterator[ExtraEngine]:
    extra = ExtraEngine("e3", 3, temporary_root("inbt-e3-"), tcp_port=free_port())
    extra.start()
    yield extra
    extra.stop()


@pytest.fixture(scope="module")
def ssh(e2: ExtraEngine) -> Iterator[SSHServer]:
    server = SSHServer(e2, temporary_root("inbt-ssh-"))
    server.start()
    yield server
    server.stop()


def tls_of(extra: ExtraEngine) -> TLSFiles:
    return TLSFiles(
        ca_cert=str(extra.certs["ca"]),
        client_cert=str(extra.certs["client-cert"]),
        client_key=str(extra.certs["client-key"]),
    )


def fast(**fields: object) -> InfrastructureManagerConfig:
    settings: dict[str, object] = {"connect_timeout": 3.0, "stop_timeout": 2.0}
    settings.update(fields)
    return InfrastructureManagerConfig(**settings)  # type: ignore[arg-type]


def test_three_engines_side_by_side_one_stopped_mid_test(
    e2: ExtraEngine, e3: ExtraEngine, uid: str
) -> None:
    e4 = ExtraEngine("e4", 4, temporary_root("inbt-e4-"))
    e4.start()
    try:
        fleet = Fleet(
            {
                "local": "unix:///var/run/docker.sock",
                "e2": e2.host,
                "e3": InfrastructureManager(fast(docker_host=e3.tcp_host, tls=tls_of(e3))),
                "e4": e4.host,
            },
            config=fast(),
        )
        first = fleet.engines()
        assert first["engine"].tolist() == ["local", "e2", "e3", "e4"]
        assert first["reachable"].tolist() == [True] * 4
        assert first.loc[first["engine"] == "e3", "host"].item() == e3.tcp_host
        images = fleet.images()
        assert images.columns[0] == "engine"
        assert images.loc[images["engine"] == "e4", "tags"].tolist() == [BASE]

        e4.stop()  # mid-test: its row says so, the others still arrive
        after = fleet.engines()
        row = after.set_index("engine").loc["e4"]
        assert not row["reachable"]
        assert e4.host in row["error"] and "\n" not in row["error"]
        assert after.set_index("engine").loc[["local", "e2", "e3"], "reachable"].all()
        containers = fleet.containers()
        assert set(containers["engine"]) <= {"local", "e2", "e3"}
        assert list(containers.attrs["errors"]) == ["e4"]
        fleet.close()
    finally:
        e4.stop()


def test_one_operation_on_two_engines_concurrently(
    e2: ExtraEngine, e3: ExtraEngine, uid: str
) -> None:
    fleet = Fleet(
        {
            "local": "unix:///var/run/docker.sock",
            "e2": e2.host,
            "e3": InfrastructureManager(fast(docker_host=e3.tcp_host, tls=tls_of(e3))),
        },
        config=fast(),
    )
    before = {n: Census.take(DockerEngine(e.host)) for n, e in (("e2", e2), ("e3", e3))}
    op = InfrastructureOperation(
        operation="orchestrate_containers",
        stack=uid,
        containers=[
            {"image": BASE, "name": f"{uid}-a", "networks": [f"{uid}-net"]},
            {
                "image": BASE,
                "name": f"{uid}-b",
                "networks": [f"{uid}-net"],
                "depends_on": [f"{uid}-a"],
            },
        ],
    )
    results = fleet.run(op, on=["e2", "e3"])
    assert list(results) == ["e2", "e3"]
    assert results.success, {n: r.error for n, r in results.items()}
    frame = results.to_frame()
    assert frame["engine"].tolist() == ["e2", "e2", "e3", "e3"]
    assert frame["action"].tolist() == ["create"] * 4
    running = fleet.containers(stack=uid)
    assert sorted(zip(running["engine"], running["name"], strict=True)) == [
        ("e2", f"{uid}-a"), ("e2", f"{uid}-b"), ("e3", f"{uid}-a"), ("e3", f"{uid}-b"),
    ]  # fmt: skip
    assert fleet["local"].containers(stack=uid).empty  # not asked: untouched
    health = fleet.health([f"{uid}-a"])
    assert health.set_index("engine").loc["local", "status"] == "not_found"
    assert health.set_index("engine").loc["e2", "status"] == "running"

    down = fleet.run(
        InfrastructureOperation(
            operation="cleanup_resources", stack=uid, force_remove=True,
            cleanup_stopped_containers=True,
        ),
        on=["e2", "e3"],
    )  # fmt: skip
    assert down.success
    for name, extra in (("e2", e2), ("e3", e3)):
        assert Census.take(DockerEngine(extra.host)).new_since(before[name]) == {}
    fleet.close()


def test_contexts_made_with_the_docker_cli(
    e2: ExtraEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))  # the user's own contexts stay untouched
    (tmp_path / "config.json").write_text("{}")  # docker-py reads DOCKER_CONFIG only with one
    made = subprocess.run(
        ["docker", "context", "create", "inbt-e2", "--docker", f"host={e2.host}"],
        capture_output=True,
        text=True,
    )
    assert made.returncode == 0, made.stderr
    assert "inbt-e2" in context_names()
    manager = InfrastructureManager.from_context("inbt-e2", fast())
    assert manager.config.docker_context == "inbt-e2"
    info = manager.info()
    assert info.host == e2.host
    fleet = Fleet.from_contexts(["default", "inbt-e2"], config=fast())
    rows = fleet.engines().set_index("engine")
    assert rows.loc["inbt-e2", "reachable"] and rows.loc["default", "reachable"]
    assert rows.loc["inbt-e2", "host"] == e2.host
    missing = Fleet.from_contexts(["inbt-nope"], config=fast()).engines()
    assert not missing["reachable"].item()
    assert "inbt-nope" in missing["error"].item()


def test_ssh_reaches_the_second_engine_and_a_wrong_key_fails_clearly(
    ssh: SSHServer, e2: ExtraEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The real system ssh client, given this test's key and known hosts by a wrapper on PATH.
    monkeypatch.setenv("PATH", f"{ssh.bin_dir}{os.pathsep}{os.environ['PATH']}")
    fleet = Fleet({"over-ssh": ssh.host, "direct": e2.host}, config=fast())
    rows = fleet.engines().set_index("engine")
    assert rows["reachable"].all(), rows["error"].tolist()
    assert rows.loc["over-ssh", "host"] == ssh.host  # the user is shown, it is no secret
    direct = fleet["direct"].info()
    assert fleet["over-ssh"].info().engine_id == direct.engine_id
    assert fleet["over-ssh"].images()["tags"].tolist() == [BASE]
    fleet.close()

    ssh.use_key("wrong_key")
    wrong = Fleet({"over-ssh": ssh.host}, config=fast(connect_timeout=2.0))
    row = wrong.engines().iloc[0]
    assert not row["reachable"]
    assert row["error"].startswith(f"No Docker engine answers at {ssh.host}")
    assert "wrong_key" not in row["error"] and str(ssh.root) not in row["error"]
    ssh.use_key("client_key")


def test_tls_needs_the_client_certificate_and_key_paths_never_show(
    e3: ExtraEngine, tmp_path: Path
) -> None:
    plain = Fleet({"e3": e3.tcp_host}, config=fast()).engines().iloc[0]
    assert not plain["reachable"]  # without certificates the engine refuses
    config = fast(docker_host=e3.tcp_host, tls=tls_of(e3))
    manager = InfrastructureManager(config)
    assert manager.info().host == e3.tcp_host
    fleet = Fleet({"e3": manager}, config=config)
    shown = [repr(config), str(config), repr(fleet), fleet.engines().to_string(), repr(manager)]
    shown.append(fleet._repr_mimebundle_()["text/html"])
    for text in shown:
        assert str(e3.root) not in text and "key.pem" not in text
    fleet.close()


def test_a_host_that_does_not_answer_costs_at_most_the_connect_timeout() -> None:
    """Two kinds of silence: a port nobody listens on (refused at once), and an engine that
    accepts the connection and never answers (a stuck daemon, a black-holing firewall). The
    silent one is cut at connect_timeout; without that cut this test would hang until
    pytest's own timeout, so the bound asserted is loose (three times the timeout)."""
    import socket
    import time

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)  # accepts (the kernel completes the handshake), never answers
    quiet = f"tcp://127.0.0.1:{silent.getsockname()[1]}"
    try:
        fleet = Fleet(
            {"local": "unix:///var/run/docker.sock", "nobody": "tcp://127.0.0.1:1", "quiet": quiet},
            config=fast(connect_timeout=1.0),
        )
        started = time.monotonic()
        rows = fleet.engines().set_index("engine")
        took = time.monotonic() - started
        fleet.close()
    finally:
        silent.close()
    assert rows.loc["local", "reachable"]
    assert not rows.loc["nobody", "reachable"] and not rows.loc["quiet", "reachable"]
    assert rows.loc["nobody", "error"].startswith("No Docker engine answers at tcp://127.0.0.1:1")
    assert quiet in rows.loc["quiet", "error"]
    assert took < 3 * 1.0, f"a silent engine held the fleet for {took:.1f} s"
