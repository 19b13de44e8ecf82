"""The table of operations: name -> ``Operation`` (command, handler, result table).

Adding an operation is one module in ``infranb/ops`` and one line here. Its form, if it has
one, registers itself for the operation's name in ``infranb.notebook.widgets``.
"""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING, Any

from infranb.core.errors import Problem
from infranb.ops import (
    backup,
    cleanup,
    copy_to,
    deploy,
    heal,
    health,
    images,
    orchestrate,
    restart,
    restore,
    revert,
    stop,
    update,
)
from infranb.ops.base import Operation
from infranb.ops.steps import KINDS as STEP_KINDS
from infranb.ops.steps import gate_lists, run_steps

if TYPE_CHECKING:
    import pandas as pd

    from infranb.core.result import InfrastructureResult

OPERATIONS: dict[str, Operation[Any]] = {
    op.name: op
    for op in (
        orchestrate.OPERATION,
        images.OPERATION,
        cleanup.OPERATION,
        health.OPERATION,
        deploy.OPERATION,
        stop.OPERATION,
        restart.OPERATION,
        update.OPERATION,
        copy_to.OPERATION,
        backup.OPERATION,
        restore.OPERATION,
        heal.OPERATION,
        revert.OPERATION,
    )
}


__all__ = [
    "DRIFT_SCHEMA",
    "OPERATIONS",
    "STEP_KINDS",
    "drift",
    "gate_lists",
    "lookup",
    "result_frame",
    "run_steps",
]

#: the comparison of an orchestrate request with what runs (``manager.drift``)
drift = orchestrate.drift
DRIFT_SCHEMA = orchestrate.DRIFT_SCHEMA


def lookup(name: object) -> tuple[Operation[Any] | None, list[Problem]]:
    """The operation called ``name``, or a problem that suggests the closest name."""
    if isinstance(name, str) and name in OPERATIONS:
        return OPERATIONS[name], []
    close = difflib.get_close_matches(str(name), OPERATIONS, n=1)
    hint = f"did you mean {close[0]!r}?" if close else "use one of " + ", ".join(OPERATIONS)
    return None, [Problem("operation", f"unknown operation {name!r}; {hint}")]


def result_frame(result: InfrastructureResult) -> pd.DataFrame:
    """The result's table, as its operation declares it (its plan for a dry run, where the
    operation says its plan is its table)."""
    import pandas as pd

    from infranb.core.frames import frame
    from infranb.core.planning import plan_frame

    if result.differences:  # a saved plan refused: what differs is the table
        from infranb.core.frames import frame
        from infranb.core.plans import DIFFERENCES_SCHEMA

        return frame([vars(d) for d in result.differences], DIFFERENCES_SCHEMA)
    operation = OPERATIONS.get(result.operation)
    if operation is None:
        return pd.DataFrame()
    if result.dry_run and operation.plan_table:
        steps = plan_frame(result.plan)
        return steps[list(operation.plan_columns)] if operation.plan_columns else steps
    return frame(operation.rows(result), operation.schema, first=operation.first_columns)
