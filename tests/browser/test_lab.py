"""JupyterLab in Chromium: a form driven by hand, and every notebook under Run All."""

from __future__ import annotations

import time
from pathlib import Path

import nbformat
import pytest

from infranb.engines.docker import DockerEngine
from infranb.journal import Journal
from tests.browser.conftest import ARTIFACTS, goto
from tests.conftest import raw_api

NOTEBOOKS = sorted(p.name for p in (Path(__file__).parents[2] / "notebooks").glob("*.ipynb"))
SECRET = "typed-in-browser-8812"


def open_notebook(browser, lab, name: str):
    page = browser.new_page()
    goto(page, lab.notebook_url(name))
    page.wait_for_selector(".jp-Notebook", timeout=60_000)
    wait_idle(page)
    return page


def wait_idle(page, timeout: float = 120) -> None:
    """Until the kernel is idle and no cell is queued or running."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        busy = page.locator(".jp-InputPrompt:has-text('[*]')").count()
        status = page.locator(".jp-Notebook-ExecutionIndicator").get_attribute("data-status")
        if not busy and status in ("idle", None):
            time.sleep(0.5)
            if not page.locator(".jp-InputPrompt:has-text('[*]')").count():
                return
        if page.locator(".jp-Dialog").count():
            raise AssertionError("dialog: " + page.locator(".jp-Dialog").inner_text())
        time.sleep(0.5)
    raise AssertionError("the notebook did not finish in time")


def run_menu(page, item: str) -> None:
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-itemLabel", has_text=item).first.click()


def test_form_in_jupyterlab(browser, lab, engine: DockerEngine, uid) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [
        nbformat.v4.new_code_cell(
            "from infranb import InfrastructureManager, InfrastructureManagerConfig\n"
            "from infranb.notebook.widgets import OrchestrateForm\n"
            "manager = InfrastructureManager(config=InfrastructureManagerConfig("
            "health_check_interval=1.0, stop_timeout=2.0))\n"
            "form = OrchestrateForm(manager)\nform"
        )
    ]
    nbformat.write(nb, lab.root / "form-test.ipynb")
    stack = uid
    try:
        page = open_form(browser, lab, "form-test.ipynb")
        form = page.locator(".jp-OutputArea-output").first
        form.locator(".widget-text:has(label:text-is('stack')) input").fill(stack)
        form.locator(".jupyter-button:has-text('Add container')").click()
        form.locator(".widget-text:has(label:text-is('image')) input").fill("infranb-demo/web:1")
        form.locator(".widget-text:has(label:text-is('name')) input").fill(f"{uid}-web")
        form.locator(".widget-text:has(label:text-is('secret name')) input").fill("API_TOKEN")
        password = form.locator("input[type=password]")
        password.fill(SECRET)
        password.press("Enter")
        page.wait_for_function(
            "() => [...document.querySelectorAll('.widget-html')].some("
            "e => e.textContent.includes('API_TOKEN=••••••'))",
            timeout=10_000,
        )
        assert password.input_value() == ""
        form.locator(".jupyter-button:has-text('Run')").click()
        page.wait_for_selector(".inb-wrap .inb-badge", timeout=60_000)
        badge = page.locator(".inb-wrap .inb-badge").first.inner_text()
        assert badge == "OK", page.locator(".widget-output").inner_text()
        page.wait_for_selector(".widget-output table", timeout=10_000)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "form-run.png"), full_page=True)
        details = engine.inspect_container(f"{uid}-web")
        assert details is not None and details.state == "running"
        assert details.environment["API_TOKEN"] == SECRET
        page.keyboard.press("Control+s")
        saved = wait_for_saved(lab.root / "form-test.ipynb", "widget-state+json")
        # Saved with its widget state (the secret's name shows, its value must not).
        assert "application/vnd.jupyter.widget-state+json" in saved and "API_TOKEN" in saved
        assert SECRET not in saved
        page.close()
        lab.shutdown_kernels()
    finally:
        api = raw_api()
        for c in engine.list_containers(labels={"infranb.stack": stack}):
            api.remove_container(c.id, force=True)


def open_form(browser, lab, name: str):
    """Open the notebook and Run All until its form shows. The first page of a cold
    JupyterLab on a loaded 2-core machine once took over a minute: one retry, said aloud."""
    for attempt in (1, 2):
        page = open_notebook(browser, lab, name)
        run_menu(page, "Run All Cells")
        try:
            page.wait_for_selector(".widget-text input", timeout=60_000)
            return page
        except Exception as e:  # playwright's TimeoutError
            if attempt == 3:
                raise
            print(f"form did not show on attempt {attempt} ({type(e).__name__}); retrying once")
            page.close()
            lab.shutdown_kernels()
    raise AssertionError("unreachable")


def wait_for_saved(path: Path, marker: str, seconds: float = 30.0) -> str:
    """The notebook file once JupyterLab's save has written ``marker`` into it."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        text = path.read_text()
        if marker in text:
            return text
        time.sleep(0.2)
    raise AssertionError(f"{path.name} was not saved within {seconds:g} s")


