"""The committed notebooks are executed, error-free, and carry no secrets."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = sorted((Path(__file__).parents[2] / "notebooks").glob("*.ipynb"))
EXPECTED = [
    "01-quickstart",
    "02-multi-container-stack",
    "03-images",
    "04-health-and-recovery",
    "05-cleanup",
    "06-forms",
    "07-runbook-template",
    "08-compose",
    "09-fleet",
    "10-swarm",
    "11-journal",
    "12-explore-a-host",
    "13-updates-without-an-outage",
]


def test_all_notebooks_are_there() -> None:
    assert [p.stem for p in NOTEBOOKS] == EXPECTED


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_executed_without_errors(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code), "commit the notebook executed"
    counts = [c.execution_count for c in code]
    assert counts == sorted(counts), "executed top to bottom in one run"
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    assert not errors
    stderr = [
        o.text for c in code for o in c.outputs if o.output_type == "stream" and o.name == "stderr"
    ]
    assert not [s for s in stderr if "Traceback" in s or "Error" in s]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_first_cells_are_parameters(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert "parameters" in code[0].metadata.get("tags", [])


# That no secret reaches saved output is proved where a secret is planted and the notebook
# run: tests/integration/test_notebook_secrets.py (and the form in tests/browser/test_lab.py).
