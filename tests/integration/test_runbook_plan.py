"""The runbook template's review loop (issue 46): ``SAVE_PLAN`` writes the plan and changes
nothing; approved, the same notebook with ``PLAN_FILE`` applies exactly that plan and
nothing else, and its report says which plan and who approved it."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

from infranb import Plan
from infranb.engines.docker import DockerEngine
from tests.conftest import Census
from tests.integration.conftest import Tracker

REPO = Path(__file__).parents[2]


def report(tmp_path: Path, *parameters: str) -> tuple[subprocess.CompletedProcess[str], str]:
    run = subprocess.run(
        [str(REPO / ".venv/bin/infranb"), "report", "notebooks/07-runbook-template.ipynb",
         "-o", str(tmp_path), *parameters],
        cwd=REPO, capture_output=True, text=True, timeout=280,
    )  # fmt: skip
    pages = sorted(tmp_path.glob("*.html"), key=lambda p: p.stat().st_mtime)
    return run, pages[-1].read_text() if pages else ""


def test_the_template_saves_a_plan_then_applies_only_the_approved_one(
    engine: DockerEngine, tracker: Tracker, tmp_path: Path
) -> None:
    stack = f"inbt-plan-{uuid.uuid4().hex[:6]}"
    tracker.stacks.append(stack)
    saved = tmp_path / "plan.json"
    params = ["-p", "STACK", stack, "-p", "WEB_PORT", "18074"]
    before = Census.take(engine)
    planned, _ = report(tmp_path / "first", *params, "-p", "SAVE_PLAN", str(saved))
    assert planned.returncode == 0, planned.stdout[-2000:] + planned.stderr[-2000:]
    assert saved.exists() and Census.take(engine) == before  # only planned
    plan = Plan.load(saved).approve(by="ann", note="ok to ship")
    applied, page = report(tmp_path / "second", *params, "-p", "PLAN_FILE", str(saved))
    assert applied.returncode == 0, applied.stdout[-2000:] + applied.stderr[-2000:]
    assert "VERDICT: OK" in applied.stdout
    assert f"applied plan {plan.id}, approved by ann (ok to ship)" in page
    assert f"plan {plan.id}, approved by ann" in page  # the audit trail's plan column
    running = {c.name for c in engine.list_containers(labels={"infranb.stack": stack})}
    assert running == {f"{stack}-web", f"{stack}-app"}  # no teardown: nothing else ran
