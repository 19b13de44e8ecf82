"""A real result's HTML repr rendered in Chromium: readable, escaped, collapsible, no JS."""

from __future__ import annotations

import pytest

from infranb import InfrastructureOperation
from tests.browser.conftest import ARTIFACTS
from tests.integration.conftest import BASE, WEB, fast_config

pytestmark = pytest.mark.usefixtures("demo_images")

#: the words of infranb table cells that the page lays out on more than one line
BROKEN_WORDS = """() => {
  const broken = [];
  for (const td of document.querySelectorAll('.inb-table td')) {
    const walker = document.createTreeWalker(td, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      for (const m of node.data.matchAll(/\\S+/g)) {
        const range = document.createRange();
        range.setStart(node, m.index);
        range.setEnd(node, m.index + m[0].length);
        const lines = new Set([...range.getClientRects()].map((r) => Math.round(r.top)));
        if (lines.size > 1) broken.push(m[0]);
      }
    }
  }
  return broken;
}"""


def test_result_html_in_chromium(browser, engine, tracker, uid) -> None:
    from infranb import InfrastructureManager

    tracker.stacks.append(uid)
    with InfrastructureManager(config=fast_config()) as manager:
        ok = manager.run(
            InfrastructureOperation(
                operation="orchestrate_containers",
                stack=uid,
                containers=[
                    {
                        "image": WEB,
                        "name": f"{uid}-web",
                        "networks": [f"{uid}-n"],
                        "labels": {"note": "<b>not bold</b>"},
                    },
                    {
                        "image": BASE,
                        "name": f"{uid}-app",
                        "depends_on": [f"{uid}-web"],
                        "networks": [f"{uid}-n"],
                    },
                ],
            )
        )
        failed = manager.run(
            InfrastructureOperation(
                operation="orchestrate_containers",
                stack=uid,
                containers=[
                    {
                        "image": BASE,
                        "name": f"{uid}-bad",
                        "command": ["sh", "-c", "echo '<script>alert(1)</script>'; exit 2"],
                    }
                ],
            )
        )
    assert ok.success and not failed.success
    body = "".join(r._repr_mimebundle_()["text/html"] for r in (ok, failed))
    html_path = ARTIFACTS / "result-repr.html"
    ARTIFACTS.mkdir(exist_ok=True)
    html_path.write_text(f"<!doctype html><meta charset=utf-8><body>{body}</body>")

    page = browser.new_page()
    page.set_viewport_size({"width": 1000, "height": 900})
    page.goto(html_path.as_uri())
    # No word of a table cell is broken across lines (each word's own layout: a Range's
    # client rects all on one line).
    assert page.evaluate(BROKEN_WORDS) == []
    assert page.locator(".inb-text-fallback").first.is_hidden()  # CSS revealed the HTML part
    assert page.locator(".inb-wrap").first.is_visible()
    assert page.locator("script").count() == 0  # the container's output stayed text
    logs = page.locator(".inb-section", has_text="last log lines")
    details = logs.locator(".inb-details")
    assert details.is_visible()  # the dead container's log is open by default
    assert "<script>alert(1)</script>" in details.inner_text()
    logs.locator("label").click()  # collapses without JavaScript
    assert details.is_hidden()
    logs.locator("label").click()
    page.screenshot(path=str(ARTIFACTS / "result-repr.png"), full_page=True)
    page.close()
