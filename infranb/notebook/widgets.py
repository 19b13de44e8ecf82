"""ipywidgets forms that build and run ``InfrastructureOperation`` requests.

    from infranb.notebook.widgets import operation_form
    operation_form(manager)          # a form for each operation that has one, in a Tab

Each form's ``.operation`` is the request its inputs describe, in the spec's dict format and
with only the keys that have values, so ``Form.from_operation(op).operation == op``.
Validation is the core's own ``validate()`` with the manager's config: each problem is marked
on the widget of its field (matched by ``Problem.path``, never by message text), shown once
the user has edited something or pressed Run, and Run is disabled while there is any.
Run schedules the operation on the kernel's loop and
writes progress and the result into an ``Output`` with ``append_*`` (never ``with out:``).

Secret environment values go into password fields; a value is moved out of the widget (into
the form's Python object) as soon as it arrives, so it never reaches saved widget state.
Text fields use a short syntax: ``a, b`` is a list, ``k=v, k2=v2`` a dict, JSON also works.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Self

import ipywidgets as w
import traitlets

from infranb.core.errors import PlanChanged, Problem, Refused
from infranb.core.secrets import DEFAULT_SECRET_MARKERS, SecretRef, is_secret_key
from infranb.models import (
    InfrastructureManagerConfig,
    InfrastructureOperation,
    InfrastructureResult,
    ProgressEvent,
)
from infranb.notebook.live import ProgressLine, outcome_line
from infranb.notebook.updates_form import ImageUpdatesForm, updates_form
from infranb.ops.table import OPERATIONS

if TYPE_CHECKING:
    from infranb.core.result import Plan
    from infranb.manager import InfrastructureManager

_REF = re.compile(r"^\$\{(env|file):(.+)\}$")


# ---------------------------------------------------------------- text <-> values


def render_value(value: Any) -> str:
    """Short text for a list or dict of plain strings; JSON for anything else."""
    if value is None:
        return ""
    if isinstance(value, list) and all(_plain(v) for v in value):
        return ", ".join(value)
    if (
        isinstance(value, dict)
        and value
        and all(_plain(k) and _plain(v) and "=" not in k for k, v in value.items())
    ):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    return json.dumps(value)


def _plain(value: Any) -> bool:
    return isinstance(value, str) and value != "" and not any(c in value for c in ',[]{}"\n')


def parse_value(text: str) -> Any:
    """Inverse of ``render_value``; raises ``ValueError`` for malformed JSON."""
    text = text.strip()
    if not text:
        return None
    if text[0] in '[{"' or text in ("true", "false") or (text[0].isdigit() and text.isdigit()):
        return json.loads(text)
    items = [item.strip() for item in text.split(",") if item.strip()]
    if items and all("=" in item for item in items):
        return dict(item.split("=", 1) for item in items)
    return items


def render_env(
    env: dict[str, Any], markers: tuple[str, ...] = DEFAULT_SECRET_MARKERS
) -> tuple[str, dict[str, str]]:
    """(text of plain variables and references, secret values kept out of the widgets)."""
    lines, secrets = [], {}
    for key, value in env.items():
        if isinstance(value, SecretRef):
            lines.append(f"{key}=${{{value.source}:{value.name}}}")
        elif isinstance(value, str) and is_secret_key(key, markers):
            secrets[key] = value
        else:
            lines.append(f"{key}={json.dumps(value) if not isinstance(value, str) else value}")
    return "\n".join(lines), secrets


def parse_env(text: str) -> dict[str, Any]:
    env: dict[str, Any] = {}
    for raw in text.splitlines():
        if not raw.strip():
            continue
        key, sep, value = raw.partition("=")
        if not sep:
            raise ValueError(f"{raw.strip()!r} must look like KEY=value")
        ref = _REF.match(value.strip())
        env[key.strip()] = SecretRef(ref.group(1), ref.group(2)) if ref else value
    return env


# ---------------------------------------------------------------- base form


#: operation name -> its form; each form registers itself by its ``kind``
FORMS: dict[str, type[_Form]] = {}


class _Form(w.VBox):
    """What the forms share: validation display, Run/Plan, progress and output."""

    #: the operation this form builds requests for (a name of the operation table)
    kind: ClassVar[str]
    #: the form's tab title in ``operation_form``
    title: ClassVar[str]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "kind" not in cls.__dict__:
            return  # a base that forms share (``_PickContainersForm``), no form of its own
        if cls.kind not in OPERATIONS:
            raise TypeError(f"{cls.__name__}.kind {cls.kind!r} is not an operation of the table")
        FORMS[cls.kind] = cls

    _task: asyncio.Future[Any] | None

    def __init__(
        self,
        manager: InfrastructureManager | None = None,
        template: InfrastructureOperation | None = None,
    ) -> None:
        self.manager = manager
        self._template = template or InfrastructureOperation(operation=self.kind)
        self._task = None
        self._line = ProgressLine(self.kind)
        self._problems = w.HTML()
        self._status = w.HTML()
        self.output = w.Output(layout=w.Layout(max_height="40em", overflow="auto"))
        self.run_button = w.Button(description="Run", button_style="primary", icon="play")
        self.run_button.on_click(self._on_run_click)
        # Plan, then Apply this plan: what runs is what was shown, or nothing (the host
        # changed: the differences show instead).
        self.plan_button = w.Button(description="Plan", icon="list")
        self.plan_button.on_click(lambda _b: self.start_plan())
        self.apply_button = w.Button(
            description="Apply this plan", button_style="success", icon="check-square",
            layout=w.Layout(display="none"),
        )  # fmt: skip
        self.apply_button.on_click(lambda _b: self.start_apply())
        #: the plan the last Plan press made (``manager.plan``); Apply runs exactly it
        self.plan: Plan | None = None
        self._buttons = w.HBox([self.plan_button, self.run_button, self.apply_button])
        # Destructive steps wait for consent here: the rows, then Confirm.
        self.confirm_button = w.Button(description="Confirm", button_style="danger", icon="check")
        self.confirm_button.on_click(self._on_confirm_click)
        self._consent_rows = w.HTML()
        self._consent = w.VBox(
            [self._consent_rows, self.confirm_button], layout=w.Layout(display="none")
        )
        #: what Confirm runs: the refused run again, with consent to its destructive steps
        self._pending: Callable[[], Awaitable[None]] | None = None
        self.last_result: InfrastructureResult | None = None
        #: the engine lists a form shows (images, containers) load off the kernel's loop;
        #: ``await form.loaded`` waits for them
        self.loaded: asyncio.Future[Any] | None = None
        self._touched = False  # problems show after the first edit or a Run
        super().__init__()

    def _load(self, fetch: Callable[[], Any], apply: Callable[[Any], None]) -> None:
        """Run the blocking ``fetch`` on a thread (a kernel's loop must never wait on the
        engine), then ``apply`` its answer on the loop; failures show in the status line."""

        def done(answer: Any) -> None:
            try:
                apply(answer)
            except Exception as e:  # a form must never raise into the widget machinery
                self._status.value = _escape(str(e))

        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is None:
            try:
                done(fetch())
            except Exception as e:
                self._status.value = _escape(str(e))
            return

        async def background() -> None:
            try:
                done(await loop.run_in_executor(None, fetch))
            except Exception as e:
                self._status.value = _escape(str(e))

        self.loaded = asyncio.ensure_future(background())

    # subclasses: _fields() -> list of widgets; _values() -> dict of operation fields
    def _values(self) -> dict[str, Any]:
        raise NotImplementedError

    def _field_widgets(self) -> dict[str, w.Widget]:
        """Field paths (``stack``, ``image_params.tag``, ``containers[0].ports``…) -> the
        widget that edits that field (and everything inside it)."""
        return {}

    @property
    def operation(self) -> InfrastructureOperation:
        """The request the inputs describe (raises ``ValueError`` for unreadable text)."""
        return dataclasses.replace(self._template, operation=self.kind, **self._values())

    def problems(self) -> list[Problem]:
        try:
            op = self.operation
        except (ValueError, TypeError) as e:
            return [Problem.of(str(e))]
        config = self.manager.config if self.manager else None
        return op.validate(config)

    def _layout(self, body: list[w.Widget]) -> None:
        self.children = [
            *body,
            self._problems,
            self._buttons,
            self._status,
            self._consent,
            self.output,
        ]
        self._watch(self)
        self.refresh()

    def _watch(self, widget: w.Widget) -> None:
        for child in getattr(widget, "children", ()):
            self._watch(child)
        watched = isinstance(widget, w.ValueWidget | DependsOnPicker)
        if watched and not getattr(widget, "_infranb_watched", False):
            widget.observe(lambda _change: self._edited(), names="value")
            widget._infranb_watched = True

    def _edited(self) -> None:
        self._touched = True
        if self.plan is not None and not self._still_planned():
            self.plan, self.apply_button.layout.display = None, "none"
        self.refresh()

    def refresh(self) -> None:
        """Re-validate and mark each problem next to its field."""
        problems = self.problems()
        by_widget: dict[int, tuple[w.Widget, list[str]]] = {}
        for path, widget in self._field_widgets().items():
            mine = by_widget.setdefault(id(widget), (widget, []))[1]
            mine += [p for p in problems if p.under(path) and p not in mine]
        shown = problems if self._touched else []
        for widget, mine in by_widget.values():
            mine = mine if self._touched else []
            widget.layout.border = "1px solid #c62828" if mine else ""
            widget.tooltip = "; ".join(mine) if mine else None
        self._problems.value = "".join(
            f'<div style="color:#c62828">⚠ {_escape(p)}</div>' for p in shown
        )
        self.run_button.disabled = bool(problems) or self._running()
        for button in self._buttons.children:
            if button is not self.run_button:
                button.disabled = self.run_button.disabled

    @property
    def task(self) -> asyncio.Future[Any] | None:
        """The running (or last) operation task; ``await form.task`` in the next cell."""
        return self._task

    def _running(self) -> bool:
        return self._task is not None and not self._task.done()

    def _on_run_click(self, _button: w.Button) -> None:
        self.start(dry_run=False)

    def _on_confirm_click(self, _button: w.Button) -> None:
        """Run the refused request again, this time with consent to its destructive steps."""
        again, self._pending = self._pending, None
        self._consent.layout.display = "none"
        if again is not None and not self._running() and self.manager is not None:
            self._begin(again())

    def _ask_consent(self, steps: Sequence[str], heading: str, again: Callable[[], Any]) -> None:
        """Show the steps a gate refused, and a Confirm button that runs ``again``."""
        self._pending = again
        self._consent_rows.value = (
            f"<b>{_escape(heading)}</b><ul>"
            + "".join(f"<li>{_escape(step)}</li>" for step in steps)
            + "</ul>"
        )
        self._consent.layout.display = ""
        self._status.value = "waiting for consent · nothing was touched"

    def _ready_operation(self) -> InfrastructureOperation | None:
        """The inputs' request when a run can start now; else None, with the reason shown."""
        self._touched = True
        if self._running() or self.manager is None:
            if self.manager is None:
                self._status.value = "No manager: create the form with a manager to run it."
            return None
        try:
            op = self.operation
        except (ValueError, TypeError) as e:
            self._status.value = f'<span style="color:#c62828">{_escape(str(e))}</span>'
            return None
        self._pending, self._consent.layout.display = None, "none"
        return op

    def _still_planned(self) -> bool:
        """Whether the inputs still describe the plan shown (an edit drops it)."""
        try:
            return self.plan is not None and self.plan.operation == dataclasses.replace(
                self.operation, dry_run=False
            )
        except (ValueError, TypeError):
            return False

    def start_plan(self) -> asyncio.Future[Any] | None:
        """Plan the inputs (``manager.plan``) and show the plan, with Apply this plan."""
        op = self._ready_operation()
        return None if op is None else self._begin(self._plan(op))

    def start_apply(self) -> asyncio.Future[Any] | None:
        """Apply the plan shown: it observes again, and shows the differences instead of
        applying when the host changed since."""
        if self._running() or self.manager is None or self.plan is None:
            return None
        return self._begin(self._apply(self.plan))

    def _begin(self, work: Awaitable[None]) -> asyncio.Future[Any]:
        self.output.clear_output()
        self._task = asyncio.ensure_future(work)
        # Re-enable the buttons once the task is really done (not while it is finishing).
        self._task.add_done_callback(lambda _task: self.refresh())
        self.refresh()
        return self._task

    async def _plan(self, op: InfrastructureOperation) -> None:
        assert self.manager is not None
        self._status.value = f"planning {op.operation}…"
        try:
            self.plan = await self.manager.aplan(op)
        except Exception as e:  # a bad request or no engine: said, never raised into widgets
            self.plan, self.apply_button.layout.display = None, "none"
            self._status.value = f'<span style="color:#c62828">{_escape(str(e))}</span>'
            return
        finally:
            self.refresh()
        self._consume_secrets()
        self.apply_button.layout.display = ""
        self._status.value = _escape(f"plan {self.plan.id}: review it, then Apply this plan")
        self.output.append_display_data(self.plan)

    async def _apply(self, plan: Plan, *, confirm: bool = False) -> None:
        assert self.manager is not None
        self._status.value = f"applying plan {plan.id}…"
        try:
            result = await self.manager._apply_plan(
                plan, confirm=confirm, ask_consent=True, from_form=True
            )
        finally:
            self.refresh()
        self.last_result = result
        refusal = result.exception
        if isinstance(refusal, PlanChanged):
            self.plan, self.apply_button.layout.display = None, "none"
            self._status.value = _escape(
                "the host changed since this plan: nothing was applied; press Plan again"
            )
        elif isinstance(refusal, Refused) and refusal.needs_consent:
            self._ask_consent(
                refusal.steps,
                "This plan removes or replaces what exists; Confirm to apply it:",
                lambda: self._apply(plan, confirm=True),
            )
        else:
            self.plan, self.apply_button.layout.display = None, "none"
            self._status.value = _escape(outcome_line(result))
        self.output.append_display_data(result)

    def start(self, *, dry_run: bool = False) -> asyncio.Future[Any] | None:
        """Schedule the operation on the running loop; a second start while running is
        ignored. Returns the task (``None`` when nothing was started)."""
        op = self._ready_operation()
        if op is None:
            return None
        if dry_run:
            op = dataclasses.replace(op, dry_run=True)
        self._consume_secrets()
        return self._begin(self._execute(op))

    async def _execute(self, op: InfrastructureOperation, *, confirm: bool = False) -> None:
        """Run ``op``; the forms always ask before destructive steps (a refusal shows the
        steps and a Confirm button)."""
        assert self.manager is not None
        self._status.value = f"running {op.operation}…"
        self._line = ProgressLine(op.operation)
        try:
            result = await self.manager._execute(
                op, progress=self._on_progress, confirm=confirm, ask_consent=True, from_form=True
            )
        except asyncio.CancelledError as cancelled:
            render = getattr(cancelled, "_render_traceback_", None)  # the run's sentence
            sentence = render()[0] if render else "cancelled (what had started was rolled back)"
            self._status.value = _escape(sentence)
            raise
        except Exception as e:
            self._status.value = f'<span style="color:#c62828">{_escape(repr(e))}</span>'
            return
        finally:
            self.refresh()
        self.last_result = result
        refusal = result.exception
        if isinstance(refusal, Refused) and refusal.needs_consent:
            self._ask_consent(
                refusal.steps,
                "These steps remove or replace what exists; Confirm to run them:",
                lambda: self._execute(op, confirm=True),
            )
            self.output.append_display_data(result)
            return
        self._status.value = _escape(outcome_line(result))
        self.output.append_display_data(result)  # its HTML holds the table: shown once

    def _on_progress(self, event: ProgressEvent) -> None:
        """Fold every event (layer by layer, container by container) into one status line."""
        self._line.update(event)
        self._status.value = _escape(self._line.text())

    def _consume_secrets(self) -> None:
        """Hook for forms that hold secrets."""

    @classmethod
    def from_operation(
        cls, op: InfrastructureOperation, manager: InfrastructureManager | None = None
    ) -> Self:
        """A form filled from ``op``; its ``.operation`` gives ``op`` back."""
        if op.operation != cls.kind:
            raise ValueError(f"{cls.__name__} builds {cls.kind!r} requests, not {op.operation!r}")
        return cls(manager, template=op)


