"""Rich reprs: pure functions from infranb objects to ``text/plain`` + ``text/html``.

Every interpolated value goes through ``html.escape`` (quotes too). Collapsible sections
use checkbox + label + CSS (no JavaScript); their ids are unique per rendering, so the same
result shown twice toggles each copy on its own. The HTML part carries ``hidden`` and a CSS
rule reveals it; where a notebook is untrusted and styles are stripped, the ``<pre>`` text
fallback shows instead. Nothing here calls the engine: reprs never block.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from infranb.core.frames import PLAN_FIRST
from infranb.core.secrets import mask_url_credentials, masked_environment
from infranb.notebook.pictures import Node, stack_diagram, timeline
from infranb.notebook.tables import css, esc, essential_table, human_bytes, table
from infranb.ops.table import OPERATIONS

if TYPE_CHECKING:
    import pandas as pd

    from infranb.core.config import InfrastructureManagerConfig
    from infranb.core.entry import JournalEntry
    from infranb.core.planning import PlanStep
    from infranb.core.records import EngineStatus, Evidence
    from infranb.core.request import InfrastructureOperation
    from infranb.core.result import InfrastructureResult

_renderings = itertools.count(1)


def _ids() -> Iterator[str]:
    """Section ids unique in this process (ids must differ between two copies on a page)."""
    rendering = next(_renderings)
    for count in itertools.count(1):
        yield f"inb-r{rendering}-{count}"


def section(id_: str, title: str, body_html: str, *, open_: bool = False) -> str:
    checked = " checked" if open_ else ""
    return (
        f'<div class="inb-section"><input type="checkbox" id="{id_}"{checked}>'
        f'<label for="{id_}">{esc(title)}</label><div class="inb-details">{body_html}</div></div>'
    )


def pre(lines: Sequence[str] | str) -> str:
    text = lines if isinstance(lines, str) else "\n".join(lines)
    return f"<pre>{esc(text)}</pre>"


def wrap(text: str, body: str) -> dict[str, str]:
    html = (
        f"<style>{css()}</style>"
        f'<pre class="inb-text-fallback">{esc(text)}</pre>'
        f'<div class="inb-wrap" hidden>{body}</div>'
    )
    return {"text/plain": text, "text/html": html}


def select(bundle: dict[str, str], include: Any = None, exclude: Any = None) -> dict[str, str]:
    """Honour IPython's ``include``/``exclude`` mime-type filters."""
    return {
        mime: data
        for mime, data in bundle.items()
        if (not include or mime in include) and (not exclude or mime not in exclude)
    }


# ---------------------------------------------------------------- tables


# ---------------------------------------------------------------- result


def _result_text(result: InfrastructureResult, data: pd.DataFrame) -> str:
    status = (
        ("PLAN" if result.success else "PLAN FAILED")
        if result.dry_run
        else ("OK" if result.success else "FAILED")
    )
    lines = [
        f"{status} {result.operation}"
        + (f" [{result.stack}]" if result.stack else "")
        + f" in {result.duration_seconds:.2f} s"
    ]
    if result.applied_plan:
        lines.append(result.applied_plan)
    if result.error:
        lines.append(f"error: {result.error}")
    lines += [f"warning: {w}" for w in result.warnings]
    if len(data):
        lines.append(data.to_string(index=False, max_colwidth=60))
    if result.cleanup_summary:
        s = result.cleanup_summary
        lines.append(
            f"{'would reclaim' if s.get('dry_run') else 'reclaimed'} {s['bytes_reclaimed']} bytes: "
            f"{s['containers_removed']} container(s), {s['images_removed']} image(s), "
            f"{s['networks_removed']} network(s), {s['volumes_removed']} volume(s)"
        )
        if s.get("dry_run"):
            lines.append(DISK_USAGE_HINT)
    return "\n".join(lines)


#: what a cleanup's dry run adds: where the rest of the disk's use is
DISK_USAGE_HINT = (
    "manager.disk_usage() lists everything that takes space on the engine, "
    "with what nothing uses (reclaimable_bytes)"
)


