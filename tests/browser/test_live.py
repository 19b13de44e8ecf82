"""A live feed in JupyterLab: watch_events shows events as they come, its Stop button ends
it, and the kernel answers the next cell meanwhile and after."""

from __future__ import annotations

import nbformat

from infranb.engines.docker import DockerEngine
from tests.browser.conftest import ARTIFACTS
from tests.browser.test_lab import open_notebook, wait_idle
from tests.conftest import raw_api
from tests.integration.conftest import BASE


def test_watch_events_live_then_stopped_by_its_button(browser, lab, engine: DockerEngine, uid):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [
        nbformat.v4.new_code_cell(
            "from infranb import InfrastructureManager\n"
            "manager = InfrastructureManager()\n"
            f"feed = manager.watch_events(filters={{'container': '{uid}-seen'}}, seconds=600)\n"
            "feed"
        ),
        nbformat.v4.new_code_cell('print("kernel answers", 6 * 7, len(feed.rows))'),
    ]
    path = lab.root / "live-test.ipynb"
    nbformat.write(nb, path)
    api = raw_api()
    try:
        page = open_notebook(browser, lab, "live-test.ipynb")
        page.locator(".jp-Cell").first.click()
        page.keyboard.press("Shift+Enter")  # the feed's cell: it returns at once
        page.wait_for_selector(".jupyter-button:has-text('Stop')", timeout=60_000)
        made = api.create_container(BASE, ["sleep", "30"], name=f"{uid}-seen")
        api.start(made["Id"])
        page.wait_for_function(
            "() => document.body.innerText.includes('start') && "
            "[...document.querySelectorAll('.widget-html')].some(e => /[1-9]\\d* rows/.test("
            "e.innerText))",
            timeout=20_000,
        )
        # the kernel is free while the feed runs
        page.keyboard.press("Shift+Enter")
        page.wait_for_selector("text=kernel answers 42", timeout=30_000)
        page.locator(".jupyter-button:has-text('Stop')").click()
        page.wait_for_selector("text=ended: stopped", timeout=10_000)
        assert page.locator(".jupyter-button:has-text('Stop')").is_disabled()
        # and after: the second cell runs again
        second = page.locator(".jp-Cell").nth(1)
        second.click()
        page.keyboard.press("Control+Enter")
        second.locator(".jp-InputPrompt:has-text('[3]')").wait_for(timeout=30_000)
        assert "kernel answers 42" in second.inner_text()
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "live-events.png"))
        wait_idle(page)
        page.close()
        lab.shutdown_kernels()
    finally:
        api.remove_container(f"{uid}-seen", force=True) if engine.inspect_container(
            f"{uid}-seen"
        ) else None
        path.unlink(missing_ok=True)
