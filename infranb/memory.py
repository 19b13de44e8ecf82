"""``infranb.memory``: kept as an alias of ``infranb.testing`` (code written against 0.1)."""

from infranb.engines.memory import MemoryEngine

__all__ = ["MemoryEngine"]
