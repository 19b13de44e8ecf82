"""The live progress line folds events into counts (pure; the widget only shows the text)."""

from __future__ import annotations

from infranb.core.records import ProgressEvent as E
from infranb.core.sync import in_notebook
from infranb.notebook.live import ProgressLine


def test_a_bring_up_counts_layers_and_ready_containers() -> None:
    line = ProgressLine("orchestrate_containers")
    line.update(E("planned", "shop", total=3))
    line.update(E("pull", "reg/app:1", "pulling"))
    assert line.text() == "orchestrate_containers: pull reg/app:1 · containers 0/3 ready"
    for layer in ("aaaaaaaaaaaa", "bbbbbbbbbbbb"):
        line.update(E("pull", "reg/app:1", f"{layer} Downloading", current=1, total=9))
    line.update(E("pull", "reg/app:1", "aaaaaaaaaaaa Pull complete"))
    assert "pull reg/app:1: 1/2 layers" in line.text()
    line.update(E("pull", "reg/app:1", "pulled in 1.2s"))
    for name in ("db", "api"):
        line.update(E("container_created", name))
        line.update(E("container_ready", name, "healthy after 1.00s"))
    assert line.text() == "orchestrate_containers: pulled reg/app:1 · containers 2/3 ready"


def test_a_failure_and_rollback_show() -> None:
    line = ProgressLine("orchestrate_containers")
    line.update(E("container_created", "db"))
    line.update(E("container_failed", "db", "exited with code 1"))
    line.update(E("rollback", "shop", "rolling back"))
    assert line.text() == (
        "orchestrate_containers: containers 0/1 ready · failed: db · rolling back"
    )


def test_a_container_that_crashes_after_it_was_ready_is_not_counted_ready() -> None:
    """A fast crash can follow a good start: verify() fails it after container_ready."""
    line = ProgressLine("orchestrate_containers")
    line.update(E("planned", "shop", total=1))
    line.update(E("container_ready", "bad", "running after 0.01s"))
    line.update(E("container_failed", "bad", "exited with code 2"))
    line.update(E("rollback", "shop", "rolling back"))
    assert line.text() == (
        "orchestrate_containers: containers 0/1 ready · failed: bad · rolling back"
    )


def test_plain_python_is_not_a_notebook() -> None:
    assert not in_notebook()


def test_a_notebook_cell_shows_one_live_line() -> None:
    """In a real kernel: ``await manager.execute(op)`` shows one widget line whose final
    state sums up the run (saved with the notebook, left out of nbval's comparison)."""
    import json

    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "from infranb import InfrastructureManager, InfrastructureOperation\n"
            "from infranb.testing import MemoryEngine\n"
            "manager = InfrastructureManager(engine=MemoryEngine(['img:1']))\n"
            "op = InfrastructureOperation(operation='orchestrate_containers', stack='live',\n"
            "    containers=[{'image': 'img:1', 'name': 'web'},\n"
            "                {'image': 'img:1', 'name': 'db'}])\n"
            "result = await manager.execute(op)\n"
            "print(result.success)"
        )
    ]
    NotebookClient(nb, timeout=60, kernel_name="python3").execute()
    outputs = nb.cells[0].outputs
    assert [o.output_type for o in outputs] == ["display_data", "stream"]
    assert "application/vnd.jupyter.widget-view+json" in outputs[0].data
    assert outputs[1].text == "True\n"
    state = json.dumps(nb.metadata["widgets"], ensure_ascii=False)
    assert "✓ orchestrate_containers: done: 2 create" in state  # the result's state
