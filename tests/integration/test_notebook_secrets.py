"""A password planted by the test reaches the stack of notebook 02 and none of its outputs."""

from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from infranb.engines.docker import DockerEngine

NOTEBOOKS = Path(__file__).parents[2] / "notebooks"

pytestmark = pytest.mark.usefixtures("demo_images")


def test_a_planted_password_never_reaches_saved_output(
    engine: DockerEngine, uid: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    password_file = home / ".config" / "infranb" / "demo-db-password"
    password_file.parent.mkdir(parents=True)
    planted = "planted-" + secrets.token_urlsafe(12)
    password_file.write_text(planted)
    shutil.copytree(NOTEBOOKS, tmp_path / "notebooks")
    path = tmp_path / "notebooks" / "02-multi-container-stack.ipynb"
    nb = nbformat.read(path, as_version=4)
    parameters = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    parameters.source += f'\nSTACK = "{uid}"  # this test\'s own stack'
    monkeypatch.setenv("HOME", str(home))
    client = NotebookClient(
        nb,
        timeout=240,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    try:
        client.execute(env=dict(os.environ))
    finally:
        for c in engine.list_containers(labels={"infranb.stack": uid}):  # if a cell failed
            engine.remove_container(c.id, force=True)
    nbformat.write(nb, path)
    saved = path.read_text()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert str(password_file) in saved  # the notebook read the planted file (shown by name)
    assert planted not in saved
    # The journal the notebook's runs were written to (the default, under this HOME) holds
    # the secret by reference only.
    journal = list((home / ".local" / "share" / "infranb").glob("journal.sqlite*"))
    assert journal, "the notebook's runs were not journaled"
    assert not [p for p in journal if planted.encode() in p.read_bytes()]