def result_bundle(result: InfrastructureResult) -> dict[str, str]:
    data = result.to_frame()
    text = _result_text(result, data)
    ids = _ids()
    if result.dry_run and result.success:
        badge = '<span class="inb-badge inb-plan">PLAN</span>'
    elif result.dry_run:  # a plan that failed is a failure, in the failure's colour
        badge = '<span class="inb-badge inb-bad">PLAN FAILED</span>'
    elif result.success:
        badge = '<span class="inb-badge inb-ok">OK</span>'
    else:
        badge = '<span class="inb-badge inb-bad">FAILED</span>'
    parts = [
        f'<div class="inb-header">{badge}<span class="inb-title">{esc(result.operation)}</span>'
        + (f'<span class="inb-muted">stack {esc(result.stack)}</span>' if result.stack else "")
        + f'<span class="inb-muted">{result.duration_seconds:.2f} s</span></div>'
    ]
    if result.applied_plan:
        parts.append(f'<div class="inb-muted">{esc(result.applied_plan)}</div>')
    if result.error:
        parts.append(f'<div class="inb-error">{esc(result.error)}</div>')
    parts += [f'<div class="inb-warning">{esc(w)}</div>' for w in result.warnings]
    if result.dry_run and result.plan:
        parts.append(plan_diagram(result.plan))
    entry = OPERATIONS.get(result.operation)
    parts.append(
        essential_table(
            data,
            (entry.first_columns if entry else ()) or tuple(data.columns),
            status_columns=("action", "state", "health", "status"),
        )
    )
    if any(c.timeline for c in result.containers):
        parts.append(timeline([(c.name, c.timeline) for c in result.containers]))
    if result.cleanup_summary:
        s = result.cleanup_summary
        verb = "would reclaim" if s.get("dry_run") else "reclaimed"
        parts.append(
            f'<div class="inb-muted">{verb} {esc(human_bytes(s["bytes_reclaimed"]))}</div>'
        )
        if s.get("dry_run"):
            parts.append(f'<div class="inb-muted">{esc(DISK_USAGE_HINT)}</div>')
    if (
        entry is not None
        and entry.plan_table
        and result.plan
        and not (result.containers or result.updated or result.copied)
        and not result.dry_run
    ):
        from infranb.core.planning import plan_frame

        parts.append(
            section(next(ids), "the plan this run followed", table(plan_frame(result.plan)))
        )
    if result.build_logs:
        parts.append(
            section(
                next(ids), f"build log ({len(result.build_logs)} lines)", pre(result.build_logs)
            )
        )
    for name, details in result.health_details.items():
        if details.get("last_output"):
            parts.append(
                section(next(ids), f"last probe output of {name}", pre(str(details["last_output"])))
            )
    for name, lines in result.failed_logs.items():
        parts.append(section(next(ids), f"last log lines of {name}", pre(lines), open_=True))
    for record in result.healed:
        if record.evidence is not None:
            title = f"evidence of {record.name} before the heal ({record.action})"
            parts.append(section(next(ids), title, pre(evidence_lines(record.evidence))))
    return wrap(text, "".join(parts))


def evidence_lines(evidence: Evidence) -> list[str]:
    """A heal's evidence as a person reads it: the state, the probes, the last log lines."""
    lines = [
        f"state {evidence.state}" + (f", health {evidence.health}" if evidence.health else "")
        + (f", exit code {evidence.exit_code}" if evidence.exit_code is not None else "")
        + (", OOM-killed" if evidence.oom_killed else "")
        + f", {evidence.restart_count} engine restart(s)"
        + (f", up {evidence.up_seconds:g} s" if evidence.up_seconds is not None else ""),
    ]  # fmt: skip
    if evidence.probes:
        lines.append("")
        lines.append(f"last {len(evidence.probes)} health probe(s):")
        for p in evidence.probes:
            when = p.start.strftime("%H:%M:%S") if p.start else "?"
            lines.append(f"  {when} exit {p.exit_code}: {p.output.strip()}")
    if evidence.logs:
        lines.append("")
        lines.append(f"last {len(evidence.logs)} log line(s):")
        lines += [f"  {line}" for line in evidence.logs]
    return lines


