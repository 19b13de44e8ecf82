"""What ``from infranb import …`` offers is ``__all__``, sorted, and every name in it exists
(httpx's ``test_exported_members.py`` is the model). The documented module paths keep working."""

from __future__ import annotations

import importlib
import types

import pytest

import infranb


def test_all_is_every_public_name_sorted() -> None:
    public = sorted(
        name
        for name, value in vars(infranb).items()
        if (not name.startswith("_") or name == "__version__")
        and not isinstance(value, types.ModuleType)  # subpackages set themselves here
    )
    assert infranb.__all__ == public
    assert infranb.__all__ == sorted(infranb.__all__)


@pytest.mark.parametrize("name", infranb.__all__)
def test_every_exported_name_exists(name: str) -> None:
    assert getattr(infranb, name) is not None


def test_the_exceptions_users_can_meet_are_exported_and_are_infra_errors() -> None:
    for name in (
        "Refused",
        "RevertError",
        "NotSwarmManager",
        "ServiceFailed",
        "PushFailed",
        "EngineUnavailable",
        "ValidationError",
    ):
        assert name in infranb.__all__
        assert issubclass(getattr(infranb, name), infranb.InfraError)
    assert "ServiceOutcome" in infranb.__all__


def test_the_exception_tree_in_the_docstring_names_every_exception() -> None:
    from infranb.core import errors

    exceptions = {
        name
        for name, value in vars(errors).items()
        if isinstance(value, type) and issubclass(value, infranb.InfraError)
    }
    drawn = errors.__doc__ or ""
    assert {name for name in exceptions if name not in drawn} == set()


def test_documented_module_paths_keep_working() -> None:
    from infranb import compose
    from infranb.engines.memory import MemoryEngine as Real
    from infranb.inputs import compose as inputs_compose
    from infranb.memory import MemoryEngine as Kept
    from infranb.testing import MemoryEngine

    assert MemoryEngine is Kept is Real
    assert compose.load is inputs_compose.load
    assert compose.Project is inputs_compose.Project
    # infranb.widgets loads ipywidgets; its names are the notebook's forms
    widgets = importlib.import_module("infranb.widgets")
    notebook_widgets = importlib.import_module("infranb.notebook.widgets")
    for name in widgets.__all__:
        assert getattr(widgets, name) is getattr(notebook_widgets, name)


def test_import_infranb_loads_no_operation_handler_and_no_engine_sdk() -> None:
    """The table of operations loads on first use (a request's validation), so the first
    ``import infranb`` cell of a notebook stays fast."""
    import subprocess
    import sys

    code = (
        "import sys, infranb; "
        "print(sorted(m for m in sys.modules if m.startswith(('infranb.ops.', 'docker'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"  # the types live in core: not even ops.base loads
