"""Live progress of a running operation: one line that updates in place in a notebook.

``ProgressLine`` is pure: it folds ``ProgressEvent``s into counts (layers of each image pulled
or pushed, containers created and ready of the total) and renders one line.
``LiveProgress`` shows that line as a widget (widget views are left out of saved-output
comparisons, and a report keeps the final state) and refreshes it at most every
``interval`` seconds. The manager uses it by default for ``await manager.execute(op)`` in a
notebook; plain scripts get nothing unless they pass ``progress=``.
"""

from __future__ import annotations

import html
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from infranb.core.records import ProgressEvent
from infranb.core.sync import in_notebook

if TYPE_CHECKING:
    from infranb.core.result import InfrastructureResult

DONE_LAYER = ("Pull complete", "Already exists", "Pushed", "Layer already exists")


@dataclass
class _Transfer:
    layers: set[str] = field(default_factory=set)
    done: set[str] = field(default_factory=set)
    finished: bool = False


@dataclass
class ProgressLine:
    """Counts of what an operation has done so far, as one line of text."""

    operation: str
    total: int | None = None  # containers the plan brings up, once known
    transfers: dict[tuple[str, str], _Transfer] = field(default_factory=dict)
    created: set[str] = field(default_factory=set)
    ready: set[str] = field(default_factory=set)
    failed: list[str] = field(default_factory=list)
    last: str = ""
    rolling_back: bool = False

    def update(self, event: ProgressEvent) -> None:
        kind, name, message = event.kind, event.resource, event.message
        if kind == "planned":
            self.total = event.total
        elif kind in ("pull", "push"):
            transfer = self.transfers.setdefault((kind, name), _Transfer())
            layer, _, status = message.partition(" ")
            if message.startswith(("pulled in", "pushed")):
                transfer.finished = True
            elif layer and status and len(layer) >= 12 and ":" not in layer:
                transfer.layers.add(layer)
                if status.startswith(DONE_LAYER):
                    transfer.done.add(layer)
        elif kind == "container_created":
            self.created.add(name)
        elif kind == "container_ready":
            self.ready.add(name)
        elif kind == "container_failed":
            self.ready.discard(name)  # it may fail after it was ready (a crash right after start)
            self.failed.append(name)
        elif kind == "rollback":
            self.rolling_back = True
        if kind == "build" and message:
            self.last = message
        elif kind not in ("pull", "push"):
            self.last = f"{kind.replace('_', ' ')}: {name}"

    def text(self) -> str:
        parts = []
        for (kind, name), transfer in self.transfers.items():
            if transfer.finished:
                parts.append(f"{kind}ed {name}")
            elif transfer.layers:
                parts.append(f"{kind} {name}: {len(transfer.done)}/{len(transfer.layers)} layers")
            else:
                parts.append(f"{kind} {name}")
        total = self.total if self.total is not None else len(self.created) or None
        if total:
            parts.append(f"containers {len(self.ready)}/{total} ready")
        if self.failed:
            parts.append("failed: " + ", ".join(self.failed))
        if self.rolling_back:
            parts.append("rolling back")
        elif self.last and not self.ready and not self.transfers:
            parts.append(self.last)
        return f"{self.operation}: " + (" · ".join(parts) or "starting")


def outcome_line(result: InfrastructureResult) -> str:
    """The last state of a run, from its result (what is so, not what was last heard):
    ``orchestrate_containers: done: 2 create, 1 unchanged`` or ``…: failed: …``."""
    name = result.operation
    if not result.success:
        head = "plan failed" if result.dry_run else "failed"
        if result.rolled_back:
            head += ", rolled back"
        return f"{name}: {head}: {_first_sentence(result.error or 'no error text')}"
    if result.dry_run:
        planned = _counts(step.action for step in result.plan) or "nothing to do"
        return f"{name}: plan: {planned} · nothing was touched"
    # A bring-up's removals are its containers' own actions (remove-orphan, scale-down).
    said = any(c.action in ("remove-orphan", "scale-down") for c in result.containers)
    parts = [
        _counts(c.action for c in result.containers),
        _counts(h.status for h in result.health),
        _counts(f"{r.kind}(s) removed" for r in result.removed) if not said else "",
        _counts(i.action for i in result.images),
        f"{len(result.updated)} setting(s) changed" if result.updated else "",
        f"{len(result.copied)} copied" if result.copied else "",
    ]
    shown = ", ".join(p for p in parts if p)
    return f"{name}: done" + (f": {shown}" if shown else ": nothing to change")


def _counts(values: object) -> str:
    counted = Counter(values)  # type: ignore[call-overload]
    return ", ".join(f"{n} {value}" for value, n in counted.items())


def _first_sentence(text: str, limit: int = 160) -> str:
    first = text.split("; ")[0]
    return first if len(first) <= limit else first[: limit - 1] + "…"


class LiveProgress:
    """A ``progress`` callback that shows a ``ProgressLine`` as a widget, updated in place."""

    def __init__(self, operation: str, *, interval: float = 0.2) -> None:
        import ipywidgets as w
        from IPython.display import display

        self.line = ProgressLine(operation)
        self._interval = interval
        self._shown_at = 0.0
        self._lock = threading.Lock()
        self.widget = w.HTML(self._html())
        display(self.widget)

    def _html(self, final: str | None = None) -> str:
        text = final if final is not None else self.line.text()
        colour = "#555" if final is None else "#2e7d32" if final.startswith("✓") else "#c62828"
        return f'<span style="font-family:monospace;color:{colour}">{html.escape(text)}</span>'

    def __call__(self, event: ProgressEvent) -> None:
        with self._lock:
            self.line.update(event)
            now = time.monotonic()
            if now - self._shown_at >= self._interval:
                self._shown_at = now
                self.widget.value = self._html()

    def finish(self, success: bool, line: str | None = None) -> None:
        """The final line: ``line`` (the result's ``outcome_line``) or the last progress,
        without timings (saved reports stay stable)."""
        with self._lock:
            mark = "✓" if success else "✗"
            self.widget.value = self._html(f"{mark} {line or self.line.text()}")


__all__ = ["LiveProgress", "ProgressLine", "in_notebook", "outcome_line"]
