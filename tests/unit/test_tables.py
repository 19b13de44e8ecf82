"""Table cells a person reads at a glance (issue 29, "Tables"): the HTML only; the frame
keeps its raw values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd

from infranb.notebook.tables import css, human_seconds, table


def test_cells_read_as_people_read_them() -> None:
    when = datetime(2026, 12, 2, 18, 28, 3, 123456, tzinfo=UTC)
    frame = pd.DataFrame(
        {
            "name": ["web", "db"],
            "id": ["sha256:" + "a" * 64, "b" * 64],
            "running": pd.array([True, False], dtype="boolean"),
            "exit_code": pd.array([pd.NA, 3], dtype="Int64"),
            "seconds_to_ready": [1.43, 0.05],
            "size": pd.array([13_000_000, pd.NA], dtype="Int64"),
            "started_at": [when, when + timedelta(seconds=5)],
            "error": ["x" * 200, None],
        }
    )
    html = table(frame)
    local = when.astimezone()
    day = local.date().isoformat()  # the date once, in the header, kept on one line
    assert f'<th>started_at <span class="inb-w">({day})</span></th>' in html
    assert f"<td>{local.strftime('%H:%M:%S')}</td>" in html  # no microseconds, local time
    assert '<td class="inb-nowrap">' + "a" * 12 + "</td>" in html  # ids of 12
    assert "sha256" not in html
    assert "<td>✓</td>" in html and "True" not in html and "False" not in html
    assert "<NA>" not in html and "nan" not in html.lower().replace("inb-", "")
    assert "<td>1.4 s</td>" in html and "<td>0.05 s</td>" in html
    assert '<td title="13000000 bytes">12.4 MiB</td>' in html
    assert f'<td title="{"x" * 200}">{"x" * 79}…</td>' in html  # cut, the full text on hover
    assert frame["running"].tolist() == [True, False]  # the frame is untouched


def test_rows_of_several_days_carry_their_date() -> None:
    first = datetime(2026, 12, 1, 23, 0, tzinfo=UTC).astimezone()
    frame = pd.DataFrame({"time": [first, first + timedelta(days=1)]})
    html = table(frame)
    assert "<th>time</th>" in html
    assert f'<span class="inb-w">{first.strftime("%Y-%m-%d")}</span> ' in html  # per row


def test_durations_and_no_word_breaks() -> None:
    assert [human_seconds(s) for s in (0.35, 1.44, 125, 3780)] == [
        "0.35 s", "1.4 s", "2 min 5 s", "1 h 3 min",
    ]  # fmt: skip
    assert "overflow-wrap: anywhere" not in css()  # words are never broken across lines
    # ... nor at a hyphen or a slash: such a word is kept whole
    html = table(pd.DataFrame({"ports": ["127.0.0.1:8080->80/tcp, 443/tcp"]}))
    assert (
        '<td><span class="inb-w">127.0.0.1:8080-&gt;80/tcp,</span> '
        '<span class="inb-w">443/tcp</span></td>'
    ) in html


def test_a_result_and_a_plan_show_their_essential_columns_first() -> None:
    from infranb.notebook import plan_bundle, result_bundle
    from infranb.testing import MemoryEngine
    from tests.unit.test_operations_memory import BASE, manager, stack_op

    m = manager(MemoryEngine([BASE]))
    result = m.run(stack_op())
    html = result_bundle(result)["text/html"]
    shown, _, rest = html.partition('<details class="inb-more">')
    heads = shown[shown.index("<thead>") : shown.index("</thead>")]
    assert heads == (
        "<thead><tr><th>name</th><th>action</th><th>state</th><th>health</th>"
        "<th>seconds_to_ready</th></tr>"
    )
    assert "<summary>all 11 columns</summary>" in rest and "<th>container_id</th>" in rest
    plan = plan_bundle(m.run(stack_op(dry_run=True)).plan)["text/html"]
    first = plan[plan.index("<thead>") : plan.index("</thead>")]
    assert first == (
        "<thead><tr><th>wave</th><th>name</th><th>action</th><th>reason</th><th>warnings</th></tr>"
    )
    assert list(result.to_frame().columns)[:3] == ["name", "image", "action"]  # raw schema


def test_a_time_with_nanoseconds_is_shown_without_a_warning() -> None:
    import warnings

    stamp = pd.Timestamp("2026-12-02T18:28:03.123456789Z")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a warning in a cell's output reads as a failure
        html = table(pd.DataFrame({"time": [stamp]}))
    assert stamp.to_pydatetime(warn=False).astimezone().strftime("%H:%M:%S") in html


def test_view_frames_show_their_first_columns_and_keep_every_value() -> None:
    """A view's frame is a DataFrame with its raw values; its HTML shows the columns one
    reads first and every column one click away, and at most display.max_rows rows."""
    import pandas as pd

    from infranb.core.frames import frame
    from infranb.core.textframe import Frame
    from infranb.views import containers

    rows = [
        {"name": f"c{i}", "state": "running", "managed": True, "created": None, "id": "a" * 64}
        for i in range(70)
    ]
    data = frame(rows, containers.SCHEMA, first=containers.FIRST_COLUMNS)
    assert isinstance(data, Frame) and list(data.columns) == list(containers.SCHEMA)
    assert data["id"].iloc[0] == "a" * 64  # raw values are kept
    html = data._repr_html_()
    default_view = html.split('<details class="inb-more">')[0]
    assert "<th>networks</th>" not in default_view and "<th>networks</th>" in html
    assert "<th>state</th>" in default_view
    assert f"… {70 - pd.get_option('display.max_rows')} more rows" in html
    # a filtered frame keeps its face
    assert isinstance(data[data.name == "c1"], Frame)
    assert '<details class="inb-more">' in data[data.name == "c1"]._repr_html_()
