"""heal: restart what is unhealthy and start what died, bounded, with evidence.

Docker marks a container ``unhealthy`` and does nothing more (moby#28400). A heal observes
the selected containers and takes the evidence before anything is touched: the health
check's last probes, the last log lines (masked), the exit code, ``OOMKilled``, the restart
count and how long it had been up. Its plan has one step per container: a ``heal`` (restart
an unhealthy one, start one that exited non-zero) or a ``skip`` saying why not. Each heal
claims one of the container's ``max_restarts`` within ``within`` in the same transaction
that counts them, then waits as a bring-up does; one unhealthy again is a failed heal.
Dependents with ``depends_on.restart: true`` are restarted after it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from infranb.core import labels as L
from infranb.core.errors import InfraError, Problem, SpecProblem
from infranb.core.frames import Schema
from infranb.core.records import (
    ContainerDetails,
    ContainerInfo,
    Evidence,
    Probe,
    short_id,
)
from infranb.core.secrets import mask_url_credentials, secret_values
from infranb.core.specs import parse_duration
from infranb.core.steps import Step, StepPlan
from infranb.ops.base import Operation
from infranb.ops.common import inspect_named, unknown_params
from infranb.ops.heal_steps import span

if TYPE_CHECKING:
    from infranb.core.config import InfrastructureManagerConfig
    from infranb.core.request import InfrastructureOperation
    from infranb.core.result import InfrastructureResult
    from infranb.runtime import Runtime

#: what a heal acts on by default: unhealthy containers, and containers that exited non-zero
WHEN = ("unhealthy", "exited")
#: restart policies under which the engine starts an exited container again by itself
ENGINE_RESTARTS = ("always", "unless-stopped", "on-failure")
#: the params ``heal`` takes besides the names in ``container_ids``
PARAMS = ("stack", "when", "max_restarts", "within", "evidence_lines")
#: the events that mean someone stopped a container on purpose
ON_PURPOSE = ("stop", "kill")


@dataclass(frozen=True)
class Heal:
    """Heal these containers (or every container of ``stack``)."""

    names: tuple[str, ...]
    stack: str | None = None
    when: tuple[str, ...] = WHEN
    max_restarts: int = 3
    #: the budget's window, in seconds
    within: float = 900.0
    evidence_lines: int = 50
    dry_run: bool = False


def parse(
    op: InfrastructureOperation, config: InfrastructureManagerConfig
) -> tuple[Heal | None, list[Problem]]:
    problems = unknown_params(op, PARAMS)
    params: Mapping[str, Any] = op.params if isinstance(op.params, dict) else {}
    ids = op.container_ids if isinstance(op.container_ids, list | tuple) else []
    problems += [
        Problem(f"container_ids[{i}]", "must be a container name or id")
        for i, n in enumerate(ids)
        if not isinstance(n, str) or not n.strip()
    ]
    names = tuple(dict.fromkeys(n for n in ids if isinstance(n, str) and n.strip()))
    stack = params.get("stack", op.stack)
    if stack is not None and not (isinstance(stack, str) and stack):
        problems.append(Problem("params.stack", f"{stack!r} must be a stack's name"))
        stack = None
    if not names and not stack and not problems:
        problems.append(Problem("params", "heal needs names=[...] or stack=...: name what to heal"))
    when = params.get("when", WHEN)
    when = (when,) if isinstance(when, str) else when
    if not isinstance(when, list | tuple) or not when or not set(when) <= set(WHEN):
        problems.append(
            Problem("params.when", f"{when!r} must list one or both of {', '.join(WHEN)}")
        )
        when = WHEN
    max_restarts = params.get("max_restarts", 3)
    if isinstance(max_restarts, bool) or not isinstance(max_restarts, int) or max_restarts < 1:
        problems.append(
            Problem("params.max_restarts", f"{max_restarts!r} must be a whole number, 1 or more")
        )
        max_restarts = 3
    within = params.get("within", "15m")
    try:
        within_seconds = parse_duration(within, "params.within")
    except (SpecProblem, ValueError) as e:
        problems.append(Problem("params.within", f"{e}; use '15m', '1h' or seconds"))
        within_seconds = 900.0
    lines = params.get("evidence_lines", 50)
    if isinstance(lines, bool) or not isinstance(lines, int) or lines < 0:
        problems.append(Problem("params.evidence_lines", f"{lines!r} must be 0 or more lines"))
        lines = 50
    if problems:
        return None, problems
    command = Heal(
        names, stack, tuple(dict.fromkeys(when)), max_restarts, within_seconds, lines, op.dry_run
    )
    return command, []


# ---------------------------------------------------------------------- observe


@dataclass(frozen=True)
class Looked:
    """What a heal reads before it plans: the selected containers, the other containers of
    their stacks (for dependents), which exits were on purpose, the budget used, the stacks
    with a run in progress, and the evidence."""

    details: tuple[ContainerDetails, ...]
    neighbours: tuple[ContainerInfo, ...] = ()
    #: container -> the stop or kill event before its exit
    on_purpose: Mapping[str, str] = field(default_factory=dict)
    #: container -> heals within the budget's window
    used: Mapping[str, int] = field(default_factory=dict)
    #: stack -> the run in progress on it
    busy: Mapping[str, str] = field(default_factory=dict)
    evidence: Mapping[str, Evidence] = field(default_factory=dict)


def needs_healing(d: ContainerDetails, when: Sequence[str]) -> bool:
    """Whether ``d`` is one a heal may act on: unhealthy, or exited non-zero."""
    if d.state == "running" and d.health == "unhealthy":
        return "unhealthy" in when
    return d.state in ("exited", "dead") and d.exit_code not in (0, None) and "exited" in when


async def observe(command: Heal, rt: Runtime) -> Looked:
    """The selected containers and everything the plan decides by, read before any change."""
    details = list(await inspect_named(rt, command.names)) if command.names else []
    listed: dict[str, list[ContainerInfo]] = {}  # stack -> its containers, listed once
    if command.stack:
        seen = {d.id for d in details}
        listed[command.stack] = await _stack_containers(rt, command.stack)
        more = [c.id for c in listed[command.stack] if c.id not in seen]
        found = await rt.gather(*(rt.call(rt.engine.inspect_container, i) for i in more))
        details += [d for d in found if d is not None]
        if not details:
            raise InfraError(
                f"stack {command.stack} has no container on {rt.engine.host}; nothing was "
                "touched (manager.containers() lists what runs)"
            )
    if not rt.engine.runs_healthchecks():
        # Podman without systemd runs no check by itself: run each once now, so the health
        # read is today's, not the last run's.
        checked = [d.id for d in details if d.state == "running" and d.health is not None]
        await rt.gather(*(_run_check(rt, i) for i in checked))
        again = await rt.gather(*(rt.call(rt.engine.inspect_container, i) for i in checked))
        fresh = {d.id: d for d in again if d is not None}
        details = [fresh.get(d.id, d) for d in details]
    details.sort(key=lambda d: d.name)
    sick = [d for d in details if needs_healing(d, command.when)]
    stacks = sorted({s for d in sick if (s := L.stack_of(d.labels))})
    for s in stacks:
        if s not in listed:
            listed[s] = await _stack_containers(rt, s)
    neighbours = [c for s in stacks for c in listed[s]]
    on_purpose = await rt.gather(*(_stopped_on_purpose(rt, d) for d in sick))
    # The engine as the journal names it (never a credential in an address)
    budget, host = rt.heal_budget, mask_url_credentials(rt.engine.host)
    used = {
        d.name: (await rt.call(budget.heals_within, host, d.name, command.within) if budget else 0)
        for d in sick
    }
    busy = await rt.call(rt.journal.busy_stacks, host, rt.run_id) if rt.journal is not None else {}
    evidence = await rt.gather(*(_evidence(rt, d, command.evidence_lines) for d in sick))
    # Steps carry no observation (a saved plan is compared step by step): the heal step
    # reads its container's evidence here.
    rt.evidence.update({d.name: e for d, e in zip(sick, evidence, strict=True)})
    return Looked(
        tuple(details),
        tuple({c.id: c for c in neighbours}.values()),
        {d.name: why for d, why in zip(sick, on_purpose, strict=True) if why},
        used,
        {s: busy[s] for s in stacks if s in busy},
        {d.name: e for d, e in zip(sick, evidence, strict=True)},
    )


async def _run_check(rt: Runtime, cid: str) -> None:
    with contextlib.suppress(InfraError):
        await rt.call(rt.engine.run_healthcheck, cid)


async def _stack_containers(rt: Runtime, stack: str) -> list[ContainerInfo]:
    found: dict[str, ContainerInfo] = {}
    for selector in L.stack_selectors(stack):
        for c in await rt.call(rt.engine.list_containers, labels=selector):
            found[c.id] = c
    return list(found.values())


async def _stopped_on_purpose(rt: Runtime, d: ContainerDetails) -> str:
    """The stop or kill event before ``d``'s exit ("" when it died by itself): Docker
    records kill, die, stop for a ``docker stop``."""
    if d.state not in ("exited", "dead") or d.started_at is None:
        return ""
    until = (d.finished_at or datetime.now(UTC)) + timedelta(seconds=2)
    with contextlib.suppress(InfraError):
        events = await rt.call(
            rt.engine.past_events, d.started_at, until,
            {"type": ["container"], "container": [d.id], "event": list(ON_PURPOSE)},
        )  # fmt: skip
        if any(e.action == "stop" for e in events):
            return "stop"
        for event in events:
            if event.action == "kill":
                signal = event.attributes.get("signal")
                return "kill" + (f", signal {signal}" if signal else "")
    return ""


async def _evidence(rt: Runtime, d: ContainerDetails, lines: int) -> Evidence:
    """What ``d`` looks like now, its probes' output and last log lines masked with its own
    secrets."""
    redact = rt.redact.extend(
        secret_values(d.environment, rt.config.secret_markers, L.secret_keys(d.labels))
    )
    logs: list[str] = []
    if lines:
        with contextlib.suppress(InfraError):
            logs = await rt.call(rt.engine.container_logs, d.id, tail=lines)
    end = d.finished_at if d.state in ("exited", "dead") else datetime.now(UTC)
    up = (end - d.started_at).total_seconds() if d.started_at and end else None
    return Evidence(
        state=d.state,
        health=d.health,
        exit_code=d.exit_code if d.state in ("exited", "dead") else None,
        oom_killed=d.oom_killed,
        restart_count=d.restart_count,
        up_seconds=round(up, 1) if up is not None and up >= 0 else None,
        probes=tuple(Probe(p.start, p.exit_code, redact(p.output)) for p in d.health_log),
        logs=tuple(redact(line) for line in logs),
    )


# ---------------------------------------------------------------------- plan


def _engine_restarts(d: ContainerDetails) -> str:
    """The restart policy under which the engine starts ``d`` again by itself, or ""."""
    policy = d.config.restart if d.config is not None else "no"
    kind, _, most = (policy or "no").partition(":")
    if kind not in ENGINE_RESTARTS:
        return ""
    if kind == "on-failure" and most.isdigit() and d.restart_count >= int(most):
        return ""  # the engine has given up on it
    return policy


def verdict(d: ContainerDetails, command: Heal, looked: Looked) -> tuple[str, str]:
    """What a heal does to ``d`` and why: ("restart" | "start" | "over budget" |
    "skipped: <why>" | "healthy: nothing to do", reason)."""
    exited = d.state in ("exited", "dead")
    if d.state == "running" and d.health == "unhealthy":
        if "unhealthy" not in command.when:
            return "skipped: unhealthy, and when= leaves those alone", ""
        # Not the failing streak: it grows with every probe, and a saved plan of this heal
        # must read the same a minute later (the evidence has it).
        action, why = "restart", "unhealthy"
    elif exited and d.exit_code not in (0, None):
        if "exited" not in command.when:
            return "skipped: exited, and when= leaves those alone", ""
        if looked.on_purpose.get(d.name):
            return f"skipped: stopped on purpose ({looked.on_purpose[d.name]})", ""
        policy = _engine_restarts(d)
        if policy:
            return f"skipped: its restart policy {policy} restarts it", ""
        action, why = "start", f"exited {d.exit_code}" + (", OOM-killed" if d.oom_killed else "")
    elif exited:
        return "skipped: a one-shot (exit 0)", ""
    elif d.state == "restarting":
        policy = d.config.restart if d.config is not None else "no"
        return f"skipped: the engine restarts it (restart policy {policy})", ""
    elif d.state == "running" and d.health == "starting":
        return "skipped: its health check is still starting", ""
    elif d.state == "running":
        return "healthy: nothing to do", ""
    else:
        return f"skipped: {d.state}", ""
    stack = L.stack_of(d.labels)
    if stack and stack in looked.busy:
        return f"skipped: stack {stack} has a run in progress ({looked.busy[stack]})", ""
    used = looked.used.get(d.name, 0)
    if used >= command.max_restarts:
        return "over budget", f"healed {used} time(s) in the last {span(command.within)}"
    return action, why


def plan(command: Heal, looked: Looked, config: InfrastructureManagerConfig) -> StepPlan:
    """One step per selected container, heals first, then the restarts of dependents."""
    steps: list[Step] = []
    healed: list[ContainerDetails] = []
    for d in looked.details:
        action, why = verdict(d, command, looked)
        image = short_id(d.image_id)
        if action in ("restart", "start"):
            healed.append(d)
            steps.append(
                Step("heal", d.name, 0,
                     {"id": d.id, "how": action, "state": _state(d),
                      "max_restarts": command.max_restarts, "within": command.within},
                     no_undo=f"a {action} cannot be undone",
                     reason=f"{why}: {action} it", image=image)
            )  # fmt: skip
        else:
            steps.append(
                Step("skip", d.name, 0, {"verdict": action, "state": _state(d)},
                     reason=f"{action}" + (f": {why}" if why else ""), image=image)
            )  # fmt: skip
    chosen = {d.name for d in looked.details}
    for dependent, dependency in dependents(healed, looked.neighbours):
        if dependent.name not in chosen:
            chosen.add(dependent.name)
            steps.append(
                Step("restart", dependent.name, 1, {"id": dependent.id},
                     no_undo="a restart cannot be undone",
                     reason=f"depends on {dependency} with restart: true",
                     image=short_id(dependent.image_id))
            )  # fmt: skip
    stacks = {L.stack_of(d.labels) for d in looked.details}
    evidence = {n: e.to_json() for n, e in looked.evidence.items()}
    return StepPlan(
        tuple(steps),
        stack=stacks.pop() if len(stacks) == 1 else None,
        prior={"evidence": evidence} if evidence else None,
    )


def dependents(
    healed: Iterable[ContainerDetails], neighbours: Iterable[ContainerInfo]
) -> list[tuple[ContainerInfo, str]]:
    """The running containers whose Compose ``depends_on`` names a healed container's
    service with ``restart: true`` (the label ``service:condition:restart``), with it."""
    by_service = {
        (L.stack_of(d.labels), d.labels.get(L.COMPOSE_SERVICE)): d.name
        for d in healed
        if d.labels.get(L.COMPOSE_SERVICE)
    }
    found = []
    for c in sorted(neighbours, key=lambda c: c.name):
        if c.state != "running":
            continue
        for entry in filter(None, c.labels.get(L.COMPOSE_DEPENDS_ON, "").split(",")):
            service, _, rest = entry.partition(":")
            restart = rest.rpartition(":")[2]
            name = by_service.get((L.stack_of(c.labels), service))
            if name and restart == "true" and name != c.name:
                found.append((c, name))
                break
    return found


def _state(d: ContainerDetails) -> str:
    """The state a heal's row shows: "running (unhealthy)", "exited (1)"."""
    if d.state in ("exited", "dead"):
        return f"{d.state} ({d.exit_code})"
    return f"{d.state} ({d.health})" if d.health else d.state


# ---------------------------------------------------------------------- result table

SCHEMA: Schema = {
    "name": "string",
    "before": "string",
    "action": "string",
    "health_after": "string",
    "seconds": "Float64",
    "evidence": "string",
    "container_id": "string",
}


def rows(result: InfrastructureResult) -> Iterable[dict[str, Any]]:
    for r in result.healed:
        yield {
            "name": r.name,
            "before": r.state_before,
            "action": r.action,
            "health_after": r.health_after,
            "seconds": r.seconds,
            "evidence": r.evidence.summary() if r.evidence is not None else None,
            "container_id": short_id(r.container_id) if r.container_id else None,
        }


OPERATION: Operation[Heal] = Operation(
    name="heal",
    summary="Restart unhealthy containers and start those that died, within a budget",
    parse=parse,
    observe=observe,
    plan=plan,
    schema=SCHEMA,
    rows=rows,
    shown_fields=("container_ids", "stack"),
    plan_table=True,
    plan_columns=("wave", "name", "action", "image", "reason"),
    first_columns=("name", "before", "action", "health_after", "seconds", "evidence"),
)
