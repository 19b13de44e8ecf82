"""``infranb report``: run a runbook notebook headless and leave an offline HTML report.

The report reads as a report: the verdict, the parameters it ran with and the checks table
first (the outputs of the cell tagged ``report-summary``), then every section with its code
hidden, the journal rows of the run at the end (the template's last cell). The executed
notebook beside it keeps the code: it is the audit record.

The verdict is the last ``VERDICT: ...`` line the notebook printed; a notebook that stopped
before printing one failed. Widgets render from local copies of the Jupyter widgets HTML
manager and require.js (from npm, fetched once into a cache), with the icon font they need:
nothing in the report is loaded from the network.
"""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from infranb.core.secrets import shown_value

#: the tag of the cell whose outputs open the report (the verdict and the checks table)
SUMMARY_TAG = "report-summary"
VERDICT_PREFIX = "VERDICT:"
#: what the report says when the notebook printed no verdict
NO_VERDICT = "VERDICT: FAILED - the runbook stopped before its summary"
#: the npm packages the offline report loads (the widgets' HTML manager, require.js)
NPM_PACKAGES = ("@jupyter-widgets/html-manager@1.0.15", "requirejs@2.3.7")
#: where the fetched npm packages are kept between reports
NPM_CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "infranb" / "npm"
TEMPLATE = "runbook-template.ipynb"


@dataclass(frozen=True)
class Report:
    """What one report run left: the report, the executed notebook, the verdict."""

    html: Path
    executed: Path
    verdict: str
    #: the notebook ran to its end (papermill raised nothing)
    completed: bool

    @property
    def ok(self) -> bool:
        return self.completed and self.verdict.startswith(f"{VERDICT_PREFIX} OK")


def parameter_value(text: str) -> Any:
    """A ``-p NAME VALUE`` value as papermill's command line reads it: True/False/None,
    an int, a float, or the text itself."""
    if text in ("True", "False", "None"):
        return {"True": True, "False": False, "None": None}[text]
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def write_template(destination: Path) -> Path:
    """Write the runbook template (no outputs) to ``destination`` (a file or a folder);
    an existing file is never overwritten."""
    import nbformat

    target = destination / TEMPLATE if destination.is_dir() else destination
    if target.exists():
        raise FileExistsError(f"{target} exists; name another file or remove it first")
    notebook = nbformat.reads(
        resources.files("infranb").joinpath(f"templates/{TEMPLATE}").read_text(), 4
    )
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    notebook.metadata.pop("widgets", None)
    notebook.metadata.pop("papermill", None)
    nbformat.write(notebook, target)
    return target


def run_report(
    notebook: Path,
    parameters: Mapping[str, Any],
    out_dir: Path,
    *,
    cell_timeout: float = 600,
    assets: Path | None = None,
) -> Report:
    """Execute ``notebook`` with papermill (in its own folder) and write the executed
    notebook and its offline report into ``out_dir``."""
    import papermill

    if not notebook.is_file():
        raise FileNotFoundError(f"no notebook at {notebook}; infranb report --template writes one")
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    executed = out_dir / f"{notebook.stem}-{stamp}.ipynb"
    # The journal names the notebook a run came from; papermill does not tell the kernel.
    os.environ.setdefault("INFRANB_NOTEBOOK", str(notebook))
    completed = True
    try:
        papermill.execute_notebook(
            str(notebook),
            str(executed),
            parameters=dict(parameters),
            cwd=str(notebook.parent.resolve()),
            execution_timeout=cell_timeout,
            log_output=False,
            progress_bar=False,
        )
    except papermill.PapermillExecutionError:
        completed = False  # the executed notebook has the error in its cell
    if not executed.exists():
        raise RuntimeError(f"papermill did not write {executed}")
    shown = {**_defaults(notebook), **{name: repr(v) for name, v in parameters.items()}}
    report = render_report(executed, shown, out_dir, assets=assets)
    return Report(report, executed, verdict_of(_read(executed)), completed)


def _read(path: Path) -> Any:
    import nbformat

    return nbformat.read(str(path), 4)


def _defaults(notebook: Path) -> dict[str, str]:
    """The parameters cell's values, as written there (Python source)."""
    import papermill

    return {
        name: str(parameter["default"])
        for name, parameter in papermill.inspect_notebook(str(notebook)).items()
    }


