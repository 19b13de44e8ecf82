"""The project name and ``${COMPOSE_PROJECT_NAME}`` as Compose v2 (2.40.3) settles them.

compose-go's order (``cli/options.go``): ``-p``, then ``COMPOSE_PROJECT_NAME`` from the
environment, then from ``.env``, then the files' ``name:`` key (interpolated), then the
folder's name; the variable in the files is the name in force. Issue 43 found a project
whose ``.env`` names it ``xtm`` read ``${COMPOSE_PROJECT_NAME}`` as ``xtm`` under ``-p p``
(OpenCTI's stock file builds a network name from it). Each source is checked against v2's
``config --format json`` on the same folder.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from infranb import compose
from tests.compose_cli import V2

FILE = """\
{name}services:
  runner:
    image: example/runner:1
    environment:
      NETWORK_MODE: ${{COMPOSE_PROJECT_NAME}}_default
"""

#: source -> (name: key, .env, environment, -p)
SOURCES = {
    "-p": ("fromkey", "fromdotenv", "fromenv", "fromflag"),
    "environment": ("fromkey", "fromdotenv", "fromenv", None),
    ".env": ("fromkey", "fromdotenv", None, None),
    "name key": ("fromkey", None, None, None),
    "interpolated name key": ("${KEY_NAME:-fromdefault}", None, None, None),
    "folder": (None, None, None, None),
}


def v2_name_and_value(folder: Path, environ: dict[str, str], flag: str | None) -> tuple[str, str]:
    command = [V2, *(["-p", flag] if flag else []), "config", "--format", "json"]
    done = subprocess.run(
        command,
        cwd=folder,
        env={"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/root"), **environ},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    model = json.loads(done.stdout)
    return model["name"], model["services"]["runner"]["environment"]["NETWORK_MODE"]


@pytest.mark.parametrize("source", SOURCES)
def test_the_name_in_force_is_what_compose_project_name_means(source: str, tmp_path: Path) -> None:
    key, dotenv, environment, flag = SOURCES[source]
    folder = tmp_path / "folderproject"
    folder.mkdir()
    (folder / "compose.yaml").write_text(FILE.format(name=f"name: {key}\n" if key else ""))
    if dotenv:
        (folder / ".env").write_text(f"COMPOSE_PROJECT_NAME={dotenv}\n")
    environ = {"COMPOSE_PROJECT_NAME": environment} if environment else {}
    theirs = v2_name_and_value(folder, environ, flag)
    project = compose.load(folder, project_name=flag, environ=environ)
    container = project.containers[0]
    assert (project.name, container["environment"]["NETWORK_MODE"]) == theirs
    expected = {"-p": "fromflag", "environment": "fromenv", ".env": "fromdotenv"}
    expected |= {"name key": "fromkey", "interpolated name key": "fromdefault"}
    assert theirs[0] == expected.get(source, "folderproject")
    assert theirs[1] == f"{theirs[0]}_default"
