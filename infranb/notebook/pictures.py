"""Pictures as inline SVG, built like the HTML: pure functions, every text escaped, no
JavaScript, colours from the theme (``infranb.css`` styles the classes), each with a one-line
``<title>`` for readers that do not draw SVG (the repr's ``<pre>`` is the text fallback).

- ``stack_diagram``: a plan or a request as waves (columns) of boxes, coloured by action,
  ``depends_on`` as arrows labelled with their condition, a recreate's changed fields under it;
- ``timeline``: a bring-up per container, created → started → ready, in seconds from its start;
- ``line_charts``: a metric over time, one line per container (``manager.stats(samples=N)``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from infranb.notebook.tables import esc, human_bytes, human_seconds, is_missing

if TYPE_CHECKING:
    import pandas as pd

#: what a condition is called on an arrow
CONDITION_WORDS = {
    "started": "started",
    "ready": "ready",
    "healthy": "healthy",
    "completed_successfully": "completed",
}
#: line colours for series (mid tones: readable on a light and on a dark background)
SERIES_COLOURS = ("#4e79c4", "#d9622b", "#3c9a5f", "#b5489a", "#c99a16", "#2a9db5", "#8c6bc8")

BOX_WIDTH = 184
BOX_HEIGHT = 40
LINE = 14
COLUMN_GAP = 64
#: the most changed fields listed under a box (then "+N more")
SHOWN_CHANGES = 4


@dataclass(frozen=True)
class Node:
    """One container in a diagram."""

    name: str
    wave: int | None
    action: str = "request"
    depends_on: Sequence[tuple[str, str]] = ()
    changed: Sequence[str] = field(default_factory=tuple)
    #: how a replaced container goes: "start-first" or "stop-first" ("" otherwise)
    order: str = ""


def _cut(text: str, most: int) -> str:
    """``text`` in at most ``most`` characters, cut in the middle: names of one stack share
    their start, and their ends tell them apart."""
    if len(text) <= most:
        return text
    head = (most - 1) // 2
    return text[:head] + "…" + text[len(text) - (most - 1 - head) :]


def _svg(width: float, height: float, label: str, body: str) -> str:
    return (
        f'<svg class="inb-svg" xmlns="http://www.w3.org/2000/svg" role="img" '
        f'width="{width:.0f}" height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'aria-label="{esc(label)}"><title>{esc(label)}</title>{body}</svg>'
    )


def stack_diagram(nodes: Sequence[Node]) -> str:
    """The containers as waves left to right; an arrow from each dependency to what waits
    for it."""
    if not nodes:
        return ""
    # The arrowhead's id is the diagram's content: the same on every render (outputs stay
    # deterministic), different for another diagram on the page.
    marker_id = "inb-arrow-" + hashlib.sha1(repr(nodes).encode()).hexdigest()[:12]
    columns: dict[int, list[Node]] = {}
    last = max((n.wave for n in nodes if n.wave is not None), default=-1)
    for node in nodes:  # removals (no wave) in a column of their own, after the waves
        columns.setdefault(node.wave if node.wave is not None else last + 1, []).append(node)
    heights = {n.name: BOX_HEIGHT + LINE * _change_lines(n) for n in nodes}
    top = 22
    where: dict[str, tuple[float, float]] = {}
    parts: list[str] = []
    tallest = 0.0
    for column in sorted(columns):
        x = 8 + column * (BOX_WIDTH + COLUMN_GAP)
        title = f"wave {column}" if column <= last else "removed"
        parts.append(f'<text class="inb-svg-muted" x="{x}" y="14">{esc(title)}</text>')
        y = float(top)
        for node in columns[column]:
            where[node.name] = (x, y)
            parts.append(_box(node, x, y, heights[node.name]))
            y += heights[node.name] + 14
        tallest = max(tallest, y)
    arrows = []
    for node in nodes:
        for dependency, condition in node.depends_on:
            if dependency not in where or node.name not in where:
                continue
            (x1, y1), (x2, y2) = where[dependency], where[node.name]
            start = (x1 + BOX_WIDTH, y1 + BOX_HEIGHT / 2)
            end = (x2 - 2, y2 + BOX_HEIGHT / 2)
            bend = max((end[0] - start[0]) / 2, 24)
            arrows.append(
                f'<path class="inb-svg-arrow" d="M{start[0]:.0f},{start[1]:.0f} '
                f"C{start[0] + bend:.0f},{start[1]:.0f} {end[0] - bend:.0f},{end[1]:.0f} "
                f'{end[0]:.0f},{end[1]:.0f}" marker-end="url(#{marker_id})"/>'
            )
            word = CONDITION_WORDS.get(condition, condition)
            mid_x, mid_y = (start[0] + end[0]) / 2, (start[1] + end[1]) / 2 - 3
            arrows.append(
                f'<text class="inb-svg-label" x="{mid_x:.0f}" y="{mid_y:.0f}" '
                f'text-anchor="middle">{esc(word)}</text>'
            )
    width = 16 + (max(columns) + 1) * (BOX_WIDTH + COLUMN_GAP) - COLUMN_GAP
    defs = (
        f'<defs><marker id="{marker_id}" viewBox="0 0 10 10" refX="9" refY="5" '
        'markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
        '<path class="inb-svg-arrowhead" d="M0,0 L10,5 L0,10 z"/></marker></defs>'
    )
    waits = sum(len(n.depends_on) for n in nodes)
    label = f"{len(nodes)} containers in {len(columns)} columns, {waits} dependencies"
    return _svg(width, tallest, label, defs + "".join(arrows) + "".join(parts))


def _change_lines(node: Node) -> int:
    if node.action != "recreate" or not node.changed:
        return 0
    return min(len(node.changed), SHOWN_CHANGES) + (len(node.changed) > SHOWN_CHANGES)


def _box(node: Node, x: float, y: float, height: float) -> str:
    action = node.action if node.action in _ACTION_CLASSES else "other"
    parts = [
        f'<g class="inb-node inb-a-{_ACTION_CLASSES.get(action, "other")}">'
        f"<title>{esc(node.name)}: {esc(node.action)}"
        f"{esc(', ' + node.order) if node.order else ''}</title>"
        f'<rect x="{x}" y="{y}" width="{BOX_WIDTH}" height="{height:.0f}" rx="4"/>'
        f'<text x="{x + 8}" y="{y + 17}">{esc(_cut(node.name, 24))}</text>'
    ]
    if node.action != "request":
        said = f"{node.action} · {node.order}" if node.order else node.action
        parts.append(f'<text class="inb-svg-action" x="{x + 8}" y="{y + 32}">{esc(said)}</text>')
    if _change_lines(node):
        shown = list(node.changed[:SHOWN_CHANGES])
        if len(node.changed) > SHOWN_CHANGES:
            shown.append(f"+{len(node.changed) - SHOWN_CHANGES} more")
        for number, changed in enumerate(shown):
            line_y = y + BOX_HEIGHT + 4 + number * LINE
            parts.append(
                f'<text class="inb-svg-muted" x="{x + 14}" y="{line_y}">'
                f"{esc(_cut(changed, 27))}</text>"
            )
    parts.append("</g>")
    return "".join(parts)


#: action -> the CSS class that colours it
_ACTION_CLASSES = {
    "create": "create",
    "recreate": "recreate",
    "restart": "recreate",
    "start": "adopt",
    "adopt": "adopt",
    "kept": "adopt",
    "unchanged": "unchanged",
    "remove-orphan": "remove",
    "scale-down": "remove",
    "request": "request",
}


# ---------------------------------------------------------------- timeline

TIMELINE_NAME_WIDTH = 170
TIMELINE_ROW = 20
TIMELINE_WIDTH = 760


def timeline(rows: Sequence[tuple[str, Sequence[tuple[str, float]]]]) -> str:
    """One row per container: a thin bar while it was created and waited to start, a thick
    one from started to ready (a slow health gate is a long thick bar); seconds from the
    bring-up's start on the axis. ``rows``: (name, [(step, seconds), ...])."""
    rows = [(name, marks) for name, marks in rows if marks]
    if not rows:
        return ""
    end = max(seconds for _, marks in rows for _, seconds in marks) or 1.0
    scale = (TIMELINE_WIDTH - TIMELINE_NAME_WIDTH - 70) / end
    left = TIMELINE_NAME_WIDTH

    def x(seconds: float) -> float:
        return left + seconds * scale

    parts = []
    for tick in _ticks(end):
        parts.append(
            f'<line class="inb-svg-grid" x1="{x(tick):.1f}" y1="4" x2="{x(tick):.1f}" '
            f'y2="{10 + len(rows) * TIMELINE_ROW}"/>'
            f'<text class="inb-svg-muted" x="{x(tick):.1f}" '
            f'y="{24 + len(rows) * TIMELINE_ROW}" text-anchor="middle">{_tick_text(tick)}</text>'
        )
    for number, (name, marks) in enumerate(rows):
        y = 8 + number * TIMELINE_ROW
        at = dict(marks)
        parts.append(
            f'<text x="{left - 8}" y="{y + 11}" text-anchor="end">{esc(_cut(name, 21))}</text>'
        )
        first = min(seconds for _, seconds in marks)
        started = at.get("started", at.get("ready", first))
        ready = at.get("ready")
        said = ", ".join(f"{step} at {human_seconds(seconds)}" for step, seconds in marks)
        parts.append(f"<g><title>{esc(name)}: {esc(said)}</title>")
        parts.append(
            f'<rect class="inb-svg-wait" x="{x(first):.1f}" y="{y + 5}" '
            f'width="{max(x(started) - x(first), 1.5):.1f}" height="4"/>'
        )
        if ready is not None:
            parts.append(
                f'<rect class="inb-svg-up" x="{x(started):.1f}" y="{y + 1}" '
                f'width="{max(x(ready) - x(started), 2):.1f}" height="12" rx="2"/>'
                f'<text class="inb-svg-muted" x="{x(ready) + 5:.1f}" y="{y + 11}">'
                f"{esc(human_seconds(ready))}</text>"
            )
        parts.append("</g>")
    height = 30 + len(rows) * TIMELINE_ROW
    slowest = max(rows, key=lambda row: dict(row[1]).get("ready", 0.0))
    label = (
        f"bring-up of {len(rows)} containers over {human_seconds(end)}; last ready: {slowest[0]}"
    )
    return _svg(TIMELINE_WIDTH, height, label, "".join(parts))