# ---------------------------------------------------------------- plan


def plan_bundle(steps: Sequence[PlanStep]) -> dict[str, str]:
    """A plan on its own: what each container will get, and what to look at first."""
    from infranb.core.planning import plan_frame

    data = plan_frame(steps)
    warnings = [f"{s.name}: {w}" for s in steps for w in s.warnings]
    counts: dict[str, int] = {}
    for step in steps:
        counts[step.action] = counts.get(step.action, 0) + 1
    summary = ", ".join(f"{n} {action}" for action, n in counts.items()) or "nothing to do"
    saved = _saved_line(steps)
    text = "\n".join(
        [
            f"PLAN {summary}",
            *([saved] if saved else []),
            *(f"warning: {w}" for w in warnings),
            data.to_string(index=False, max_colwidth=60) if len(data) else "",
        ]
    )
    body = (
        f'<div class="inb-header"><span class="inb-badge inb-plan">PLAN</span>'
        f'<span class="inb-title">{esc(summary)}</span></div>'
        + (f'<div class="inb-muted">{esc(saved)}</div>' if saved else "")
        + "".join(f'<div class="inb-warning">{esc(w)}</div>' for w in warnings)
        + plan_diagram(steps)
        + essential_table(data, PLAN_FIRST, status_columns=("action",))
    )
    return wrap(text.rstrip(), body)


def _saved_line(steps: Sequence[PlanStep]) -> str:
    """What a plan from ``manager.plan`` says of itself: its id, when and where it was
    made, and who approved it."""
    if not getattr(steps, "request", None):
        return ""
    plan: Any = steps
    by = ", ".join(str(a.get("by")) for a in plan.approvals)
    approvals = f"approved by {by}" if by else "not yet approved"
    return f"plan {plan.id}, made {plan.created} on {plan.engine}; {approvals}"


def plan_diagram(steps: Sequence[PlanStep]) -> str:
    """The plan as a picture: waves, actions (a replacement's order beside it),
    dependencies, a recreate's changed fields."""
    nodes = [Node(s.name, s.wave, s.action, s.depends_on, s.changed, s.order) for s in steps]
    return stack_diagram(nodes)


# ---------------------------------------------------------------- operation


def operation_bundle(
    op: InfrastructureOperation, config: InfrastructureManagerConfig | None = None
) -> dict[str, str]:
    """A readable summary of a request, validated and masked with ``config`` (the one that
    will run it); for orchestrate, its dependency waves."""
    from infranb.core.errors import CycleError
    from infranb.core.planning import dependency_waves
    from infranb.core.specs import parse_containers

    markers = config.secret_markers if config is not None else None
    lines = [f"InfrastructureOperation {op.operation}"]
    body = [f'<div class="inb-header"><span class="inb-title">{esc(op.operation)}</span>']
    if op.stack:
        lines[0] += f" [{op.stack}]"
        body.append(f'<span class="inb-muted">stack {esc(op.stack)}</span>')
    if op.dry_run:
        body.append('<span class="inb-badge inb-plan">DRY RUN</span>')
    body.append("</div>")
    problems = op.validate(config)
    if problems:
        lines += [f"problem: {p}" for p in problems]
        body += [f'<div class="inb-error">{esc(p)}</div>' for p in problems]
    if isinstance(op.containers, list | tuple) and op.containers:
        specs, _ = parse_containers(op.containers)
        try:
            waves = dependency_waves(specs)
        except CycleError:
            waves = []
        rows = []
        for number, wave in enumerate(waves):
            for name in wave:
                spec = next(s for s in specs if s.name == name)
                env = (
                    masked_environment(spec.environment, markers)
                    if markers is not None
                    else masked_environment(spec.environment)
                )
                row = (
                    number,
                    name,
                    spec.image,
                    ", ".join(str(p) for p in spec.ports),
                    ", ".join(spec.networks),
                    ", ".join(spec.depends_on),
                    ", ".join(f"{k}={v}" for k, v in env.items()),
                )
                rows.append(row)
                lines.append(
                    "  wave {}: {} ({}) ports={} networks={} depends_on={} env={}".format(*row)
                )
        import pandas as pd

        head = ("wave", "name", "image", "ports", "networks", "depends_on", "environment")
        by_name = {s.name: s for s in specs}
        nodes = [
            Node(name, number, "request", tuple(by_name[name].depends_on.items()))
            for number, wave in enumerate(waves)
            for name in wave
        ]
        body.append(stack_diagram(nodes))
        body.append(table(pd.DataFrame(rows, columns=list(head))))
    elif op.operation in OPERATIONS:
        fields = op.shown_fields()
        for key, value in fields.items():
            lines.append(f"  {key}: {value}")
        body.append(
            '<table class="inb-table"><tbody>'
            + "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in fields.items())
            + "</tbody></table>"
        )
    return wrap("\n".join(lines), "".join(body))


