"""One run as the journal holds it (``manager.history_entry(run_id)``): plain data, read by
the history, by ``revert`` and by its notebook face."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from infranb.core import hooks

if TYPE_CHECKING:
    import pandas as pd


def changes_text(changes: Mapping[str, int]) -> str:
    """A run's change counts in one line ("create 2, remove 1")."""
    return ", ".join(f"{action} {count}" for action, count in changes.items())


@dataclass
class JournalEntry:
    """One run as the journal holds it (``manager.history_entry(run_id)``)."""

    run_id: str
    started_at: str
    finished_at: str | None
    user: str | None
    host: str | None
    notebook: str | None
    engine: str | None
    engine_id: str | None
    operation: str
    stack: str | None
    outcome: str
    changes: dict[str, int]
    error: str | None
    correlation_id: str | None
    reverts: str | None
    request: dict[str, Any]
    plan: list[dict[str, Any]]
    result: dict[str, Any]
    prior: dict[str, Any]
    steps: list[dict[str, Any]] = field(default_factory=list)

    def steps_frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame(self.steps, columns=["seq", "at", "kind", "resource", "message"])

    def summary(self) -> list[tuple[str, str]]:
        """The record's head as (field, value) pairs: what its face shows above its steps."""
        return [
            ("run", self.run_id),
            ("operation", self.operation),
            ("stack", self.stack or ""),
            ("outcome", self.outcome),
            ("who", f"{self.user} on {self.host}"),
            ("notebook", self.notebook or ""),
            ("engine", f"{self.engine} ({self.engine_id or 'id unknown'})"),
            ("started / finished", f"{self.started_at} / {self.finished_at or '-'}"),
            ("changes", changes_text(self.changes)),
            ("error", self.error or ""),
            ("reverts", self.reverts or ""),
        ]

    def __repr__(self) -> str:
        return (
            f"JournalEntry({self.run_id!r}, {self.operation!r}, stack={self.stack!r}, "
            f"outcome={self.outcome!r}, changes={changes_text(self.changes)!r}, "
            f"{len(self.steps)} step(s))"
        )

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        face = hooks.display()
        bundle: dict[str, str] = face.select(face.entry_bundle(self), include, exclude)
        return bundle
