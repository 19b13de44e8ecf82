"""The notebook face: HTML reprs (``html``, ``tables``), the live progress line (``live``)
and the forms (``widgets``, which alone loads ipywidgets).

It renders only what it is given: reprs hand it their object, and a form's button calls the
manager's public API, never an engine. Imported lazily, by reprs and by ``infranb.widgets``.
"""

from infranb.notebook.html import (
    manager_bundle,
    operation_bundle,
    plan_bundle,
    result_bundle,
    select,
)

__all__ = [
    "manager_bundle",
    "operation_bundle",
    "plan_bundle",
    "result_bundle",
    "select",
]
