"""Display: DataFrames (``frames``) and HTML reprs (``html``); imported lazily."""

from infranb.display.frames import result_frame
from infranb.display.html import (
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
    "result_frame",
    "select",
]
