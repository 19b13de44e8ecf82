"""The form of containers that are behind: ``image_updates`` lists the running containers
whose registry has a newer image; for the ones ticked, each one's stack is run again with
``pull_policy: always`` on them. Plan first (a dry run of each stack, shown); Update runs
exactly those requests, the plan shown being the consent to their recreates.

A stack's request is the loaded Compose project given for it, else the last successful run
of the stack in the journal. A container without either cannot be ticked, and the form says
why beside it. (``manager.update`` is not used: it changes limits, not images.)
"""

from __future__ import annotations

import asyncio
import dataclasses
import html
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import ipywidgets as w

from infranb.core.stored import masked_paths, stored_operation
from infranb.models import InfrastructureOperation, InfrastructureResult

if TYPE_CHECKING:
    import pandas as pd

    from infranb.inputs.compose.project import Project
    from infranb.manager import InfrastructureManager


def stack_request(
    manager: InfrastructureManager, stack: str | None, projects: dict[str, InfrastructureOperation]
) -> tuple[InfrastructureOperation | None, str]:
    """The request that runs ``stack`` again, or None and why there is none."""
    if not stack:
        return None, "not in a stack: there is no request to run again"
    if stack in projects:
        return projects[stack], ""
    journal = manager.journal
    if journal is None:
        return None, f"no journal and no loaded project for stack {stack}: pass projects=[...]"
    stored = journal.last_request(stack)
    if stored is None:
        return None, (
            f"stack {stack} has no successful run in the journal and no loaded project: "
            "pass projects=[...]"
        )
    masked = masked_paths(stored)
    if masked:
        return None, (
            f"the journal masked {masked[0]} of stack {stack} (a plain secret): pass the "
            "loaded project instead"
        )
    return stored_operation(stored), ""


def pulling(op: InfrastructureOperation, names: Iterable[str]) -> InfrastructureOperation:
    """``op`` with ``pull_policy: always`` on the containers named, and not a dry run."""
    wanted = set(names)
    containers = [
        {**c, "pull_policy": "always"} if c.get("name") in wanted else dict(c)
        for c in op.containers
    ]
    return dataclasses.replace(op, containers=containers, dry_run=False)