def _ticks(end: float) -> list[float]:
    """About five round ticks from 0 to ``end``."""
    for step in (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600):
        if end / step <= 6:
            return [round(i * step, 3) for i in range(int(end / step) + 1)]
    return [0.0, end]


def _tick_text(seconds: float) -> str:
    return f"{seconds:g} s" if seconds < 60 else f"{seconds / 60:g} min"


# ---------------------------------------------------------------- stats

CHART_WIDTH = 440
CHART_HEIGHT = 150


def line_charts(data: pd.DataFrame, metrics: Mapping[str, str]) -> str:
    """One small chart per metric (``column -> title``), one line per container, a legend
    below them. ``data`` has ``time``, ``name`` and the metric columns."""
    if data.empty or "time" not in data.columns:
        return ""
    names = list(dict.fromkeys(str(n) for n in data["name"]))
    colour = {n: SERIES_COLOURS[i % len(SERIES_COLOURS)] for i, n in enumerate(names)}
    charts = [
        _chart(data, column, title, colour) for column, title in metrics.items() if column in data
    ]
    legend = "".join(
        f'<span class="inb-legend"><span class="inb-swatch" style="background:{colour[n]}">'
        f"</span>{esc(n)}</span>"
        for n in names
    )
    return f'<div class="inb-charts">{"".join(charts)}</div><div>{legend}</div>'