def _escape(text: str) -> str:
    import html

    return html.escape(text, quote=True)


class DependsOnPicker(w.HBox):
    """``depends_on`` as one toggle button per other container of the form, so the choices
    are in sight (a tag box shows them only while one types). ``value`` is the chosen
    names; ``allowed_tags`` the choices (the form sets it). A chosen name that is not a
    choice (a container outside the form) stays chosen and shown."""

    value = traitlets.List(traitlets.Unicode())
    allowed_tags = traitlets.List(traitlets.Unicode())

    def __init__(self, value: list[str] | None = None) -> None:
        super().__init__(layout=w.Layout(flex_flow="row wrap"))
        self._syncing = False
        self.observe(lambda _change: self._build(), names="allowed_tags")
        self.observe(lambda _change: self._show_value(), names="value")
        self.value = list(value or [])
        self._build()

    def _build(self) -> None:
        names = list(dict.fromkeys([*self.allowed_tags, *self.value]))
        if not names:
            self.children = (w.HTML('<span style="opacity:0.7">no other container yet</span>'),)
            return
        buttons = []
        for name in names:
            button = w.ToggleButton(
                value=name in self.value,
                description=name,
                tooltip=f"wait for {name} before starting",
                icon="check" if name in self.value else "",
                layout=w.Layout(width="auto"),
            )
            button.observe(lambda change, n=name: self._toggled(n, change["new"]), names="value")
            buttons.append(button)
        self.children = tuple(buttons)

    def _toggled(self, name: str, chosen: bool) -> None:
        if self._syncing:
            return
        rest = [n for n in self.value if n != name]
        self.value = [*rest, name] if chosen else rest

    def _show_value(self) -> None:
        shown = {b.description for b in self.children if isinstance(b, w.ToggleButton)}
        if set(self.value) - shown:
            self._build()
            return
        self._syncing = True
        try:
            for button in self.children:
                if isinstance(button, w.ToggleButton):
                    button.value = button.description in self.value
                    button.icon = "check" if button.value else ""
        finally:
            self._syncing = False


