"""infranb: exploratory Docker ops runbooks in Jupyter notebooks.

    from infranb import InfrastructureManager, InfrastructureOperation
    with InfrastructureManager() as manager:
        result = manager.run(InfrastructureOperation(operation="health_check",
                                                     container_ids=["web"]))

Importing infranb loads neither pandas nor ipywidgets; they load when first used.
"""

from infranb.core import hooks
from infranb.core.config import TLSFiles
from infranb.core.errors import (
    BuildFailed,
    ComposeError,
    Conflict,
    ContainerFailed,
    CycleError,
    EngineError,
    EngineUnavailable,
    HealthCheckFailed,
    InfraError,
    NotFound,
    NotSwarmManager,
    Problem,
    PullFailed,
    PushFailed,
    Refused,
    RevertError,
    ServiceFailed,
    SpecProblem,
    StackBusy,
    UnknownRun,
    ValidationError,
)
from infranb.core.frames import readable
from infranb.core.planning import PlanStep
from infranb.core.secrets import SecretRef, secret_from_env, secret_from_file
from infranb.engines.base import Engine
from infranb.fleet import Fleet, FleetResults
from infranb.manager import InfrastructureManager
from infranb.models import (
    ContainerOutcome,
    HealthRecord,
    ImageOutcome,
    InfrastructureManagerConfig,
    InfrastructureOperation,
    InfrastructureResult,
    Plan,
    ProgressEvent,
    RemovedResource,
    ServiceOutcome,
)

__version__ = "0.1.0"


def _operation_table() -> object:
    from infranb.ops import table

    return table


def _notebook_face() -> object:
    import infranb.notebook

    return infranb.notebook


# The types in infranb.core hand work up through these hooks, loaded on first use.
hooks.register(operations=_operation_table, display=_notebook_face)

__all__ = [
    "BuildFailed",
    "ComposeError",
    "Conflict",
    "ContainerFailed",
    "ContainerOutcome",
    "CycleError",
    "Engine",
    "EngineError",
    "EngineUnavailable",
    "Fleet",
    "FleetResults",
    "HealthCheckFailed",
    "HealthRecord",
    "ImageOutcome",
    "InfraError",
    "InfrastructureManager",
    "InfrastructureManagerConfig",
    "InfrastructureOperation",
    "InfrastructureResult",
    "NotFound",
    "NotSwarmManager",
    "Plan",
    "PlanStep",
    "Problem",
    "ProgressEvent",
    "PullFailed",
    "PushFailed",
    "Refused",
    "RemovedResource",
    "RevertError",
    "SecretRef",
    "ServiceFailed",
    "ServiceOutcome",
    "SpecProblem",
    "StackBusy",
    "TLSFiles",
    "UnknownRun",
    "ValidationError",
    "__version__",
    "readable",
    "secret_from_env",
    "secret_from_file",
]