# ---------------------------------------------------------------- manager


def manager_bundle(manager: Any) -> dict[str, str]:
    """An ``InfrastructureManager`` (typed loosely: the face imports nothing above it), as
    far as it already knows, without calling the engine (a repr must never block
    on an engine that does not answer): its address and the last ``info()`` it read."""
    info, error = manager.last_info, manager.last_info_error
    host = mask_url_credentials(manager.engine.host)
    if error:
        text = f"InfrastructureManager at {host}: {error}"
        return wrap(text, f'<div class="inb-error">{esc(text)}</div>')
    if info is None:
        rows: tuple[tuple[str, str], ...] = (
            ("host", host),
            ("engine", "not asked yet: manager.info() reads it, manager.containers() lists"),
        )
        text = f"InfrastructureManager at {host} (manager.info() asks the engine)"
    else:
        rows = (
            ("engine", f"{info.product} (API {info.api_version})"),
            ("host", info.host),
            ("os", info.os),
            ("containers", f"{info.containers} (as of the last manager.info())"),
            ("images", str(info.images)),
        )
        text = (
            f"InfrastructureManager: {info.product} (API {info.api_version}) at "
            f"{info.host}; {info.containers} container(s), {info.images} image(s) "
            "as of the last manager.info()"
        )
    body = (
        '<div class="inb-header"><span class="inb-title">InfrastructureManager</span></div>'
        '<table class="inb-table"><tbody>'
        + "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in rows)
        + "</tbody></table>"
    )
    return wrap(text, body)


# ---------------------------------------------------------------- compose project


def compose_bundle(project: Any) -> dict[str, str]:
    """A Compose ``Project`` (typed loosely: the face imports nothing above it): its
    services, the keys infranb does not apply (``up`` refuses
    them unless allowed) and the ones that do not change a container, the warnings."""
    services, unsupported = project.to_frame(), project.unsupported
    moot = project.not_applicable
    files = ", ".join(f.name for f in project.files)
    profiles = f", profiles {', '.join(project.profiles)}" if project.profiles else ""
    summary = f"{project.name}: {len(services)} service(s) from {files}{profiles}"
    text = "\n".join(
        [
            f"COMPOSE {summary}",
            *(f"warning: {w}" for w in project.warnings),
            services.to_string(index=False, max_colwidth=50),
            *(
                ["unsupported (not applied):", unsupported.to_string(index=False)]
                if len(unsupported)
                else ["unsupported: none"]
            ),
            *(
                ["not applicable (no effect on a container):", moot.to_string(index=False)]
                if len(moot)
                else []
            ),
        ]
    )
    ids = _ids()
    body = (
        f'<div class="inb-header"><span class="inb-badge inb-plan">COMPOSE</span>'
        f'<span class="inb-title">{esc(summary)}</span></div>'
        + "".join(f'<div class="inb-warning">{esc(w)}</div>' for w in project.warnings)
        + table(services)
        + section(
            next(ids),
            f"Not applied: {len(unsupported)} key(s)",
            table(unsupported) if len(unsupported) else "<p>Every key is applied.</p>",
            open_=bool(len(unsupported)),
        )
        + (
            section(next(ids), f"Not applicable: {len(moot)} key(s)", table(moot))
            if len(moot)
            else ""
        )
    )
    return wrap(text, body)


