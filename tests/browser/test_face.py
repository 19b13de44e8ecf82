"""The notebook face in JupyterLab at a 1000 px window (side bar closed), light and dark:
no word in an infranb table is broken across lines (a DOM Range per word has one client
rect), the default tables fit the output area, the pictures are there, and text keeps a
readable contrast in the dark theme. Screenshots go to tests/artifacts/."""

from __future__ import annotations

import nbformat
import pytest

from infranb.engines.docker import DockerEngine
from tests.browser.conftest import ARTIFACTS, free_port
from tests.browser.test_lab import open_notebook, run_menu, saved_after_run
from tests.conftest import raw_api

CELLS = [
    """
from infranb import InfrastructureManager, InfrastructureManagerConfig, InfrastructureOperation
STACK = "{uid}-face"
manager = InfrastructureManager(
    config=InfrastructureManagerConfig(health_check_interval=0.3, stop_timeout=1, min_uptime=0)
)
net = [f"{{STACK}}-network"]
stack = InfrastructureOperation(
    operation="orchestrate_containers",
    stack=STACK,
    containers=[
        {{"image": "infranb-demo/web:1", "name": f"{{STACK}}-database", "networks": net,
          "healthcheck": {{"test": ["CMD", "true"], "interval": "1s"}}}},
        {{"image": "infranb-demo/web:1", "name": f"{{STACK}}-frontend-web", "networks": net,
          "ports": {{"80": "127.0.0.1:{port}"}}, "depends_on": {{f"{{STACK}}-database": "healthy"}},
          "volumes": {{f"{{STACK}}-static-files": "/usr/share/static-files"}}}},
    ],
)
""",
    "plan = await manager.execute(InfrastructureOperation(**{{**stack.__dict__, 'dry_run': True}}))"
    "\nplan",
    "result = await manager.execute(stack)\nresult",
    "await manager.astats(stack=STACK, samples=3)",
    "manager.history(stack=STACK)",
    "manager.containers(stack=STACK)",
    """
down = await manager.execute(InfrastructureOperation(
    operation="cleanup_resources", stack=STACK, cleanup_stopped_containers=True,
    force_remove=True, cleanup_volumes=True))
print("torn down:", down.success)
""",
]

#: every word of every visible infranb table cell, and whether it sits on one line
BROKEN_WORDS = """() => {
  const broken = [];
  const selector = '.inb-wrap table.inb-table td, .inb-wrap table.inb-table th';
  const cells = [...document.querySelectorAll(selector)]
    .filter(c => c.getClientRects().length > 0);
  for (const cell of cells) {
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) {
      const node = walker.currentNode;
      for (const m of node.textContent.matchAll(/\\S+/g)) {
        const range = document.createRange();
        range.setStart(node, m.index);
        range.setEnd(node, m.index + m[0].length);
        const lines = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
        if (lines.size > 1) broken.push(m[0]);
      }
    }
  }
  return [cells.length, broken];
}"""

#: infranb outputs whose default view is wider than the output area
TOO_WIDE = """() => [...document.querySelectorAll('.jp-OutputArea-output')]
  .filter(o => o.querySelector('.inb-wrap') && o.getClientRects().length > 0)
  .filter(o => o.scrollWidth > o.clientWidth + 1 ||
     [...o.querySelectorAll(
        '.inb-wrap > table.inb-table, .inb-wrap > div > table.inb-table, .inb-wrap svg')]
       .filter(t => t.getClientRects().length > 0 && !t.closest('details:not([open])'))
       .some(t => t.getBoundingClientRect().right > o.getBoundingClientRect().right + 1))
  .map(o => o.innerText.slice(0, 80))"""

#: SVG text that spills out of its box (a diagram's node) or out of its picture
SPILLED_TEXT = """() => [...document.querySelectorAll('.inb-wrap svg.inb-svg text')]
  .filter(t => t.getClientRects().length > 0)
  .filter(t => { const r = t.getBoundingClientRect();
     const box = t.closest('g.inb-node') ? t.closest('g.inb-node').querySelector('rect')
                                         : t.closest('svg');
     const b = box.getBoundingClientRect();
     return r.left < b.left - 1 || r.right > b.right + 1; })
  .map(t => t.textContent)"""

