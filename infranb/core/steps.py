"""The executor's steps: one engine call each, with the step that undoes it, as plain data.

An operation's pure ``plan`` returns these; the executor (``infranb.executor``) runs them
wave by wave and, on a failure or a cancel, runs the ``undo`` of each step it finished, in
reverse. A step without an undo says why in ``no_undo`` (a restart; a file ``copy_to``
overwrote): the executor then lists it in the result's ``remaining``. What each kind does
to an engine is in ``infranb.ops.steps``.

Steps hold no value made at plan time (no run id, no temporary name): planning one request
twice against one host gives equal steps, and ``to_json``/``from_json`` read one back equal.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from infranb.core.planning import Action, PlanStep


@dataclass(frozen=True)
class Step:
    """One engine call of a plan."""

    #: what it does: a kind of ``infranb.ops.steps.KINDS`` (and the plan's action)
    kind: Action
    #: the resource it acts on, by name (a container)
    target: str
    wave: int
    #: what the call needs, as JSON values (ids, settings, paths)
    args: Mapping[str, Any] = field(default_factory=dict)
    #: the step that puts back what this one changed, None when nothing can
    undo: Step | None = None
    #: why there is no undo (shown in the plan, and in ``remaining`` after a failure)
    no_undo: str = ""
    #: what the plan says about it: the reason, and the image it runs
    reason: str = ""
    image: str = ""

    def row(self) -> PlanStep:
        """The step as a row of the plan's table."""
        reason = self.reason
        if self.undo is None and self.no_undo:
            reason += f" (no undo: {self.no_undo})"
        return PlanStep(self.target, self.kind, self.wave, self.image, reason=reason)

    def to_json(self) -> dict[str, Any]:
        """The step as JSON values (its undo nested)."""
        return {
            "kind": self.kind,
            "target": self.target,
            "wave": self.wave,
            "args": dict(self.args),
            "undo": self.undo.to_json() if self.undo is not None else None,
            "no_undo": self.no_undo,
            "reason": self.reason,
            "image": self.image,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Step:
        undo = data.get("undo")
        return cls(
            kind=data["kind"],
            target=str(data["target"]),
            wave=int(data["wave"]),
            args=dict(data.get("args") or {}),
            undo=cls.from_json(undo) if undo else None,
            no_undo=str(data.get("no_undo") or ""),
            reason=str(data.get("reason") or ""),
            image=str(data.get("image") or ""),
        )


def waves(steps: Sequence[Step]) -> list[list[Step]]:
    """The steps grouped by wave, in wave order; within a wave, in plan order."""
    grouped: dict[int, list[Step]] = {}
    for step in steps:
        grouped.setdefault(step.wave, []).append(step)
    return [grouped[w] for w in sorted(grouped)]


@dataclass(frozen=True)
class StepPlan:
    """What an operation's pure ``plan`` returns: its steps, the stack they belong to, and
    the state to journal before the first step (what ``revert`` reads)."""

    steps: tuple[Step, ...]
    stack: str | None = None
    prior: Mapping[str, Any] | None = None