def _chart(data: pd.DataFrame, column: str, title: str, colour: Mapping[str, str]) -> str:
    times = [_seconds(t) for t in data["time"]]
    begin, finish = min(times), max(times)
    span = (finish - begin) or 1.0
    values = [float(v) for v in data[column].dropna()]
    top = max(values, default=0.0) or 1.0
    left, right, upper, lower = 74, 10, 22, 22
    inner_w, inner_h = CHART_WIDTH - left - right, CHART_HEIGHT - upper - lower
    in_bytes = column.endswith("_bytes")

    def shown(value: float) -> str:
        return human_bytes(int(value)) if in_bytes else f"{value:.1f} %"

    parts = [
        f'<text class="inb-svg-title" x="{left}" y="14">{esc(title)}</text>',
        f'<line class="inb-svg-grid" x1="{left}" y1="{upper}" x2="{left + inner_w}" y2="{upper}"/>',
        f'<line class="inb-svg-axis" x1="{left}" y1="{upper + inner_h}" x2="{left + inner_w}" '
        f'y2="{upper + inner_h}"/>',
        f'<text class="inb-svg-muted" x="{left - 4}" y="{upper + 4}" text-anchor="end">'
        f"{esc(shown(top))}</text>",
        f'<text class="inb-svg-muted" x="{left - 4}" y="{upper + inner_h + 4}" '
        'text-anchor="end">0</text>',
        f'<text class="inb-svg-muted" x="{left}" y="{CHART_HEIGHT - 4}">'
        f"{esc(_clock(data['time'].iloc[times.index(begin)]))}</text>",
        f'<text class="inb-svg-muted" x="{left + inner_w}" y="{CHART_HEIGHT - 4}" '
        f'text-anchor="end">{esc(_clock(data["time"].iloc[times.index(finish)]))}</text>',
    ]
    for name, rows in data.groupby("name", sort=False, observed=True):
        points = [
            (left + (_seconds(t) - begin) / span * inner_w, upper + inner_h * (1 - float(v) / top))
            for t, v in zip(rows["time"], rows[column], strict=True)
            if not is_missing(v)
        ]
        if not points:
            continue
        path = " ".join(f"{px:.1f},{py:.1f}" for px, py in points)
        parts.append(
            f'<polyline class="inb-svg-series" points="{path}" stroke="{colour[str(name)]}">'
            f"<title>{esc(name)}: {esc(title)}</title></polyline>"
        )
        if len(points) <= 30:  # each sample as a dot: one sample is seen too
            parts += [
                f'<circle cx="{px:.1f}" cy="{py:.1f}" r="2.5" fill="{colour[str(name)]}"/>'
                for px, py in points
            ]
    label = f"{title} of {data['name'].nunique()} containers over {human_seconds(span)}"
    return _svg(CHART_WIDTH, CHART_HEIGHT, label, "".join(parts))


def _seconds(value: object) -> float:
    if isinstance(value, datetime):
        return value.timestamp()
    return float(getattr(value, "timestamp", lambda: 0.0)())


def _clock(value: object) -> str:
    if hasattr(value, "to_pydatetime"):
        value = value.to_pydatetime(warn=False)
    if isinstance(value, datetime):
        local = value.astimezone() if value.tzinfo is not None else value
        return local.strftime("%H:%M:%S")
    return ""
