"""The steps that move a volume's data: back it up to an archive, restore an archive into
it, and the quiesce around them (pause, and a start that waits until the container is
ready again). ``infranb.ops.steps.KINDS`` lists them with the others.

No image is pulled and no shell runs: the bytes go through the engine's archive endpoints
of a helper container that mounts the volume and is created but never started. Its image is
one the volume's users already have here, or else one imported for the call from an empty
tar and removed with it. The helper is removed in every outcome, a cancel included.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import tarfile
import threading
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from secrets import token_hex
from typing import TYPE_CHECKING, TypeVar

from infranb.core import labels as L
from infranb.core.archives import (
    Written,
    archive_chunks,
    find_archives,
    read_back,
    read_manifest,
    remove_archive,
    write_archive,
    write_manifest,
)
from infranb.core.backups import MOUNT_POINT, Manifest, archive_stem, differences
from infranb.core.drift import request_of
from infranb.core.errors import EngineError, InfraError, NotFound
from infranb.core.records import ContainerDetails, VolumeArchive
from infranb.core.secrets import mask_url_credentials
from infranb.core.specs import ContainerSpec, Mount, parse_container
from infranb.ops.base import Outcome
from infranb.ops.common import wait_ready

if TYPE_CHECKING:
    from infranb.core.steps import Step
    from infranb.runtime import Runtime

T = TypeVar("T")

#: what a helper container runs, were it ever started (it never is)
HELPER_COMMAND = ("infranb-volume-helper",)
#: the label that marks a helper (with infranb's own)
HELPER_LABEL = "infranb.helper"
#: what a backup on an engine whose archives drop owners says (Podman 4.3)
OWNERS_LOST = (
    "volume {volume}: this engine's archive endpoint reports every file as owned by the "
    "container's user, so the manifest's owners are that user's and a restore writes them so"
)


def _empty_root() -> bytes:
    """A tar with nothing in it: the root filesystem of the helper's image."""
    buffer = io.BytesIO()
    tarfile.open(fileobj=buffer, mode="w").close()
    return buffer.getvalue()


@contextlib.asynccontextmanager
async def volume_helper(
    rt: Runtime, volume: str, *, writable: bool, image: str = ""
) -> AsyncIterator[str]:
    """A created, never started container mounting ``volume`` at ``MOUNT_POINT`` (writable
    only for a restore: Podman writes through a read-only mount), removed on the way out
    with the image imported for it."""
    imported = ""
    if not image or await rt.call(rt.engine.image_id, image) is None:
        imported = image = await rt.call(rt.engine.import_image, _empty_root())
    name = f"infranb-helper-{volume[:24]}-{token_hex(4)}"
    spec = ContainerSpec(
        name=name, image=image, command=HELPER_COMMAND, network_mode="none",
        volumes=(Mount(volume, MOUNT_POINT, "volume", read_only=not writable),),
    )  # fmt: skip
    labels = {**L.managed(), HELPER_LABEL: "volume", L.RUN: rt.run_id or ""}
    try:
        yield await rt.call(rt.engine.create_container, spec, {}, labels, [])
    finally:
        # A cancelled transfer still runs on its thread: let it end before its helper goes.
        await asyncio.shield(_remove_helper(rt, name, imported))


async def _remove_helper(rt: Runtime, name: str, imported: str) -> None:
    await rt.drain()
    with contextlib.suppress(NotFound):
        await rt.call(rt.engine.remove_container, name, force=True)
    if imported:
        with contextlib.suppress(NotFound):
            await rt.call(rt.engine.remove_image, imported, force=True)


async def _transfer(rt: Runtime, work: Callable[[threading.Event], T]) -> T:
    """``work`` on a worker thread; a cancel asks it to stop at its next chunk."""
    stop = threading.Event()
    try:
        return await rt.call(work, stop)
    except asyncio.CancelledError:
        stop.set()
        raise


def backup_folder(step: Step) -> Path:
    return Path(str(step.args["folder"])).expanduser()