class ImageUpdatesForm(w.VBox):
    """The containers whose registry has a newer image, each with a box to tick; Plan shows
    the re-run of their stacks, Update runs it."""

    def __init__(
        self,
        manager: InfrastructureManager,
        *,
        stack: str | None = None,
        projects: Iterable[Project] = (),
    ) -> None:
        self.manager, self.stack = manager, stack
        self._projects = {op.stack or "": op for op in (p.operation() for p in projects)}
        self.boxes: dict[str, w.Checkbox] = {}
        self._stacks: dict[str, str] = {}  # container -> its stack
        self._requests: dict[str, InfrastructureOperation] = {}  # stack -> its request
        self.planned: list[InfrastructureOperation] = []
        self.results: list[InfrastructureResult] = []
        self.rows = w.VBox()
        self.status = w.HTML()
        self.output = w.Output(layout=w.Layout(max_height="40em", overflow="auto"))
        self.refresh_button = w.Button(description="Check again", icon="refresh")
        self.plan_button = w.Button(description="Plan", icon="list", button_style="info")
        self.update_button = w.Button(
            description="Update", icon="play", button_style="danger", disabled=True
        )
        self.refresh_button.on_click(lambda _b: self.load())
        self.plan_button.on_click(lambda _b: self.start(self.plan))
        self.update_button.on_click(lambda _b: self.start(self.update))
        self.task: asyncio.Future[Any] | None = None
        #: the check of the registries, off the kernel's loop; ``await form.loaded``
        self.loaded: asyncio.Future[Any] | None = None
        super().__init__(
            [
                self.rows,
                w.HBox([self.refresh_button, self.plan_button, self.update_button]),
                self.status,
                self.output,
            ]
        )
        self.load()

    # ------------------------------------------------------------ the list

    def load(self) -> None:
        """Ask the registries (``image_updates``) off the loop, then list who is behind."""
        self.status.value = "asking the registries…"

        def fetch() -> pd.DataFrame:
            return self.manager.image_updates(stack=self.stack)

        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.show(fetch())
            return

        async def background() -> None:
            try:
                self.show(await loop.run_in_executor(None, fetch))
            except Exception as e:  # a form never raises into the widget machinery
                self.status.value = html.escape(str(e))

        self.loaded = asyncio.ensure_future(background())

    def show(self, found: pd.DataFrame) -> None:
        """One box per container that is behind; the others are counted."""
        behind = found[found["newer"].fillna(False).astype(bool)]
        self.boxes, self._stacks, self._requests = {}, {}, {}
        rows: list[w.Widget] = []
        for row in behind.itertuples():
            stack = str(row.stack) if isinstance(row.stack, str) and row.stack else None
            request, why = stack_request(self.manager, stack, self._projects)
            box = w.Checkbox(
                value=False,
                description=f"{row.container} · {row.image}",
                disabled=request is None,
                indent=False,
                layout=w.Layout(width="auto"),
            )
            box.observe(lambda _change: self._ticked(), names="value")
            self.boxes[str(row.container)] = box
            self._stacks[str(row.container)] = stack or ""
            if request is not None and stack:
                self._requests[stack] = request
            note = w.HTML(f'<span style="color:#777">{html.escape(why)}</span>' if why else "")
            rows.append(w.HBox([box, note]))
        self.rows.children = rows
        unknown = int(found["newer"].isna().sum())
        said = f"{len(behind)} of {len(found)} running container(s) behind their registry"
        if unknown:
            said += f"; {unknown} with nothing to compare (their rows in image_updates say why)"
        self.status.value = html.escape(said)
        self._ticked()

    @property
    def ticked(self) -> list[str]:
        return [name for name, box in self.boxes.items() if box.value and not box.disabled]

    def _ticked(self) -> None:
        self.plan_button.disabled = not self.ticked or self._running()
        self.update_button.disabled = True  # a new choice needs a new plan
        self.planned = []

    def operations(self) -> list[InfrastructureOperation]:
        """The re-runs the ticked boxes ask for: one per stack."""
        by_stack: dict[str, list[str]] = {}
        for name in self.ticked:
            by_stack.setdefault(self._stacks[name], []).append(name)
        return [pulling(self._requests[s], names) for s, names in sorted(by_stack.items())]

    # ------------------------------------------------------------ plan, update

    def _running(self) -> bool:
        return self.task is not None and not self.task.done()

    def start(self, action: Any) -> asyncio.Future[Any] | None:
        """Schedule ``plan`` or ``update`` on the running loop (ignored while one runs)."""
        if self._running():
            return None
        self.task = asyncio.ensure_future(action())
        self.plan_button.disabled = self.update_button.disabled = True
        return self.task

    async def plan(self) -> None:
        """A dry run of each stack's re-run, shown; Update then runs exactly these."""
        self.output.clear_output()
        operations = self.operations()
        results = [
            await self.manager.execute(dataclasses.replace(op, dry_run=True)) for op in operations
        ]
        for result in results:
            self.output.append_display_data(result)
        self.planned = operations if all(r.success for r in results) else []
        self.status.value = html.escape(
            "plan ready: Update runs it"
            if self.planned
            else "the plan failed: see its result below; nothing was touched"
        )
        self.plan_button.disabled = not self.ticked
        self.update_button.disabled = not self.planned

    async def update(self) -> None:
        """Run the planned re-runs (their recreates were shown by Plan: that is the consent)."""
        operations, self.planned = self.planned, []
        self.output.clear_output()
        self.results = []
        for op in operations:
            result = await self.manager.execute(op, confirm=True)
            self.results.append(result)
            self.output.append_display_data(result)
        done = sum(1 for r in self.results if r.success)
        self.status.value = html.escape(f"{done} of {len(operations)} stack(s) updated")
        self.update_button.disabled = True
        self.plan_button.disabled = not self.ticked


def updates_form(
    manager: InfrastructureManager, *, stack: str | None = None, projects: Iterable[Project] = ()
) -> ImageUpdatesForm:
    """The form of the containers that are behind (``ImageUpdatesForm``)."""
    return ImageUpdatesForm(manager, stack=stack, projects=projects)
