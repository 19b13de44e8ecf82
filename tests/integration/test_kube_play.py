"""Issue 47's proof on a real engine: the manifests of a three-service stack (a database
with a named volume and a check, a web server with a check, an app that waits for the
database to be healthy and reads a secret) played by Podman 4.3's ``kube play`` on this test
session's Podman service. No Kubernetes API server can run here; what this proves and what
only the schemas prove is in docs/kubernetes.md.

Podman 4.3 differs from Kubernetes in two ways the test works around, each said where it is
done (``for_podman_43``): between pods only the pod's name resolves (``<name>-pod-0``), not
the Service's; and an init container inherits the pod's restart policy (Always, the only one
a Deployment allows), so it runs again and again after it succeeded until the play fails
(podman issue 16343, fixed in Podman 4.6).
"""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import tarfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from infranb import InfrastructureManager, InfrastructureOperation, secret_from_env
from infranb.kubernetes import Manifests, manifests
from tests.engines import PodmanService
from tests.integration.conftest import BASE, fast_config

#: what ``podman ... ls`` lists, by kind (pods and secrets are Podman's own, beyond Census)
LISTED = {
    "pods": ("pod", "ls", "--format", "{{.Name}}"),
    "containers": ("ps", "-a", "--format", "{{.Names}}"),
    "volumes": ("volume", "ls", "--format", "{{.Name}}"),
    "networks": ("network", "ls", "--format", "{{.Name}}"),
    "secrets": ("secret", "ls", "--format", "{{.Name}}"),
}


def kube_census(service: PodmanService) -> dict[str, set[str]]:
    found = {}
    for kind, args in LISTED.items():
        listed = service.podman(*args)
        assert listed.returncode == 0, listed.stderr
        found[kind] = set(listed.stdout.decode().split())
    return found


