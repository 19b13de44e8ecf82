"""manage_images: pull, build, tag, push and remove images.

``image_params={"action": ..., ...}`` is parsed once into one of the typed commands below;
their fields are the parameters each action takes (the form and the validation read them
from here). A dry run touches nothing and says what would happen.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from infranb.core.errors import Problem
from infranb.core.frames import Schema
from infranb.core.records import ImageOutcome, short_id
from infranb.core.specs import registry_of
from infranb.ops.base import Operation, Outcome
from infranb.ops.builds import (
    BuildImage,
    build,
    build_values,
    check_build_context,
    preview_build,
)
from infranb.ops.registry import pull, push

if TYPE_CHECKING:
    from infranb.core.config import InfrastructureManagerConfig
    from infranb.core.request import InfrastructureOperation
    from infranb.core.result import InfrastructureResult
    from infranb.runtime import Runtime


@dataclass(frozen=True)
class PullImage:
    """Pull ``image`` (for ``platform``, e.g. ``linux/arm64``, when given)."""

    image: str
    platform: str | None = None


@dataclass(frozen=True)
class TagImage:
    """Give ``image`` the additional reference ``tag``."""

    image: str
    tag: str


@dataclass(frozen=True)
class PushImage:
    """Push ``image`` to its registry (credentials from the Docker config)."""

    image: str


@dataclass(frozen=True)
class RemoveImage:
    """Remove the reference ``image`` (and the image once no reference is left)."""

    image: str
    force: bool = False


@dataclass(frozen=True)
class ImageCommand:
    """What ``image_params`` asks for."""

    action: PullImage | BuildImage | TagImage | PushImage | RemoveImage
    dry_run: bool = False


ACTIONS: dict[str, type[PullImage | BuildImage | TagImage | PushImage | RemoveImage]] = {
    "pull": PullImage,
    "build": BuildImage,
    "tag": TagImage,
    "push": PushImage,
    "remove": RemoveImage,
}


def parameters(action: str) -> tuple[str, ...]:
    """The keys ``image_params`` takes for ``action``, ``action`` first."""
    return ("action", *(f.name for f in dataclasses.fields(ACTIONS[action])))


def required(action: str) -> tuple[str, ...]:
    return tuple(
        f.name
        for f in dataclasses.fields(ACTIONS[action])
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    )


def parse(
    op: InfrastructureOperation, config: InfrastructureManagerConfig
) -> tuple[ImageCommand | None, list[Problem]]:
    params = op.image_params
    if not isinstance(params, Mapping) or not params:
        return None, [
            Problem(
                "image_params",
                "give an action and its parameters, e.g. {'action': 'pull', 'image': 'nginx:1.27'}",
            )
        ]
    action = params.get("action")
    if not isinstance(action, str) or action not in ACTIONS:
        return None, [
            Problem("image_params.action", f"{action!r} must be one of {', '.join(ACTIONS)}")
        ]
    problems = [
        Problem(
            f"image_params.{key}",
            f"not a parameter of {action!r} (use {', '.join(parameters(action))})",
        )
        for key in params
        if key not in parameters(action)
    ]
    for key in required(action):
        value = params.get(key)
        if not isinstance(value, str) or not value.strip() or any(c.isspace() for c in value):
            problems.append(
                Problem(
                    f"image_params.{key}",
                    f"required for {action!r} (a non-empty string without spaces)",
                )
            )
    platform = params.get("platform")
    if platform is not None and (not isinstance(platform, str) or "/" not in platform):
        problems.append(
            Problem("image_params.platform", f"{platform!r} must look like 'linux/amd64'")
        )
    if action == "build" and isinstance(params.get("path"), str):
        problems += check_build_context(params, "image_params")
    if problems:
        return None, problems
    values = {k: v for k, v in params.items() if k != "action"}
    if action == "build":
        values = build_values(values)
    if action == "remove":
        values["force"] = bool(values.get("force", False))
    return ImageCommand(ACTIONS[action](**values), dry_run=op.dry_run), []


async def run(command: ImageCommand, rt: Runtime, outcome: Outcome) -> None:
    outcome.dry_run = command.dry_run
    action = command.action
    if command.dry_run:
        outcome.images.append(await _preview(action, rt))
        return
    started = time.monotonic()

    def seconds() -> float:
        return round(time.monotonic() - started, 3)

    if isinstance(action, PullImage):
        image_id = await pull(rt, action.image, platform=action.platform)
        size = await rt.call(rt.engine.image_size, image_id)
        outcome.images.append(ImageOutcome(action.image, "pulled", image_id, size, seconds()))
    elif isinstance(action, BuildImage):
        image_id, size = await build(action, rt, outcome)
        outcome.images.append(ImageOutcome(action.tag, "built", image_id, size, seconds()))
    elif isinstance(action, PushImage):
        await push(rt, action.image)
        pushed_id = await rt.call(rt.engine.image_id, action.image)
        size = await rt.call(rt.engine.image_size, action.image)
        outcome.images.append(ImageOutcome(action.image, "pushed", pushed_id, size, seconds()))
    elif isinstance(action, TagImage):
        await rt.call(rt.engine.tag_image, action.image, action.tag)
        tagged_id = await rt.call(rt.engine.image_id, action.tag)
        outcome.images.append(ImageOutcome(action.tag, "tagged", tagged_id, None, seconds()))
    else:
        rt.gate([f"remove image {action.image}"])
        removed_id = await rt.call(rt.engine.image_id, action.image)
        await rt.call(rt.engine.remove_image, action.image, force=action.force)
        outcome.images.append(ImageOutcome(action.image, "removed", removed_id, None, seconds()))


async def _preview(
    action: PullImage | BuildImage | TagImage | PushImage | RemoveImage, rt: Runtime
) -> ImageOutcome:
    """What the action would do, read from the engine without changing it."""
    if isinstance(action, BuildImage):
        return preview_build(action)
    ref = action.image
    image_id = await rt.call(rt.engine.image_id, ref)
    size: int | None = await rt.call(rt.engine.image_size, image_id) if image_id else None
    if isinstance(action, PullImage):
        where = registry_of(ref)
        state = "present locally; would check" if image_id else "not local; would pull from"
        return ImageOutcome(ref, "pull", image_id, size, detail=f"{state} {where}")
    if image_id is None:
        return ImageOutcome(ref, action_name(action), None, None, detail="not on the engine")
    tags = [t for i in await rt.call(rt.engine.list_images) if i.id == image_id for t in i.tags]
    if isinstance(action, TagImage):
        return ImageOutcome(action.tag, "tag", image_id, size, detail=f"would point to {ref}")
    if isinstance(action, PushImage):
        detail = f"would push {size} bytes to {registry_of(ref)}"
        return ImageOutcome(ref, "push", image_id, size, detail=detail)
    others = [t for t in tags if t != ref]
    detail = (
        f"would untag {ref}; the image stays as {', '.join(others)}"
        if others
        else f"would untag {ref} and delete the image ({size} bytes)"
    )
    return ImageOutcome(ref, "remove", image_id, size, detail=detail)


def action_name(action: object) -> str:
    return next(name for name, cls in ACTIONS.items() if isinstance(action, cls))


SCHEMA: Schema = {
    "reference": "string",
    "id": "string",
    "size": "Int64",
    # done (past tense), or planned in a dry run (the action's name)
    "action": ("pulled", "built", "tagged", "pushed", "removed", *ACTIONS),
    "seconds": "Float64",
    "detail": "string",
}


def rows(result: InfrastructureResult) -> Iterable[dict[str, Any]]:
    for i in result.images:
        yield {
            "reference": i.reference,
            "id": short_id(i.image_id),
            "size": i.size,
            "action": i.action,
            "seconds": i.seconds,
            "detail": i.detail,
        }


OPERATION = Operation(
    name="manage_images",
    summary="pull, build, tag, push or remove an image",
    parse=parse,
    run=run,
    schema=SCHEMA,
    rows=rows,
    shown_fields=("image_params", "dry_run"),
    variants={action: parameters(action) for action in ACTIONS},
)
