"""Building images: the build command, its checks, the build itself, and its undo. Shared by
``manage_images`` (a build) and ``orchestrate_containers`` (a Compose project's builds
before its bring-up, under the same rollback)."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from infranb.core.errors import BuildFailed, Conflict, InfraError, Problem
from infranb.core.labels import RUN
from infranb.core.records import ImageOutcome
from infranb.core.secrets import secret_values
from infranb.ops.base import Outcome

if TYPE_CHECKING:
    from infranb.runtime import Runtime


@dataclass(frozen=True)
class BuildImage:
    """Build the context directory ``path`` as ``tag``."""

    path: str
    tag: str
    dockerfile: str | None = None
    buildargs: Mapping[str, str] = field(default_factory=dict, repr=False)
    nocache: bool = False
    pull: bool = False
    #: the stage of a multi-stage Dockerfile to build (default: the last)
    target: str | None = None
    #: labels on the built image, besides infranb's own
    labels: Mapping[str, str] = field(default_factory=dict)


#: the keys a build takes, besides ``action``
BUILD_KEYS = ("path", "tag", "dockerfile", "buildargs", "nocache", "pull", "target", "labels")


def check_build_context(params: Mapping[str, Any], where: str) -> list[Problem]:
    """The problems of a build's context, dockerfile, arguments and labels (``where`` is
    the path of ``params`` in the request)."""
    path = params["path"]
    dockerfile = params.get("dockerfile") or "Dockerfile"
    if not os.path.isdir(path):
        return [Problem(f"{where}.path", f"build context {path!r} is not a directory")]
    problems = []
    if not os.path.isfile(os.path.join(path, dockerfile)):
        problems.append(Problem(f"{where}.dockerfile", f"{dockerfile!r} not found in {path!r}"))
    buildargs = params.get("buildargs")
    if buildargs is not None and not isinstance(buildargs, Mapping):
        problems.append(Problem(f"{where}.buildargs", "must be a dict of build arguments"))
    labels = params.get("labels")
    if labels is not None and not isinstance(labels, Mapping):
        problems.append(Problem(f"{where}.labels", "must be a dict of labels"))
    target = params.get("target")
    if target is not None and not isinstance(target, str):
        problems.append(Problem(f"{where}.target", "must be the name of a build stage"))
    return problems


def build_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """A build's parameters in their types (arguments and labels as strings, flags as
    bools)."""
    typed = dict(values)
    typed["buildargs"] = {str(k): str(v) for k, v in (values.get("buildargs") or {}).items()}
    typed["labels"] = {str(k): str(v) for k, v in (values.get("labels") or {}).items()}
    typed["nocache"] = bool(values.get("nocache", False))
    typed["pull"] = bool(values.get("pull", False))
    return typed


def parse_build(params: object, where: str) -> tuple[BuildImage | None, list[Problem]]:
    """One build from its parameters (``manage_images``' build keys), or its problems."""
    if not isinstance(params, Mapping):
        example = "e.g. {'path': ..., 'tag': ...}"
        return None, [Problem(where, f"must be a build's parameters, {example}")]
    problems = [
        Problem(f"{where}.{key}", f"not a parameter of a build (use {', '.join(BUILD_KEYS)})")
        for key in params
        if key not in (*BUILD_KEYS, "action")
    ]
    for key in ("path", "tag"):
        value = params.get(key)
        if not isinstance(value, str) or not value.strip() or any(c.isspace() for c in value):
            said = "required (a non-empty string without spaces)"
            problems.append(Problem(f"{where}.{key}", said))
    if not problems:
        problems += check_build_context(params, where)
    if problems:
        return None, problems
    values = build_values({k: v for k, v in params.items() if k != "action"})
    return BuildImage(**values), []


async def build(action: BuildImage, rt: Runtime, outcome: Outcome) -> tuple[str, int | None]:
    """Build ``action``, its log (masked) added to the outcome's; the image's id and size."""
    loop = asyncio.get_running_loop()
    rt.redact = rt.redact.extend(secret_values(action.buildargs, rt.config.secret_markers))

    def on_log(line: str) -> None:
        loop.call_soon_threadsafe(lambda: rt.emit("build", action.tag, line))

    try:
        image_id, logs = await rt.call(
            rt.engine.build_image,
            action.path,
            action.tag,
            dockerfile=action.dockerfile,
            buildargs=dict(action.buildargs),
            nocache=action.nocache,
            pull=action.pull,
            # No run label: it would change every build and defeat the layer cache.
            labels={**action.labels, **{k: v for k, v in rt.labels(None).items() if k != RUN}},
            target=action.target,
            on_log=on_log,
        )
    except BuildFailed as e:
        outcome.build_logs += [rt.redact(line) for line in e.logs]
        raise
    outcome.build_logs += [rt.redact(line) for line in logs]
    return image_id, await rt.call(rt.engine.image_size, image_id)


def context_bytes(path: str) -> int:
    """The bytes under a build context (before ``.dockerignore``)."""
    total = 0
    for folder, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(folder, name)).st_size
            except OSError:
                continue
    return total


def preview_build(action: BuildImage) -> ImageOutcome:
    """What a dry run says of a build: its context and dockerfile."""
    context = context_bytes(action.path)
    return ImageOutcome(
        action.tag,
        "build",
        size=context,
        detail=f"context {action.path} ({context} bytes before .dockerignore), "
        f"dockerfile {action.dockerfile or 'Dockerfile'}",
    )


async def unbuild(rt: Runtime, built: Sequence[tuple[str, str | None]]) -> list[str]:
    """Undo builds, newest first: remove what they made, give a rebuilt tag its previous
    image back. ``built`` holds (tag, the image it named before). Returns one sentence for
    each build that could not be undone."""
    left = []
    for tag, previous in reversed(built):
        try:
            if previous is None:
                # The tag is what this run added; the image goes with its last tag (a cached
                # build can share its id with images tagged by others).
                await rt.call(rt.engine.remove_image, tag)
                continue
            made = await rt.call(rt.engine.image_id, tag)
            await rt.call(rt.engine.tag_image, previous, tag)
            if made is not None and made != previous:
                with contextlib.suppress(Conflict):  # still tagged or used elsewhere
                    await rt.call(rt.engine.remove_image, made)
        except InfraError as e:
            left.append(f"the build of {tag} ({e})")
    return left
