"""Test doubles for runbooks: ``MemoryEngine``, an in-memory engine that answers as Docker does.

    from infranb import InfrastructureManager
    from infranb.testing import MemoryEngine

    manager = InfrastructureManager(engine=MemoryEngine(images=["redis:7"]))

The same contract suite runs against it and a real engine, so a runbook's logic can be tested
in milliseconds; it is never the proof that an operation works against Docker.
"""

from infranb.engines.memory import MemoryEngine

__all__ = ["MemoryEngine"]
