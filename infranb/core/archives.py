"""Volume archives on this machine's disk: written as the engine streams them (hashed and
listed file by file on the way), read back as chunks for a restore, and found again.

An archive and its manifest are written 0600 in a 0700 folder, under a hidden temporary
name renamed at the end: an interrupted backup leaves nothing that looks complete, and no
other user of the machine can read a volume's data. Nothing here displays an archive's
contents; the manifest lists paths, modes, owners, sizes and checksums only.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import json
import os
import tarfile
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from infranb.core.backups import SUFFIXES, FileEntry, Manifest, entry_of, manifest_path

CHUNK = 1 << 20


class Interrupted(Exception):
    """The transfer was asked to stop (its run was cancelled)."""


class _Reader(io.RawIOBase):
    """A file over an iterator of chunks; every byte it hands out also goes to ``sink``."""

    def __init__(
        self,
        chunks: Iterable[bytes],
        sink: Callable[[bytes], Any] | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        self._chunks = iter(chunks)
        self._sink = sink
        self._stop = stop
        self._left = b""
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if not self._left:
            if self._stop is not None and self._stop.is_set():
                raise Interrupted("the transfer was cancelled")
            self._left = next(self._chunks, b"")
        n = min(len(buffer), len(self._left))
        piece, self._left = self._left[:n], self._left[n:]
        buffer[:n] = piece
        if self._sink is not None and piece:
            self._sink(piece)
        self.count += n
        return n

    def drain(self) -> None:
        """Read to the end (a tar's closing blocks), so the sink gets every byte."""
        while self.read(CHUNK):
            pass


def list_tar(stream: IO[bytes]) -> list[FileEntry]:
    """Each entry of a tar stream, regular files hashed as they pass."""
    entries: list[FileEntry] = []
    # tarfile's own record size: with a 1 MiB buffer each 512-byte header read copies the
    # buffer's rest, and reading 10,000 files took 4 times as long
    with tarfile.open(fileobj=stream, mode="r|") as tar:
        for member in tar:
            digest = ""
            if member.isreg():
                handle = tar.extractfile(member)
                h = hashlib.sha256()
                while handle is not None and (block := handle.read(CHUNK)):
                    h.update(block)
                digest = h.hexdigest()
            entries.append(entry_of(member, digest))
    return entries


def read_back(chunks: Iterable[bytes], stop: threading.Event | None = None) -> list[FileEntry]:
    """What a volume holds, from its archive stream (a restore's verification)."""
    reader = _Reader(chunks, stop=stop)
    entries = list_tar(io.BufferedReader(reader, CHUNK))
    reader.drain()
    return entries


@dataclass(frozen=True)
class Written:
    """An archive written to disk."""

    path: Path
    sha256: str
    bytes: int
    files: tuple[FileEntry, ...]


def private_folder(folder: Path) -> Path:
    """``folder``, made 0700 where infranb makes it (and tightened where it was not)."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    if folder.stat().st_mode & 0o077:
        folder.chmod(0o700)
    return folder


def _private_file(path: Path) -> IO[bytes]:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    return os.fdopen(fd, "wb")


class _Hashing(io.RawIOBase):
    """A writable file that hashes and counts what goes to disk."""

    def __init__(self, target: IO[bytes]) -> None:
        self._target = target
        self.sha256 = hashlib.sha256()
        self.count = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        view = memoryview(data)
        self.sha256.update(view)
        self.count += len(view)
        self._target.write(view)
        return len(view)


def _compressor(raw: Any, compress: str | None) -> Any:
    if compress is None:
        return raw
    if compress == "gz":
        # level 6 as gzip(1) uses; mtime 0 so the same data gives the same archive
        return gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=6, mtime=0)
    import zstandard

    return zstandard.ZstdCompressor(level=3).stream_writer(raw, closefd=False)


def write_archive(
    chunks: Iterable[bytes],
    folder: Path,
    stem: str,
    compress: str | None = None,
    stop: threading.Event | None = None,
) -> Written:
    """Write the engine's tar stream to ``folder/stem.tar[.gz|.zst]``, listing and hashing
    every file on the way. The bytes land under a hidden temporary name first; a failure
    or ``stop`` removes it."""
    final = private_folder(folder) / (stem + SUFFIXES[compress])
    if final.exists():
        raise FileExistsError(f"{final} already exists")
    partial = final.with_name(f".{final.name}.partial")
    try:
        with _private_file(partial) as out:
            disk = _Hashing(out)
            packed = _compressor(disk, compress)
            reader = _Reader(chunks, packed.write, stop)
            files = list_tar(io.BufferedReader(reader, CHUNK))
            reader.drain()
            if packed is not disk:
                packed.close()
            out.flush()
            os.fsync(out.fileno())
        partial.rename(final)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
        raise
    return Written(final, disk.sha256.hexdigest(), disk.count, tuple(files))


def write_manifest(manifest: Manifest, archive: Path) -> Path:
    """The manifest beside its archive, 0600, under a temporary name renamed at the end."""
    path = manifest_path(archive)
    partial = path.with_name(f".{path.name}.partial")
    try:
        with _private_file(partial) as out:
            out.write(json.dumps(manifest.to_json(), indent=1).encode())
        partial.rename(path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
        raise
    return path


def read_manifest(archive: Path) -> Manifest:
    """The manifest beside ``archive`` (``ValueError`` saying what is wrong with it)."""
    path = manifest_path(archive)
    try:
        return Manifest.from_json(json.loads(path.read_text()))
    except FileNotFoundError:
        raise ValueError(f"{archive} has no manifest beside it ({path.name})") from None
    except (KeyError, TypeError, json.JSONDecodeError) as e:
        raise ValueError(f"the manifest {path} cannot be read: {e}") from None


def archive_chunks(
    path: Path, compress: str | None, expected_sha256: str, stop: threading.Event | None = None
) -> Iterator[bytes]:
    """The archive's tar bytes, decompressed, in chunks. Its checksum is compared at the
    end: a damaged file raises before the last chunk is handed out."""
    h = hashlib.sha256()

    def raw() -> Iterator[bytes]:
        with path.open("rb") as f:
            while block := f.read(CHUNK):
                if stop is not None and stop.is_set():
                    raise Interrupted("the transfer was cancelled")
                h.update(block)
                yield block

    if compress is None:
        source: Iterator[bytes] = raw()
    else:
        reader = _Reader(raw())
        unpacked: Any
        if compress == "gz":
            unpacked = gzip.GzipFile(fileobj=io.BufferedReader(reader, CHUNK), mode="rb")
        else:
            import zstandard

            unpacked = zstandard.ZstdDecompressor().stream_reader(io.BufferedReader(reader, CHUNK))
        source = iter(lambda: unpacked.read(CHUNK), b"")
    pending = b""
    for block in source:
        if pending:
            yield pending
        pending = block
    if h.hexdigest() != expected_sha256:
        raise ValueError(
            f"{path} does not match its manifest's checksum (sha256 {h.hexdigest()[:12]}, "
            f"the manifest says {expected_sha256[:12]}): the file is damaged or was changed"
        )
    if pending:
        yield pending


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(CHUNK):
            h.update(block)
    return h.hexdigest()


def find_archives(folder: Path) -> list[Path]:
    """The archives in ``folder`` that have a manifest beside them (not partial ones)."""
    if not folder.is_dir():
        return []
    found = [
        p
        for p in folder.iterdir()
        if not p.name.startswith(".")
        and any(p.name.endswith(s) for s in SUFFIXES.values())
        and manifest_path(p).exists()
    ]
    return sorted(found)


def remove_archive(path: Path) -> None:
    """An archive and its manifest (each only if there)."""
    for p in (path, manifest_path(path)):
        with contextlib.suppress(FileNotFoundError):
            p.unlink()


#: the archives ``prune_snapshots`` may delete: the ones infranb took on its own
SNAPSHOT_REASONS = ("snapshot", "before-restore")


def prunable(
    folder: Path, *, keep: int | None, older_than: float | None, now: float
) -> list[tuple[Path, Manifest]]:
    """The snapshots to delete: per volume, all but the ``keep`` newest, and (with
    ``older_than`` seconds) only those older than that. A backup asked for is never one."""
    by_volume: dict[str, list[tuple[Path, Manifest]]] = {}
    for path in find_archives(folder):
        try:
            manifest = read_manifest(path)
        except ValueError:
            continue
        if manifest.reason in SNAPSHOT_REASONS:
            by_volume.setdefault(manifest.volume, []).append((path, manifest))
    going: list[tuple[Path, Manifest]] = []
    for held in by_volume.values():
        held.sort(key=lambda pm: pm[1].created, reverse=True)
        for i, (path, manifest) in enumerate(held):
            if keep is not None and i < keep:
                continue
            age = now - datetime.fromisoformat(manifest.created).timestamp()
            if older_than is not None and age < older_than:
                continue
            going.append((path, manifest))
    return going
