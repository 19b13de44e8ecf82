"""``manager.backups()``: the archives in the backup folder with their manifests, newest
first, and whether each still matches its checksum. It reads this machine's disk only."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from infranb.core.archives import file_sha256, find_archives, read_manifest
from infranb.core.frames import Schema, frame
from infranb.views.base import EngineContext

if TYPE_CHECKING:
    import pandas as pd

SCHEMA: Schema = {
    "created": "string",
    "volume": "string",
    "reason": "string",
    "archive": "string",
    "files": "Int64",
    "bytes": "Int64",
    "archive_bytes": "Int64",
    "stack": "string",
    "run_id": "string",
    "intact": "boolean",
    "problem": "string",
}


def rows(folder: Path) -> list[dict[str, object]]:
    """One row per archive; a manifest that cannot be read is a row saying why."""
    found: list[dict[str, object]] = []
    for path in find_archives(folder):
        try:
            m = read_manifest(path)
        except ValueError as e:
            found.append({"archive": str(path), "intact": False, "problem": str(e)})
            continue
        sha = file_sha256(path)
        found.append({
            "created": m.created, "volume": m.volume, "reason": m.reason, "archive": str(path),
            "files": len(m.files), "bytes": m.bytes, "archive_bytes": m.archive_bytes,
            "stack": m.stack, "run_id": m.run_id, "intact": sha == m.archive_sha256,
            "problem": None if sha == m.archive_sha256
            else "the archive does not match its manifest's checksum",
        })  # fmt: skip
    return sorted(found, key=lambda r: str(r.get("created") or ""), reverse=True)


async def query(ctx: EngineContext, to: str | None = None) -> pd.DataFrame:
    """The archives in ``to`` (default ``config.backup_dir``), newest first."""
    folder = Path(to).expanduser() if to else ctx.config.backups_folder
    return frame(await ctx.call(rows, folder), SCHEMA)
