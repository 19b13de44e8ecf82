from __future__ import annotations

import ipywidgets as widgets
import pytest

from infranb import InfrastructureOperation, secret_from_env
from infranb.notebook.widgets import (
    CleanupForm,
    HealthCheckForm,
    ImageForm,
    OrchestrateForm,
    RestartForm,
    StopForm,
    parse_value,
    render_value,
)
from tests.widget_helpers import all_widget_state

pytestmark = pytest.mark.usefixtures("strict_callbacks")

SPEC_STACK = [
    {
        "image": "postgres:15",
        "name": "db",
        "environment": {
            "POSTGRES_DB": "myapp",
            "POSTGRES_USER": "admin",
            "POSTGRES_PASSWORD": "secret",
        },
        "volumes": {"db-data": "/var/lib/postgresql/data"},
    },
    {"image": "redis:7", "name": "cache", "networks": ["app-network"]},
    {
        "image": "myapp:latest",
        "name": "web",
        "ports": {"3000": "3000"},
        "networks": ["app-network"],
        "depends_on": ["db", "cache"],
    },
]

ROUND_TRIPS = [
    InfrastructureOperation(operation="orchestrate_containers", containers=SPEC_STACK),
    InfrastructureOperation(
        operation="orchestrate_containers",
        stack="s",
        remove_orphans=True,
        containers=[
            {
                "image": "a",
                "name": "x",
                "command": ["sh", "-c", "y"],
                "ports": ["8080:80"],
                "depends_on": {"y": "healthy"},
                "healthcheck": {"test": ["CMD", "true"], "interval": "1s"},
                "environment": {"T": secret_from_env("TOKEN")},
                "restart": "always",
                "labels": {"a": "b"},
            },
            {"image": "a", "name": "y", "healthcheck": {"test": "true"}},
        ],
    ),
    InfrastructureOperation(
        operation="manage_images", image_params={"action": "pull", "image": "127.0.0.1:5000/a:1"}
    ),
    InfrastructureOperation(
        operation="manage_images",
        image_params={
            "action": "build",
            "path": ".",
            "tag": "t:1",
            "dockerfile": "images/base/Dockerfile",
            "buildargs": {"V": "1"},
            "nocache": True,
        },
    ),
    InfrastructureOperation(
        operation="manage_images", image_params={"action": "tag", "image": "a:1", "tag": "b:2"}
    ),
    InfrastructureOperation(
        operation="manage_images", image_params={"action": "remove", "image": "a:1", "force": True}
    ),
    InfrastructureOperation(
        operation="cleanup_resources",
        cleanup_stopped_containers=True,
        force_remove=True,
        stack="s",
        cleanup_volumes=True,
    ),
    InfrastructureOperation(
        operation="cleanup_resources", cleanup_unused_images=True, scope="all", dry_run=True
    ),
    InfrastructureOperation(operation="health_check", container_ids=["web", "db", "cache"]),
    InfrastructureOperation(
        operation="stop", container_ids=["web", "db"], params={"remove": False}, dry_run=True
    ),
    InfrastructureOperation(operation="restart", container_ids=["web"]),
]
FORMS = {
    "orchestrate_containers": OrchestrateForm,
    "manage_images": ImageForm,
    "cleanup_resources": CleanupForm,
    "health_check": HealthCheckForm,
    "stop": StopForm,
    "restart": RestartForm,
}


@pytest.mark.parametrize("op", ROUND_TRIPS, ids=lambda op: op.operation)
def test_round_trip(op: InfrastructureOperation) -> None:
    form = FORMS[op.operation].from_operation(op)
    assert form.operation == op
    assert form.problems() == op.validate()


def test_short_syntax() -> None:
    for value in (["a", "b"], {"80": "8080"}, {"a": {"b": 1}}, ["x:1", "y:2"], [1, 2]):
        assert parse_value(render_value(value)) == value