def verdict_of(notebook: Any) -> str:
    """The last ``VERDICT:`` line the notebook printed (``NO_VERDICT`` when none)."""
    found = [
        line
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if output.get("output_type") == "stream"
        for line in output.get("text", "").splitlines()
        if line.startswith(VERDICT_PREFIX)
    ]
    return found[-1] if found else NO_VERDICT


def header_html(notebook_name: str, verdict: str, parameters: Mapping[str, str]) -> str:
    """The report's first lines: the verdict as a badge, when, and the parameters as
    Python source (a parameter named like a secret is masked, so are URL credentials)."""
    from infranb.notebook.tables import css

    ok = verdict.startswith(f"{VERDICT_PREFIX} OK")
    badge = "OK" if ok else "FAILED"
    rows = "".join(
        f"<tr><th>{html.escape(name)}</th><td>{html.escape(shown_value(name, value))}</td></tr>"
        for name, value in parameters.items()
    )
    when = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")
    return (
        f'<div class="inb-wrap"><style>{css()}</style>'
        f'<div class="inb-header"><span class="inb-badge {"inb-ok" if ok else "inb-bad"}">'
        f'{badge}</span><span class="inb-title">{html.escape(notebook_name)}</span>'
        f'<span class="inb-muted">{html.escape(when)}</span></div>'
        f'<p class="inb-verdict">{html.escape(verdict)}</p>'
        f'<table class="inb-table"><thead><tr><th>parameter</th><th>value</th></tr></thead>'
        f"<tbody>{rows}</tbody></table></div>"
    )


def report_notebook(notebook: Any, parameters: Mapping[str, str], name: str) -> Any:
    """A copy of the executed notebook laid out as a report: a header cell, the summary
    cell's outputs (less its verdict line, which the header says), then the rest."""
    import copy

    import nbformat

    report = copy.deepcopy(notebook)
    verdict = verdict_of(notebook)
    header = nbformat.v4.new_code_cell(source="")
    header.outputs = [
        nbformat.v4.new_output(
            "display_data", data={"text/html": header_html(name, verdict, parameters)}
        )
    ]
    summary = [c for c in report.cells if SUMMARY_TAG in c.get("metadata", {}).get("tags", [])]
    moved = []
    for cell in summary:
        before = report.cells[report.cells.index(cell) - 1]
        if before.cell_type == "markdown" and re.fullmatch(r"#+ [^\n]*", before.source.strip()):
            report.cells.remove(before)  # its heading alone: the summary is at the top now
        moved.append(copy.deepcopy(cell))
        moved[-1].outputs = [
            o
            for o in cell.outputs
            if not (
                o.get("output_type") == "stream"
                and o.get("text", "").lstrip().startswith(VERDICT_PREFIX)
            )
        ]
        report.cells.remove(cell)
    # Papermill's injected-parameters cell is in the header now.
    report.cells = [header, *moved] + [
        c
        for c in report.cells
        if "injected-parameters" not in c.get("metadata", {}).get("tags", [])
        and "parameters" not in c.get("metadata", {}).get("tags", [])
    ]
    return report


def render_report(
    executed: Path,
    parameters: Mapping[str, str],
    out_dir: Path,
    *,
    assets: Path | None = None,
) -> Path:
    """Write ``executed`` as an offline HTML report in ``out_dir`` (code hidden)."""
    import nbformat
    from nbconvert import HTMLExporter

    notebook = report_notebook(_read(executed), parameters, executed.stem)
    found = assets or fetch_assets()
    local = out_dir / "assets"
    exporter = HTMLExporter(template_name="lab")
    exporter.exclude_input = True
    exporter.exclude_input_prompt = True
    exporter.exclude_output_prompt = True
    if found is not None:
        copy_assets(found, local)
        exporter.widget_renderer_url = "assets/html-manager/embed-amd.js"
        exporter.require_js_url = "assets/require.js"
    else:  # no local widget manager: forms show as their text, nothing remote is loaded
        print("report: forms are shown as text (npm was not found to fetch the widget manager)")
        notebook.metadata.pop("widgets", None)
        for cell in notebook.cells:
            for output in cell.get("outputs", []):
                output.get("data", {}).pop("application/vnd.jupyter.widget-view+json", None)
        local.mkdir(parents=True, exist_ok=True)
        exporter.require_js_url = "assets/no-require.js"
        (local / "no-require.js").write_text("// not needed: this report has no widgets\n")
    exporter.mathjax_url = "assets/no-mathjax.js"
    local.mkdir(parents=True, exist_ok=True)
    (local / "no-mathjax.js").write_text("// MathJax is not needed by infranb reports\n")
    body, _ = exporter.from_notebook_node(nbformat.from_dict(notebook))
    target = out_dir / f"{executed.stem}.html"
    target.write_text(body.replace("</head>", REPORT_CSS + "</head>", 1))
    return target