async def take_backup(rt: Runtime, step: Step, outcome: Outcome) -> None:
    """Read the volume through a helper into an archive and its manifest."""
    a = step.args
    volume, reason = str(a["volume"]), str(a.get("reason") or "backup")
    compress = a.get("compress")
    started = time.monotonic()
    now = datetime.now(UTC)
    rt.emit("backup_started", volume)
    async with volume_helper(rt, volume, writable=False, image=str(a.get("image") or "")) as cid:

        def work(stop: threading.Event) -> Written:
            chunks = rt.engine.get_archive_stream(cid, MOUNT_POINT + "/.")
            try:
                return write_archive(
                    chunks, backup_folder(step), archive_stem(volume, now, reason), compress, stop
                )
            finally:
                close = getattr(chunks, "close", None)
                if close is not None:
                    close()

        written = await _transfer(rt, work)
    manifest = Manifest(
        volume=volume, archive=written.path.name, archive_sha256=written.sha256,
        archive_bytes=written.bytes, compress=compress, created=now.isoformat(),
        files=written.files, driver=str(a.get("driver") or "local"),
        driver_opts=dict(a.get("driver_opts") or {}), labels=dict(a.get("labels") or {}),
        stack=a.get("stack"), services=tuple(a.get("services") or ()),
        containers=tuple(a.get("containers") or ()),
        engine=mask_url_credentials(rt.engine.host), infranb_version=_version(),
        reason=reason, run_id=rt.run_id,
    )  # fmt: skip
    await rt.call(write_manifest, manifest, written.path)
    rt.emit("backup_written", volume, str(written.path))
    if not rt.engine.archives_keep_owners():
        outcome.warnings.append(OWNERS_LOST.format(volume=volume))
    outcome.archives.append(
        VolumeArchive(
            volume,
            reason,
            str(written.path),
            manifest.bytes,
            len(written.files),
            written.sha256,
            round(time.monotonic() - started, 3),
            quiesced=tuple(a.get("quiesced") or ()),
        )
    )


def _version() -> str:
    from infranb import __version__

    return __version__


async def _discard(rt: Runtime, step: Step, outcome: Outcome) -> None:
    """Remove the archives this run wrote of the volume (the undo of a backup)."""
    volume, folder = str(step.args["volume"]), backup_folder(step)
    for path in find_archives(folder):
        try:
            manifest = read_manifest(path)
        except ValueError:
            continue
        if manifest.volume == volume and manifest.run_id == rt.run_id:
            remove_archive(path)


async def _restore(rt: Runtime, step: Step, outcome: Outcome) -> None:
    """Write an archive into an empty volume through a helper (creating the volume first
    where the step says so), then read the volume back and compare every file with the
    manifest: a difference fails the step. A failed step removes the volume it created, so
    it leaves nothing (the executor undoes only the steps that finished)."""
    if not step.args.get("create"):
        return await _write_archive(rt, step, outcome)
    made = step.__class__("create-volume", step.target, step.wave, dict(step.args["create"]))
    await _create_volume(rt, made, outcome)
    try:
        await _write_archive(rt, step, outcome)
    except BaseException:
        # the volume it made goes with it: the run is then as it was (unless a step before
        # this one left something, which the executor's undo says)
        outcome.rolled_back = await asyncio.shield(_remove_quietly(rt, step.target))
        raise
    return None


async def _remove_quietly(rt: Runtime, volume: str) -> bool:
    await rt.drain()
    try:
        await rt.call(rt.engine.remove_volume, volume)
    except InfraError:
        return False
    return True


async def _write_archive(rt: Runtime, step: Step, outcome: Outcome) -> None:
    a = step.args
    archive, volume = Path(str(a["archive"])), str(a["volume"])
    manifest = read_manifest(archive)
    started = time.monotonic()
    rt.emit("restore_started", volume, str(archive))
    async with volume_helper(rt, volume, writable=True, image=str(a.get("image") or "")) as cid:

        def present(stop: threading.Event) -> list[str]:
            found = read_back(rt.engine.get_archive_stream(cid, MOUNT_POINT + "/."), stop)
            return [e.path for e in found if e.path]

        held = await _transfer(rt, present)
        if held:
            raise EngineError(
                f"restoring {archive.name} into volume {volume}: the volume is not empty "
                f"({len(held)} paths, such as {held[0]!r}); restore into an empty or new "
                "volume, or pass replace=True",
                resource=volume,
            )

        def write(stop: threading.Event) -> None:
            chunks = archive_chunks(archive, manifest.compress, manifest.archive_sha256, stop)
            try:
                rt.engine.put_archive_stream(cid, MOUNT_POINT, chunks)
            except ValueError as e:  # the archive does not match its checksum
                raise EngineError(f"restoring into volume {volume}: {e}", resource=volume) from e

        await _transfer(rt, write)
        written_at = time.monotonic()

        def check(stop: threading.Event) -> list[str]:
            found = read_back(rt.engine.get_archive_stream(cid, MOUNT_POINT + "/."), stop)
            return differences(manifest.files, found)

        wrong = await _transfer(rt, check)
    verify = round(time.monotonic() - written_at, 3)
    if wrong:
        hint = ""
        if not rt.engine.archives_keep_owners():
            hint = " (this engine's archive endpoint writes every file as the container's user)"
        raise EngineError(
            f"restoring {archive.name} into volume {volume}: {len(wrong)} path(s) differ "
            f"from the manifest{hint}: " + "; ".join(wrong[:5]),
            resource=volume,
        )
    rt.emit("restored", volume, str(archive))
    outcome.archives.append(
        VolumeArchive(
            volume,
            "restore",
            str(archive),
            manifest.bytes,
            len(manifest.files),
            manifest.archive_sha256,
            round(time.monotonic() - started, 3),
            verified=True,
            verify_seconds=verify,
        )
    )


