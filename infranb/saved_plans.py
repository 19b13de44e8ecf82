"""What a saved plan was made against, read from the engine (``manager.plan``), and the
comparison ``manager.apply`` makes before it runs a plan (``infranb.core.plans`` is the
pure part)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

from infranb.core import labels as L
from infranb.core.plans import Difference, fingerprint_differences, step_differences
from infranb.core.result import Plan
from infranb.engines.base import Engine

#: step kinds whose target is a volume (every other kind's is a container)
VOLUME_KINDS = frozenset(
    {"backup", "discard", "restore", "create-volume", "remove-volume", "recover-volume"}
)


def _is_reference(image: str) -> bool:
    """An image reference (``web:1``, ``reg/app``), not the short id a plan row may show."""
    return bool(image) and (":" in image or "/" in image or not _hexish(image))


def _hexish(text: str) -> bool:
    return len(text) >= 12 and all(c in "0123456789abcdef" for c in text)


def read_fingerprint(engine: Engine, plan: Plan, stack: str | None) -> dict[str, Any]:
    """Each container, network, volume and image the plan names or its stack holds, as the
    engine has it now: a container's id, ``StartedAt``, state, image id and spec hash; a
    network's id; a volume's ``CreatedAt``; an image's id. A name that does not exist is
    None (a plan that creates it)."""
    containers = {r.name for r in plan} | {
        s.target for s in plan.steps if s.kind not in VOLUME_KINDS
    }
    networks = {n for r in plan for n in (*r.networks, *r.networks_to_create)}
    volumes = {v for r in plan for v in (*r.volumes, *r.volumes_to_create)} | {
        s.target for s in plan.steps if s.kind in VOLUME_KINDS
    }
    images = {r.image for r in plan if _is_reference(r.image)}
    # One listing of each kind: the stack's networks and volumes are found in it.
    all_networks, all_volumes = engine.list_networks(), engine.list_volumes()
    if stack:
        for selector in L.stack_selectors(stack):
            containers |= {c.name for c in engine.list_containers(labels=selector)}
            networks |= {n.name for n in all_networks if _carries(n.labels, selector)}
            volumes |= {v.name for v in all_volumes if _carries(v.labels, selector)}
    listed_networks = {n.name: n.id for n in all_networks}
    listed_volumes = {v.name: v.created for v in all_volumes}
    names = sorted(containers)
    with ThreadPoolExecutor(max_workers=8) as pool:  # one inspect each, side by side
        inspected = dict(zip(names, pool.map(partial(_container, engine), names), strict=True))
    return {
        "containers": inspected,
        "networks": {name: listed_networks.get(name) for name in sorted(networks)},
        "volumes": {
            name: ({"created": listed_volumes[name]} if name in listed_volumes else None)
            for name in sorted(volumes)
        },
        "images": {ref: engine.image_id(ref) for ref in sorted(images)},
    }


def _carries(labels: Mapping[str, str], selector: Mapping[str, str]) -> bool:
    """Whether ``labels`` has every label of ``selector`` ("" asks only for the key)."""
    return all(k in labels and (not v or labels[k] == v) for k, v in selector.items())


def _container(engine: Engine, name: str) -> dict[str, Any] | None:
    d = engine.inspect_container(name)
    if d is None:
        return None
    return {
        "id": d.id,
        "started_at": d.started_at.isoformat() if d.started_at else None,
        "state": d.state,
        "image_id": d.image_id,
        "spec_hash": d.labels.get(L.SPEC_HASH) or d.labels.get(L.COMPOSE_CONFIG_HASH),
    }


def differences(saved: Plan, now: Plan) -> list[Difference]:
    """What differs between a saved plan and the plan made now against the host: its steps
    (rows and executor steps) and what it was made against."""
    found = step_differences([r.to_json() for r in saved], [r.to_json() for r in now])
    found += step_differences(
        [s.to_json() for s in saved.steps], [s.to_json() for s in now.steps], "executor step"
    )
    found += fingerprint_differences(saved.fingerprint, now.fingerprint)
    return _unique(found)


def _unique(found: Iterable[Difference]) -> list[Difference]:
    return list(dict.fromkeys(found))