@dataclass
class Played:
    """What a test played on Podman, removed after it whatever happened: ``kube down`` of
    each file, then what ``kube down`` leaves (the volumes of the PVCs and ConfigMaps, the
    network kube play made, the secret), and a census proves nothing remains."""

    service: PodmanService
    before: dict[str, set[str]]
    files: list[Path] = field(default_factory=list)
    volumes: set[str] = field(default_factory=set)
    secrets: set[str] = field(default_factory=set)
    background: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def play(self, path: Path) -> subprocess.CompletedProcess[bytes]:
        self.files.append(path)
        return self.service.podman("kube", "play", str(path))

    def play_in_background(self, path: Path) -> subprocess.Popen[bytes]:
        self.files.append(path)
        started = subprocess.Popen(
            self.service.command("kube", "play", str(path)),
            env=self.service.environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        self.background.append(started)
        return started

    def clean(self) -> None:
        for started in self.background:  # stopped by the pid this test started
            if started.poll() is None:
                started.kill()
            started.communicate()
        for path in self.files:
            self.service.podman("kube", "down", str(path))
        left = kube_census(self.service)
        for pod in left["pods"] - self.before["pods"]:
            self.service.podman("pod", "rm", "-f", pod)
        for volume in self.volumes & left["volumes"]:
            self.service.podman("volume", "rm", "-f", volume)
        for secret in self.secrets & left["secrets"]:
            self.service.podman("secret", "rm", secret)
        # kube play makes "podman-default-kube-network" on a Podman that has none; kube
        # down leaves it. Only a network this test's play made is removed.
        for network in left["networks"] - self.before["networks"]:
            self.service.podman("network", "rm", "-f", network)


@pytest.fixture
def played(podman_service: PodmanService) -> Iterator[Played]:
    before = kube_census(podman_service)
    tracked = Played(podman_service, before)
    try:
        yield tracked
    finally:
        tracked.clean()
    after = kube_census(podman_service)
    left = {kind: sorted(after[kind] - before[kind]) for kind in after}
    assert not any(left.values()), f"the test left resources on Podman: {left}"


def three_services(uid: str) -> InfrastructureOperation:
    """db keeps a token in a named volume and serves it; web serves a page; app waits for db
    to be healthy and reads a secret. Each check is a plain command (Podman 4.3 joins an exec
    probe's arguments into one shell line, so ``sh -c '...'`` would lose its quoting)."""
    return InfrastructureOperation(
        operation="orchestrate_containers",
        stack=f"{uid}-kube",
        containers=[
            {"name": f"{uid}-db", "image": BASE,
             "command": ["sh", "-c", "[ -f /data/first ] || echo \"$FIRST\" > /data/first; "
                         "exec httpd -f -p 5432 -h /data"],
             "environment": {"FIRST": f"written-by-{uid}"},
             "volumes": {f"{uid}-data": "/data"}, "expose": ["5432"],
             "healthcheck": {"test": ["CMD", "nc", "-w", "1", "127.0.0.1", "5432"],
                             "interval": "1s", "retries": 3}},
            {"name": f"{uid}-web", "image": BASE,
             "command": ["httpd", "-f", "-p", "8080", "-h", "/"], "expose": ["8080"],
             "healthcheck": {"test": ["CMD", "nc", "-w", "1", "127.0.0.1", "8080"],
                             "interval": "1s", "retries": 3}},
            {"name": f"{uid}-app", "image": BASE, "command": ["sleep", "300"],
             "depends_on": {f"{uid}-db": "healthy"},
             "environment": {"API_TOKEN": secret_from_env("INBT_KUBE_TOKEN")}},
        ],
    )  # fmt: skip


def for_podman_43(objects: list[dict[str, Any]], db: str) -> list[dict[str, Any]]:
    """The objects as Podman 4.3 can play them: the init container waits for the pod's name
    (the only name that resolves between pods there), and the app's pod restarts on failure
    only (else Podman restarts the init container after it succeeded: podman issue 16343).
    Kubernetes needs neither; the schemas are checked on the objects as made."""
    changed = json.loads(json.dumps(objects))
    for o in changed:
        spec = o["spec"]["template"]["spec"] if o["kind"] == "Deployment" else {}
        for init in spec.get("initContainers", []):
            script = init["command"][-1]
            assert f" {db} " in script, script  # else the rewrite below would do nothing
            init["command"][-1] = script.replace(f" {db} ", f" {db}-pod-0 ")
            spec["restartPolicy"] = "OnFailure"
    return changed


def write(objects: list[dict[str, Any]], path: Path) -> Path:
    path.write_text("---\n".join(yaml.safe_dump(o, sort_keys=False) for o in objects))
    return path


def wait_for(what: str, check: Any, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {seconds:.0f} s")
        time.sleep(0.25)


def state(service: PodmanService, container: str) -> str:
    shown = service.podman("inspect", container, "--format", "{{.State.Status}}")
    return shown.stdout.decode().strip() if shown.returncode == 0 else "missing"


def test_a_stacks_manifests_play_on_podman_with_its_wait_secret_checks_and_volume(
    podman_service: PodmanService,
    played: Played,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    service = podman_service
    uid = f"inbt{uuid.uuid4().hex[:6]}"
    db, web, app = f"{uid}-db", f"{uid}-web", f"{uid}-app"
    token = f"token-{uuid.uuid4().hex}"
    monkeypatch.setenv("INBT_KUBE_TOKEN", token)

    # The image is looked at on Podman (a container created, never started, removed).
    with InfrastructureManager(fast_config(docker_host=service.host)) as manager:
        made: Manifests = manifests(three_services(uid), manager=manager)
    assert made.validate() == []
    assert made.not_converted.empty, made.not_converted
    assert token not in made.to_yaml()
    played.volumes |= {o["metadata"]["name"] for o in made.objects
                       if o["kind"] in ("PersistentVolumeClaim", "ConfigMap")}  # fmt: skip
    objects = for_podman_43(made.objects, db)

    # The secret the manifests name, filled as Podman 4.3 reads one: JSON of base64 values.
    assert made.secret_name is not None
    values = tmp_path / "secret.json"
    values.touch(mode=0o600)
    values.write_text(json.dumps({"API_TOKEN": base64.b64encode(token.encode()).decode()}))
    created = service.podman("secret", "create", made.secret_name, str(values))
    assert created.returncode == 0, created.stderr
    played.secrets.add(made.secret_name)

    # The app first, alone: its init container waits, and the app does not start.
    app_file = write([o for o in objects if o["metadata"]["name"] == app], tmp_path / "app.yaml")
    rest_file = write([o for o in objects if o["metadata"]["name"] != app], tmp_path / "rest.yaml")
    playing = played.play_in_background(app_file)
    waiting = f"{app}-pod-0-wait-for-{db}"
    wait_for(
        "the init container says it waits",
        lambda: b"waiting for" in service.podman("logs", waiting).stdout,
    )
    assert playing.poll() is None  # still waiting for db
    assert state(service, f"{app}-pod-0-{app}") == "created"

    # db and web (with the PVC and the Services, which Podman ignores): the wait ends.
    rest = played.play(rest_file)
    assert rest.returncode == 0, rest.stderr.decode()[-2000:]
    output, _ = playing.communicate(timeout=120)
    assert playing.returncode == 0, output.decode()[-2000:]
    for container in (f"{db}-pod-0-{db}", f"{web}-pod-0-{web}", f"{app}-pod-0-{app}"):
        assert state(service, container) == "running", container
    assert waiting not in kube_census(service)["containers"]  # ran once, then removed

    # The secret arrived through secretKeyRef (compared here, never printed).
    env = service.podman("exec", f"{app}-pod-0-{app}", "sh", "-c", 'echo "$API_TOKEN"')
    arrived = env.returncode == 0 and env.stdout.decode().strip() == token
    assert arrived, "API_TOKEN in the app is not the secret's value"

    # The liveness probes became health checks; Podman runs them on request here.
    for container in (f"{db}-pod-0-{db}", f"{web}-pod-0-{web}"):
        wait_for(
            f"{container} passes its check",
            lambda c=container: service.podman("healthcheck", "run", c).returncode == 0,
            seconds=20,
        )

    # The PVC's data survives kube down.
    first = service.podman("exec", f"{db}-pod-0-{db}", "cat", "/data/first")
    assert first.stdout.decode().strip() == f"written-by-{uid}"
    for path in (app_file, rest_file):
        down = service.podman("kube", "down", str(path))
        assert down.returncode == 0, down.stderr
    left = kube_census(service)
    assert not {p for p in left["pods"] if p.startswith(uid)}
    assert f"{uid}-data" in left["volumes"]  # kube down keeps the PVC's volume

    again = played.play(write([o for o in objects if o["metadata"]["name"] in (db, f"{uid}-data")],
                              tmp_path / "db.yaml"))  # fmt: skip
    if again.returncode == 0:
        wait_for("db runs again", lambda: state(service, f"{db}-pod-0-{db}") == "running")
        kept = service.podman("exec", f"{db}-pod-0-{db}", "cat", "/data/first").stdout
    else:
        # Podman 4.3: a second play refuses a PVC whose volume exists (also with --replace),
        # so the data is read from the volume itself.
        assert b"already exists" in again.stderr, again.stderr
        exported = service.podman("volume", "export", f"{uid}-data")
        assert exported.returncode == 0, exported.stderr
        with tarfile.open(fileobj=io.BytesIO(exported.stdout)) as archive:
            member = archive.extractfile("first")
            assert member is not None
            kept = member.read()
    assert kept.decode().strip() == f"written-by-{uid}"
    assert os.stat(values).st_mode & 0o077 == 0
