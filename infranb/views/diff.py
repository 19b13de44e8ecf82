"""``manager.diff(a, b)``: how two containers' configurations differ, field by field; and
``manager.diff(a)``: how one differs from its image's defaults. The comparison is drift's
(``infranb.core.drift.differences``), written once: what ``drift`` calls a change is what
this calls a difference."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING

from infranb.core.drift import ContainerConfig, Difference, ImageConfig, differences
from infranb.core.errors import NotFound
from infranb.core.frames import Schema, frame
from infranb.core.secrets import MASK, is_secret_key, mask_url_credentials
from infranb.core.sync import gather_all
from infranb.views.base import EngineContext

if TYPE_CHECKING:
    import pandas as pd

SCHEMA: Schema = {"field": "string", "a": "string", "b": "string"}


def to_frame(found: Sequence[Difference], a: str, b: str) -> pd.DataFrame:
    """One row per field that differs; ``attrs["a"]`` and ``attrs["b"]`` say what the two
    value columns are."""
    data = frame(({"field": d.field, "a": d.desired, "b": d.actual} for d in found), SCHEMA)
    data.attrs["a"], data.attrs["b"] = a, b
    return data


def image_defaults(image: ImageConfig) -> ContainerConfig:
    """What a container of ``image`` gets when its request sets nothing."""
    return ContainerConfig(
        image_id=image.id,
        command=image.command,
        entrypoint=image.entrypoint,
        environment=dict(image.environment),
        user=image.user,
        working_dir=image.working_dir,
        healthcheck=image.healthcheck,
    )


def own_labels(config: ContainerConfig, image: ImageConfig) -> ContainerConfig:
    """``config`` without the labels it has from its image (they are not the container's)."""
    labels = {k: v for k, v in config.labels.items() if image.labels.get(k) != v}
    return dataclasses.replace(config, labels=labels)


async def query(ctx: EngineContext, a: str, b: str | None = None) -> pd.DataFrame:
    """The fields where containers ``a`` and ``b`` differ (image, command, environment with
    secrets masked, ports, mounts, networks, limits, restart policy, labels, run options);
    with ``b`` left out, where ``a`` differs from its image's defaults."""
    names = [a] if b is None else [a, b]
    details = await gather_all(*(ctx.call(ctx.engine.inspect_container, n) for n in names))
    configs: list[ContainerConfig] = []
    for name, each in zip(names, details, strict=True):
        if each is None or each.config is None:
            raise NotFound(f"comparing {name}: no such container", resource=name)
        configs.append(each.config)
    secrets = {v for d in details for v in ctx.secrets_of(d)}
    markers = ctx.config.secret_markers

    def shown(key: str, value: str) -> str:
        if is_secret_key(key, markers) or value in secrets:
            return MASK
        return mask_url_credentials(value)

    images = await gather_all(*(ctx.call(ctx.engine.image_config, c.image_id) for c in configs))
    own = [own_labels(c, i or ImageConfig()) for c, i in zip(configs, images, strict=True)]
    image = images[-1] or ImageConfig()
    if b is None:
        found = differences(image_defaults(image), own[0], image, shown=shown)
        return to_frame(found, f"image {configs[0].image_id.removeprefix('sha256:')[:12]}", a)
    return to_frame(differences(own[0], own[1], image, shown=shown), a, b)
