"""The pictures (inline SVG): a plan as a dependency diagram, a bring-up as a timeline, stats
as line charts. Pure, escaped, no script; the browser tests check how they render."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pandas as pd

from infranb import InfrastructureManager, InfrastructureManagerConfig, InfrastructureOperation
from infranb.notebook.pictures import Node, line_charts, stack_diagram, timeline
from infranb.testing import MemoryEngine

SVG = "{http://www.w3.org/2000/svg}"


def _svgs(html: str) -> list[ET.Element]:
    return [ET.fromstring(m) for m in re.findall(r"<svg.*?</svg>", html, re.S)]


def _texts(svg: ET.Element) -> list[str]:
    return [t.text or "" for t in svg.iter(f"{SVG}text")]


def _stack() -> InfrastructureOperation:
    return InfrastructureOperation(
        operation="orchestrate_containers",
        stack="pic",
        containers=[
            {"image": "redis:7", "name": "pic-db", "healthcheck": {"test": ["CMD", "true"]}},
            {"image": "redis:7", "name": "pic-app", "depends_on": {"pic-db": "healthy"}},
            {"image": "redis:7", "name": "pic-web", "depends_on": ["pic-app"]},
        ],
    )


def test_a_plan_is_drawn_as_waves_with_labelled_dependencies() -> None:
    manager = InfrastructureManager(
        engine=MemoryEngine(images=["redis:7"]),
        config=InfrastructureManagerConfig(min_uptime=0, health_check_interval=0.05),
    )
    plan = manager.run(InfrastructureOperation(**{**_stack().__dict__, "dry_run": True}))
    html = plan._repr_mimebundle_()["text/html"]
    (svg,) = _svgs(html)
    texts = _texts(svg)
    assert [t for t in texts if t.startswith("wave")] == ["wave 0", "wave 1", "wave 2"]
    assert {"pic-db", "pic-app", "pic-web"} <= set(texts)
    assert texts.count("create") == 3
    assert "healthy" in texts and "ready" in texts  # the arrows' conditions
    assert len([p for p in svg.iter(f"{SVG}path") if p.get("marker-end")]) == 2
    assert "<script" not in html and "onload" not in html

    # a changed image: the recreate lists what changed under its box
    manager.run(_stack())
    changed = _stack()
    changed.containers[2]["environment"] = {"MODE": "two"}
    plan = manager.run(InfrastructureOperation(**{**changed.__dict__, "dry_run": True}))
    (svg,) = _svgs(plan._repr_mimebundle_()["text/html"])
    assert "recreate · stop-first" in _texts(svg)  # how it is replaced, beside the action
    assert any(t.startswith("environment") for t in _texts(svg))  # what changed
    changed.containers[2]["update_config"] = {"order": "start-first"}
    plan = manager.run(InfrastructureOperation(**{**changed.__dict__, "dry_run": True}))
    (svg,) = _svgs(plan._repr_mimebundle_()["text/html"])
    assert "recreate · start-first" in _texts(svg)
    manager.run(
        InfrastructureOperation(
            operation="cleanup_resources",
            stack="pic",
            cleanup_stopped_containers=True,
            force_remove=True,
        )
    )


def test_a_request_shows_its_dependency_diagram() -> None:
    (svg,) = _svgs(_stack()._repr_mimebundle_()["text/html"])
    assert {"pic-db", "pic-app", "pic-web", "healthy"} <= set(_texts(svg))


def test_a_bring_up_is_drawn_as_a_timeline_from_the_runs_own_marks() -> None:
    manager = InfrastructureManager(
        engine=MemoryEngine(images=["redis:7"]),
        config=InfrastructureManagerConfig(min_uptime=0, health_check_interval=0.05),
    )
    result = manager.run(_stack())
    assert result.success
    for outcome in result.containers:
        steps = [step for step, _ in outcome.timeline]
        assert steps == ["created", "started", "ready"], outcome
        seconds = [s for _, s in outcome.timeline]
        assert seconds == sorted(seconds)
    # a dependent starts only after what it waits for is ready
    db, app, _ = result.containers
    assert dict(app.timeline)["started"] >= dict(db.timeline)["ready"]
    svgs = _svgs(result._repr_mimebundle_()["text/html"])
    assert len(svgs) == 1 and {"pic-db", "pic-app", "pic-web"} <= set(_texts(svgs[0]))
    assert list(result.to_frame().columns)[:2] == ["name", "image"]  # the frame is unchanged
    manager.run(
        InfrastructureOperation(
            operation="cleanup_resources",
            stack="pic",
            cleanup_stopped_containers=True,
            force_remove=True,
        )
    )


def test_names_and_labels_are_escaped() -> None:
    svg = stack_diagram([Node("<b>&x", 0, "create", (('a"b', "healthy"),))])
    ET.fromstring(svg)  # well formed
    assert "<b>" not in svg and "&lt;b&gt;&amp;x" in svg
    line = timeline([("<i>", (("created", 0.1), ("started", 0.2), ("ready", 1.0)))])
    ET.fromstring(line)
    assert "<i>" not in line


def test_stats_samples_are_drawn_one_line_per_container() -> None:
    start = pd.Timestamp("2026-12-02 10:00:00", tz="UTC")
    data = pd.DataFrame(
        {
            "time": [start + pd.Timedelta(seconds=s) for s in (0, 0, 1, 1, 2, 2)],
            "name": ["a", "b"] * 3,
            "cpu_percent": [1.0, 5.0, 2.0, 6.0, 3.0, 7.0],
            "memory_bytes": [10, 20, 11, 21, 12, 22],
        }
    )
    html = line_charts(data, {"cpu_percent": "CPU %", "memory_bytes": "memory"})
    svgs = _svgs(html)
    assert len(svgs) == 2
    for svg in svgs:
        assert len(list(svg.iter(f"{SVG}polyline"))) == 2
        for line in svg.iter(f"{SVG}polyline"):
            assert len(line.get("points", "").split()) == 3


def test_stats_samples_on_the_in_memory_engine_make_a_tidy_frame() -> None:
    engine = MemoryEngine(images=["redis:7"])
    manager = InfrastructureManager(engine=engine, config=InfrastructureManagerConfig(min_uptime=0))
    manager.run(_stack())
    one = manager.stats(stack="pic")
    assert "time" not in one.columns and len(one) == 3  # samples=1 keeps the frame it was
    series = manager.stats(stack="pic", samples=4)
    assert list(series.columns)[:2] == ["time", "name"] and len(series) == 12
    assert series["time"].is_monotonic_increasing
    html = series._repr_html_()
    assert html.count("<svg") == 2 and html.count("<polyline") == 6
    manager.run(
        InfrastructureOperation(
            operation="cleanup_resources",
            stack="pic",
            cleanup_stopped_containers=True,
            force_remove=True,
        )
    )
