"""Each notebook run under nbval leaves the engine as it found it: a census is taken before its
first cell and compared after its last; anything new fails the notebook's last cell."""

from __future__ import annotations

from pathlib import Path

import pytest

from infranb.engines.docker import DockerEngine
from tests.conftest import Census

_engine = DockerEngine()
_before: dict[str, Census] = {}


def _notebook_of(item: pytest.Item | None) -> str | None:
    path = str(getattr(item, "fspath", ""))
    return path if path.endswith(".ipynb") else None


def pytest_runtest_setup(item: pytest.Item) -> None:
    notebook = _notebook_of(item)
    if notebook is not None and notebook not in _before:
        _before[notebook] = Census.take(_engine)


def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    notebook = _notebook_of(item)
    if notebook is None or _notebook_of(nextitem) == notebook or notebook not in _before:
        return
    left = Census.take(_engine).new_since(_before.pop(notebook))
    if left:
        raise AssertionError(f"{Path(notebook).name} left resources on the engine: {left}")