# ---------------------------------------------------------------- fleet


def fleet_bundle(fleet: Any) -> dict[str, str]:
    """A ``Fleet`` (typed loosely: the face imports nothing above it) as its last
    ``engines()`` read it: one section per engine (no engine call)."""
    statuses = fleet.last_status
    if not statuses:
        text = f"FLEET {len(fleet)} engine(s): {', '.join(fleet)}; fleet.engines() reads them"
        return wrap(text, f'<div class="inb-header">{esc(text)}</div>')
    frame = fleet.status_frame()
    reachable = sum(1 for s in statuses.values() if s.reachable)
    summary = f"{reachable} of {len(statuses)} engine(s) reachable"
    text = "\n".join([f"FLEET {summary}", frame.to_string(index=False)])
    ids = _ids()
    sections = "".join(
        section(
            next(ids),
            f"{name}: {status.host}",
            pre(_engine_line(status)),
            open_=not status.reachable,
        )
        for name, status in statuses.items()
    )
    body = (
        f'<div class="inb-header"><span class="inb-badge inb-plan">FLEET</span>'
        f'<span class="inb-title">{esc(summary)}</span></div>'
        + table(frame, status_columns=("reachable",))
        + sections
    )
    return wrap(text, body)


def _engine_line(status: EngineStatus) -> str:
    info = status.info
    if info is None:
        return status.error or "unreachable"
    return (
        f"{info.product} (API {info.api_version}), {info.os}; "
        f"{info.running} of {info.containers} container(s) running"
    )


def fleet_results_bundle(results: Mapping[str, InfrastructureResult]) -> dict[str, str]:
    """One operation on several engines: a line per engine, then each engine's result."""
    ok = [name for name, r in results.items() if r.success]
    summary = f"{len(ok)} of {len(results)} engine(s) succeeded"
    text = "\n\n".join(
        [f"FLEET {summary}"]
        + [f"[{name}]\n{result_bundle(r)['text/plain']}" for name, r in results.items()]
    )
    ids = _ids()
    header = (
        '<div class="inb-header"><span class="inb-badge inb-plan">FLEET</span>'
        f'<span class="inb-title">{esc(summary)}</span></div>'
    )
    body = header + (
        "".join(
            section(
                next(ids),
                f"{name}: {'OK' if r.success else 'FAILED'}",
                result_bundle(r)["text/html"],
                open_=not r.success,
            )
            for name, r in results.items()
        )
    )
    return wrap(text, body)


def entry_bundle(entry: JournalEntry) -> dict[str, str]:
    """A journal record: its head as a two-column table, then its steps."""
    import pandas as pd

    head = pd.DataFrame(entry.summary(), columns=["field", "value"])
    text = "\n".join(f"{k:>20}  {v}" for k, v in entry.summary())
    steps = entry.steps_frame()
    body = table(head) + "<h4>Steps</h4>" + table(steps)
    return wrap(text + f"\n\n{len(steps)} step(s)", body)


def audit_page(
    frame: pd.DataFrame, *, journal: str, scope: str, stack: str | None, written: str
) -> str:
    """The journal's audit report (``journal.report``): a page of its own with the runs of
    ``history()`` in the face and stylesheet every frame has, values in full. Offline: no
    script, nothing loaded from elsewhere."""
    counts = frame["outcome"].value_counts().to_dict() if len(frame) else {}
    summary = ", ".join(f"{n} {o}" for o, n in counts.items()) or "no runs"
    title = "infranb audit report"
    where = f" · stack {stack}" if stack else ""
    line = (
        f"Journal {journal} · {scope}{where} · written {written} · {len(frame)} run(s): {summary}"
    )
    body = table(frame, status_columns=("outcome",), longest=0)
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{title}</title><style>{css()}</style></head><body>"
        f'<div class="inb-wrap"><div class="inb-header"><span class="inb-title">{title}</span>'
        f"</div><p>{esc(line)}</p>{body}</div></body></html>"
    )