async def _create_volume(rt: Runtime, step: Step, outcome: Outcome) -> None:
    a = step.args
    await rt.call(
        rt.engine.create_volume, step.target, str(a.get("driver") or "local"),
        dict(a.get("labels") or {}), options=_options(rt, step),
    )  # fmt: skip
    outcome.volumes_created.append(step.target)
    rt.emit("volume_created", step.target)


def _options(rt: Runtime, step: Step) -> dict[str, str]:
    """A volume's driver options: the step's, with the values a request gave in place of
    those its manifest masked (kept on the runtime, never in a step or the journal)."""
    given = rt.volume_options.get(step.target) or {}
    return {**dict(step.args.get("driver_opts") or {}), **dict(given)}


async def _remove_volume(rt: Runtime, step: Step, outcome: Outcome) -> None:
    await rt.call(rt.engine.remove_volume, step.target)
    rt.emit("volume_removed", step.target)


async def _pause(rt: Runtime, step: Step, outcome: Outcome) -> None:
    await rt.call(rt.engine.pause_container, str(step.args["id"]))
    rt.emit("container_paused", step.target)


async def _unpause(rt: Runtime, step: Step, outcome: Outcome) -> None:
    await rt.call(rt.engine.unpause_container, str(step.args["id"]))
    rt.emit("container_unpaused", step.target)


async def _start_ready(rt: Runtime, step: Step, outcome: Outcome) -> None:
    """Start a container a quiesce stopped, and wait as a bring-up does."""
    cid = str(step.args["id"])
    await rt.call(rt.engine.start_container, cid)
    rt.emit("container_started", step.target)
    await wait_ready(rt, cid, step.target, "after the backup started it again")


async def _recover_volume(rt: Runtime, step: Step, outcome: Outcome) -> None:
    """Create a removed volume again and restore what this run backed up of it first (the
    undo of a removal: the volume as it was)."""
    from dataclasses import replace

    volume, folder = step.target, backup_folder(step)
    taken = [
        p
        for p in find_archives(folder)
        if (m := _manifest_or_none(p)) is not None and m.volume == volume and m.run_id == rt.run_id
    ]
    if not taken:
        raise EngineError(
            f"volume {volume} cannot be brought back: this run wrote no backup of it in {folder}",
            resource=volume,
        )
    await _create_volume(rt, step, Outcome())
    restore = replace(step, kind="restore", args={"archive": str(taken[-1]), "volume": volume})
    await _restore(rt, restore, Outcome())


def _manifest_or_none(path: Path) -> Manifest | None:
    try:
        return read_manifest(path)
    except ValueError:
        return None


async def restore_into(rt: Runtime, volume: str, archive: str, outcome: Outcome) -> None:
    """Write ``archive`` into the empty ``volume`` and verify it (a bring-up that brings a
    snapshot back, before the volume's users start)."""
    from infranb.core.steps import Step

    await _restore(rt, Step("restore", volume, 0, {"archive": archive, "volume": volume}), outcome)


async def _keep(rt: Runtime, step: Step, outcome: Outcome) -> None:
    """Nothing: the undo of a step that put back what was (a container that ran before
    the run, running again)."""


async def _remake(rt: Runtime, step: Step, outcome: Outcome) -> None:
    """Make a removed container again, under its name, from the inspect the plan's observe
    read of it (``rt.blueprints``)."""
    name = str(step.args["name"])
    details = rt.blueprints.get(name)
    if details is None:
        raise EngineError(f"container {name} cannot be made again: its inspect was not read")
    await remake(rt, name, details)
    rt.emit("container_created", name)


def remake_spec(name: str, details: ContainerDetails) -> ContainerSpec:
    """The spec a container is made again from: its own inspect, as a revert reads one
    (raises ``SpecProblem`` when the inspect cannot be read back as a spec)."""
    if details.config is None:
        raise EngineError(f"container {name} cannot be read back to be made again")
    request = request_of(
        details.config, name=name, service=details.labels.get(L.COMPOSE_SERVICE),
        image=details.image,
    )  # fmt: skip
    return parse_container(request, 0)


async def remake(
    rt: Runtime, name: str, details: ContainerDetails, spec: ContainerSpec | None = None
) -> str:
    """Create ``name`` again as its inspect says: its environment, labels, networks and the
    anonymous volumes it had (by name). Returns its id."""
    config = details.config
    assert config is not None
    made = spec or remake_spec(name, details)
    return await rt.call(
        rt.engine.create_container, made, dict(config.environment), dict(config.labels),
        list(config.networks), keep_volumes=dict(config.anonymous),
    )  # fmt: skip
