"""The README's main job, checked without a browser: it runs, says OK, leaves a report."""

from __future__ import annotations

import nbformat

from tests.conftest import MainJob


def test_main_job_passes_its_own_checks(main_job: MainJob) -> None:
    tail = main_job.stdout[-2000:] + main_job.stderr[-3000:]
    assert main_job.returncode == 0, tail
    verdicts = [line for line in main_job.stdout.splitlines() if line.startswith("VERDICT:")]
    assert verdicts and verdicts[-1].startswith("VERDICT: OK"), tail
    assert main_job.report is not None and main_job.report.exists()
    assert main_job.executed is not None and main_job.executed.exists()
    html = main_job.report.read_text()
    assert "VERDICT: OK" in html and "VERDICT: FAILED" not in html
    # It opens with the verdict and the parameters, and ends with the journal rows of its run.
    assert html.index("VERDICT: OK") < html.index("WEB_PORT") < html.index("Audit trail")
    assert "18072" in html.split("Audit trail")[0]
    last = nbformat.read(main_job.executed, as_version=4).cells[-1]
    (journal_rows,) = (o["data"]["text/plain"] for o in last.outputs)
    assert journal_rows.count("succeeded") == 2, journal_rows
    assert "orchestrate_containers" in journal_rows and "cleanup_resources" in journal_rows
