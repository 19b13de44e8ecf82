"""``manager.image_updates()``: which running containers have a newer image in their
registry, found without a pull.

For each image reference the containers run, the engine asks the registry for the digest
of that reference now (its manifest's descriptor: no layer is fetched) and compares it with
the digests the running image has (``RepoDigests``): a digest the image does not have is a
newer image. An image built here and never pushed has no registry digest to compare.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from infranb.core import labels as L
from infranb.core.errors import InfraError
from infranb.core.frames import Schema, frame
from infranb.core.records import ContainerInfo, ImageInfo, short_id
from infranb.core.sync import gather_all
from infranb.views.base import EngineContext

if TYPE_CHECKING:
    import pandas as pd

SCHEMA: Schema = {
    "container": "string",
    "stack": "string",
    "service": "string",
    "image": "string",
    "image_id": "string",
    "running_digest": "string",
    "registry_digest": "string",
    "newer": "boolean",
    "checked": "datetime64[ns, UTC]",
    "error": "string",
}

#: why an image has nothing to compare (``newer`` is NA)
NOT_FROM_A_REGISTRY = "not from a registry (built here and never pushed): nothing to compare"


def repository(reference: str) -> str:
    """The repository of an image reference: ``host:5000/app:1`` -> ``host:5000/app``."""
    name = reference.split("@", 1)[0]
    head, _, last = name.rpartition("/")
    last = last.split(":", 1)[0]
    return f"{head}/{last}" if head else last


def _bare(repo: str) -> str:
    """A repository without Docker Hub's implied parts (``docker.io/library/nginx`` is
    ``nginx``), as ``RepoDigests`` spell it."""
    for prefix in ("docker.io/", "index.docker.io/", "registry-1.docker.io/"):
        repo = repo.removeprefix(prefix)
    return repo.removeprefix("library/")


def from_its_registry(reference: str, image: ImageInfo) -> bool:
    """Whether the image has a digest for ``reference``'s repository: it was pulled from or
    pushed to it. Its other digests say nothing about what that registry has."""
    wanted = _bare(repository(reference))
    return any(_bare(repository(d)) == wanted for d in image.digests)


def running_digest(reference: str, image: ImageInfo | None) -> str | None:
    """The digest the running image has for ``reference``'s repository, else any it has."""
    if image is None or not image.digests:
        return None
    wanted = repository(reference)
    mine = [d for d in image.digests if repository(d) == wanted]
    return (mine or list(image.digests))[0].split("@", 1)[1]


def is_image_id(text: str) -> bool:
    """Whether an engine shows an image id where a reference would be (a container whose
    tag has moved on lists its image by id)."""
    bare = text.removeprefix("sha256:")
    return text.startswith("sha256:") or (
        len(bare) in (12, 64) and _HEX.fullmatch(bare) is not None
    )


_HEX = re.compile(r"[0-9a-f]+")


def row(
    container: ContainerInfo,
    image: ImageInfo | None,
    asked: str | InfraError | None,
    checked: datetime,
) -> dict[str, Any]:
    """One container's row: what it runs, what the registry has, and whether that is newer
    (NA with the reason in ``error`` when it cannot be known)."""
    digests = image.manifest_digests if image else frozenset()
    newer: bool | None = None
    error: str | None = None
    registry: str | None = None
    if is_image_id(container.image):
        error = "started from an image id: there is no reference to ask a registry about"
    elif not digests:
        error = NOT_FROM_A_REGISTRY
    elif image is not None and not from_its_registry(container.image, image):
        others = sorted({repository(d) for d in image.digests})
        error = (
            f"never pulled from or pushed to {repository(container.image)} (its digests are "
            f"for {', '.join(others)}): nothing to compare"
        )
    elif isinstance(asked, InfraError):
        error = str(asked)
    elif isinstance(asked, str):
        registry = asked
        newer = asked not in digests
    return {
        "container": container.name,
        "stack": L.stack_of(container.labels),
        "service": container.labels.get(L.COMPOSE_SERVICE),
        "image": container.image,
        "image_id": short_id(container.image_id),
        "running_digest": running_digest(container.image, image),
        "registry_digest": registry,
        "newer": newer,
        "checked": checked,
        "error": error,
    }


async def _with_reference(ctx: EngineContext, container: ContainerInfo) -> ContainerInfo:
    """The container with the reference it was created from: a listing shows the image's
    id once its tag points at another image (the very case this view is for)."""
    if not is_image_id(container.image):
        return container
    details = await ctx.call(ctx.engine.inspect_container, container.id)
    if details is None or not details.image or is_image_id(details.image):
        return container
    return dataclasses.replace(container, image=details.image)


async def query(
    ctx: EngineContext, names: str | Sequence[str] | None = None, *, stack: str | None = None
) -> pd.DataFrame:
    """One row per running container (``names``, a ``stack``, or all): the image reference
    it runs, the digest it runs, the registry's digest for that reference now, and
    ``newer``. A registry that cannot be asked is one sentence in ``error`` for its
    containers, never a raise."""
    engine = ctx.engine
    if isinstance(names, str):
        names = [names]
    if names:
        containers = await ctx.call(engine.list_containers, names=list(names), state="running")
    elif stack:
        containers = await L.in_stack(ctx.call, engine.list_containers, stack, state="running")
    else:
        containers = await ctx.call(engine.list_containers, state="running")
    containers = await gather_all(*(_with_reference(ctx, c) for c in containers))
    images = {i.id: i for i in await ctx.call(engine.list_images)}
    # One question per reference, and none for an image no registry knows.
    references = sorted(
        {
            c.image
            for c in containers
            if not is_image_id(c.image)
            and images.get(c.image_id) is not None
            and from_its_registry(c.image, images[c.image_id])
        }
    )

    async def ask(reference: str) -> str | InfraError:
        try:
            return await ctx.call(engine.registry_digest, reference)
        except InfraError as e:
            return e

    answers = dict(zip(references, await gather_all(*(ask(r) for r in references)), strict=True))
    checked = datetime.now(UTC)
    rows = [
        row(c, images.get(c.image_id), answers.get(c.image), checked)
        for c in sorted(containers, key=lambda c: c.name)
    ]
    return frame(rows, SCHEMA, first=("container", "image", "newer", "error"))
