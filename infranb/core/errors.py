"""infranb's exceptions, and ``Problem``: one thing wrong with one field of a request.

Every failure that reaches a user starts at ``InfraError``::

    InfraError
    ├── ValidationError      the request is wrong; nothing was touched (``problems``)
    │   ├── SpecProblem          one field of one container spec
    │   └── CycleError           ``depends_on`` forms a cycle (``cycle``)
    ├── ComposeError         a Compose file cannot be loaded (names the file and line)
    ├── Refused              a safety gate refused the run before it touched anything
    │   ├── StackBusy            another run on the same stack is in progress
    │   └── PlanChanged          a saved plan no longer matches the host; nothing changed
    ├── RevertError          a revert cannot restore the recorded state; nothing changed
    └── EngineError          the engine refused or failed (``resource``)
        ├── EngineUnavailable    no engine answers at the configured address
        ├── NotFound             a container, image, network or volume is missing
        │   └── UnknownRun           no run with that id in the journal (also a KeyError)
        ├── Conflict             a name is taken, or a resource is still in use
        ├── PullFailed           the registry refused or the image does not exist
        ├── PushFailed           the registry refused the image (credentials, reachability)
        ├── BuildFailed          the build context or a build step failed (``logs``)
        ├── ContainerFailed      a container exited, turned unhealthy or timed out (``last_logs``)
        ├── HealthCheckFailed    a checked container is not healthy (its record says why)
        ├── NotSwarmManager      a Swarm operation or view on an engine that is no manager
        └── ServiceFailed        a Swarm service did not converge, or its update failed

``execute`` never raises these for a failed operation: the result keeps the exception
(``result.exception``), its problems (``result.problems``) and its message (``result.error``).
Code matches on a problem's ``path``; people read its text.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence


class Problem(str):
    """One problem with a request: ``path`` names the field, ``message`` says what to do.

    A ``Problem`` is also the string people read (``"containers[1] (web).ports: ..."``), so
    code written for plain-string problems keeps working. ``path`` is canonical
    (``containers[1].ports``): match on it, never on the text.
    """

    path: str
    message: str

    def __new__(cls, path: str, message: str, *, shown_as: str | None = None) -> Problem:
        where = shown_as or path
        self = super().__new__(cls, f"{where}: {message}" if where else message)
        self.path = path
        self.message = message
        return self

    def __repr__(self) -> str:
        return f"Problem(path={self.path!r}, message={self.message!r})"

    @classmethod
    def of(cls, problem: str) -> Problem:
        """A ``Problem`` from a plain ``"path: message"`` string (kept as it is if it is one)."""
        if isinstance(problem, Problem):
            return problem
        path, sep, message = str(problem).partition(": ")
        return cls(path, message) if sep else cls("", str(problem))

    def under(self, path: str) -> bool:
        """True when this problem concerns ``path`` or a field inside it."""
        return self.path == path or self.path.startswith((path + ".", path + "["))


class InfraError(Exception):
    """Root of every infranb error."""


class ValidationError(InfraError):
    """A request is invalid; ``problems`` lists each ``Problem``, naming its field."""

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems: list[Problem] = [Problem.of(p) for p in problems]
        super().__init__("invalid request: " + "; ".join(self.problems))


class SpecProblem(ValidationError, ValueError):
    """One problem with one field of one container spec (``where`` is the field's path)."""

    def __init__(self, where: str, message: str, *, shown_as: str | None = None) -> None:
        self.where = where
        self.message = message
        self.problem = Problem(where, message, shown_as=shown_as)
        super().__init__([self.problem])
        self.args = (str(self.problem),)

    def shown_with(self, prefix: str, label: str) -> SpecProblem:
        """The same problem, its text naming the container: ``containers[1] (web).ports``."""
        shown = self.where.replace(prefix, f"{prefix} ({label})", 1)
        return SpecProblem(self.where, self.message, shown_as=shown)


class CycleError(ValidationError, ValueError):
    """``depends_on`` forms a cycle; ``cycle`` lists it, first name repeated at the end."""

    def __init__(self, cycle: list[str]) -> None:
        self.cycle = cycle
        text = "depends_on forms a cycle: " + " -> ".join(cycle) + "; remove one of these links"
        super().__init__([Problem("containers.depends_on", text)])
        self.args = (text,)


class ComposeError(InfraError, ValueError):
    """A Compose project cannot be loaded: its message names the file (and line) and what
    to change. Raised by ``infranb.compose.load`` before anything touches an engine."""


class Refused(InfraError):
    """A safety gate refused the run before it touched anything (``max_removals``, or
    destructive steps without ``confirm=True``); the result carries the plan."""

    def __init__(self, message: str, *, steps: list[str], needs_consent: bool) -> None:
        super().__init__(message)
        #: the destructive steps, e.g. "recreate container web"
        self.steps = steps
        #: True when ``confirm=True`` would let the run through
        self.needs_consent = needs_consent


class StackBusy(Refused):
    """Another run on the same stack is in progress (the journal says so, and its process
    still runs): this one is refused before it touches anything. One run changes a stack
    at a time, whichever manager, kernel or notebook started it."""

    def __init__(self, message: str, *, run_id: str) -> None:
        super().__init__(message, steps=[], needs_consent=False)
        #: the run in progress
        self.run_id = run_id


class PlanChanged(Refused):
    """``apply`` refused a saved plan before any change: the host (or the plan made against
    it now) differs from what the plan was made against, or its file was edited.
    ``differences`` says what (``infranb.core.plans.Difference``)."""

    def __init__(self, message: str, *, differences: Sequence[object]) -> None:
        super().__init__(message, steps=[], needs_consent=False)
        self.differences = list(differences)


class RevertError(InfraError):
    """A revert cannot restore the recorded state (a value or image that is gone, a run that
    cannot be reverted); nothing was changed."""


class EngineError(InfraError):
    """The engine refused or failed a call."""

    def __init__(self, message: str, *, resource: str | None = None) -> None:
        self.resource = resource
        super().__init__(message)


class EngineUnavailable(EngineError):
    """No Docker engine answers."""


class NotFound(EngineError):
    """The named resource does not exist on the engine."""


class UnknownRun(NotFound, KeyError):
    """No run with that id in the journal. A ``KeyError`` too, as a mapping's missing key
    is."""

    def __str__(self) -> str:  # KeyError's own str would quote the sentence
        return str(self.args[0]) if self.args else "unknown run"


class Conflict(EngineError):
    """A name is already taken or a resource is still in use."""


class PullFailed(EngineError):
    """An image could not be pulled."""


class PushFailed(EngineError):
    """An image could not be pushed."""


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


class HealthCheckFailed(EngineError):
    """health_check found containers that are not healthy or running."""


class NotSwarmManager(EngineError):
    """A Swarm operation on an engine that is not a manager of a swarm."""


class ServiceFailed(EngineError):
    """A service did not converge (its tasks' errors, per node) or its update failed."""


def append_note(error: BaseException, note: str) -> None:
    """Add what happened afterwards (a rollback) to an infranb error's message, or as a
    note to any other (a cancellation's ``CancelledError``)."""
    if isinstance(error, InfraError) and error.args:
        error.args = (f"{error.args[0]}; {note}", *error.args[1:])
    else:
        error.add_note(note)


def shown_as(error: BaseException, sentence: str) -> BaseException:
    """``error``, shown by IPython as ``sentence`` instead of a traceback (its
    ``_render_traceback_`` hook); its type and what catches it are unchanged."""
    error._render_traceback_ = lambda: [sentence]  # type: ignore[attr-defined]
    return error
