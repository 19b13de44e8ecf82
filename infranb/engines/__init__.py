"""The engines infranb talks to: one module per kind, and how a manager picks one.

- ``base``: the ``Engine`` protocol, what the operations and views need from an engine.
- ``docker``: ``DockerEngine``, over the docker SDK (the only modules that import docker are
  in this folder).
- ``podman``: ``PodmanEngine``, Podman through its Docker-compatible API: what it does
  differently from Docker (health checks it does not run, image names, its default network).
- ``memory``: ``MemoryEngine``, in memory, for tests (public as ``infranb.testing``).

``connect(config)`` is the engine a manager makes for itself: the address (``docker_host``,
``docker_context``, ``DOCKER_HOST``) says where it is and that it speaks the Docker API; its
first answer says which kind it is, and so which class serves it (``KINDS``). A new kind of
engine is one module here and one line in ``KINDS``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from infranb.core.config import InfrastructureManagerConfig
    from infranb.engines.base import Engine
    from infranb.engines.docker import DockerEngine

#: engine kind -> "module:class" serving it
KINDS = {
    "docker": "infranb.engines.docker:DockerEngine",
    "podman": "infranb.engines.podman:PodmanEngine",
}


def connect(config: InfrastructureManagerConfig) -> Engine:
    """The engine ``config`` names, of the kind its first answer says (read once)."""
    return cast("Engine", DetectedEngine(config))


def _engine_class(kind: str) -> type[DockerEngine]:
    import importlib

    module, _, name = KINDS.get(kind, KINDS["docker"]).partition(":")
    engine_class: type[DockerEngine] = getattr(importlib.import_module(module), name)
    return engine_class


class DetectedEngine:
    """An engine over the Docker API whose class is chosen by its first answer.

    Nothing is asked when it is made: ``host`` and ``close`` need no answer, and the first
    other call reads the kind (one version request), makes the engine of that class and
    hands every later call to it.
    """

    def __init__(self, config: InfrastructureManagerConfig) -> None:
        self._config = config
        self._probe = self._make("docker")  # connects on its first call, not now
        self._engine: DockerEngine | None = None
        self._lock = threading.Lock()

    def _make(self, kind: str) -> DockerEngine:
        return _engine_class(kind)(
            self._config.docker_host,
            context=self._config.docker_context,
            tls=self._config.tls_files(),
            connect_timeout=self._config.connect_timeout,
            max_pool_size=self._config.max_parallel + 4,
        )

    @property
    def host(self) -> str:
        return self._probe.host

    @property
    def kind(self) -> str | None:
        """The kind read from the engine's first answer (``None`` before it)."""
        return self._kind if self._engine is not None else None

    def resolved(self) -> DockerEngine:
        """The engine of the right class (asks the engine its kind the first time)."""
        if self._engine is None:
            with self._lock:
                if self._engine is None:
                    kind = self._probe.kind()  # raises EngineUnavailable: asked again next time
                    same = _engine_class(kind) is type(self._probe)
                    self._kind = kind
                    if same:
                        self._engine = self._probe
                    else:
                        self._engine = self._make(kind)
                        self._engine.share_connection(self._probe)
        return self._engine

    def close(self) -> None:
        self._probe.close()
        if self._engine is not None and self._engine is not self._probe:
            self._engine.close()

    def __getattr__(self, name: str) -> Callable[..., Any]:
        # Only the engine's own methods; private names and misses are AttributeErrors.
        from infranb.engines.docker import DockerEngine

        if name.startswith("_") or not callable(getattr(DockerEngine, name, None)):
            raise AttributeError(name)
        if self._engine is not None:
            method: Callable[..., Any] = getattr(self._engine, name)
            return method

        # Before the first answer, looking a method up (hasattr, a runtime Protocol check)
        # must not ask the engine: the call does.
        def call(*args: Any, **kwargs: Any) -> Any:
            return getattr(self.resolved(), name)(*args, **kwargs)

        return call
