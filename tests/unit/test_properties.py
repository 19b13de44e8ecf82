"""Property tests: any request either validates or fails with a problem naming its field,
and an invalid request never reaches the engine."""

from __future__ import annotations

import asyncio
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from infranb import InfrastructureManager, InfrastructureOperation
from infranb.core.specs import CONTAINER_KEYS
from infranb.ops.table import OPERATIONS

HOSTILE = st.sampled_from(
    [
        "",
        " ",
        "a/b",
        "..",
        "../etc",
        "web server",
        "ünïcødé",
        "x" * 300,
        "<script>alert(1)</script>",
        '" onmouseover="x',
        "a\x00b",
        "\n",
        "-rm",
        "😀",
        "web",
        "db-1",
        "0",
        "/",
        "./data",
        "8080:80",
        "80/udp",
        "1m30s",
        "500ms",
        "healthy",
        "infranb.stack",
    ]
)
TEXT = st.one_of(HOSTILE, st.text(max_size=20))
SCALAR = st.one_of(TEXT, st.integers(-5, 70000), st.booleans(), st.none(), st.floats())
VALUE = st.recursive(
    SCALAR,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(TEXT, inner, max_size=3)),
    max_leaves=6,
)
CONTAINER = st.dictionaries(st.one_of(st.sampled_from(CONTAINER_KEYS), TEXT), VALUE, max_size=6)
OPERATION = st.builds(
    InfrastructureOperation,
    operation=st.one_of(st.sampled_from(tuple(OPERATIONS)), TEXT),
    containers=st.lists(CONTAINER, max_size=3),
    image_params=st.dictionaries(
        st.sampled_from(["action", "image", "path", "tag", "x"]), VALUE, max_size=4
    ),
    cleanup_stopped_containers=st.booleans(),
    cleanup_unused_images=st.booleans(),
    container_ids=st.lists(TEXT, max_size=3),
    stack=st.one_of(st.none(), TEXT),
    scope=st.sampled_from(["managed", "all", "host"]),
    params=st.dictionaries(
        st.sampled_from(["remove", "restart", "cpus", "host_path", "container_path", "x"]),
        VALUE,
        max_size=4,
    ),
)
FIELDS = (
    "operation",
    "containers",
    "image_params",
    "params",
    "cleanup_",
    "container_ids",
    "stack",
    "scope",
    "force_remove",
    "dry_run",
    "remove_orphans",
    "allow_sensitive_mounts",
)


class NoEngine:
    """Any use of the engine is a test failure: invalid requests must not get this far."""

    host = "nowhere"

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the engine was touched ({name}) for an invalid request")


@settings(max_examples=300, deadline=None)
@given(OPERATION)
def test_validate_never_raises_and_names_fields(op: InfrastructureOperation) -> None:
    problems = op.validate()
    assert isinstance(problems, list)
    for problem in problems:
        assert problem.split(":")[0].startswith(FIELDS) or problem.startswith(
            "cleanup_stopped_containers"
        ), problem


@settings(max_examples=200, deadline=None)
@given(OPERATION)
def test_invalid_requests_never_touch_the_engine(op: InfrastructureOperation) -> None:
    if not op.validate():
        return  # valid requests are exercised against the real engine elsewhere
    manager = InfrastructureManager(engine=NoEngine())  # type: ignore[arg-type]
    result = asyncio.run(manager.execute(op))
    assert not result.success
    assert result.error and result.error.startswith("invalid request: ")
    html = result._repr_mimebundle_()["text/html"]
    assert "<script>" not in html
