"""Fleet logic on in-memory engines: columns, per-engine failures, timeouts, selection,
reprs without engine calls. (Real engines, SSH, TLS and contexts: tests/integration.)"""

from __future__ import annotations

import time

import pytest

from infranb import (
    Fleet,
    InfrastructureManager,
    InfrastructureManagerConfig,
    InfrastructureOperation,
)
from infranb.core.errors import EngineUnavailable
from infranb.core.records import EngineInfo
from infranb.testing import MemoryEngine

IMAGE = "infranb-demo/base:1"


class SilentEngine(MemoryEngine):
    """An engine whose info never comes back in time (a host that drops packets)."""

    def info(self) -> EngineInfo:
        time.sleep(5)
        return super().info()


class GoneEngine(MemoryEngine):
    def info(self) -> EngineInfo:
        raise EngineUnavailable("No Docker engine answers at tcp://gone:2376: start one.")

    def list_containers(self, **kwargs: object) -> list:  # type: ignore[override]
        raise EngineUnavailable("No Docker engine answers at tcp://gone:2376: start one.")

    def list_images(self) -> list:  # type: ignore[override]
        raise EngineUnavailable("No Docker engine answers at tcp://gone:2376: start one.")


def manager(engine: MemoryEngine) -> InfrastructureManager:
    return InfrastructureManager(
        config=InfrastructureManagerConfig(health_check_interval=0.05), engine=engine
    )


def test_engines_rows_and_one_failure_never_hides_the_others() -> None:
    fleet = Fleet(
        {
            "a": manager(MemoryEngine([IMAGE])),
            "gone": manager(GoneEngine([IMAGE])),
            "slow": manager(SilentEngine([IMAGE])),
        },
        config=InfrastructureManagerConfig(connect_timeout=0.2),
    )
    assert "fleet.engines() reads them" in fleet._repr_mimebundle_()["text/plain"]
    rows = fleet.engines().set_index("engine")
    assert list(rows.columns) == [
        "kind", "host", "version", "api", "os", "containers", "running", "reachable", "error",
    ]  # fmt: skip
    assert rows["reachable"].tolist() == [True, False, False]
    assert rows.loc["gone", "error"] == "No Docker engine answers at tcp://gone:2376: start one."
    assert rows.loc["slow", "error"].endswith(
        "did not answer within 0.2 s (config.connect_timeout)"
    )
    shown = fleet._repr_mimebundle_()
    assert "1 of 3 engine(s) reachable" in shown["text/plain"]
    assert "gone" in shown["text/html"]


def test_inventory_has_the_engine_column_first_and_names_the_missing(
    capsys: pytest.CaptureFixture[str],
) -> None:
    fleet = Fleet({"a": manager(MemoryEngine([IMAGE])), "gone": manager(GoneEngine([IMAGE]))})
    images = fleet.images()
    assert images.columns[0] == "engine"
    assert images["engine"].tolist() == ["a"]
    containers = fleet.containers()
    assert containers.attrs["errors"] == {
        "gone": "No Docker engine answers at tcp://gone:2376: start one."
    }
    assert "gone: No Docker engine answers" in capsys.readouterr().out


def test_execute_on_some_engines_and_results_to_frame() -> None:
    engines = {name: MemoryEngine([IMAGE]) for name in ("a", "b", "c")}
    fleet = Fleet({name: manager(engine) for name, engine in engines.items()})
    op = InfrastructureOperation(
        operation="orchestrate_containers",
        stack="stack1",
        containers=[{"image": IMAGE, "name": "one"}, {"image": IMAGE, "name": "two"}],
    )
    results = fleet.run(op, on=["a", "c"])
    assert list(results) == ["a", "c"] and results.success
    frame = results.to_frame()
    assert frame["engine"].tolist() == ["a", "a", "c", "c"]
    assert "create_container" not in engines["b"].calls
    bundle = results._repr_mimebundle_()
    assert "2 of 2 engine(s) succeeded" in bundle["text/plain"]
    with pytest.raises(KeyError, match="no engine 'z'"):
        fleet.run(op, on=["z"])
    with pytest.raises(KeyError, match="engines: a, b, c"):
        fleet["z"]


def test_a_fleet_needs_engines_given_as_urls_or_managers() -> None:
    with pytest.raises(ValueError, match="at least one engine"):
        Fleet({})
    with pytest.raises(TypeError, match="give a host URL or an InfrastructureManager"):
        Fleet({"a": 42})  # type: ignore[dict-item]
    fleet = Fleet({"remote": "ssh://ops@db1"}, config=InfrastructureManagerConfig(max_parallel=3))
    assert fleet["remote"].config.docker_host == "ssh://ops@db1"
    assert fleet["remote"].config.max_parallel == 3
    assert repr(fleet) == "<Fleet of 1 engine(s): remote>"


def test_config_checks_the_engine_address() -> None:
    bad = InfrastructureManagerConfig(docker_host="db1:2376", docker_context="x")
    problems = bad.validate()
    assert any("docker_host: use unix:///path" in p for p in problems)
    assert any("docker_host or docker_context, not both" in p for p in problems)
    assert InfrastructureManagerConfig(connect_timeout=0).validate() == [
        "config.connect_timeout: must be positive"
    ]
    shown = repr(
        InfrastructureManagerConfig(docker_host="tcp://u:pw@h:2376", tls={"ca_cert": "/k/ca.pem"})
    )
    assert "pw" not in shown and "/k/ca.pem" not in shown and "tls='<set>'" in shown
