"""The main job end to end: scripts/runbook.sh leaves a self-contained report."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.browser.conftest import ARTIFACTS, REPO


def test_main_job_report_is_self_contained(browser) -> None:
    run = subprocess.run(
        ["bash", "scripts/runbook.sh", "-p", "STACK", "inbt-report", "-p", "WEB_PORT", "18072"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
    report = Path(re.search(r"^report:\s+(\S+)$", run.stdout, re.M).group(1))
    executed = Path(re.search(r"^executed:\s+(\S+)$", run.stdout, re.M).group(1))
    assert report.exists() and executed.exists()
    assert "VERDICT: OK" in run.stdout

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
