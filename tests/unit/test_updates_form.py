"""The form of containers behind their registry (issue 44) on the in-memory engine: who can
be ticked and why not, Plan as a dry run that touches nothing, Update running exactly the
planned re-run with pull_policy always."""

from __future__ import annotations

import asyncio
from pathlib import Path

from infranb import InfrastructureManager, InfrastructureManagerConfig, InfrastructureOperation
from infranb.testing import MemoryEngine
from infranb.widgets import ImageUpdatesForm

REF = "127.0.0.1:5000/shop/api:1"


def stack(name: str, container: str) -> InfrastructureOperation:
    return InfrastructureOperation(
        operation="orchestrate_containers",
        stack=name,
        containers=[{"name": container, "image": REF, "environment": {"MODE": "a"}}],
    )


def test_ticked_containers_are_planned_then_updated_onto_the_newer_image(tmp_path: Path) -> None:
    memory = MemoryEngine([])
    memory.add_image(REF)
    memory.push_image(REF)
    settings = {"health_check_interval": 0.01, "stop_timeout": 0.1, "min_uptime": 0.05}
    journaled = InfrastructureManager(
        InfrastructureManagerConfig(journal=str(tmp_path / "j.sqlite"), **settings),
        engine=memory,
    )
    unjournaled = InfrastructureManager(
        InfrastructureManagerConfig(journal=None, **settings), engine=memory
    )
    assert journaled.run(stack("shop", "shop-api")).success
    assert unjournaled.run(stack("lab", "lab-api")).success
    old_image = memory.image_id(REF)
    memory.add_image(REF)  # a newer image under the same tag, pushed, gone from this engine
    memory.push_image(REF)
    memory.remove_image(REF)

    async def scenario() -> None:
        form = ImageUpdatesForm(journaled)
        await form.loaded
        assert set(form.boxes) == {"shop-api", "lab-api"}
        assert form.boxes["lab-api"].disabled and not form.boxes["shop-api"].disabled
        why = str([row.children[1].value for row in form.rows.children])
        assert "stack lab has no successful run in the journal" in why
        assert form.plan_button.disabled  # nothing ticked yet
        form.boxes["shop-api"].value = True
        assert not form.plan_button.disabled and form.update_button.disabled

        calls = len(memory.calls)
        form.plan_button.click()
        await form.task
        assert "pull_image" not in memory.calls[calls:]  # a dry run touches nothing
        (planned,) = form.planned
        assert planned.containers[0]["pull_policy"] == "always"
        assert not form.update_button.disabled, form.status.value
        assert form.output.outputs  # the plan is shown

        form.update_button.click()
        await form.task
        (result,) = form.results
        assert result.success, result.error
        assert memory.inspect_container("shop-api").image_id != old_image
        assert memory.inspect_container("lab-api").image_id == old_image  # not ticked
        assert "1 of 1 stack(s) updated" in form.status.value

    asyncio.run(scenario())