def _text(description: str, value: str = "", placeholder: str = "") -> w.Text:
    return w.Text(
        value=value,
        description=description,
        placeholder=placeholder,
        style={"description_width": "110px"},
        layout=w.Layout(width="95%"),
    )


def _parse_field(widget: w.Text, label: str) -> Any:
    try:
        return parse_value(widget.value)
    except ValueError as e:
        raise ValueError(f"{label}: cannot read {widget.value!r} ({e})") from e


# ---------------------------------------------------------------- orchestrate


class ContainerRow(w.VBox):
    """One container of an OrchestrateForm."""

    HANDLED = (
        "image",
        "name",
        "command",
        "ports",
        "environment",
        "volumes",
        "networks",
        "depends_on",
        "healthcheck",
    )

    def __init__(
        self,
        spec: dict[str, Any] | None = None,
        images: list[str] | None = None,
        on_change: Callable[[], None] | None = None,
        markers: tuple[str, ...] = DEFAULT_SECRET_MARKERS,
    ) -> None:
        spec = dict(spec or {})
        #: which keys hold secrets (the manager's ``config.secret_markers``)
        self.markers = markers
        self.image = w.Combobox(
            value=str(spec.get("image", "")),
            options=images or [],
            description="image",
            ensure_option=False,
            style={"description_width": "110px"},
            layout=w.Layout(width="95%"),
        )
        self.name = _text("name", str(spec.get("name", "")), "e.g. web")
        command = spec.get("command")
        self.command = _text(
            "command",
            command if isinstance(command, str) else json.dumps(command) if command else "",
            "sh -c '…' or a JSON list",
        )
        self.ports = _text("ports", render_value(spec.get("ports")), "8080:80 or 80=8080")
        env_text, self._secrets = render_env(dict(spec.get("environment") or {}), markers)
        self.environment = w.Textarea(
            value=env_text,
            description="environment",
            placeholder="KEY=value per line; ${env:NAME} reads a secret",
            style={"description_width": "110px"},
            layout=w.Layout(width="95%"),
        )
        self.secret_key = _text("secret name", "", "e.g. POSTGRES_PASSWORD")
        self.secret_value = w.Password(
            description="secret value",
            continuous_update=False,
            style={"description_width": "110px"},
        )
        self.secret_value.observe(self._on_secret_value, names="value")
        self.secret_list = w.HTML()
        self.volumes = _text("volumes", render_value(spec.get("volumes")), "db-data=/data")
        self.networks = _text("networks", render_value(spec.get("networks")), "app-net")
        depends = spec.get("depends_on")
        self.depends_on = DependsOnPicker(list(depends) if isinstance(depends, list) else [])
        self._depends_extra = depends if isinstance(depends, dict) else None
        health = spec.get("healthcheck")
        self.healthcheck = _text(
            "healthcheck",
            health["test"]
            if isinstance(health, dict)
            and list(health) == ["test"]
            and isinstance(health["test"], str)
            else json.dumps(health)
            if health
            else "",
            "shell test, or JSON {test, interval, retries}",
        )
        extra = {k: v for k, v in spec.items() if k not in self.HANDLED}
        self.extra = _text(
            "other keys", json.dumps(extra) if extra else "", 'JSON, e.g. {"restart": "always"}'
        )
        self.up = w.Button(icon="arrow-up", tooltip="move up", layout=w.Layout(width="36px"))
        self.down = w.Button(icon="arrow-down", tooltip="move down", layout=w.Layout(width="36px"))
        self.remove = w.Button(icon="trash", tooltip="remove", layout=w.Layout(width="36px"))
        self._on_change = on_change
        self._show_secrets()
        super().__init__(
            [
                w.HBox([self.up, self.down, self.remove]),
                self.image,
                self.name,
                self.command,
                self.ports,
                self.environment,
                w.HBox([self.secret_key, self.secret_value]),
                self.secret_list,
                self.volumes,
                self.networks,
                w.HBox([w.Label("depends_on", layout=w.Layout(width="110px")), self.depends_on]),
                self.healthcheck,
                self.extra,
            ],
            layout=w.Layout(border="1px solid #ccc", padding="4px", margin="4px 0"),
        )

    def _on_secret_value(self, change: dict[str, Any]) -> None:
        value = change["new"]
        if not value:
            return
        key = self.secret_key.value.strip() or "SECRET"
        self._secrets[key] = value
        # Out of the widget at once: the saved notebook never holds the value.
        self.secret_value.value = ""
        self.secret_key.value = ""
        self._show_secrets()
        if self._on_change:
            self._on_change()

    def _show_secrets(self) -> None:
        names = ", ".join(f"{_escape(k)}=••••••" for k in self._secrets)
        self.secret_list.value = f"<small>secrets set: {names}</small>" if names else ""

    def spec(self) -> dict[str, Any]:
        """The container dict, only with keys that have values."""
        spec: dict[str, Any] = {}
        if self.image.value.strip():
            spec["image"] = self.image.value.strip()
        if self.name.value.strip():
            spec["name"] = self.name.value.strip()
        command = self.command.value.strip()
        if command:
            spec["command"] = json.loads(command) if command.startswith("[") else command
        for key, widget in (
            ("ports", self.ports),
            ("volumes", self.volumes),
            ("networks", self.networks),
        ):
            value = _parse_field(widget, key)
            if value is not None:
                spec[key] = [value] if key == "networks" and isinstance(value, str) else value
        env = parse_env(self.environment.value)
        plain_secrets = [
            k for k, v in env.items() if is_secret_key(k, self.markers) and isinstance(v, str)
        ]
        if plain_secrets:
            raise ValueError(
                f"environment: {', '.join(plain_secrets)} look secret; type their values in "
                "the secret fields or use ${env:NAME} so they never reach the notebook"
            )
        env.update(self._secrets)
        if env:
            spec["environment"] = env
        if self._depends_extra is not None:
            spec["depends_on"] = self._depends_extra
        elif self.depends_on.value:
            spec["depends_on"] = list(self.depends_on.value)
        health = self.healthcheck.value.strip()
        if health:
            spec["healthcheck"] = json.loads(health) if health.startswith("{") else {"test": health}
        if self.extra.value.strip():
            extra = json.loads(self.extra.value)
            if not isinstance(extra, dict):
                raise ValueError("other keys: must be a JSON object")
            spec.update(extra)
        return spec


