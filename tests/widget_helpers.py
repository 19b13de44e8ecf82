"""Make exceptions inside ipywidgets handlers fail the test instead of being logged."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import ipywidgets as w
import pytest


@pytest.fixture
def strict_callbacks(monkeypatch: pytest.MonkeyPatch) -> None:
    def call(self: Any, *args: Any, **kwargs: Any) -> Any:
        value = None
        for callback in self.callbacks:
            value = callback(*args, **kwargs)  # no swallowing
        return value

    monkeypatch.setattr(w.CallbackDispatcher, "__call__", call)


def all_widget_state() -> str:
    """Every live widget's synced state, as a notebook would save it."""
    states = []
    from ipywidgets.widgets.widget import _instances

    for widget in list(_instances.values()):
        try:
            states.append(widget.get_state())
        except Exception:
            continue
    return json.dumps(states, default=str)


def walk(widget: w.Widget) -> Iterator[w.Widget]:
    yield widget
    for child in getattr(widget, "children", ()):
        yield from walk(child)
