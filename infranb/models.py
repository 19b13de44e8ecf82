"""The request and result types users touch, where the documentation imports them from.

They live in ``infranb.core`` (``config``, ``request``, ``result``, ``records``), below
every layer that uses them; this module names them for ``from infranb.models import ...``.
"""

from infranb.core.config import InfrastructureManagerConfig
from infranb.core.records import (
    ContainerOutcome,
    HealthRecord,
    ImageOutcome,
    ProgressEvent,
    RemovedResource,
    ServiceOutcome,
)
from infranb.core.request import InfrastructureOperation
from infranb.core.result import InfrastructureResult, Plan

__all__ = [
    "ContainerOutcome",
    "HealthRecord",
    "ImageOutcome",
    "InfrastructureManagerConfig",
    "InfrastructureOperation",
    "InfrastructureResult",
    "Plan",
    "ProgressEvent",
    "RemovedResource",
    "ServiceOutcome",
]