class OrchestrateForm(_Form):
    """A stack: a name and container rows that can be added, removed and reordered."""

    kind = "orchestrate_containers"
    title = "Orchestrate"

    def __init__(
        self,
        manager: InfrastructureManager | None = None,
        template: InfrastructureOperation | None = None,
    ) -> None:
        super().__init__(manager, template)
        self.stack = _text(
            "stack",
            self._template.stack or "",
            f"default: {manager.config.default_stack if manager else 'default'}",
        )
        self.remove_orphans = w.Checkbox(
            value=self._template.remove_orphans, description="remove orphans"
        )
        self.rows_box = w.VBox()
        self.add_button = w.Button(description="Add container", icon="plus")
        self.add_button.on_click(lambda _b: self.add_row())
        self._images: list[str] = []
        for spec in self._template.containers:
            self.add_row(spec, refresh=False)
        self._layout([self.stack, self.remove_orphans, self.rows_box, self.add_button])
        if manager is not None:
            self._load(manager.engine.list_images, self._show_images)

    def _show_images(self, images: list[Any]) -> None:
        """Offer the engine's local image tags in every row's image box."""
        self._images = sorted({t for i in images for t in i.tags})
        for row in self.rows:
            row.image.options = self._images

    @property
    def rows(self) -> list[ContainerRow]:
        return list(self.rows_box.children)

    def add_row(self, spec: dict[str, Any] | None = None, *, refresh: bool = True) -> ContainerRow:
        markers = self.manager.config.secret_markers if self.manager else DEFAULT_SECRET_MARKERS
        row = ContainerRow(spec, self._images, on_change=self.refresh, markers=markers)
        row.remove.on_click(lambda _b: self._remove_row(row))
        row.up.on_click(lambda _b: self._move_row(row, -1))
        row.down.on_click(lambda _b: self._move_row(row, 1))
        self.rows_box.children = (*self.rows_box.children, row)
        if refresh:
            self._watch(row)
            self.refresh()
        return row

    def _remove_row(self, row: ContainerRow) -> None:
        self.rows_box.children = tuple(r for r in self.rows if r is not row)
        self.refresh()

    def _move_row(self, row: ContainerRow, step: int) -> None:
        rows = self.rows
        i = rows.index(row)
        j = min(max(i + step, 0), len(rows) - 1)
        rows[i], rows[j] = rows[j], rows[i]
        self.rows_box.children = tuple(rows)
        self.refresh()

    def refresh(self) -> None:
        names = [r.name.value.strip() for r in self.rows if r.name.value.strip()]
        for row in self.rows:
            row.depends_on.allowed_tags = [n for n in names if n != row.name.value.strip()]
        super().refresh()

    def _values(self) -> dict[str, Any]:
        return {
            "stack": self.stack.value.strip() or None,
            "remove_orphans": self.remove_orphans.value,
            "containers": [row.spec() for row in self.rows],
        }

    def _field_widgets(self) -> dict[str, w.Widget]:
        marked: dict[str, w.Widget] = {"stack": self.stack}
        for index, row in enumerate(self.rows):
            for field in (
                "image",
                "name",
                "command",
                "ports",
                "environment",
                "volumes",
                "networks",
                "depends_on",
                "healthcheck",
            ):
                marked[f"containers[{index}].{field}"] = getattr(row, field)
        return marked

    def _consume_secrets(self) -> None:
        for row in self.rows:
            row.secret_value.value = ""


