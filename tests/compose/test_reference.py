"""infranb's Compose loader agrees with ``docker-compose config`` (v1.29, Debian's) on the
corpus in ``corpus/``: services, images, environment, ports, volumes, networks, depends_on,
command and entrypoint.

Each corpus folder is one project; an optional ``case.yaml`` gives the files to merge in
order (``files``), the environment (``environ``, which replaces the shell's) and the
profiles. Cases with a ``reference`` key use what v1.29 does not understand (the key says
what); every case, those too, is compared with Compose v2 in ``test_v2_reference.py``.
"""

from __future__ import annotations

import os
import posixpath
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from infranb import compose
from infranb.core.secrets import SecretRef
from infranb.inputs.compose.interpolation import env_file_values
from tests.compose_cli import V1

CORPUS = Path(__file__).parent / "corpus"


def meta(case: Path) -> dict[str, Any]:
    file = case / "case.yaml"
    return yaml.safe_load(file.read_text()) if file.is_file() else {}


CASES = sorted(p for p in CORPUS.iterdir() if p.is_dir())
REFERENCE_CASES = [c for c in CASES if "reference" not in meta(c)]


def load(case: Path) -> compose.Project:
    info = meta(case)
    files = [case / f for f in info["files"]] if "files" in info else None
    return compose.load(
        files or case, environ=info.get("environ", {}), profiles=info.get("profiles", ["*"])
    )


def infranb_view(case: Path) -> dict[str, dict[str, Any]]:
    project = load(case)
    view = {}
    for name, service in project.model.services.items():
        container = next(c for c in project.containers if c["name"] == project.container_name(name))
        view[name] = {
            "image": service.get("image"),
            # A secret from .env is a reference the container gets the value of.
            "environment": {
                k: v.resolve(env_file_values) if isinstance(v, SecretRef) else v
                for k, v in container.get("environment", {}).items()
            },
            "ports": {
                (p["host_ip"], p["published"], int(p["target"]), p["protocol"])
                for p in service.get("ports", [])
            },
            "volumes": {
                (m["type"], m.get("source"), m["target"], bool(m.get("read_only")))
                for m in service.get("volumes", [])
            },
            **_links(service, service.get("networks") or {}),
        }
    return view


def _links(service: dict[str, Any], networks: dict[str, Any]) -> dict[str, Any]:
    """The keys both sides already hold in the same long form."""
    return {
        "networks": {net: sorted((o or {}).get("aliases", [])) for net, o in networks.items()},
        "depends_on": {
            dep: options["condition"] for dep, options in (service.get("depends_on") or {}).items()
        },
        "command": service.get("command"),
        "entrypoint": service.get("entrypoint"),
    }


_SHORT_PORT = re.compile(
    r"^(?:(?P<ip>[\d.]+):)?(?:(?P<published>\d*):)?(?P<target>\d+)(?:/(?P<protocol>\w+))?$"
)


def reference_view(case: Path) -> dict[str, dict[str, Any]]:
    info = meta(case)
    command = [V1, "--project-directory", str(case)]
    for file in info.get("files", []):
        command += ["-f", str(case / file)]
    environment = {"PATH": os.environ["PATH"], **info.get("environ", {})}
    done = subprocess.run(
        [*command, "config"], cwd=case, env=environment, capture_output=True, text=True
    )
    assert done.returncode == 0, f"docker-compose config failed on {case.name}: {done.stderr}"
    services = yaml.safe_load(done.stdout)["services"]
    view = {}
    for name, service in services.items():
        view[name] = {
            "image": service.get("image"),
            "environment": {
                key: str(value).replace("$$", "$")
                for key, value in (service.get("environment") or {}).items()
                if value is not None  # unset in the shell: not passed to the container
            },
            "ports": {_reference_port(p) for p in service.get("ports", [])},
            "volumes": {_reference_mount(m) for m in service.get("volumes", [])},
            **_links(
                service,
                service["networks"]
                if isinstance(service.get("networks"), dict)
                else dict.fromkeys(service.get("networks") or []),
            ),
        }
    return view


def _reference_port(port: Any) -> tuple[str, str | None, int, str]:
    if isinstance(port, dict):
        published = port.get("published")
        return (
            port.get("host_ip", ""),
            None if published is None else str(published),
            int(port["target"]),
            port.get("protocol", "tcp"),
        )
    match = _SHORT_PORT.match(str(port))
    assert match, port
    return (
        match.group("ip") or "",
        match.group("published") or None,
        int(match.group("target")),
        match.group("protocol") or "tcp",
    )


def _reference_mount(mount: Any) -> tuple[str, str | None, str, bool]:
    if isinstance(mount, dict):
        return (
            mount["type"],
            mount.get("source"),
            posixpath.normpath(mount["target"]),
            bool(mount.get("read_only")),
        )
    parts = str(mount).split(":")
    mode = parts.pop() if len(parts) == 3 else "rw"
    source, target = parts if len(parts) == 2 else (None, parts[0])
    kind = "bind" if source and source.startswith("/") else "volume"
    # v1 keeps a trailing slash; the engine (and v2) do not: "/etc/x/" is "/etc/x".
    return kind, source, posixpath.normpath(target), "ro" in mode.split(",")


@pytest.fixture(scope="module", autouse=True)
def _docker_compose() -> None:
    if shutil.which(V1) is None:
        message = (
            "docker-compose (v1.29, Debian's package) is the reference; "
            "scripts/setup.sh installs it"
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def test_the_corpus_is_big_and_varied() -> None:
    assert len(CASES) >= 25
    assert len(REFERENCE_CASES) >= 25


@pytest.mark.parametrize("case", REFERENCE_CASES, ids=[c.name for c in REFERENCE_CASES])
def test_loaded_project_agrees_with_docker_compose_config(case: Path) -> None:
    ours, theirs = infranb_view(case), reference_view(case)
    assert sorted(ours) == sorted(theirs), "the services differ"
    for service in theirs:
        for key in theirs[service]:
            assert ours[service][key] == theirs[service][key], f"{service}.{key}"