class Stalled(AssertionError):
    """Run All stopped making progress without an error output."""


def saved_after_run(
    page, path: Path, timeout: float = 120, first_cell_within: float = 45
) -> nbformat.NotebookNode:
    """Save until the file shows every code cell executed (Run All has finished).

    An error output fails at once; no new executed cell for ``timeout`` seconds is a stall,
    and so is no cell at all within ``first_cell_within`` (a kernel that never starts running
    cells is stuck, not slow: every notebook's first cell only sets parameters).
    """
    progress, last_change = -1, time.monotonic()
    failed_saves = 0
    while True:
        time.sleep(2)
        if page.locator(".jp-Dialog").count():
            said = page.locator(".jp-Dialog").inner_text()
            # A save whose request did not reach the server (seen once in CI, as the first
            # test of a run on a loaded machine): the next save writes the file. Said aloud;
            # a second one, or any other dialog, fails.
            if "File Save Error" in said and "Failed to fetch" in said and not failed_saves:
                failed_saves += 1
                print(f"a save did not reach JupyterLab ({said.splitlines()[0]}); saving again")
                page.keyboard.press("Escape")
                continue
            raise AssertionError("dialog: " + said)
        page.keyboard.press("Control+s")
        time.sleep(1)
        nb = nbformat.read(path, as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        errors = [o for c in code for o in c.outputs if o.output_type == "error"]
        assert not errors, errors
        done = sum(1 for c in code if c.execution_count)
        if done == len(code) and not page.locator(".jp-InputPrompt:has-text('[*]')").count():
            return nb
        if done != progress:
            progress, last_change = done, time.monotonic()
        elif time.monotonic() - last_change > (timeout if done else first_cell_within):
            stuck = next(c for c in code if not c.execution_count)
            raise Stalled(
                f"Run All stalled after {done}/{len(code)} cells, before:\n{stuck.source}"
            )


@pytest.mark.timeout(900)
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_run_all_in_jupyterlab(browser, lab, name: str, census) -> None:
    """Run All of each notebook in JupyterLab, in a census: it leaves the engine as found."""
    for attempt in (1, 2, 3):
        page = open_notebook(browser, lab, name)
        # Forget the committed outputs, so only this run's counts are seen.
        run_menu(page, "Restart Kernel and Run All Cells")
        page.locator(".jp-Dialog .jp-mod-accept").click()
        time.sleep(2)
        try:
            nb = saved_after_run(page, lab.root / name)
            break
        except Stalled as e:
            # A stall with no error output is the browser's, not the notebook's: one retry,
            # reported in the test output so it is not hidden.
            print(f"attempt {attempt} of Run All for {name}: {e}")
            page.close()
            lab.shutdown_kernels()
            if attempt == 3:
                raise
    counts = [c.execution_count for c in nb.cells if c.cell_type == "code"]
    assert counts == list(range(1, len(counts) + 1)), counts  # one kernel, in order
    errors = [
        o
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.outputs
        if o.output_type == "error" or getattr(o, "name", "") == "stderr"
    ]
    assert not errors, errors
    shown = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
    assert not shown.count(), shown.all_inner_texts()
    if name.startswith("06"):
        page.screenshot(path=str(ARTIFACTS / "forms-run-all.png"), full_page=False)
    if name.startswith("02"):
        # The journal knows which notebook made each change: Jupyter Server tells the kernel.
        journal = Journal(lab.root.parent / "home" / ".local/share/infranb/journal.sqlite")
        notebooks = set(journal.history(operation="orchestrate_containers").notebook)
        assert str(lab.root / name) in notebooks, notebooks
    page.close()
    lab.shutdown_kernels()
