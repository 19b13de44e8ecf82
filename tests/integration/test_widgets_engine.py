"""Widget forms driving the real engine, headless: set values, click, check the engine."""

from __future__ import annotations

import asyncio

import pytest

from infranb.notebook.widgets import CleanupForm, HealthCheckForm, OrchestrateForm, operation_form
from tests.integration.conftest import BASE, WEB
from tests.widget_helpers import all_widget_state

pytestmark = pytest.mark.usefixtures("demo_images", "strict_callbacks")


def test_orchestrate_form_plans_runs_and_keeps_secrets_out(manager, engine, stack, uid) -> None:
    async def scenario() -> None:
        form = OrchestrateForm(manager)
        await form.loaded  # the engine's lists load off the loop
        assert BASE in form._images  # the image combo box offers local images
        form.stack.value = stack
        db = form.add_row()
        db.image.value, db.name.value, db.networks.value = WEB, f"{uid}-db", f"{uid}-net"
        db.secret_key.value = "DB_PASSWORD"
        db.secret_value.value = "form-secret-9"
        web = form.add_row()
        web.image.value, web.name.value, web.networks.value = WEB, f"{uid}-web", f"{uid}-net"
        web.depends_on.value = [f"{uid}-db"]
        assert not form.run_button.disabled, form._problems.value

        form.plan_button.click()
        await form._task
        assert form.plan is not None and [s.action for s in form.plan] == ["create", "create"]
        assert form.apply_button.layout.display == ""  # Apply this plan is offered
        assert engine.inspect_container(f"{uid}-db") is None

        form.run_button.click()
        first = form._task
        form.run_button.click()  # a second click while running starts nothing
        assert form._task is first
        await first
        await asyncio.sleep(0)  # the done-callback re-enables the buttons
        assert not form.run_button.disabled and not form.plan_button.disabled
        result = form.last_result
        assert result.success, result.error
        assert result.containers_started == [f"{uid}-db", f"{uid}-web"]
        outputs = form.output.outputs
        assert any("text/html" in o.get("data", {}) for o in outputs)
        # The status line ends with the result's state; the result shown once.
        assert form._status.value == "orchestrate_containers: done: 2 create"
        shown = [o for o in outputs if o["data"]["text/plain"].startswith("OK orchestrate")]
        assert len(shown) == 1  # once (no second copy as a bare frame)
        assert engine.inspect_container(f"{uid}-db").environment["DB_PASSWORD"] == ("form-secret-9")
        state = all_widget_state()
        assert f"{uid}-web" in state  # the state is read (a known plain value is there)
        assert "form-secret-9" not in state
        assert "form-secret-9" not in str(outputs)

    asyncio.run(scenario())


def test_health_and_cleanup_forms(manager, engine, stack, uid) -> None:
    async def scenario() -> None:
        setup = OrchestrateForm(manager)
        setup.stack.value = stack
        row = setup.add_row()
        row.image.value, row.name.value = BASE, f"{uid}-x"
        setup.run_button.click()
        await setup._task
        assert setup.last_result.success, setup.last_result.error

        health = HealthCheckForm(manager)
        health.refresh_button.click()
        await health.loaded
        assert f"{uid}-x" in health.picked.options
        health.picked.value = (f"{uid}-x",)
        health.run_button.click()
        await health._task
        assert health.last_result.health_status == {f"{uid}-x": "running"}

        cleanup = CleanupForm(manager)
        cleanup.flags["cleanup_stopped_containers"].value = True
        cleanup.flags["force_remove"].value = True
        cleanup.stack.value = stack
        assert cleanup.flags["dry_run"].value  # dry run is the default
        cleanup.run_button.click()
        await cleanup._task
        assert engine.inspect_container(f"{uid}-x") is not None
        cleanup.flags["dry_run"].value = False
        cleanup.run_button.click()
        await cleanup._task
        # The forms ask before destructive steps: the rows, a Confirm button, nothing touched.
        assert cleanup.last_result.refused
        assert "press the form's Confirm button" in (cleanup.last_result.error or "")
        assert cleanup._consent.layout.display == ""
        assert f"remove container {uid}-x" in cleanup._consent_rows.value
        assert cleanup._status.value == "waiting for consent · nothing was touched"
        assert engine.inspect_container(f"{uid}-x") is not None
        cleanup.confirm_button.click()
        await cleanup._task
        assert cleanup._consent.layout.display == "none"
        assert cleanup.last_result.containers_removed == [f"{uid}-x"]
        assert engine.inspect_container(f"{uid}-x") is None

    asyncio.run(scenario())


def test_failed_run_is_shown_in_the_form(manager, stack, uid) -> None:
    async def scenario() -> None:
        form = OrchestrateForm(manager)
        form.stack.value = stack
        row = form.add_row()
        row.image.value, row.name.value = BASE, f"{uid}-bad"
        row.command.value = "sh -c 'exit 2'"
        form.run_button.click()
        await form._task
        assert not form.last_result.success
        assert form._status.value.startswith(
            f"orchestrate_containers: failed, rolled back: container {uid}-bad exited with code 2"
        )
        html = str(form.output.outputs)
        assert "exited with code 2" in html

    asyncio.run(scenario())


def test_operation_form_has_four_tabs(manager) -> None:
    tab = operation_form(manager)
    assert [tab.get_title(i) for i in range(4)] == ["Orchestrate", "Images", "Cleanup", "Health"]


def test_image_form_tags_and_removes_an_image(manager, engine, tracker, uid) -> None:
    from infranb.notebook.widgets import ImageForm

    target = f"infranb-test/{uid}:1"
    tracker.images.append(target)

    async def scenario() -> None:
        form = ImageForm(manager)
        form.action.value = "tag"
        form.image.value, form.tag.value = BASE, target
        assert not form.run_button.disabled, form._problems.value
        form.run_button.click()
        await form._task
        assert form.last_result.success, form.last_result.error
        assert engine.image_id(target) == engine.image_id(BASE)

        form.action.value = "remove"
        form.image.value = target
        form.start(dry_run=True)
        await form._task
        assert form.last_result.dry_run and engine.image_id(target) is not None
        form.run_button.click()
        await form._task
        assert form.last_result.refused and engine.image_id(target) is not None
        form.confirm_button.click()
        await form._task
        assert form.last_result.images_removed == [target]
        assert engine.image_id(target) is None
        assert engine.image_id(BASE) is not None  # only the reference went

    asyncio.run(scenario())
