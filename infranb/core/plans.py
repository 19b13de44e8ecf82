"""Saved plans, pure: the id of a plan, its file, and what differs between two plans.

A plan (``infranb.Plan``) is what a dry run of a request would do: its rows and executor
steps, a fingerprint of what it was made against (each container's id, ``StartedAt``,
state, image id and spec hash; each network's id; each volume's ``CreatedAt``; each image's
id), and the request, masked. Its id is 12 hex characters of a SHA-256 of those four: it
detects an edit and a host that changed, not tampering by someone who recomputes it.
Approvals are claims (a name and a note a person typed), not signatures.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

#: the file's format version (``"infranb_plan"`` in it)
FORMAT = 1


def plan_id(
    rows: Sequence[Mapping[str, Any]],
    steps: Sequence[Mapping[str, Any]],
    fingerprint: Mapping[str, Any],
    request: Mapping[str, Any],
) -> str:
    """12 hex characters of a SHA-256 of the plan's content (canonical JSON)."""
    content = {"rows": list(rows), "steps": list(steps), "fingerprint": fingerprint,
               "request": request}  # fmt: skip
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class Difference:
    """One thing that differs between a saved plan and the host now (or its plan now)."""

    kind: str  # "container", "network", "volume", "image", "step", "plan"
    name: str
    field: str
    at_plan: str
    now: str


def _shown(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, Mapping | list):
        return json.dumps(value, sort_keys=True, default=str)
    return str(value)


def fingerprint_differences(saved: Mapping[str, Any], now: Mapping[str, Any]) -> list[Difference]:
    """What changed in the resources a plan was made against: a container restarted,
    recreated or removed, a network or volume made again, an image re-tagged."""
    found: list[Difference] = []
    for kind in sorted(set(saved) | set(now)):
        before, after = saved.get(kind) or {}, now.get(kind) or {}
        singular = kind.removesuffix("s")
        for name in sorted(set(before) | set(after)):
            was, is_ = before.get(name), after.get(name)
            if was == is_:
                continue
            if was is None or is_ is None:
                found.append(Difference(singular, name, "exists",
                                        "no" if was is None else "yes",
                                        "no" if is_ is None else "yes"))  # fmt: skip
                continue
            if isinstance(was, Mapping) and isinstance(is_, Mapping):
                for field in sorted(set(was) | set(is_)):
                    if was.get(field) != is_.get(field):
                        found.append(Difference(singular, name, field, _shown(was.get(field)),
                                                _shown(is_.get(field))))  # fmt: skip
            else:
                found.append(Difference(singular, name, "id", _shown(was), _shown(is_)))
    return found


def step_differences(
    saved: Sequence[Mapping[str, Any]], now: Sequence[Mapping[str, Any]], kind: str = "step"
) -> list[Difference]:
    """What a plan made now does differently from the saved one, step by step."""
    found: list[Difference] = []

    def key(row: Mapping[str, Any]) -> str:
        return str(row.get("name", row.get("target", "")))

    before: dict[str, list[Mapping[str, Any]]] = {}
    after: dict[str, list[Mapping[str, Any]]] = {}
    for row in saved:
        before.setdefault(key(row), []).append(row)
    for row in now:
        after.setdefault(key(row), []).append(row)
    for name in sorted(set(before) | set(after)):
        was, is_ = before.get(name, []), after.get(name, [])
        if was == is_:
            continue
        if len(was) != len(is_):
            found.append(Difference(kind, name, "steps", _actions(was), _actions(is_)))
            continue
        for a, b in zip(was, is_, strict=True):
            for field in sorted(set(a) | set(b)):
                if a.get(field) != b.get(field):
                    found.append(
                        Difference(kind, name, field, _shown(a.get(field)), _shown(b.get(field)))
                    )
    return found


def _actions(rows: Sequence[Mapping[str, Any]]) -> str:
    return ", ".join(str(r.get("action", r.get("kind", "?"))) for r in rows) or "(none)"


DIFFERENCES_SCHEMA = {
    "kind": "string",
    "name": "string",
    "field": "string",
    "at_plan": "string",
    "now": "string",
}
