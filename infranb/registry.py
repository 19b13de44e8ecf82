"""The table of operations: name -> ``Operation`` (command, handler, table, form).

Adding an operation is one module in ``infranb/ops`` and one line here.
"""

from __future__ import annotations

import difflib
from typing import Any

from infranb.errors import Problem
from infranb.ops import cleanup, deploy, health, images, orchestrate
from infranb.ops.base import Operation

OPERATIONS: dict[str, Operation[Any]] = {
    op.name: op
    for op in (
        orchestrate.OPERATION,
        images.OPERATION,
        cleanup.OPERATION,
        health.OPERATION,
        deploy.OPERATION,
    )
}


def lookup(name: object) -> tuple[Operation[Any] | None, list[Problem]]:
    """The operation called ``name``, or a problem that suggests the closest name."""
    if isinstance(name, str) and name in OPERATIONS:
        return OPERATIONS[name], []
    close = difflib.get_close_matches(str(name), OPERATIONS, n=1)
    hint = f"did you mean {close[0]!r}?" if close else "use one of " + ", ".join(OPERATIONS)
    return None, [Problem("operation", f"unknown operation {name!r}; {hint}")]