#: text whose colour against its background is below WCAG's 4.5:1 (3:1 for bold or large)
LOW_CONTRAST = """() => {
  const rgb = s => (s.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
  const background = el => { for (let e = el; e; e = e.parentElement) {
      const c = rgb(getComputedStyle(e).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] > 0.5)) return c.slice(0, 3); }
    return [255, 255, 255]; };
  const rectFill = text => {
    const g = text.closest('g.inb-node');
    const r = g && g.querySelector('rect');
    return r ? rgb(getComputedStyle(r).fill).slice(0, 3) : null; };
  const low = [];
  const shown = ['td', 'th', '.inb-title', '.inb-muted', '.inb-badge', 'svg text', 'summary'];
  const texts = [...document.querySelectorAll(shown.map(s => '.inb-wrap ' + s).join(', '))]
    .filter(e => e.getClientRects().length > 0 && e.textContent.trim());
  for (const el of texts) {
    const style = getComputedStyle(el);
    const svg = el instanceof SVGElement;
    const fg = rgb(svg ? style.fill : style.color).slice(0, 3);
    const bg = (svg && rectFill(el)) || background(svg ? el.closest('svg').parentElement : el);
    const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
    const ratio = (a + 0.05) / (b + 0.05);
    const bold = Number(style.fontWeight) >= 600 || parseFloat(style.fontSize) >= 18;
    if (ratio < (bold ? 3 : 4.5)) {
      low.push(`${el.textContent.trim().slice(0, 30)} ${ratio.toFixed(2)}`); }
  }
  return [texts.length, low];
}"""


def set_theme(page, name: str) -> None:
    page.locator(".lm-MenuBar-itemLabel", has_text="Settings").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Theme").first.hover()
    page.locator(".lm-Menu-itemLabel", has_text=name).first.click()
    page.wait_for_function(
        "(dark) => document.body.dataset.jpThemeLight === (dark ? 'false' : 'true')",
        arg=name.endswith("Dark"),
        timeout=20_000,
    )
    page.wait_for_timeout(500)


@pytest.mark.timeout(600)
def test_the_face_at_1000px_light_and_dark(browser, lab, engine: DockerEngine, uid) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [
        nbformat.v4.new_code_cell(c.format(uid=uid, port=free_port()).strip()) for c in CELLS
    ]
    path = lab.root / "face-test.ipynb"
    nbformat.write(nb, path)
    try:
        page = open_notebook(browser, lab, "face-test.ipynb")
        page.set_viewport_size({"width": 1000, "height": 1000})
        if page.locator("#jp-left-stack:visible").count():
            page.keyboard.press("Control+b")  # close the side bar
        page.wait_for_function(
            "() => !document.querySelector('#jp-left-stack:not(.lm-mod-hidden)')"
            " || document.querySelector('#jp-left-stack').offsetWidth === 0",
            timeout=10_000,
        )
        run_menu(page, "Run All Cells")
        saved = saved_after_run(page, path)
        assert "torn down: True" in str(saved.cells[-1].outputs)
        shown = [str(c.outputs) for c in saved.cells[1:3]]
        assert all("inb-ok" in out or "inb-plan" in out for out in shown), shown
        news = page.get_by_role("button", name="No", exact=True)
        if news.count():  # JupyterLab's question about news covers the outputs' corner
            news.first.click()
        page.wait_for_timeout(500)
        ARTIFACTS.mkdir(exist_ok=True)
        for theme in ("JupyterLab Light", "JupyterLab Dark"):
            if theme.endswith("Dark"):
                set_theme(page, theme)
            cells, broken = page.evaluate(BROKEN_WORDS)
            assert cells > 40 and broken == [], (theme, broken)
            assert page.evaluate(TOO_WIDE) == [], theme
            svgs = page.locator(".inb-wrap svg.inb-svg:visible")
            # the plan's diagram, the result's timeline, the CPU and the memory chart
            assert svgs.count() >= 4, svgs.count()
            assert page.locator(".inb-wrap svg.inb-svg polyline:visible").count() >= 2
            assert page.evaluate(SPILLED_TEXT) == []
            checked, low = page.evaluate(LOW_CONTRAST)
            assert checked > 40 and low == [], (theme, low)
            page.screenshot(
                path=str(ARTIFACTS / f"face-{theme.split()[-1].lower()}.png"), full_page=True
            )
        set_theme(page, "JupyterLab Light")  # the lab is shared by the other tests
        page.close()
        lab.shutdown_kernels()
    finally:
        api = raw_api()
        for c in engine.list_containers(labels={"infranb.stack": f"{uid}-face"}):
            api.remove_container(c.id, force=True)
        for v in engine.list_volumes():
            if v.name.startswith(uid):
                api.remove_volume(v.name, force=True)
        for n in engine.list_networks():
            if n.name.startswith(uid):
                api.remove_network(n.name)
        path.unlink(missing_ok=True)
