"""``infranb.memory``: the documented alias of ``infranb.testing``."""

from infranb.engines.memory import MemoryEngine

__all__ = ["MemoryEngine"]
