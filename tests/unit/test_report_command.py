"""``infranb report``: the main job as a command installed with the package."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

from infranb.runbook.runner import (
    NO_VERDICT,
    SUMMARY_TAG,
    parameter_value,
    report_notebook,
    verdict_of,
    write_template,
)

REPO = Path(__file__).parents[2]


def _runbook(path: Path, verdict_code: str) -> Path:
    """A small runbook: a parameters cell, a section, a tagged summary that prints a verdict."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    params = nbformat.v4.new_code_cell('NAME = "first"\nDB_PASSWORD = "hunter2-param"\nCOUNT = 1')
    params.metadata["tags"] = ["parameters"]
    summary = nbformat.v4.new_code_cell(verdict_code)
    summary.metadata["tags"] = [SUMMARY_TAG]
    nb.cells = [
        nbformat.v4.new_markdown_cell("# A runbook"),
        params,
        nbformat.v4.new_markdown_cell("## Work"),
        nbformat.v4.new_code_cell('print("working on", NAME, COUNT)'),
        nbformat.v4.new_markdown_cell("## Summary"),
        summary,
    ]
    nbformat.write(nb, path)
    return path


def _report(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "infranb", "report", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=240,
    )


def test_parameters_are_read_as_papermill_reads_them() -> None:
    assert [parameter_value(v) for v in ("3", "2.5", "True", "None", "web")] == [
        3,
        2.5,
        True,
        None,
        "web",
    ]


def test_a_report_opens_with_the_verdict_and_exits_zero_only_when_ok(tmp_path: Path) -> None:
    _runbook(tmp_path / "ok.ipynb", 'print(f"VERDICT: OK - 1/1 checks passed ({NAME})")')
    ran = _report(tmp_path, "ok.ipynb", "-p", "NAME", "second", "-p", "COUNT", "7", "-o", "out")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "VERDICT: OK - 1/1 checks passed (second)" in ran.stdout
    html_path = Path(ran.stdout.split("report:")[1].split()[0])
    executed = Path(ran.stdout.split("executed:")[1].split()[0])
    assert html_path.parent == executed.parent == (tmp_path / "out").resolve()
    page = html_path.read_text()
    # the verdict, then the parameters (a secret's value masked), then the sections
    assert page.index("VERDICT: OK") < page.index("COUNT") < page.index("working on second 7")
    assert "hunter2-param" not in page
    assert "print(" not in page  # code is hidden in the report
    kept = nbformat.read(executed, 4)  # the executed notebook keeps the code
    assert any('print("working on"' in c.source for c in kept.cells)

    _runbook(tmp_path / "bad.ipynb", 'print("VERDICT: FAILED - 0/1 checks passed")')
    assert _report(tmp_path, "bad.ipynb", "-o", "out").returncode == 1
    _runbook(tmp_path / "raises.ipynb", 'raise RuntimeError("stopped")')
    stopped = _report(tmp_path, "raises.ipynb", "-o", "out")
    assert stopped.returncode == 1 and NO_VERDICT in stopped.stdout


def test_a_missing_notebook_is_one_clear_line(tmp_path: Path) -> None:
    ran = _report(tmp_path, "nowhere.ipynb")
    assert ran.returncode == 2 and "no notebook at nowhere.ipynb" in ran.stderr
    assert "Traceback" not in ran.stderr


def test_the_template_is_written_clean_and_never_over_a_file(tmp_path: Path) -> None:
    written = write_template(tmp_path)
    nb = nbformat.read(written, 4)
    assert any("parameters" in c.metadata.get("tags", []) for c in nb.cells)
    assert any(SUMMARY_TAG in c.metadata.get("tags", []) for c in nb.cells)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")
    with pytest.raises(FileExistsError):
        write_template(written)
    ran = _report(tmp_path, "--template", "mine.ipynb")
    assert ran.returncode == 0 and (tmp_path / "mine.ipynb").exists()
    again = _report(tmp_path, "--template", "mine.ipynb")
    assert again.returncode == 2 and "exists" in again.stderr


def test_the_summary_moves_to_the_top_and_its_heading_goes() -> None:
    nb = nbformat.read(REPO / "notebooks/07-runbook-template.ipynb", 4)
    laid_out = report_notebook(nb, {"STACK": "'runbook'"}, "runbook")
    header, summary = laid_out.cells[0], laid_out.cells[1]
    assert "STACK" in header.outputs[0]["data"]["text/html"]
    assert SUMMARY_TAG in summary.metadata["tags"]
    assert not any(c.source.strip() == "## Summary" for c in laid_out.cells)
    assert verdict_of(nb).startswith("VERDICT: OK")  # the committed run's own verdict
    assert not any(
        o.get("output_type") == "stream" and "VERDICT" in o.get("text", "") for o in summary.outputs
    )


def test_the_template_ships_in_the_wheel(tmp_path: Path) -> None:
    """A pip user has `infranb report --template` too: the wheel carries the notebook."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "-q",
            "-w",
            str(tmp_path),
            str(REPO),
        ],
        check=True,
        capture_output=True,
        timeout=240,
    )
    (wheel,) = tmp_path.glob("infranb-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        assert "infranb/templates/runbook-template.ipynb" in names
        template = archive.read("infranb/templates/runbook-template.ipynb").decode()
        assert "report-summary" in template
        entry = archive.read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
        assert "infranb = infranb.cli:main" in entry