def fetch_assets(cache: Path = NPM_CACHE) -> Path | None:
    """The npm packages' folder (``node_modules``), fetched once with npm; ``None`` when
    they are not there and npm is not installed."""
    modules = cache / "node_modules"
    if (modules / "@jupyter-widgets/html-manager/dist/embed-amd.js").is_file():
        return modules
    npm = shutil.which("npm")
    if npm is None:
        return None
    cache.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [npm, "install", "--silent", "--no-audit", "--no-fund", "--no-save", *NPM_PACKAGES],
        cwd=cache,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return modules


#: a font file the widget manager's CSS names relative to its module (which resolves
#: against the page, not the script): it is put in the script as a data URL instead
_FONT_URL = re.compile(r'\w\.p\+"([0-9a-f]{20}\.woff2)"')

#: what the widget manager's CSS leaves to the page: the theme's font for the forms
REPORT_CSS = """<style>
.jupyter-widgets, .jupyter-widgets input, .jupyter-widgets button, .jupyter-widgets select,
.jupyter-widgets textarea, .widget-label, .jupyter-widgets .widget-html-content {
  font-family: var(--jp-ui-font-family, system-ui, sans-serif);
  font-size: var(--jp-widgets-font-size, 13px);
}
</style>"""


def copy_assets(modules: Path, local: Path) -> None:
    """The widget manager and require.js into ``local`` (``assets`` beside the report),
    the manager's icon fonts (woff2, which every current browser reads) inside its script."""
    import base64

    dist = modules / "@jupyter-widgets/html-manager/dist"
    target = local / "html-manager"
    target.mkdir(parents=True, exist_ok=True)

    def inline(found: re.Match[str]) -> str:
        data = base64.b64encode((dist / found.group(1)).read_bytes()).decode()
        return f'"data:font/woff2;base64,{data}"'

    for name in ("embed-amd.js", "libembed-amd.js"):
        text = (dist / name).read_text()
        (target / name).write_text(_FONT_URL.sub(inline, text))
    shutil.copyfile(modules / "requirejs/require.js", local / "require.js")


def main(arguments: Sequence[str]) -> int:
    """``infranb report`` on the command line (see ``infranb.cli``)."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="infranb report",
        description="Run a runbook notebook headless and write an offline HTML report and "
        "the executed notebook. Exit code 0 only when the verdict is OK.",
    )
    parser.add_argument("notebook", nargs="?", type=Path, help="the runbook to run")
    parser.add_argument(
        "-p",
        "--parameter",
        nargs=2,
        action="append",
        default=[],
        metavar=("NAME", "VALUE"),
        help="a parameter (read as papermill reads it: True/False/None, a number, or text)",
    )
    parser.add_argument("-o", "--output-dir", type=Path, default=Path("reports"))
    parser.add_argument(
        "--template",
        nargs="?",
        const=Path("."),
        type=Path,
        metavar="PATH",
        help="write the runbook template to start from (to PATH, a file or folder)",
    )
    parser.add_argument("--cell-timeout", type=float, default=600, metavar="SECONDS")
    options = parser.parse_args(list(arguments))
    if options.template is not None:
        try:
            written = write_template(options.template)
        except FileExistsError as error:
            parser.exit(2, f"infranb report: {error}\n")
        print(f"template: {written.resolve()}")
        return 0
    if options.notebook is None:
        parser.error("name a notebook to run (or --template to write one)")
    parameters = {name: parameter_value(value) for name, value in options.parameter}
    try:
        report = run_report(
            options.notebook, parameters, options.output_dir, cell_timeout=options.cell_timeout
        )
    except FileNotFoundError as error:
        parser.exit(2, f"infranb report: {error}\n")
    print(f"report:   {report.html.resolve()}")
    print(f"executed: {report.executed.resolve()}")
    print(report.verdict)
    return 0 if report.ok else 1
