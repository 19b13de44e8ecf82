"""Saved plans on the real engine (issue 46): a plan saved, loaded in another process and
applied runs exactly its steps; a container restarted, an image re-tagged or a volume made
again between plan and apply is refused by name with the engine untouched; approvals reach
the journal and its report."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from infranb import InfrastructureManager, InfrastructureOperation, Plan
from infranb.engines.docker import DockerEngine
from infranb.journal import report
from tests.conftest import Census, raw_api
from tests.integration.conftest import BASE, fast_config

pytestmark = pytest.mark.usefixtures("demo_images")

SERVE = "trap 'exit 0' TERM; while :; do sleep 1 & wait $!; done"


def request(stack: str, version: str, image: str = BASE) -> InfrastructureOperation:
    return InfrastructureOperation(
        operation="orchestrate_containers", stack=stack,
        containers=[
            {"name": f"{stack}-web", "image": image, "command": ["sh", "-c", SERVE],
             "environment": {"VERSION": version}},
            {"name": f"{stack}-db", "image": BASE, "command": ["sh", "-c", SERVE],
             "volumes": {f"{stack}-data": "/data"}},
        ],
    )  # fmt: skip


def config(tmp_path: Path) -> Any:
    return fast_config(journal=str(tmp_path / "journal.sqlite"), confirm_destructive=True)


APPLY = """
import json, sys
from infranb import InfrastructureManager, InfrastructureManagerConfig, Plan
config = InfrastructureManagerConfig(journal=sys.argv[2], confirm_destructive=True,
                                     min_uptime=0.2, stop_timeout=2.0)
with InfrastructureManager(config) as m:
    result = m.apply(Plan.load(sys.argv[1]))
    print(json.dumps({"success": result.success, "error": result.error,
                      "rows": [r.to_json() for r in result.plan],
                      "applied": result.applied_plan, "run_id": result.run_id}))
"""


def test_a_plan_saved_approved_and_applied_in_another_process(
    census: Census, engine: DockerEngine, stack: str, tmp_path: Path
) -> None:
    with InfrastructureManager(config(tmp_path)) as m:
        assert m.run(request(stack, "v1")).success
        plan = m.plan(request(stack, "v2"))
        assert {(r.name, r.action) for r in plan} == {
            (f"{stack}-web", "recreate"),
            (f"{stack}-db", "unchanged"),
        }
        path = plan.save(tmp_path / "plan.json")
        Plan.load(path).approve(by="ann", note="reviewed in the PR")
    ran = subprocess.run(
        [sys.executable, "-c", APPLY, str(path), str(tmp_path / "journal.sqlite")],
        capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    out = json.loads(ran.stdout.strip().splitlines()[-1])
    assert out["success"], out["error"]
    assert out["rows"] == json.loads(json.dumps([r.to_json() for r in plan]))
    assert out["applied"] == f"applied plan {plan.id}, approved by ann (reviewed in the PR)"
    web = engine.inspect_container(f"{stack}-web")
    assert web is not None and web.environment["VERSION"] == "v2"
    page = report(tmp_path / "audit.html", journal=tmp_path / "journal.sqlite")
    assert f"plan {plan.id}, approved by ann" in page.read_text()


@pytest.mark.parametrize("change", ["restarted", "retagged", "volume"])
def test_a_host_that_changed_since_the_plan_is_refused_by_name(
    census: Census, engine: DockerEngine, stack: str, tmp_path: Path, change: str
) -> None:
    tag = f"{stack}-img:1"
    raw_api().tag(BASE, f"{stack}-img", "1")
    try:
        with InfrastructureManager(config(tmp_path)) as m:
            assert m.run(request(stack, "v1", image=tag)).success
            plan = m.plan(request(stack, "v2", image=tag))
            if change == "restarted":
                raw_api().restart(f"{stack}-db", timeout=2)
                expected = ("container", f"{stack}-db", "started_at")
            elif change == "retagged":
                raw_api().tag("infranb-demo/web:1", f"{stack}-img", "1")
                expected = ("image", tag, "id")
            else:
                made = m.run(request(stack, "v1", image=tag))  # unchanged: nothing to do
                assert made.success
                raw_api().stop(f"{stack}-db", timeout=2)
                raw_api().remove_container(f"{stack}-db")
                raw_api().remove_volume(f"{stack}-data")
                # Docker's CreatedAt counts whole seconds: a volume made again within the
                # second it was made reads the same (the docs say so).
                time.sleep(1.1)
                assert m.run(request(stack, "v1", image=tag)).success  # the volume made again
                expected = ("volume", f"{stack}-data", "created")
            before = Census.take(engine)
            web = engine.inspect_container(f"{stack}-web")
            result = m.apply(plan, confirm=True)
            assert result.refused and "the host changed since plan" in str(result.error)
            found = {
                (r["kind"], r["name"], r["field"]) for r in result.to_frame().to_dict("records")
            }
            assert expected in found, found
            assert Census.take(engine) == before  # nothing made, nothing removed
            after = engine.inspect_container(f"{stack}-web")
            assert web is not None and after is not None
            assert (after.id, after.started_at) == (web.id, web.started_at)
            cleanup = InfrastructureOperation(
                operation="cleanup_resources", stack=stack, force_remove=True,
                cleanup_stopped_containers=True,
            )  # fmt: skip
            m.run(cleanup)
    finally:
        raw_api().remove_image(tag)
