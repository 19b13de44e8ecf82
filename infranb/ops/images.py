"""manage_images: pull, build, tag and remove images."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any

from infranb.errors import BuildFailed
from infranb.models import ImageOutcome, InfrastructureOperation, InfrastructureResult
from infranb.runtime import LABEL_RUN, Runtime
from infranb.secrets import is_secret_key


async def manage_images(
    op: InfrastructureOperation, rt: Runtime, result: InfrastructureResult
) -> None:
    params = op.image_params
    action = params["action"]
    engine = rt.engine
    loop = asyncio.get_running_loop()
    started = time.monotonic()
    if action == "pull":
        ref = params["image"]
        layers: dict[str, str] = {}

        def on_progress(message: Mapping[str, Any]) -> None:
            layer = str(message.get("id", ""))
            status = str(message.get("status", ""))
            if layer and layers.get(layer) == status and "progressDetail" not in message:
                return
            layers[layer] = status
            detail = message.get("progressDetail") or {}
            loop.call_soon_threadsafe(
                lambda: rt.emit(
                    "pull",
                    ref,
                    f"{layer} {status}".strip(),
                    current=detail.get("current"),
                    total=detail.get("total"),
                )
            )

        image_id = await rt.call(engine.pull_image, ref, on_progress)
        size = await rt.call(engine.image_size, image_id)
        result.images_pulled.append(ref)
        result.images.append(
            ImageOutcome(ref, "pulled", image_id, size, round(time.monotonic() - started, 3))
        )
    elif action == "build":
        tag = params["tag"]
        buildargs = {str(k): str(v) for k, v in (params.get("buildargs") or {}).items()}
        rt.redact = rt.redact.extend(
            v for k, v in buildargs.items() if is_secret_key(k, rt.config.secret_markers)
        )

        def on_log(line: str) -> None:
            loop.call_soon_threadsafe(lambda: rt.emit("build", tag, line))

        try:
            image_id, logs = await rt.call(
                engine.build_image,
                params["path"],
                tag,
                dockerfile=params.get("dockerfile"),
                buildargs=buildargs,
                nocache=bool(params.get("nocache", False)),
                pull=bool(params.get("pull", False)),
                # No run label: it would change every build and defeat the layer cache.
                labels={k: v for k, v in rt.labels(None).items() if k != LABEL_RUN},
                on_log=on_log,
            )
        except BuildFailed as e:
            result.build_logs = [rt.redact(line) for line in e.logs]
            raise
        result.build_logs = [rt.redact(line) for line in logs]
        size = await rt.call(engine.image_size, image_id)
        result.images_built.append(tag)
        result.images.append(
            ImageOutcome(tag, "built", image_id, size, round(time.monotonic() - started, 3))
        )
    elif action == "tag":
        await rt.call(engine.tag_image, params["image"], params["tag"])
        tagged_id = await rt.call(engine.image_id, params["tag"])
        result.images.append(
            ImageOutcome(
                params["tag"], "tagged", tagged_id, None, round(time.monotonic() - started, 3)
            )
        )
    else:
        ref = params["image"]
        removed_id = await rt.call(engine.image_id, ref)
        await rt.call(engine.remove_image, ref, force=bool(params.get("force", False)))
        result.images_removed.append(ref)
        result.images.append(
            ImageOutcome(ref, "removed", removed_id, None, round(time.monotonic() - started, 3))
        )