def test_validation_marks_the_field_and_disables_run() -> None:
    form = OrchestrateForm()
    row = form.add_row({"image": "img", "name": "web"})
    assert not form.run_button.disabled
    row.ports.value = "80x"
    assert form.run_button.disabled
    assert "ports" in form._problems.value
    assert row.ports.layout.border
    assert not row.name.layout.border
    row.ports.value = "8080:80"
    assert not form.run_button.disabled and not row.ports.layout.border
    row.name.value = "bad name"
    assert form.run_button.disabled and row.name.layout.border


def test_depends_on_offers_the_other_rows() -> None:
    form = OrchestrateForm.from_operation(ROUND_TRIPS[0])
    assert form.rows[2].depends_on.allowed_tags == ["db", "cache"]
    form.rows[2].up.click()
    assert [r.name.value for r in form.rows] == ["db", "web", "cache"]
    form.rows[1].remove.click()
    assert [r.name.value for r in form.rows] == ["db", "cache"]


def test_depends_on_choices_are_buttons_in_sight() -> None:
    """The other containers are shown as choices before anything is typed; a click on one
    makes it a dependency, a second click takes it back."""
    form = OrchestrateForm()
    db = form.add_row({"image": "img", "name": "db"})
    web = form.add_row({"image": "img", "name": "web"})
    choices = [b for b in web.depends_on.children if isinstance(b, widgets.ToggleButton)]
    assert [b.description for b in choices] == ["db"] and not choices[0].value
    assert [
        b.description for b in db.depends_on.children if isinstance(b, widgets.ToggleButton)
    ] == ["web"]
    choices[0].value = True  # what a click does
    assert form.operation.containers[1]["depends_on"] == ["db"]
    assert choices[0].icon == "check"
    choices[0].value = False
    assert "depends_on" not in form.operation.containers[1]
    # set in code (as notebook 06 does), the button shows it
    web.depends_on.value = ["db"]
    assert [b.value for b in web.depends_on.children] == [True]
    # a renamed row is renamed among the choices
    db.name.value = "database"
    assert [b.description for b in web.depends_on.children] == ["database", "db"]


def test_secret_typed_in_a_password_field_leaves_the_widgets() -> None:
    form = OrchestrateForm()
    row = form.add_row({"image": "img-probe-plain", "name": "db"})
    row.secret_key.value = "DB_PASSWORD"
    row.secret_value.value = "typed-secret-42"
    assert row.secret_value.value == ""
    state = all_widget_state()
    assert "img-probe-plain" in state  # the state is read (a known plain value is there)
    assert "typed-secret-42" not in state
    assert form.operation.containers[0]["environment"] == {"DB_PASSWORD": "typed-secret-42"}
    assert "DB_PASSWORD=••••••" in row.secret_list.value


def test_secrets_from_an_operation_never_enter_widget_state() -> None:
    op = InfrastructureOperation(
        operation="orchestrate_containers",
        containers=[
            {
                "image": "img",
                "name": "db-probe-plain",
                "environment": {"POSTGRES_PASSWORD": "planted-sec-77"},
            }
        ],
    )
    form = OrchestrateForm.from_operation(op)
    state = all_widget_state()
    assert "db-probe-plain" in state  # the state is read (a known plain value is there)
    assert "planted-sec-77" not in state
    assert form.operation == op


def test_plain_secret_in_environment_text_is_refused() -> None:
    form = OrchestrateForm()
    row = form.add_row({"image": "img", "name": "db"})
    row.environment.value = "API_TOKEN=abc"
    assert form.run_button.disabled
    assert "secret fields" in form._problems.value


def test_image_form_shows_fields_per_action() -> None:
    form = ImageForm()
    form.action.value = "build"
    assert form.path.layout.display == "" and form.image.layout.display == "none"
    assert form.run_button.disabled  # path and tag missing
    form.action.value = "pull"
    form.image.value = "a:1"
    assert not form.run_button.disabled
    assert form.operation.image_params == {"action": "pull", "image": "a:1"}