# ---------------------------------------------------------------- images


class DeployStackForm(OrchestrateForm):
    """A Swarm stack: the same rows; each row's "other keys" takes its ``deploy`` section,
    e.g. ``{"deploy": {"replicas": 2}}``."""

    kind = "deploy_stack"
    title = "Swarm"


class ImageForm(_Form):
    """Pull, build, tag or remove an image."""

    kind = "manage_images"
    title = "Images"
    #: the parameters of each action (less ``action``), as the operation table declares them
    FIELDS: ClassVar[dict[str, tuple[str, ...]]] = {
        action: keys[1:] for action, keys in OPERATIONS["manage_images"].variants.items()
    }

    def __init__(
        self,
        manager: InfrastructureManager | None = None,
        template: InfrastructureOperation | None = None,
    ) -> None:
        super().__init__(manager, template)
        params = dict(self._template.image_params)
        action = params.pop("action", "pull")
        self.action = w.ToggleButtons(options=list(self.FIELDS), value=action, description="action")
        self.image = _text("image", str(params.pop("image", "")), "127.0.0.1:5000/app:1")
        self.platform = _text("platform", str(params.pop("platform", "") or ""), "linux/amd64")
        self.path = _text("path", str(params.pop("path", "")), "./app")
        self.tag = _text("tag", str(params.pop("tag", "")), "myapp:1")
        self.dockerfile = _text("dockerfile", str(params.pop("dockerfile", "")), "Dockerfile")
        self.buildargs = _text(
            "buildargs", render_value(params.pop("buildargs", None)), "VERSION=1.2"
        )
        self.target = _text("target", str(params.pop("target", "") or ""), "runtime")
        self.labels = _text("labels", render_value(params.pop("labels", None)), "team=ops")
        self.nocache = w.Checkbox(value=params.get("nocache") is True, description="no cache")
        self.pull = w.Checkbox(value=params.get("pull") is True, description="pull base")
        self.force = w.Checkbox(value=params.get("force") is True, description="force")
        for key in ("nocache", "pull", "force"):
            if params.get(key) is True:
                params.pop(key)
        self._extra = params  # parameters without a widget survive a round trip
        self.action.observe(lambda _c: self._show_fields(), names="value")
        self._layout(
            [
                self.action,
                self.image,
                self.platform,
                self.path,
                self.tag,
                self.dockerfile,
                self.buildargs,
                self.target,
                self.labels,
                w.HBox([self.nocache, self.pull, self.force]),
            ]
        )
        self._show_fields()

    def _show_fields(self) -> None:
        wanted = self.FIELDS[self.action.value]
        for name in {n for names in self.FIELDS.values() for n in names}:
            getattr(self, name).layout.display = "" if name in wanted else "none"

    def _values(self) -> dict[str, Any]:
        params: dict[str, Any] = {"action": self.action.value}
        for name in self.FIELDS[self.action.value]:
            widget = getattr(self, name)
            if isinstance(widget, w.Checkbox):
                if widget.value:
                    params[name] = True
            elif name in ("buildargs", "labels"):
                value = _parse_field(widget, f"image_params.{name}")
                if value is not None:
                    params[name] = value
            elif widget.value.strip():
                params[name] = widget.value.strip()
        params.update(self._extra)
        return {"image_params": params}

    def _field_widgets(self) -> dict[str, w.Widget]:
        return {
            f"image_params.{n}": getattr(self, n)
            for n in (
                "image",
                "platform",
                "path",
                "tag",
                "dockerfile",
                "buildargs",
                "target",
                "labels",
            )
        }


