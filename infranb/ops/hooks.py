"""Lifecycle hooks, as Compose v2 runs them: each an exec in the container. ``post_start``
runs after a start (a failure fails the start, and the run rolls back); ``pre_stop`` before
every stop infranb makes (a failure is a warning, and the stop goes on). A container carries
its ``pre_stop`` hooks in a label, so ``down`` and ``stop`` find them without the file."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from infranb.core import labels as L
from infranb.core.errors import InfraError, SpecProblem
from infranb.core.secrets import is_secret_key, secret_values
from infranb.core.specs import ContainerSpec, Hook, parse_hooks

if TYPE_CHECKING:
    from infranb.runtime import Runtime


def pre_stop_label(spec: ContainerSpec, markers: Sequence[str]) -> dict[str, str]:
    """The label that carries a spec's ``pre_stop`` hooks ({} without any). A value under a
    secret-looking key is left out of it (a label is readable by anyone who can inspect the
    container): the exec inherits the container's own environment instead."""
    if not spec.pre_stop:
        return {}
    hooks = [
        h.to_dict(without=[k for k in h.environment if is_secret_key(k, markers)])
        for h in spec.pre_stop
    ]
    return {L.PRE_STOP: json.dumps(hooks, sort_keys=True)}


def pre_stop_hooks(labels: Mapping[str, str]) -> tuple[Hook, ...]:
    """The ``pre_stop`` hooks a container carries (none when its label is missing or
    unreadable: a stop never fails for a label)."""
    text = labels.get(L.PRE_STOP)
    if not text:
        return ()
    try:
        return parse_hooks(json.loads(text), "pre_stop")
    except (ValueError, SpecProblem):
        return ()


def _said(hook: Hook) -> str:
    return hook.command if isinstance(hook.command, str) else " ".join(hook.command)


async def run_hooks(
    rt: Runtime, container_id: str, name: str, hooks: Sequence[Hook], when: str
) -> list[str]:
    """Run ``hooks`` in order in the container; one sentence for each that failed (its exit
    code and last output line, masked). Each is a step of the run (journaled)."""
    failures: list[str] = []
    for hook in hooks:
        rt.redact = rt.redact.extend(secret_values(hook.environment, rt.config.secret_markers))
        try:
            code, output = await rt.call(
                rt.engine.exec_in, container_id, hook.command, user=hook.user,
                privileged=hook.privileged, workdir=hook.working_dir,
                environment=dict(hook.environment),
            )  # fmt: skip
        except InfraError as e:
            failures.append(f"{name}: its {when} hook `{_said(hook)}` could not run: {e}")
            continue
        rt.emit("hook", name, f"{when} `{_said(hook)}` exited {code}")
        if code != 0:
            lines = [line for line in output.splitlines() if line.strip()]
            last = f": {rt.redact(lines[-1])}" if lines else ""
            failures.append(f"{name}: its {when} hook `{_said(hook)}` exited {code}{last}")
    return failures


async def before_stop(rt: Runtime, container_id: str, name: str, labels: Mapping[str, str]) -> None:
    """Run a running container's ``pre_stop`` hooks; a failure is a warning."""
    hooks = pre_stop_hooks(labels)
    if hooks:
        rt.warnings.extend(await run_hooks(rt, container_id, name, hooks, "pre_stop"))
