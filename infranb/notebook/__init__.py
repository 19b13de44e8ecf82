"""The notebook face: HTML reprs (``html``, ``tables``), the live progress line (``live``)
and the forms (``widgets``, which alone loads ipywidgets).

It renders only what it is given: reprs hand it their object, and a form's button calls the
manager's public API, never an engine. Imported lazily, by reprs and by ``infranb.widgets``.
"""

from infranb.notebook.html import (
    compose_bundle,
    entry_bundle,
    manager_bundle,
    operation_bundle,
    plan_bundle,
    result_bundle,
    select,
)
from infranb.notebook.pictures import line_charts
from infranb.notebook.tables import css, essential_table, table

__all__ = [
    "compose_bundle",
    "css",
    "entry_bundle",
    "essential_table",
    "line_charts",
    "manager_bundle",
    "operation_bundle",
    "plan_bundle",
    "result_bundle",
    "select",
    "table",
]
