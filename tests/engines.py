"""Extra Docker engines and an SSH server on this machine, for several-engine tests.

Each extra engine has its own socket, data-root, exec-root, pidfile, cgroup parent, address
pool and **its own bridge** (never ``--bridge=none``: that dockerd deletes the host's
``docker0``), and leaves iptables alone. The demo image is copied in with
``docker save | docker load``. Everything is stopped by the pid this module started, and the
bridge it made is deleted.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

BASE = "infranb-demo/base:1"


@dataclass
class ExtraEngine:
    name: str
    index: int  # 2, 3, ...: picks the bridge and address pool
    root: Path
    tcp_port: int | None = None  # with TLS when set
    process: subprocess.Popen[bytes] | None = None
    certs: dict[str, Path] = field(default_factory=dict)

    @property
    def bridge(self) -> str:
        return f"inbt-e{self.index}br"

    @property
    def socket(self) -> Path:
        return self.root / "docker.sock"

    @property
    def host(self) -> str:
        return f"unix://{self.socket}"

    @property
    def tcp_host(self) -> str:
        return f"tcp://127.0.0.1:{self.tcp_port}"

    def docker(self, *args: str, input: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
        return docker_cli(self.host, *args, input=input)

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        subprocess.run(["ip", "link", "add", self.bridge, "type", "bridge"], check=True)
        subprocess.run(
            ["ip", "addr", "add", f"10.213.{self.index}.1/24", "dev", self.bridge], check=True
        )
        subprocess.run(["ip", "link", "set", self.bridge, "up"], check=True)
        command = [
            "dockerd",
            "-H", self.host,
            "--data-root", str(self.root / "data"),
            "--exec-root", str(self.root / "exec"),
            "--pidfile", str(self.root / "docker.pid"),
            "-b", self.bridge,
            "--iptables=false",
            "--ip-masq=false",
            "--cgroup-parent", f"infranb-e{self.index}",
            "--default-address-pool", f"base=10.{214 + self.index}.0.0/16,size=24",
        ]  # fmt: skip
        if self.tcp_port:
            self.certs = make_certificates(self.root / "certs")
            command += [
                "-H", self.tcp_host,
                "--tlsverify",
                "--tlscacert", str(self.certs["ca"]),
                "--tlscert", str(self.certs["server-cert"]),
                "--tlskey", str(self.certs["server-key"]),
            ]  # fmt: skip
        try:
            self.process = start_dockerd(command, self.root, self.host)
        except RuntimeError:
            self.stop()
            raise
        saved = subprocess.run(["docker", "save", BASE], capture_output=True, check=True).stdout
        loaded = self.docker("load", input=saved)
        assert loaded.returncode == 0, loaded.stderr

    def stop(self) -> None:
        """Stop the dockerd this object started (by its pid), then remove its bridge."""
        if self.process is not None and self.process.poll() is None:
            # Containers first, so the engine stops at once and unmounts everything.
            ids = self.docker("ps", "-aq").stdout.decode().split()
            if ids:
                self.docker("rm", "-f", *ids)
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        with contextlib.suppress(subprocess.CalledProcessError):
            subprocess.run(["ip", "link", "del", self.bridge], check=True, capture_output=True)
        subprocess.run(["umount", "-R", str(self.root / "exec")], capture_output=True)
        subprocess.run(["umount", "-R", str(self.root / "data")], capture_output=True)
        shutil.rmtree(self.root, ignore_errors=True)


def docker_cli(
    host: str, *args: str, input: bytes | None = None
) -> subprocess.CompletedProcess[bytes]:
    """The docker CLI against the engine at ``host`` (never the user's current context)."""
    env = {**os.environ, "DOCKER_HOST": host}
    env.pop("DOCKER_CONTEXT", None)
    return subprocess.run(["docker", *args], env=env, input=input, capture_output=True)


def start_dockerd(command: list[str], root: Path, host: str) -> subprocess.Popen[bytes]:
    """Start a dockerd (its log in ``root``) and wait until it answers at ``host``."""
    log = open(root / "dockerd.log", "wb")  # noqa: SIM115 - lives as long as dockerd
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while docker_cli(host, "info").returncode != 0:
        if process.poll() is not None or time.monotonic() > deadline:
            if process.poll() is None:
                process.kill()
                process.wait()
            tail = (root / "dockerd.log").read_text()[-2000:]
            raise RuntimeError(f"the engine at {host} did not start:\n{tail}")
        time.sleep(0.2)
    return process


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_certificates(folder: Path) -> dict[str, Path]:
    """A CA, a server certificate for 127.0.0.1 and a client certificate (openssl)."""
    folder.mkdir(parents=True, exist_ok=True)

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=inbt-ca",
        "-keyout", "ca-key.pem", "-out", "ca.pem")  # fmt: skip
    (folder / "server.ext").write_text("subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    (folder / "client.ext").write_text("extendedKeyUsage=clientAuth\n")
    for who in ("server", "client"):
        run("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN=inbt-{who}",
            "-keyout", f"{who}-key.pem", "-out", f"{who}.csr")  # fmt: skip
        run("x509", "-req", "-in", f"{who}.csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem",
            "-CAcreateserial", "-days", "2", "-extfile", f"{who}.ext",
            "-out", f"{who}-cert.pem")  # fmt: skip
    return {p.stem: p for p in folder.glob("*.pem")}


@dataclass
class SSHServer:
    """sshd on 127.0.0.1 (its own port, key-only) whose sessions talk to ``engine``; and an
    ``ssh`` wrapper on PATH that gives the real ssh client this test's key and known hosts."""

    engine: ExtraEngine
    root: Path
    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    @property
    def host(self) -> str:
        return f"ssh://root@127.0.0.1:{self.port}"

    @property
    def bin_dir(self) -> Path:
        return self.root / "bin"

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        keygen = ["ssh-keygen", "-q", "-t", "ed25519", "-N", ""]
        subprocess.run([*keygen, "-f", str(self.root / "host_key")], check=True)
        subprocess.run([*keygen, "-f", str(self.root / "client_key")], check=True)
        subprocess.run([*keygen, "-f", str(self.root / "wrong_key")], check=True)
        shutil.copy(self.root / "client_key.pub", self.root / "authorized_keys")
        (self.root / "sshd_config").write_text(
            f"""Port {self.port}
ListenAddress 127.0.0.1
HostKey {self.root / "host_key"}
AuthorizedKeysFile {self.root / "authorized_keys"}
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
StrictModes no
UsePAM no
PidFile {self.root / "sshd.pid"}
SetEnv DOCKER_HOST={self.engine.host}
"""
        )
        Path("/run/sshd").mkdir(exist_ok=True)  # sshd's privilege separation folder
        self.process = subprocess.Popen(
            ["/usr/sbin/sshd", "-D", "-e", "-f", str(self.root / "sshd_config")],
            stdout=open(self.root / "sshd.log", "wb"),  # noqa: SIM115
            stderr=subprocess.STDOUT,
        )
        self.use_key("client_key")
        deadline = time.monotonic() + 20
        while True:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), 1),
            ):
                break
            if time.monotonic() > deadline:
                raise RuntimeError("sshd did not start: " + (self.root / "sshd.log").read_text())
            time.sleep(0.1)

    def use_key(self, key: str) -> None:
        """Point the ``ssh`` wrapper at ``key`` (``client_key`` or ``wrong_key``)."""
        self.bin_dir.mkdir(exist_ok=True)
        (self.root / "ssh_config").write_text(
            f"""Host 127.0.0.1
  IdentityFile {self.root / key}
  IdentitiesOnly yes
  UserKnownHostsFile {self.root / "known_hosts"}
  StrictHostKeyChecking accept-new
  BatchMode yes
"""
        )
        wrapper = self.bin_dir / "ssh"
        wrapper.write_text(f'#!/bin/sh\nexec /usr/bin/ssh -F {self.root / "ssh_config"} "$@"\n')
        wrapper.chmod(0o755)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        shutil.rmtree(self.root, ignore_errors=True)


