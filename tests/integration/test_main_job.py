"""The README's main job, checked without a browser: it runs, says OK, leaves a report."""

from __future__ import annotations

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
