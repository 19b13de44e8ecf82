"""A real two-node Docker Swarm on this machine, for Swarm tests and the Swarm bench.

Each node is a ``dockerd`` in **its own network namespace** (``nsenter --net=...``: ``ip netns
exec`` remounts /sys and dockerd then fails), with its own socket, data-root, exec-root,
pidfile and cgroup parent; the namespaces reach each other over veth pairs on a host bridge
this lab makes. Docker sets the host's FORWARD policy to DROP, so the lab inserts one ACCEPT
rule for its own bridge (and deletes it again). The nodes pull images from a registry the lab
runs on the bridge address (a real swarm pulls on every node; an image only one engine holds
leaves the other node's tasks "Preparing" while it tries a registry). Everything is stopped by
the pid the lab started; the namespaces, bridge and rule it made are deleted; the host's own
engine and ``docker0`` are never touched.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.engines import docker_cli, start_dockerd

BRIDGE = "inbs-br0"
SUBNET = "10.230.0"  # clear of the extra engines' pools (10.213-10.220)
REGISTRY_PORT = 5030
REGISTRY = f"{SUBNET}.1:{REGISTRY_PORT}"
#: the demo images, as the swarm's nodes pull them
BASE = f"{REGISTRY}/infranb-demo/base:1"
WEB = f"{REGISTRY}/infranb-demo/web:1"


def _run(*args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(list(args), capture_output=True, check=check)


@dataclass
class SwarmNode:
    index: int
    root: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def netns(self) -> str:
        return f"inbs-n{self.index}"

    @property
    def address(self) -> str:
        return f"{SUBNET}.{10 + self.index}"

    @property
    def host(self) -> str:
        return f"unix://{self.root / 'docker.sock'}"

    def docker(self, *args: str, input: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
        return docker_cli(self.host, *args, input=input)

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        veth = f"inbs-v{self.index}"
        _run("ip", "netns", "add", self.netns)
        _run("ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", self.netns)
        _run("ip", "link", "set", veth, "master", BRIDGE, "up")
        inside = ("ip", "-n", self.netns)
        _run(*inside, "addr", "add", f"{self.address}/24", "dev", "eth0")
        _run(*inside, "link", "set", "eth0", "up")
        _run(*inside, "link", "set", "lo", "up")
        _run(*inside, "route", "add", "default", "via", f"{SUBNET}.1")
        command = [
            "nsenter", f"--net=/var/run/netns/{self.netns}",
            "dockerd",
            "-H", self.host,
            "--data-root", str(self.root / "data"),
            "--exec-root", str(self.root / "exec"),
            "--pidfile", str(self.root / "docker.pid"),
            "--cgroup-parent", f"infranb-swarm{self.index}",
            "--insecure-registry", REGISTRY,
        ]  # fmt: skip
        self.process = start_dockerd(command, self.root, self.host)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.docker("swarm", "leave", "--force")
            ids = self.docker("ps", "-aq").stdout.decode().split()
            if ids:
                self.docker("rm", "-f", *ids)
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        _run("ip", "netns", "del", self.netns, check=False)
        # The engine's network sandboxes are nsfs mounts under exec-root; a killed engine
        # leaves them behind, and then the folder cannot be deleted.
        mounts = Path("/proc/mounts").read_text().split("\n")
        inside = [m.split()[1] for m in mounts if f" {self.root}/" in m]
        for path in sorted(inside, key=len, reverse=True):
            _run("umount", "-l", path, check=False)
        shutil.rmtree(self.root, ignore_errors=True)


@dataclass
class SwarmLab:
    """A manager and a worker; ``start()`` returns once both nodes are ready."""

    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="inbs-")))
    nodes: list[SwarmNode] = field(default_factory=list)
    registry: subprocess.Popen[bytes] | None = None
    _rule: tuple[str, ...] = ("FORWARD", "-i", BRIDGE, "-o", BRIDGE, "-j", "ACCEPT")

    @property
    def manager(self) -> SwarmNode:
        return self.nodes[0]

    def start(
        self, images: tuple[str, ...] = ("infranb-demo/base:1", "infranb-demo/web:1")
    ) -> None:
        try:
            self._start(images)
        except BaseException:
            self.stop()
            raise

    def _start(self, images: tuple[str, ...]) -> None:
        _run("ip", "link", "add", BRIDGE, "type", "bridge")
        _run("ip", "addr", "add", f"{SUBNET}.1/24", "dev", BRIDGE)
        _run("ip", "link", "set", BRIDGE, "up")
        _run("iptables", "-I", *self._rule)
        self._start_registry()
        self.nodes = [SwarmNode(i, self.root / f"node{i}") for i in (1, 2)]
        for node in self.nodes:
            node.start()
        manager, worker = self.nodes
        init = manager.docker(
            "swarm", "init", "--advertise-addr", manager.address,
            "--listen-addr", f"{manager.address}:2377",
        )  # fmt: skip
        assert init.returncode == 0, init.stderr
        token = manager.docker("swarm", "join-token", "-q", "worker").stdout.decode().strip()
        join = worker.docker("swarm", "join", "--token", token, f"{manager.address}:2377")
        assert join.returncode == 0, join.stderr
        # The images reach the registry through the manager (it trusts the lab's registry).
        for image in images:
            saved = _run("docker", "save", image).stdout
            assert manager.docker("load", input=saved).returncode == 0
            target = f"{REGISTRY}/{image}"
            manager.docker("tag", image, target)
            pushed = manager.docker("push", target)
            assert pushed.returncode == 0, pushed.stderr
        deadline = time.monotonic() + 30
        while self.ready_nodes() < 2:
            assert time.monotonic() < deadline, "the worker did not become ready"
            time.sleep(0.2)

    def ready_nodes(self) -> int:
        out = self.manager.docker("node", "ls", "--format", "{{json .}}").stdout.decode()
        rows = [json.loads(line) for line in out.splitlines() if line.strip()]
        return sum(1 for r in rows if r.get("Status") == "Ready")

    def _start_registry(self) -> None:
        folder = self.root / "registry"
        folder.mkdir(parents=True)
        config = folder / "config.yml"
        config.write_text(
            f"version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n"
            f"    rootdirectory: {folder / 'data'}\nhttp:\n  addr: {REGISTRY}\n"
        )
        log = open(folder / "registry.log", "wb")  # noqa: SIM115
        self.registry = subprocess.Popen(
            ["docker-registry", "serve", str(config)], stdout=log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 20
        while _run("curl", "-sf", f"http://{REGISTRY}/v2/", check=False).returncode != 0:
            assert time.monotonic() < deadline, (folder / "registry.log").read_text()
            time.sleep(0.2)

    def stop(self) -> None:
        """Leave the swarm and stop what the lab started, workers first."""
        for node in reversed(self.nodes):
            node.stop()
        if self.registry is not None and self.registry.poll() is None:
            self.registry.terminate()
            self.registry.wait(timeout=10)
        _run("iptables", "-D", *self._rule, check=False)
        _run("ip", "link", "del", BRIDGE, check=False)
        with contextlib.suppress(OSError):
            shutil.rmtree(self.root)
