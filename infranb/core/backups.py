"""Volume backups as data: what an archive holds (its manifest, file by file), how a
restore is checked against it, and where archives go. Pure: the bytes move in
``infranb.archives``, the engine calls are steps of ``infranb.ops.steps``.

A manifest sits beside each archive (``NAME.tar`` and ``NAME.json``). It lists every file
with its type, mode, owner, size, sha256 and link target, so a restore is verified by
reading the volume back and comparing, and ``manager.backups()`` can tell a damaged
archive by its checksum. It never holds a file's contents, nor a secret driver option.
"""

from __future__ import annotations

import re
import tarfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from infranb.core.secrets import DEFAULT_SECRET_MARKERS, MASK, is_secret_key

#: the manifest's layout; a reader refuses a newer one
MANIFEST_FORMAT = 1
#: compress= -> the archive's suffix
SUFFIXES: Mapping[str | None, str] = {None: ".tar", "gz": ".tar.gz", "zst": ".tar.zst"}
#: ``quiesce=``: stop the volume's writers (then start them again), freeze them, or copy live
QUIESCE = ("stop", "pause", "none")
#: where a helper container mounts the volume it reads or writes
MOUNT_POINT = "/volume"

_TYPES = {
    tarfile.REGTYPE: "file",
    tarfile.AREGTYPE: "file",
    tarfile.CONTTYPE: "file",
    tarfile.DIRTYPE: "dir",
    tarfile.SYMTYPE: "symlink",
    tarfile.LNKTYPE: "hardlink",
    tarfile.FIFOTYPE: "fifo",
    tarfile.CHRTYPE: "char",
    tarfile.BLKTYPE: "block",
}


@dataclass(frozen=True)
class FileEntry:
    """One path of a volume as its archive holds it."""

    #: relative to the volume's root; "" is the root itself
    path: str
    type: str
    mode: int
    uid: int
    gid: int
    size: int = 0
    #: a regular file's contents' sha256 ("" for anything else)
    sha256: str = ""
    #: where a symlink points, or the path a hardlink shares its file with
    link: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path, "type": self.type, "mode": f"{self.mode:04o}", "uid": self.uid,
            "gid": self.gid, "size": self.size, "sha256": self.sha256, "link": self.link,
        }  # fmt: skip

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FileEntry:
        return cls(
            str(data["path"]), str(data["type"]), int(str(data["mode"]), 8), int(data["uid"]),
            int(data["gid"]), int(data.get("size") or 0), str(data.get("sha256") or ""),
            str(data.get("link") or ""),
        )  # fmt: skip


def relative(name: str) -> str:
    """An archive entry's name relative to the volume's root. The engines name a mount
    point's entries differently (Docker "./a", Podman "a"); both read the same here."""
    name = name.removeprefix("./").strip("/")
    return "" if name == "." else name


def entry_of(member: tarfile.TarInfo, sha256: str = "") -> FileEntry:
    """The manifest's line for one archive entry."""
    kind = _TYPES.get(member.type, "other")
    link = member.linkname
    if kind == "hardlink":
        link = relative(link)
    return FileEntry(
        path=relative(member.name), type=kind, mode=member.mode & 0o7777, uid=member.uid,
        gid=member.gid, size=member.size if kind == "file" else 0, sha256=sha256, link=link,
    )  # fmt: skip


