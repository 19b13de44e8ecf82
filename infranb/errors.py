"""infranb's exceptions.

Every failure that reaches a user starts at ``InfraError``::

    InfraError
    ├── ValidationError      the request is wrong; nothing was touched
    └── EngineError          the Docker engine refused or failed
        ├── EngineUnavailable    no engine answers at the configured address
        ├── NotFound             a container, image, network or volume is missing
        ├── Conflict             a name is taken, or a resource is still in use
        ├── PullFailed           the registry refused or the image does not exist
        ├── BuildFailed          the build context or a build step failed
        └── ContainerFailed      a container exited, turned unhealthy or timed out

``execute`` turns these into ``InfrastructureResult(success=False, error=...)``; the message
of each says what failed, on which resource, and what to do next.
"""

from __future__ import annotations


class InfraError(Exception):
    """Root of every infranb error."""


class ValidationError(InfraError):
    """A request is invalid; ``problems`` lists each problem, naming its field."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid request: " + "; ".join(problems))


class EngineError(InfraError):
    """The Docker engine refused or failed a call."""

    def __init__(self, message: str, *, resource: str | None = None) -> None:
        self.resource = resource
        super().__init__(message)


class EngineUnavailable(EngineError):
    """No Docker engine answers."""


class NotFound(EngineError):
    """The named resource does not exist on the engine."""


class Conflict(EngineError):
    """A name is already taken or a resource is still in use."""


class PullFailed(EngineError):
    """An image could not be pulled."""


class BuildFailed(EngineError):
    """An image build failed; ``logs`` holds the build output up to the failure."""

    def __init__(self, message: str, *, resource: str | None = None, logs: list[str]) -> None:
        self.logs = logs
        super().__init__(message, resource=resource)


class ContainerFailed(EngineError):
    """A container exited, turned unhealthy or did not become ready in time."""

    def __init__(self, message: str, *, resource: str, last_logs: list[str]) -> None:
        self.last_logs = last_logs
        super().__init__(message, resource=resource)
