"""Each sync/async pair is one definition: the sync twin has the async one's parameters and
docstring (what ``?`` and tab completion show), and runs it."""

from __future__ import annotations

import asyncio
import inspect

import pytest

from infranb import Fleet, InfrastructureManager, InfrastructureManagerConfig
from infranb.testing import MemoryEngine
from infranb.views import VIEWS

PAIRS = [
    ("execute", "run"),
    ("aup", "up"),
    ("adown", "down"),
    ("arevert", "revert"),
    ("astop", "stop"),
    ("arestart", "restart"),
    *((f"a{name}", name) for name in VIEWS),
]
FLEET_PAIRS = [
    ("execute", "run"),
    ("aengines", "engines"),
    ("ahealth", "health"),
    *((f"a{name}", name) for name in VIEWS),
]


@pytest.fixture
def manager() -> InfrastructureManager:
    return InfrastructureManager(engine=MemoryEngine(["busybox:1"]))


def _check_pair(owner: object, asynchronous: str, synchronous: str) -> None:
    a, s = getattr(owner, asynchronous), getattr(owner, synchronous)
    assert inspect.iscoroutinefunction(a) or inspect.iscoroutinefunction(
        getattr(a, "__wrapped__", None)
    ), asynchronous
    assert not inspect.iscoroutinefunction(s), synchronous
    assert inspect.signature(s) == inspect.signature(a), synchronous
    assert "self" not in inspect.signature(s).parameters
    assert s.__doc__ and s.__doc__ == a.__doc__, synchronous
    assert s.__name__ == synchronous


@pytest.mark.parametrize(("asynchronous", "synchronous"), PAIRS)
def test_manager_twins_share_one_signature_and_docstring(
    manager: InfrastructureManager, asynchronous: str, synchronous: str
) -> None:
    _check_pair(manager, asynchronous, synchronous)


@pytest.mark.parametrize(("asynchronous", "synchronous"), FLEET_PAIRS)
def test_fleet_twins_share_one_signature_and_docstring(
    manager: InfrastructureManager, asynchronous: str, synchronous: str
) -> None:
    _check_pair(Fleet({"local": manager}), asynchronous, synchronous)


def test_a_view_has_its_query_signature_less_the_context(manager: InfrastructureManager) -> None:
    parameters = list(inspect.signature(manager.containers).parameters)
    assert parameters == ["stack", "label", "state", "managed_only"]
    assert list(inspect.signature(manager.logs).parameters) == [
        "names",
        "stack",
        "since",
        "until",
        "tail",
        "grep",
    ]


def test_the_sync_twin_runs_the_async_one(manager: InfrastructureManager) -> None:
    manager.engine.create_network("twins-net", {})
    sync = manager.networks()
    asynchronous = asyncio.run(manager.anetworks())
    assert sync.equals(asynchronous)
    assert "twins-net" in set(sync["name"])


def test_a_fleet_view_is_each_engines_frame_with_an_engine_column(
    manager: InfrastructureManager,
) -> None:
    other = InfrastructureManager(engine=MemoryEngine())
    other.engine.create_network("only-on-b", {})
    frame = Fleet({"a": manager, "b": other}).networks()
    assert list(frame.columns) == ["engine", *manager.networks().columns]
    assert set(frame.loc[frame["name"] == "only-on-b", "engine"]) == {"b"}


def test_a_view_without_an_engine_has_its_columns_when_noted(
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = InfrastructureManagerConfig(
        docker_host="tcp://127.0.0.1:9", connect_timeout=0.5, no_engine="note"
    )
    with InfrastructureManager(config) as silent:
        frame = silent.containers()
    assert frame.empty
    assert list(frame.columns) == list(VIEWS["containers"].schema)
    assert "Skipped: containers()." in capsys.readouterr().out


def test_the_views_table_names_each_view_by_its_module() -> None:
    assert set(VIEWS) == {
        "containers",
        "images",
        "networks",
        "volumes",
        "logs",
        "stats",
        "exec",
        "nodes",
        "services",
        "tasks",
        "stacks",
        "events",
        "disk_usage",
        "restarts",
        "diff",
        "fs_changes",
        "ports",
        "top",
        "image_updates",
        "backups",
    }
    for name, view in VIEWS.items():
        assert view.query.__module__ == f"infranb.views.{name}"