def temporary_root(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=prefix))


@dataclass
class PodmanService:
    """``podman system service`` on a socket of its own, with its own storage, run folder,
    network folder and address pool, stopped by the pid this object started.

    This machine's sandbox refuses raising rlimits and crun fails on its cgroups: the
    service gets a containers.conf of its own (lower default ulimits, runc) through
    ``CONTAINERS_CONF``, and a registries.conf that lets it use the local plain-HTTP
    registries, through ``CONTAINERS_REGISTRIES_CONF`` — never over a user's own files.
    """

    root: Path
    images: tuple[str, ...] = (BASE,)
    process: subprocess.Popen[bytes] | None = None

    #: the default network's bridge (the networks a test makes get Podman's podmanN)
    bridge: str = "inbt-pm0"

    @property
    def socket(self) -> Path:
        return self.root / "podman.sock"

    @property
    def host(self) -> str:
        return f"unix://{self.socket}"

    @property
    def environment(self) -> dict[str, str]:
        return {
            **os.environ,
            "CONTAINERS_CONF": str(self.root / "containers.conf"),
            "CONTAINERS_REGISTRIES_CONF": str(self.root / "registries.conf"),
        }

    def command(self, *args: str) -> list[str]:
        """The podman CLI's argv on this service's storage (run it with ``environment``)."""
        return ["podman", "--root", str(self.root / "storage"),
                "--runroot", str(self.root / "run"), *args]  # fmt: skip

    def podman(self, *args: str, input: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
        """The podman CLI on this service's storage (what the service itself sees)."""
        return subprocess.run(
            self.command(*args), env=self.environment, input=input, capture_output=True
        )

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "networks").mkdir(exist_ok=True)
        (self.root / "containers.conf").write_text(
            "[containers]\n"
            'default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]\n'
            "[engine]\n"
            'runtime = "runc"\n'
            # Events in a file of its own: past events (since/until) are read back from it.
            'events_logger = "file"\n'
            f'events_logfile_path = "{self.root / "events.log"}"\n'
            f'tmp_dir = "{self.root / "tmp"}"\n'
            "[network]\n"
            f'network_config_dir = "{self.root / "networks"}"\n'
            'default_subnet = "10.89.0.0/24"\n'
            'default_subnet_pools = [{"base" = "10.90.0.0/16", "size" = 24}]\n'
        )
        # The default network, with a bridge of its own: Podman's own default ("podman" on
        # podman0) would share a bridge with a Podman of the host.
        (self.root / "networks" / "podman.json").write_text(
            json.dumps(
                {
                    "name": "podman",
                    "id": hashlib.sha256(str(self.root).encode()).hexdigest(),
                    "driver": "bridge",
                    "network_interface": self.bridge,
                    "created": "2026-12-02T00:00:00Z",
                    "subnets": [{"subnet": "10.89.0.0/24", "gateway": "10.89.0.1"}],
                    "ipv6_enabled": False,
                    "internal": False,
                    "dns_enabled": False,
                    "ipam_options": {"driver": "host-local"},
                }
            )
        )
        (self.root / "registries.conf").write_text(
            "unqualified-search-registries = []\n"
            '[[registry]]\nlocation = "127.0.0.1:5000"\ninsecure = true\n'
            '[[registry]]\nlocation = "127.0.0.1:5001"\ninsecure = true\n'
        )
        log = open(self.root / "service.log", "wb")  # noqa: SIM115 - lives as long as podman
        command = ["podman", "--root", str(self.root / "storage"),
                   "--runroot", str(self.root / "run"),
                   "system", "service", "--time=0", self.host]  # fmt: skip
        self.process = subprocess.Popen(
            command, env=self.environment, stdout=log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 30
        while docker_cli(self.host, "version").returncode != 0:
            if self.process.poll() is not None or time.monotonic() > deadline:
                tail = (self.root / "service.log").read_text()[-2000:]
                self.stop()
                raise RuntimeError(f"podman system service did not start:\n{tail}")
            time.sleep(0.1)
        saved = subprocess.run(["docker", "save", *self.images], capture_output=True, check=True)
        loaded = self.podman("load", input=saved.stdout)
        assert loaded.returncode == 0, loaded.stderr

    def stop(self) -> None:
        """Remove this service's containers, stop it by its pid, and remove its folders
        (its storage is unmounted first)."""
        if self.process is not None and self.process.poll() is None:
            self.podman("rm", "-af", "-t", "0")
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for mounted in ("storage/overlay", "storage", "run"):
            subprocess.run(["umount", "-R", str(self.root / mounted)], capture_output=True)
        shutil.rmtree(self.root, ignore_errors=True)