@dataclass(frozen=True)
class Manifest:
    """What one archive holds and where it came from."""

    volume: str
    #: the archive's file name (it sits beside the manifest)
    archive: str
    archive_sha256: str
    archive_bytes: int
    compress: str | None
    created: str
    files: tuple[FileEntry, ...]
    driver: str = "local"
    #: the volume's driver options, secret values masked (a restore takes ``driver_opts=``)
    driver_opts: Mapping[str, str] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)
    stack: str | None = None
    services: tuple[str, ...] = ()
    #: the containers that mounted it when it was taken
    containers: tuple[str, ...] = ()
    #: the engine it was read from (its address, credentials masked) and its kind
    engine: str = ""
    infranb_version: str = ""
    #: "backup" (asked for), "snapshot" (taken before a change that could lose data), or
    #: "before-restore" (what a restore with replace=True replaced)
    reason: str = "backup"
    #: the journal run it belongs to (a snapshot's), if any
    run_id: str | None = None
    format: int = MANIFEST_FORMAT

    @property
    def bytes(self) -> int:
        """The bytes of the volume's files (the archive's size is ``archive_bytes``)."""
        return sum(f.size for f in self.files)

    @property
    def masked_options(self) -> tuple[str, ...]:
        """The driver options whose values were masked when it was written."""
        return tuple(k for k, v in self.driver_opts.items() if MASK in v)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": self.format, "volume": self.volume, "archive": self.archive,
            "archive_sha256": self.archive_sha256, "archive_bytes": self.archive_bytes,
            "compress": self.compress, "created": self.created, "driver": self.driver,
            "driver_opts": dict(self.driver_opts), "labels": dict(self.labels),
            "stack": self.stack, "services": list(self.services),
            "containers": list(self.containers), "engine": self.engine,
            "infranb_version": self.infranb_version, "reason": self.reason,
            "run_id": self.run_id, "files": [f.to_json() for f in self.files],
        }  # fmt: skip

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Manifest:
        version = int(data.get("format") or 0)
        if version > MANIFEST_FORMAT:
            raise ValueError(
                f"manifest format {version} is newer than this infranb reads "
                f"({MANIFEST_FORMAT}); upgrade infranb"
            )
        return cls(
            volume=str(data["volume"]), archive=str(data["archive"]),
            archive_sha256=str(data["archive_sha256"]),
            archive_bytes=int(data["archive_bytes"]), compress=data.get("compress"),
            created=str(data["created"]),
            files=tuple(FileEntry.from_json(f) for f in data.get("files") or ()),
            driver=str(data.get("driver") or "local"),
            driver_opts=dict(data.get("driver_opts") or {}),
            labels=dict(data.get("labels") or {}), stack=data.get("stack"),
            services=tuple(data.get("services") or ()),
            containers=tuple(data.get("containers") or ()), engine=str(data.get("engine") or ""),
            infranb_version=str(data.get("infranb_version") or ""),
            reason=str(data.get("reason") or "backup"), run_id=data.get("run_id"),
            format=version,
        )  # fmt: skip


_OPTION_PAIR = re.compile(r"(?P<key>[^,=]+)=(?P<value>[^,]*)")


def masked_options(
    options: Mapping[str, str], markers: Iterable[str] = DEFAULT_SECRET_MARKERS
) -> dict[str, str]:
    """A volume's driver options with secret values masked: an option whose name is a
    secret's, and each ``key=value`` inside a mount option string (a CIFS volume's ``o:
    username=u,password=p``) whose key is."""
    shown: dict[str, str] = {}
    for key, value in options.items():
        if is_secret_key(key, markers):
            shown[key] = MASK
            continue
        shown[key] = _OPTION_PAIR.sub(
            lambda m: f"{m['key']}={MASK}" if is_secret_key(m["key"], markers) else m[0],
            str(value),
        )
    return shown


def differences(
    expected: Sequence[FileEntry], found: Sequence[FileEntry], *, owners: bool = True
) -> list[str]:
    """How a volume read back differs from its manifest, one sentence per path (missing,
    extra, or the fields that differ). The root's own entry is compared only where both
    have one (Podman's archive of a mount point has none)."""
    want = {f.path: f for f in expected}
    have = {f.path: f for f in found}
    said: list[str] = []
    for path in sorted(want.keys() | have.keys()):
        shown = path or "the volume's root"
        a, b = want.get(path), have.get(path)
        if a is None or b is None:
            if path == "":
                continue
            said.append(f"{shown} is {'not in the manifest' if a is None else 'missing'}")
            continue
        fields = ["type", "mode", "size", "sha256", "link"] + (["uid", "gid"] if owners else [])
        if a.type == "hardlink" or b.type == "hardlink":
            fields = ["link"] if a.type == b.type else ["type"]
        if path == "" or a.type == "dir":
            fields = [f for f in fields if f not in ("size", "sha256", "link")]
        wrong = [f for f in fields if getattr(a, f) != getattr(b, f)]
        if wrong:
            said.append(
                f"{shown}: "
                + ", ".join(
                    f"{f} {_shown(a, f)} in the manifest, {_shown(b, f)} now" for f in wrong
                )
            )
    return said


def _shown(entry: FileEntry, name: str) -> str:
    value = getattr(entry, name)
    if name == "mode":
        return f"{value:04o}"
    if name == "sha256":
        return value[:12] or "none"
    return repr(value) if isinstance(value, str) else str(value)


def archive_stem(volume: str, created: datetime, reason: str = "backup") -> str:
    """The archive's name without its suffix: the volume, the time, and what made it."""
    stamp = created.strftime("%Y%m%dT%H%M%S") + f"{created.microsecond // 1000:03d}Z"
    kind = "" if reason == "backup" else f"-{reason}"
    return f"{volume}-{stamp}{kind}"


def manifest_path(archive: Path) -> Path:
    """The manifest beside an archive: ``x.tar.gz`` -> ``x.json``."""
    name = archive.name
    for suffix in sorted(SUFFIXES.values(), key=len, reverse=True):
        if name.endswith(suffix):
            return archive.with_name(name[: -len(suffix)] + ".json")
    return archive.with_suffix(".json")


def with_run(manifest: Manifest, run_id: str | None) -> Manifest:
    return replace(manifest, run_id=run_id)
