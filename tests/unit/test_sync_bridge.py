from __future__ import annotations

import asyncio
import subprocess
import sys

from infranb.manager import run_sync


async def answer() -> int:
    await asyncio.sleep(0)
    return 42


def test_run_sync_without_a_loop() -> None:
    assert run_sync(answer()) == 42


def test_run_sync_inside_a_running_loop() -> None:
    async def inside() -> int:
        return run_sync(answer())  # what manager.run does in a Jupyter cell

    assert asyncio.run(inside()) == 42


def test_import_does_not_load_pandas_or_widgets() -> None:
    code = "import sys, infranb; print('pandas' in sys.modules, 'ipywidgets' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_public_names_are_sorted_and_importable() -> None:
    import infranb

    assert infranb.__all__ == sorted(infranb.__all__)
    for name in infranb.__all__:
        assert hasattr(infranb, name)
