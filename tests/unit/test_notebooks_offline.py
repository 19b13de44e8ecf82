"""Every notebook runs with no engine reachable (as on Binder) and shows no error output:
cells that need the engine say so in one line and do nothing."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).parents[2] / "notebooks"


@pytest.mark.parametrize("name", sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")))
def test_notebook_without_engine(name: str, tmp_path: Path, monkeypatch) -> None:
    shutil.copytree(NOTEBOOKS, tmp_path / "notebooks")
    monkeypatch.setenv("DOCKER_HOST", "tcp://127.0.0.1:1")  # nothing listens there
    monkeypatch.setenv("HOME", str(tmp_path))  # keep the demo password file out of ~
    nb = nbformat.read(tmp_path / "notebooks" / name, as_version=4)
    client = NotebookClient(
        nb,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path / "notebooks")}},
    )
    client.execute(env=dict(os.environ))
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    stderr = [o.text for o in outputs if o.output_type == "stream" and o.name == "stderr"]
    assert not [t for t in stderr if "Traceback" in t]
    text = "\n".join(
        o.get("text", "") if o.output_type == "stream" else o.get("data", {}).get("text/plain", "")
        for o in outputs
    )
    assert "No Docker engine answers at tcp://127.0.0.1:1" in text
    assert "Traceback" not in text
