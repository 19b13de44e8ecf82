"""What an operation declares, and the records it produces.

Each operation is one module in ``infranb/ops`` declaring an ``Operation``: its typed command
(parsed once from the request, with every problem named by path), what it observes and its
pure plan of steps (``infranb.core.steps``) or a handler that runs itself, and its result
table (schema and rows). ``infranb.ops.table`` lists them; nothing else switches on operation
names. Forms register themselves for an operation's name in ``infranb.notebook.widgets``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from infranb.core.errors import Problem
from infranb.core.frames import Schema
from infranb.core.outcome import Outcome

if TYPE_CHECKING:
    from infranb.core.config import InfrastructureManagerConfig
    from infranb.core.request import InfrastructureOperation
    from infranb.core.result import InfrastructureResult
    from infranb.core.steps import StepPlan
    from infranb.runtime import Runtime

__all__ = ["Command", "Operation", "Outcome", "Resolved"]

Command = TypeVar("Command")


@dataclass(frozen=True)
class Resolved:
    """The request an operation runs in its place (``revert``'s), the notes for its result,
    and the run it reverts (the journal names it)."""

    request: InfrastructureOperation
    notes: list[str] = field(default_factory=list)
    reverts: str | None = None


@dataclass(frozen=True)
class Operation(Generic[Command]):
    """One entry of the operation table."""

    name: str
    summary: str
    #: the typed command of a request, or the problems that prevent one (pure)
    parse: Callable[
        [InfrastructureOperation, InfrastructureManagerConfig], tuple[Command | None, list[Problem]]
    ]
    #: the result table: fixed columns and dtypes, and one row per record
    schema: Schema
    rows: Callable[[InfrastructureResult], Iterable[dict[str, Any]]]
    #: the request fields a reader of this operation's request wants to see
    shown_fields: tuple[str, ...]
    #: sub-commands a request picks by name, each with the keys it takes (``manage_images``:
    #: action -> ``image_params`` keys); forms build their fields from it
    variants: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    #: whether a run can change the engine (then it is journaled)
    changes_engine: bool = True
    #: whether a dry run's table is its plan (one row per step) rather than its records
    plan_table: bool = False
    #: the plan's columns this operation fills (() for all of them)
    plan_columns: tuple[str, ...] = ()
    #: the columns the result's HTML shows first (the others one click away); () shows all
    first_columns: tuple[str, ...] = ()
    #: whether a request is a stack's desired state (its containers, networks, volumes):
    #: ``drift`` compares it with what runs, and the journal's last successful one is what
    #: ``drift(stack)`` and a revert of the stack read
    desired_state: bool = False
    #: where a run's undo is a request of this table: that request, from the run's journaled
    #: prior state and id (raises ``RevertError`` when the state cannot be put back)
    revert: Callable[[Mapping[str, Any], str], InfrastructureOperation] | None = None
    #: a stepped operation: the engine reads its plan needs, gathered at once ...
    observe: Callable[[Command, Runtime], Awaitable[Any]] | None = None
    #: ... and, pure, from the command and that observation to the steps the executor runs
    #: (``infranb.core.steps``): the gates, the journal, the undo and the dry run follow
    plan: Callable[[Command, Any, InfrastructureManagerConfig], StepPlan] | None = None
    #: an operation that runs itself (its own rollback): fill the outcome, raise infranb
    #: errors. Every operation has ``observe`` and ``plan`` or ``run``.
    run: Callable[[Command, Runtime, Outcome], Awaitable[None]] | None = None

    #: an operation that runs another request of the table in its place (``revert``): that
    #: request and notes for its result, read from the engine and the journal
    resolve: Callable[[Command, Runtime], Awaitable[Resolved]] | None = None

    def __post_init__(self) -> None:
        ways = [self.run is not None, self.observe is not None, self.resolve is not None]
        if sum(ways) != 1 or (self.observe is None) != (self.plan is None):
            raise TypeError(f"operation {self.name}: give observe and plan, run, or resolve")