# ---------------------------------------------------------------- cleanup


class CleanupForm(_Form):
    """What to clean up, in which scope, with a dry run to review first."""

    kind = "cleanup_resources"
    title = "Cleanup"
    FLAGS = (
        "cleanup_stopped_containers",
        "cleanup_unused_images",
        "cleanup_volumes",
        "force_remove",
        "dry_run",
    )

    def __init__(
        self,
        manager: InfrastructureManager | None = None,
        template: InfrastructureOperation | None = None,
    ) -> None:
        template = template or InfrastructureOperation(operation=self.kind, dry_run=True)
        super().__init__(manager, template)
        self.flags = {
            name: w.Checkbox(
                value=getattr(self._template, name), description=name.replace("_", " ")
            )
            for name in self.FLAGS
        }
        self.scope = w.ToggleButtons(
            options=["managed", "all"], value=self._template.scope, description="scope"
        )
        self.stack = _text("stack", self._template.stack or "", "all managed stacks")
        self._layout([*self.flags.values(), self.scope, self.stack])

    def _values(self) -> dict[str, Any]:
        values: dict[str, Any] = {name: box.value for name, box in self.flags.items()}
        values["scope"] = self.scope.value
        values["stack"] = self.stack.value.strip() or None
        return values

    def _field_widgets(self) -> dict[str, w.Widget]:
        return {
            "stack": self.stack,
            "scope": self.scope,
            "cleanup_stopped_containers": self.flags["cleanup_stopped_containers"],
        }


