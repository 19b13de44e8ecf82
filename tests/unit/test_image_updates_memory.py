"""``image_updates`` on the in-memory engine (issue 44): the logic of finding a newer image
in the registry without a pull; the proof on Docker is in tests/integration."""

from __future__ import annotations

import pandas as pd

from infranb import InfrastructureManager, InfrastructureOperation
from infranb.testing import MemoryEngine
from tests.unit.test_operations_memory import manager

REF = "127.0.0.1:5000/shop/api:1"


def running(memory: MemoryEngine, image: str, name: str) -> InfrastructureManager:
    m = manager(memory)
    made = m.run(
        InfrastructureOperation(
            operation="orchestrate_containers",
            stack="shop",
            containers=[{"name": name, "image": image, "pull_policy": "never"}],
        )
    )
    assert made.success, made.error
    return m


def test_the_same_digest_is_not_newer_and_a_new_push_is() -> None:
    memory = MemoryEngine([])
    memory.add_image(REF)
    memory.push_image(REF)
    m = running(memory, REF, "api")
    now = m.image_updates(stack="shop")
    assert list(now.container) == ["api"] and not now.newer.iloc[0]
    assert now.running_digest.iloc[0] == now.registry_digest.iloc[0]
    # another image under the same tag, pushed, then gone from this engine
    memory.add_image(REF)
    memory.push_image(REF)
    memory.remove_image(REF)
    memory.calls.clear()
    behind = m.image_updates(["api"])
    assert behind.newer.iloc[0] and pd.isna(behind.error.iloc[0])
    assert "pull_image" not in memory.calls  # found without a pull
    assert behind.image.iloc[0] == REF


def test_a_local_build_and_an_unknown_reference_are_na_with_a_reason() -> None:
    memory = MemoryEngine(["built/here:1"])  # never pushed: no registry digest
    m = running(memory, "built/here:1", "local")
    memory.add_image(REF)
    memory.push_image(REF)
    running(memory, REF, "remote")
    del memory.registry[REF]  # the registry lost it
    rows = m.image_updates().set_index("container")
    assert (
        pd.isna(rows.loc["local", "newer"]) and "not from a registry" in rows.loc["local", "error"]
    )
    assert pd.isna(rows.loc["remote", "newer"]) and "not found" in rows.loc["remote", "error"]


def test_it_is_a_view_of_the_fleet_too() -> None:
    from infranb import Fleet

    memory = MemoryEngine([])
    memory.add_image(REF)
    memory.push_image(REF)
    running(memory, REF, "api")
    fleet = Fleet({"one": manager(memory)})
    rows = fleet.image_updates()
    assert list(rows.engine) == ["one"] and list(rows.container) == ["api"]
