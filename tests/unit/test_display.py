from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest

from infranb import InfrastructureOperation, InfrastructureResult
from infranb.core.planning import PlanStep
from infranb.core.textframe import TextFrame
from infranb.models import ContainerOutcome, HealthRecord, ImageOutcome, RemovedResource
from infranb.views import exec as exec_view
from infranb.views import logs as logs_view
from infranb.views import stats as stats_view

HOSTILE = '<script>alert("x")</script>&\''


def results() -> list[InfrastructureResult]:
    when = datetime(2026, 1, 1, tzinfo=UTC)
    return [
        InfrastructureResult(
            True,
            "orchestrate_containers",
            containers=[
                ContainerOutcome(
                    "web",
                    "img",
                    "create",
                    0,
                    "running",
                    "healthy",
                    "abc",
                    ("1->80",),
                    ("net",),
                    when,
                    1.5,
                )
            ],
        ),
        InfrastructureResult(
            True,
            "orchestrate_containers",
            dry_run=True,
            plan=[PlanStep("web", "create", 0, "img", "not on the engine yet")],
        ),
        InfrastructureResult(
            True, "manage_images", images=[ImageOutcome("a:1", "pulled", "sha", 10, 0.1)]
        ),
        InfrastructureResult(
            True, "cleanup_resources", removed=[RemovedResource("container", "x", "id", 5, "st")]
        ),
        InfrastructureResult(
            True,
            "health_check",
            health=[HealthRecord("web", "healthy", "running", None, 0, "ok", when)],
        ),
    ]


@pytest.mark.parametrize("result", results(), ids=lambda r: f"{r.operation}-{r.dry_run}")
def test_frames_have_fixed_schema_also_when_empty(result: InfrastructureResult) -> None:
    full = result.to_frame()
    empty = InfrastructureResult(True, result.operation, dry_run=result.dry_run).to_frame()
    assert len(full) == 1
    assert list(full.columns) == list(empty.columns)
    assert dict(full.dtypes) == dict(empty.dtypes)


def test_datetimes_are_utc_and_sizes_integers() -> None:
    data = results()[0].to_frame()
    assert str(data["started_at"].dtype) == "datetime64[ns, UTC]"
    assert isinstance(data["action"].dtype, pd.CategoricalDtype)
    assert str(results()[2].to_frame()["size"].dtype) == "Int64"


def test_html_escapes_everything() -> None:
    result = InfrastructureResult(
        False,
        "health_check",
        error=HOSTILE,
        health=[HealthRecord(HOSTILE, "unhealthy", "running", None, 3, HOSTILE, None)],
        health_details={HOSTILE: {"last_output": HOSTILE}},
    )
    html = result._repr_mimebundle_()["text/html"]
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    assert "&quot;x&quot;" in html and "&#x27;" in html and "&amp;" in html


def test_renders_are_deterministic() -> None:
    for result in results():
        assert result._repr_mimebundle_() == result._repr_mimebundle_()
        assert "uuid" not in result._repr_mimebundle_()["text/html"]


def test_operation_repr_masks_secrets_and_shows_waves() -> None:
    op = InfrastructureOperation(
        operation="orchestrate_containers",
        containers=[
            {"image": "i", "name": "db", "environment": {"POSTGRES_PASSWORD": "hunter22"}},
            {"image": "i", "name": "web", "depends_on": ["db"]},
        ],
    )
    bundle = op._repr_mimebundle_()
    for text in bundle.values():
        assert "hunter22" not in text
    assert "wave 1: web" in bundle["text/plain"]


def test_plain_text_fallback_is_present() -> None:
    html = results()[0]._repr_mimebundle_()["text/html"]
    assert 'class="inb-text-fallback"' in html and "hidden" in html


def test_logs_and_exec_frames_mask_secrets() -> None:
    logs = logs_view.to_frame(
        "db", ["2026-01-01T00:00:00.123456789Z pw is hunter22", "junk"], ["hunter22"]
    )
    assert "hunter22" not in logs.to_string()
    assert str(logs["time"].dtype) == "datetime64[ns, UTC]"
    assert pd.isna(logs["time"][1])
    out = exec_view.to_frame("db", ["echo", "hunter22"], 0, "hunter22\n", ["hunter22"])
    assert "hunter22" not in out.to_string()