# ---------------------------------------------------------------- health


class _PickContainersForm(_Form):
    """Pick containers from the engine (refreshable) or type names or ids."""

    def __init__(
        self,
        manager: InfrastructureManager | None = None,
        template: InfrastructureOperation | None = None,
    ) -> None:
        super().__init__(manager, template)
        self.typed = _text("names or ids", ", ".join(self._template.container_ids), "web, db")
        self.picked = w.SelectMultiple(
            options=[],
            description="on the engine",
            style={"description_width": "110px"},
            layout=w.Layout(width="95%", height="8em"),
        )
        self.refresh_button = w.Button(description="Refresh list", icon="refresh")
        self.refresh_button.on_click(lambda _b: self.load_containers())
        self.load_containers()
        self._layout([self.picked, self.refresh_button, self.typed, *self._extra_widgets()])

    def _extra_widgets(self) -> list[w.Widget]:
        """What a form asks beyond the containers."""
        return []

    def load_containers(self) -> None:
        """List the engine's containers (off the loop in a kernel)."""
        if self.manager is None:
            return
        self._load(self.manager.engine.list_containers, self._show_containers)

    def _show_containers(self, rows: list[Any]) -> None:
        self.picked.options = sorted(c.name for c in rows)

    def _values(self) -> dict[str, Any]:
        typed = [n.strip() for n in self.typed.value.split(",") if n.strip()]
        return {"container_ids": typed + [n for n in self.picked.value if n not in typed]}

    def _field_widgets(self) -> dict[str, w.Widget]:
        return {"container_ids": self.typed}