def test_importing_infranb_does_not_import_widgets() -> None:
    import subprocess
    import sys

    code = "import infranb, sys; print('ipywidgets' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_fields_are_marked_by_path_and_only_after_an_edit(monkeypatch) -> None:
    from infranb.core.errors import Problem

    form = OrchestrateForm(
        template=InfrastructureOperation(
            operation="orchestrate_containers",
            containers=[{"image": "img", "name": "web"}, {"image": "img", "name": "db"}],
        )
    )
    form.add_row()  # an empty row: invalid, but nothing is red before the user acts
    assert form.run_button.disabled
    assert form._problems.value == ""
    assert not any(r.image.layout.border for r in form.rows)

    # The message text is irrelevant to marking: only the path counts.
    reworded = [Problem("containers[1].ports", "any wording at all")]
    monkeypatch.setattr(form, "problems", lambda: reworded)
    form.rows[0].name.value = "web2"  # the first edit
    assert form.rows[1].ports.layout.border
    assert not form.rows[0].ports.layout.border
    assert "any wording at all" in form._problems.value


def test_a_forms_secret_fields_follow_the_managers_markers() -> None:
    from infranb import InfrastructureManager, InfrastructureManagerConfig
    from infranb.testing import MemoryEngine

    config = InfrastructureManagerConfig(secret_markers=("PASSWORD", "MYSTERY"))
    manager = InfrastructureManager(config, engine=MemoryEngine())
    op = InfrastructureOperation(
        operation="orchestrate_containers",
        containers=[
            {
                "image": "img",
                "name": "db",
                "environment": {"MYSTERY_VALUE": "planted-myst-31", "MODE": "visible-mode-7"},
            }
        ],
    )
    form = OrchestrateForm.from_operation(op, manager)
    state = all_widget_state()
    assert "visible-mode-7" in state  # the state is read: a known plain value is there
    assert "planted-myst-31" not in state
    assert form.operation == op
    row = form.rows[0]
    row.environment.value = "MODE=visible-mode-7\nMYSTERY_KEY=typed-in-clear"
    assert "secret fields" in form._problems.value  # refused by the manager's markers too


def test_plan_then_apply_this_plan_and_a_host_that_changed_in_between(tmp_path) -> None:
    """The forms' Plan shows a saved-plan-to-be with Apply this plan; Apply observes again:
    unchanged, it runs exactly the plan; changed, it shows the differences and applies
    nothing (issue 46)."""
    import asyncio

    from infranb import InfrastructureManager, InfrastructureManagerConfig
    from infranb.notebook.widgets import RestartForm
    from infranb.testing import MemoryEngine

    engine = MemoryEngine(["b:1"])
    config = InfrastructureManagerConfig(journal=str(tmp_path / "j.sqlite"), min_uptime=0)
    manager = InfrastructureManager(config, engine=engine)
    up = InfrastructureOperation(
        operation="orchestrate_containers", stack="s",
        containers=[{"name": "web", "image": "b:1", "command": "sleep 1000"}],
    )  # fmt: skip
    assert manager.run(up).success

    async def scenario() -> None:
        form = RestartForm.from_operation(
            InfrastructureOperation(operation="restart", container_ids=["web"]), manager
        )
        assert form.apply_button.layout.display == "none"
        form.plan_button.click()
        await form.task
        assert form.plan is not None and [s.action for s in form.plan] == ["restart"]
        assert form.apply_button.layout.display == ""
        engine.restart_container("web")  # the host changes between Plan and Apply
        form.apply_button.click()
        await form.task
        assert form.last_result is not None and form.last_result.refused
        assert "host changed" in form._status.value and form.plan is None
        assert form.apply_button.layout.display == "none"
        form.plan_button.click()
        await form.task
        form.apply_button.click()  # the restart of a plan needs consent: Confirm
        await form.task
        assert form._consent.layout.display == ""
        form.confirm_button.click()
        await form.task
        assert form.last_result.success, form.last_result.error
        assert form.last_result.applied_plan.startswith("applied plan ")

    asyncio.run(scenario())


def test_the_heal_form_builds_a_heal_request() -> None:
    from infranb.notebook.widgets import HealForm

    op = InfrastructureOperation(
        operation="heal", container_ids=["web"], params={"max_restarts": 2, "within": "1h"}
    )
    form = HealForm.from_operation(op)
    assert form.operation == op
    form.within.value = "soon"
    assert any(p.path == "params.within" for p in form.problems())
