"""Images to and from a registry, with progress per layer: ``manage_images``' pull and push,
and the pulls ``orchestrate_containers`` makes for missing images."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from infranb.core.records import PullProgress

if TYPE_CHECKING:
    from infranb.runtime import Runtime


async def pull(rt: Runtime, ref: str, *, platform: str | None = None) -> str:
    """Pull ``ref``, reporting progress per layer (only when a layer's status changes, or
    its bytes move); return the image id."""
    loop = asyncio.get_running_loop()
    layers: dict[str, str] = {}
    rt.emit("pull", ref, "pulling")

    def on_progress(report: PullProgress) -> None:
        if report.layer and layers.get(report.layer) == report.status and report.current is None:
            return
        layers[report.layer] = report.status
        text = f"{report.layer} {report.status}".strip()
        loop.call_soon_threadsafe(
            lambda: rt.emit("pull", ref, text, current=report.current, total=report.total)
        )

    return await rt.call(rt.engine.pull_image, ref, on_progress, platform=platform)


async def push(rt: Runtime, ref: str) -> None:
    """Push ``ref``, reporting each layer's status as it changes."""
    loop = asyncio.get_running_loop()
    rt.emit("push", ref, "pushing")

    def on_progress(report: PullProgress) -> None:
        if report.current is None:  # byte counts would flood the progress
            text = f"{report.layer} {report.status}".strip()
            loop.call_soon_threadsafe(lambda: rt.emit("push", ref, text))

    await rt.call(rt.engine.push_image, ref, on_progress)