class HealthCheckForm(_PickContainersForm):
    """Check the health of the containers picked or typed."""

    kind = "health_check"
    title = "Health"


# ---------------------------------------------------------------- stop, restart


class StopForm(_PickContainersForm):
    """Stop the containers picked or typed (removing the ones infranb made, if ticked)."""

    kind = "stop"
    title = "Stop"

    def _extra_widgets(self) -> list[w.Widget]:
        remove = self._template.params.get("remove")
        if remove is None:  # what a stop does unless told: the config's default
            config = self.manager.config if self.manager else InfrastructureManagerConfig()
            remove = config.auto_remove_containers
        self.remove = w.Checkbox(value=bool(remove), description="remove the ones infranb made")
        self.dry_run = w.Checkbox(value=self._template.dry_run, description="dry run")
        return [self.remove, self.dry_run]

    def _values(self) -> dict[str, Any]:
        return {
            **super()._values(),
            "params": {"remove": self.remove.value},
            "dry_run": self.dry_run.value,
        }


class RestartForm(_PickContainersForm):
    """Restart the containers picked or typed."""

    kind = "restart"
    title = "Restart"

    def _extra_widgets(self) -> list[w.Widget]:
        self.dry_run = w.Checkbox(value=self._template.dry_run, description="dry run")
        return [self.dry_run]

    def _values(self) -> dict[str, Any]:
        return {**super()._values(), "dry_run": self.dry_run.value}


class HealForm(_PickContainersForm):
    """Heal the containers picked or typed: restart the unhealthy, start the ones that died,
    within a budget (``manager.heal``)."""

    kind = "heal"
    title = "Heal"

    def _extra_widgets(self) -> list[w.Widget]:
        params = self._template.params
        self.max_restarts = w.BoundedIntText(
            value=int(params.get("max_restarts", 3)), min=1, max=100, description="max restarts"
        )
        self.within = _text("within", str(params.get("within", "15m")), "15m")
        self.dry_run = w.Checkbox(value=self._template.dry_run, description="dry run")
        return [self.max_restarts, self.within, self.dry_run]

    def _values(self) -> dict[str, Any]:
        params = {"max_restarts": self.max_restarts.value, "within": self.within.value.strip()}
        return {**super()._values(), "params": params, "dry_run": self.dry_run.value}

    def _field_widgets(self) -> dict[str, w.Widget]:
        return {**super()._field_widgets(), "params.max_restarts": self.max_restarts,
                "params.within": self.within}  # fmt: skip


def operation_form(manager: InfrastructureManager) -> w.Tab:
    """A form for every operation of the table that has one, in the table's order, in a Tab."""
    classes = [FORMS[name] for name in OPERATIONS if name in FORMS]
    tab = w.Tab(children=[cls(manager) for cls in classes])
    for index, cls in enumerate(classes):
        tab.set_title(index, cls.title)
    return tab


__all__ = [
    "CleanupForm",
    "ContainerRow",
    "DeployStackForm",
    "HealForm",
    "HealthCheckForm",
    "ImageForm",
    "ImageUpdatesForm",
    "OrchestrateForm",
    "RestartForm",
    "StopForm",
    "operation_form",
    "updates_form",
]
