"""The main job end to end: scripts/runbook.sh leaves a self-contained report."""

from __future__ import annotations

from tests.browser.conftest import ARTIFACTS
from tests.conftest import MainJob


def test_main_job_report_is_self_contained(browser, main_job: MainJob) -> None:
    """The report of the main job (run once, tests/conftest.py) renders offline."""
    assert main_job.returncode == 0, main_job.stdout[-2000:] + main_job.stderr[-3000:]
    report = main_job.report
    assert report is not None and report.exists()

    page = browser.new_page()
    outside: list[str] = []

    def only_local(route) -> None:
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_local)
    page.goto(report.as_uri(), wait_until="load")
    page.wait_for_selector(".widget-text input", timeout=30_000)  # the form rendered offline
    text = page.inner_text("body")
    assert "VERDICT: OK" in text
    assert "app reaches web by name" in text  # the summary table
    assert "seconds_to_ready" in text  # the per-container table
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "report.png"), full_page=False)
    page.close()
    assert outside == []
