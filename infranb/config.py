"""``InfrastructureManagerConfig``: how a manager behaves (spec fields, then additions)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from infranb.errors import SpecProblem
from infranb.secrets import DEFAULT_SECRET_MARKERS
from infranb.specs import check_name


@dataclass
class InfrastructureManagerConfig:
    """Configuration for ``InfrastructureManager``."""

    default_network: str = "bridge"
    #: infranb removes the containers it stops (not the engine's AutoRemove, which would
    #: destroy a crashed container and its logs before anyone reads them).
    auto_remove_containers: bool = True
    auto_pull_images: bool = True
    container_start_timeout: float = 30.0
    health_check_retries: int = 3
    health_check_interval: float = 5.0
    cleanup_on_failure: bool = True
    volume_driver: str = "local"
    #: stack used by orchestrate when the request names none
    default_stack: str = "default"
    #: engine calls in flight at once
    max_parallel: int = 8
    #: environment keys containing one of these (upper-cased) are masked in every output
    secret_markers: tuple[str, ...] = DEFAULT_SECRET_MARKERS
    #: allow bind mounts of sensitive host paths and privileged containers
    allow_sensitive_mounts: bool = False
    #: seconds a container gets to stop on SIGTERM before it is killed
    stop_timeout: float = 10.0
    #: without a reachable engine, inventory helpers ("raise") raise EngineUnavailable, or
    #: ("note") print one line and return empty results, for notebooks that must also open
    #: where no engine runs (Binder). Operations always return a failed result instead.
    no_engine: Literal["raise", "note"] = "raise"
    #: in a notebook, ``await manager.execute(op)`` without ``progress=`` shows one line that
    #: updates in place (images' layers, containers ready); plain scripts never show it
    live_progress: bool = True

    def validate(self) -> list[str]:
        """Problems with the configuration, each naming its field."""
        problems = []
        if self.max_parallel < 1:
            problems.append("config.max_parallel: must be at least 1")
        if self.container_start_timeout <= 0:
            problems.append("config.container_start_timeout: must be positive")
        if self.health_check_retries < 0:
            problems.append("config.health_check_retries: must be 0 or more")
        if self.no_engine not in ("raise", "note"):
            problems.append(f"config.no_engine: {self.no_engine!r} must be 'raise' or 'note'")
        if self.health_check_interval < 0:
            problems.append("config.health_check_interval: must be 0 or more")
        for what, value in (
            ("default_network", self.default_network),
            ("default_stack", self.default_stack),
        ):
            try:
                check_name(value, f"config.{what}", what.replace("_", " "))
            except SpecProblem as e:
                problems.append(str(e))
        return problems
