"""The main job end to end: scripts/runbook.sh (``infranb report``) leaves a report that
reads as a report and renders offline."""

from __future__ import annotations

from tests.browser.conftest import ARTIFACTS
from tests.conftest import MainJob


def test_main_job_report_is_self_contained(browser, main_job: MainJob) -> None:
    """The report of the main job (run once, tests/conftest.py) renders offline."""
    assert main_job.returncode == 0, main_job.stdout[-2000:] + main_job.stderr[-3000:]
    report = main_job.report
    assert report is not None and report.exists()

    page = browser.new_page()
    page.set_viewport_size({"width": 1000, "height": 900})
    outside: list[str] = []
    failed: list[str] = []

    def only_local(route) -> None:
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_local)
    page.on("requestfailed", lambda request: failed.append(request.url))
    page.goto(report.as_uri(), wait_until="load")
    page.wait_for_selector(".widget-text input", timeout=30_000)  # the form rendered offline
    page.evaluate("document.fonts.ready")
    text = page.inner_text("body")
    assert "VERDICT: OK" in text
    assert "app reaches web by name" in text  # the summary table
    assert "seconds_to_ready" in text  # the per-container table

    def top(selector_text: str) -> float:
        return page.evaluate(
            """(t) => { const w = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
              while (w.nextNode()) { if (w.currentNode.textContent.includes(t)) {
                const r = document.createRange(); r.selectNodeContents(w.currentNode);
                return r.getBoundingClientRect().top + window.scrollY; } } return -1; }""",
            selector_text,
        )

    # It opens with the verdict, the parameters and the checks; the journal rows are last.
    verdict, parameter, check = top("VERDICT: OK"), top("WEB_PORT"), top("app reaches web")
    title, audit = top("07 · Runbook template"), top("Audit trail")
    assert 0 <= verdict < parameter < check < title < audit, (verdict, parameter, check, title)
    # Code is hidden (the executed notebook beside it keeps it).
    assert page.locator(".jp-InputArea-editor:visible").count() == 0
    assert "manager.execute(" not in text
    # The form's icons come from the icon font it carries; its labels use the theme's font.
    icon = page.evaluate(
        """() => { const i = document.querySelector('.jupyter-button i.fa, button i.fa');
          const s = getComputedStyle(i); return [s.fontFamily, i.getBoundingClientRect().width,
          document.fonts.check('900 12px "Font Awesome 5 Free"')]; }"""
    )
    assert "Font Awesome" in icon[0] and icon[1] >= 8 and icon[2], icon
    label_font = page.evaluate(
        "getComputedStyle(document.querySelector('.widget-label')).fontFamily"
    )
    assert "serif" not in label_font.replace("sans-serif", "") and "Times" not in label_font
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "report.png"), full_page=False)
    page.close()
    assert outside == [] and failed == [], (outside, failed)
