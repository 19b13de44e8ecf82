"""What a run says when it ends: the badge, the live line's last state and a form's consent
refusal agree with the result (issue 29, "Messages"); on the in-memory engine."""

from __future__ import annotations

import asyncio

from infranb import InfrastructureOperation
from infranb.manager import down_operation
from infranb.notebook import result_bundle
from infranb.notebook.live import outcome_line
from infranb.notebook.widgets import CleanupForm
from infranb.testing import MemoryEngine
from tests.unit.test_operations_memory import BASE, manager, stack_op


def test_a_failed_dry_run_is_red_and_says_so() -> None:
    memory = MemoryEngine([BASE])
    holder = InfrastructureOperation(
        operation="orchestrate_containers", stack="other",
        containers=[{"image": BASE, "name": "holder", "ports": ["127.0.0.1:18080:80"]}],
    )  # fmt: skip
    assert manager(memory).run(holder).success
    bad = stack_op(dry_run=True)
    bad.containers[0]["ports"] = ["127.0.0.1:18080:80"]  # held by another stack's container
    plan = manager(memory).run(bad)
    assert plan.dry_run and not plan.success
    bundle = result_bundle(plan)
    assert bundle["text/plain"].startswith("PLAN FAILED orchestrate_containers")
    assert '<span class="inb-badge inb-bad">PLAN FAILED</span>' in bundle["text/html"]
    assert outcome_line(plan).startswith("orchestrate_containers: plan failed: ")

    good = manager(memory).run(stack_op(dry_run=True))
    assert good.success and result_bundle(good)["text/plain"].startswith("PLAN ")
    assert '<span class="inb-badge inb-plan">PLAN</span>' in result_bundle(good)["text/html"]
    assert outcome_line(good) == ("orchestrate_containers: plan: 3 create · nothing was touched")


def test_the_last_line_is_the_results_state() -> None:
    memory = MemoryEngine([BASE])
    m = manager(memory)
    up = m.run(stack_op())
    assert outcome_line(up) == "orchestrate_containers: done: 3 create"
    again = m.run(stack_op())
    assert outcome_line(again) == "orchestrate_containers: done: 3 unchanged"
    checked = m.run(InfrastructureOperation(operation="health_check", container_ids=["db"]))
    assert outcome_line(checked) == "health_check: done: 1 healthy"  # not "starting"
    down = m.run(down_operation("shop"))
    assert outcome_line(down) == (
        "cleanup_resources: done: 3 container(s) removed, 1 network(s) removed"
    )

    crash = stack_op(stack="crash")
    for c in crash.containers:
        c["name"] = f"crash-{c['name']}"
        c["networks"] = ["crash-net"]
        c.pop("volumes", None)
        c["depends_on"] = {}
    crash.containers[0]["command"] = ["sh", "-c", "exit 3"]
    failed = m.run(crash)
    assert not failed.success and failed.rolled_back
    line = outcome_line(failed)
    assert line.startswith("orchestrate_containers: failed, rolled back: ")
    assert "exited with code 3" in line and len(line) < 240


def test_a_forms_consent_refusal_points_at_its_confirm_button() -> None:
    memory = MemoryEngine([BASE])
    m = manager(memory)
    assert m.run(stack_op()).success
    form = CleanupForm.from_operation(down_operation("shop"), m)

    async def run() -> None:
        task = form.start()
        assert task is not None
        await task

    asyncio.run(run())
    result = form.last_result
    assert result is not None and result.refused
    assert "press the form's Confirm button" in (result.error or "")
    assert "confirm=True" not in (result.error or "")
    assert "config.confirm_destructive" not in (result.error or "")
    assert "this form asks before it removes" in (result.error or "")
    m.close()


def test_a_cancelled_run_says_one_sentence_and_still_raises() -> None:
    memory = MemoryEngine([BASE])
    m = manager(memory, container_start_timeout=30)
    slow = stack_op()
    slow.containers[2].pop("healthcheck")
    slow.containers[2]["command"] = ["sleep", "60"]
    slow.containers[1]["depends_on"] = {"db": "completed_successfully"}  # never: db runs on

    async def run() -> BaseException:
        task = asyncio.ensure_future(m.execute(slow))
        for _ in range(200):
            await asyncio.sleep(0.01)
            if "start_container" in memory.calls:
                break
        task.cancel()
        try:
            await task
        except asyncio.CancelledError as e:
            return e
        raise AssertionError("the cancelled run did not raise")

    cancelled = asyncio.run(run())
    assert type(cancelled) is asyncio.CancelledError  # asyncio.timeout() still sees its own
    [sentence] = cancelled._render_traceback_()  # type: ignore[attr-defined]
    assert sentence.startswith("orchestrate_containers was cancelled after "), sentence
    assert "; rolled back: " in sentence, sentence
    assert memory.list_containers(labels={"infranb.stack": "shop"}) == []


def test_interrupting_run_sync_keeps_the_runs_sentence() -> None:
    """The kernel's interrupt reaches the calling thread as KeyboardInterrupt; run_sync waits
    for the rollback, then raises it with the run's sentence (tests/integration has the
    real kernel)."""
    import os
    import signal
    import threading

    from infranb.core.sync import run_sync

    async def work() -> None:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError as e:
            from infranb.core.errors import shown_as

            raise shown_as(e, "work was cancelled after 0.1 s; rolled back: nothing") from None

    async def inside_a_loop() -> BaseException:
        # A real SIGINT, as the kernel's interrupt sends: it breaks the blocking wait.
        threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGINT)).start()
        try:
            run_sync(work())
        except KeyboardInterrupt as e:
            return e
        raise AssertionError("no interrupt")

    # A kernel's loop, not asyncio.run (which would turn SIGINT into a task cancel instead).
    loop = asyncio.new_event_loop()
    try:
        interrupt = loop.run_until_complete(inside_a_loop())
    finally:
        loop.close()
    assert interrupt._render_traceback_() == [  # type: ignore[attr-defined]
        "work was cancelled after 0.1 s; rolled back: nothing"
    ]