def test_engine_parses_stats_and_the_frame_keeps_them() -> None:
    from infranb.engines.docker import _stats_sample

    raw = {
        "cpu_stats": {
            "cpu_usage": {"total_usage": 200},
            "system_cpu_usage": 2000,
            "online_cpus": 2,
        },
        "precpu_stats": {"cpu_usage": {"total_usage": 100}, "system_cpu_usage": 1000},
        "memory_stats": {"usage": 100, "limit": 1000, "stats": {"inactive_file": 0}},
        "networks": {"eth0": {"rx_bytes": 5, "tx_bytes": 6}},
    }
    sample = _stats_sample("web", raw)
    assert sample.cpu_percent == 20.0
    row = stats_view.to_frame([sample]).iloc[0]
    assert row["name"] == "web"
    assert row["cpu_percent"] == 20.0
    assert row["memory_percent"] == 10.0
    assert row["net_rx_bytes"] == 5


def test_plan_shows_itself_with_warnings_escaped() -> None:
    from infranb import Plan

    plan = Plan(
        [
            PlanStep(
                "web",
                "create",
                0,
                "img",
                "not on the engine yet",
                warnings=("bind-mounts the sensitive host path <script>",),
            ),
            PlanStep("old", "remove-orphan", None, "", "in the stack but not in this request"),
        ]
    )
    bundle = plan._repr_mimebundle_()
    assert bundle["text/plain"].startswith("PLAN 1 create, 1 remove-orphan")
    assert "&lt;script&gt;" in bundle["text/html"] and "<script>" not in bundle["text/html"]
    assert list(plan.to_frame()["name"]) == ["web", "old"]
    assert bundle == plan._repr_mimebundle_()


def test_mimebundle_honours_include_and_exclude() -> None:
    result = results()[0]
    assert set(result._repr_mimebundle_(include=["text/plain"])) == {"text/plain"}
    assert set(result._repr_mimebundle_(exclude=["text/plain"])) == {"text/html"}


def test_a_request_is_described_with_the_config_that_will_run_it() -> None:
    from infranb import InfrastructureManager, InfrastructureManagerConfig
    from infranb.testing import MemoryEngine

    op = InfrastructureOperation(
        operation="orchestrate_containers",
        containers=[
            {
                "image": "img",
                "name": "db",
                "environment": {"MYAPP_PIN": "4321-pin"},
                "volumes": {"/etc": "/host-etc:ro"},
            }
        ],
    )
    config = InfrastructureManagerConfig(secret_markers=("PIN",), allow_sensitive_mounts=True)
    manager = InfrastructureManager(config, engine=MemoryEngine())
    described = manager.describe(op)
    assert described.problems() == []  # the bare op is invalid under the default config
    assert op.validate()
    for text in (str(described), described._repr_mimebundle_()["text/html"]):
        assert "4321-pin" not in text


def test_the_same_result_shown_twice_gets_its_own_section_ids() -> None:
    import re

    result = InfrastructureResult(False, "manage_images", build_logs=["step 1"], error="x")
    first = result._repr_mimebundle_()["text/html"]
    second = result._repr_mimebundle_()["text/html"]
    ids = re.findall(r'id="(inb-[^"]+)"', first)
    assert ids and not set(ids) & set(re.findall(r'id="(inb-[^"]+)"', second))


def test_the_manager_repr_never_calls_the_engine() -> None:
    from infranb import InfrastructureManager
    from infranb.testing import MemoryEngine

    engine = MemoryEngine()
    manager = InfrastructureManager(engine=engine)
    assert "manager.info()" in repr(manager._repr_mimebundle_())
    assert engine.calls == []
    manager.refresh()
    assert engine.calls == ["info"]
    assert "memory" in manager._repr_mimebundle_()["text/plain"]
    assert engine.calls == ["info"]


def test_bytes_read_as_units_in_html_and_stay_numbers_in_frames() -> None:
    result = InfrastructureResult(
        True,
        "cleanup_resources",
        removed=[RemovedResource("volume", "v", "v", 3 * 1024 * 1024, "st")],
    )
    html = result._repr_mimebundle_()["text/html"]
    assert '<td title="3145728 bytes">3.0 MiB</td>' in html
    assert result.to_frame()["bytes_reclaimed"].iloc[0] == 3 * 1024 * 1024


def test_log_lines_show_in_full_and_left_aligned() -> None:
    long_line = "x" * 120 + " <end>"
    logs = logs_view.to_frame("web", [f"2026-01-01T00:00:00.000000000Z {long_line}"])
    html = logs._repr_html_()
    assert "x" * 120 + " &lt;end&gt;" in html  # not cut at 50 characters, escaped
    assert 'class="inb-table"' in html  # our table: text-align left, wrapped
    assert "title=" not in html  # shown whole, not cut with its text on hover
    assert list(logs.columns) == ["time", "container", "stream", "line"]
    assert isinstance(logs.head(1), TextFrame)
