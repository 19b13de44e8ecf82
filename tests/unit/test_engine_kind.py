"""The manager picks its engine's class from the engine's first answer, and never waits on an
engine before something needs it (``infranb.engines.connect``)."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from infranb import Engine, InfrastructureManager, InfrastructureManagerConfig
from infranb.engines import KINDS, DetectedEngine
from infranb.engines.docker import kind_of

PODMAN_VERSION = {
    "Version": "4.3.1",
    "ApiVersion": "1.41",
    "MinAPIVersion": "1.24",
    "Os": "linux",
    "Arch": "amd64",
    "Components": [{"Name": "Podman Engine", "Version": "4.3.1", "Details": {}}],
}


def test_the_kind_is_read_from_the_version_answer() -> None:
    assert kind_of(PODMAN_VERSION) == "podman"
    docker = {"Version": "20.10.24", "Components": [{"Name": "Engine", "Version": "20.10.24"}]}
    assert kind_of(docker) == "docker"
    assert kind_of({"Version": "1.0"}) == "docker"  # old engines name no components
    assert set(KINDS) >= {"docker", "podman"}


class _Engine(BaseHTTPRequestHandler):
    """Answers the Docker API's version and container list as Podman does; counts calls."""

    calls: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        type(self).calls.append(self.path)
        if self.path.endswith("/version"):
            body = PODMAN_VERSION
        elif "/containers/json" in self.path:
            body = []  # type: ignore[assignment]
        else:
            self.send_error(404)
            return
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def podman_like() -> Iterator[str]:
    _Engine.calls = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Engine)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"tcp://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_the_kind_is_read_on_the_first_call_and_kept(podman_like: str) -> None:
    with InfrastructureManager(InfrastructureManagerConfig(docker_host=podman_like)) as manager:
        engine = manager.engine
        assert isinstance(engine, DetectedEngine)
        assert isinstance(engine, Engine)  # the protocol check asks nothing either
        assert _Engine.calls == []  # making the manager asked nothing
        assert engine.kind is None
        assert manager.containers().empty
        assert engine.kind == "podman"
        versions = [c for c in _Engine.calls if c.endswith("/version")]
        manager.containers()
        manager.containers()
        assert [c for c in _Engine.calls if c.endswith("/version")] == versions  # kept
        assert sum("/containers/json" in c for c in _Engine.calls) == 3


def test_an_engine_that_never_answers_does_not_block_making_a_manager() -> None:
    """An address that accepts connections and never answers (a stuck engine, a firewall
    that swallows packets after the handshake)."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    host = f"tcp://127.0.0.1:{silent.getsockname()[1]}"
    try:
        config = InfrastructureManagerConfig(docker_host=host, connect_timeout=0.5)
        manager = InfrastructureManager(config)
        assert host in repr(manager) and str(manager)  # reprs never call the engine
        assert manager.engine.host == host
        # Nothing was asked of the engine: no connection is even waiting to be accepted.
        silent.setblocking(False)
        with pytest.raises(BlockingIOError):
            silent.accept()
        manager.close()
    finally:
        silent.close()
