"""infranb: exploratory Docker ops runbooks in Jupyter notebooks.

    from infranb import InfrastructureManager, InfrastructureOperation
    with InfrastructureManager() as manager:
        result = manager.run(InfrastructureOperation(operation="health_check",
                                                     container_ids=["web"]))

Importing infranb loads neither pandas nor ipywidgets; they load when first used.
"""

from infranb.errors import (
    BuildFailed,
    Conflict,
    ContainerFailed,
    EngineError,
    EngineUnavailable,
    InfraError,
    NotFound,
    PullFailed,
    ValidationError,
)
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
)
from infranb.planning import PlanStep
from infranb.secrets import SecretRef, secret_from_env, secret_from_file

__version__ = "0.1.0"

__all__ = [
    "BuildFailed",
    "Conflict",
    "ContainerFailed",
    "ContainerOutcome",
    "EngineError",
    "EngineUnavailable",
    "HealthRecord",
    "ImageOutcome",
    "InfraError",
    "InfrastructureManager",
    "InfrastructureManagerConfig",
    "InfrastructureOperation",
    "InfrastructureResult",
    "NotFound",
    "Plan",
    "PlanStep",
    "ProgressEvent",
    "PullFailed",
    "RemovedResource",
    "SecretRef",
    "ValidationError",
    "__version__",
    "secret_from_env",
    "secret_from_file",
]
