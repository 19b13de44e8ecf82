"""The one place where the types below reach the layers above them.

A request needs the operation table (to parse itself, to know which fields to show), a
result its operation's table, and every type with a notebook face its HTML. Those live
above ``core`` (``infranb.ops.table``, ``infranb.notebook``), so ``core`` never imports
them: the top of the package (``infranb/__init__.py``) registers a loader for each, and
each is loaded on first use, so ``import infranb`` loads neither (nor pandas).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_loaders: dict[str, Callable[[], Any]] = {}
_loaded: dict[str, Any] = {}


def register(**loaders: Callable[[], Any]) -> None:
    """Register the loader of each layer by its name (``operations``, ``display``)."""
    _loaders.update(loaders)
    for name in loaders:
        _loaded.pop(name, None)


def _load(name: str) -> Any:
    if name not in _loaded:
        _loaded[name] = _loaders[name]()
    return _loaded[name]


def operations() -> Any:
    """The operation table (``infranb.ops.table``): ``OPERATIONS``, ``lookup``,
    ``result_frame``."""
    return _load("operations")


def display() -> Any:
    """The notebook face (``infranb.notebook``): the bundles, ``select``, tables, charts."""
    return _load("display")
