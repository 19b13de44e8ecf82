"""Volume backups and restores (issue 45) on the in-memory engine: the plan (quiesce,
backup, back up again), what lands on disk (0600 files in a 0700 folder, a manifest that
lists every file and holds no secret), restores that read back and compare, and the
refusals, each in one sentence before anything is touched."""

from __future__ import annotations

import io
import json
import stat
import tarfile
from pathlib import Path
from typing import Any

import pytest

from infranb import InfrastructureManager, InfrastructureManagerConfig, InfrastructureOperation
from infranb.core.archives import read_manifest
from infranb.core.backups import FileEntry, differences, manifest_path, masked_options
from infranb.core.errors import EngineError
from infranb.core.records import VolumeInfo
from infranb.core.secrets import MASK
from infranb.core.specs import ContainerSpec, Mount
from infranb.manager import run_sync
from infranb.testing import MemoryEngine

BASE = "infranb-demo/base:1"


def manager(engine: MemoryEngine, tmp_path: Path, **config: Any) -> InfrastructureManager:
    settings: dict[str, Any] = {
        "journal": str(tmp_path / "journal.sqlite"),
        "min_uptime": 0.0,
        "stop_timeout": 0.1,
    }
    settings.update(config)
    return InfrastructureManager(InfrastructureManagerConfig(**settings), engine=engine)


def tar_of(files: dict[str, bytes], uid: int = 0) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for path, data in files.items():
            info = tarfile.TarInfo(path)
            info.size, info.mode, info.uid, info.gid = len(data), 0o640, uid, uid
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@pytest.fixture
def engine() -> MemoryEngine:
    return MemoryEngine([BASE])


def up(m: InfrastructureManager, *containers: dict[str, Any]) -> None:
    op = InfrastructureOperation(
        operation="orchestrate_containers", containers=list(containers), stack="shop"
    )
    result = run_sync(m.execute(op))
    assert result.success, result.error


def fill(engine: MemoryEngine, container: str, target: str, files: dict[str, bytes]) -> None:
    details = engine.inspect_container(container)
    assert details is not None
    engine.put_archive_stream(details.id, target, [tar_of(files)])


@pytest.fixture
def shop(engine: MemoryEngine, tmp_path: Path) -> InfrastructureManager:
    m = manager(engine, tmp_path)
    up(
        m,
        {"name": "db", "image": BASE, "volumes": ["dbdata:/var/lib/db"]},
        {"name": "reader", "image": BASE, "volumes": ["dbdata:/srv:ro"]},
    )
    fill(engine, "db", "/var/lib/db", {"table": b"rows", "sub/index": b"idx"})
    return m


def test_the_plan_stops_the_writers_backs_up_then_starts_them_again(
    shop: InfrastructureManager, engine: MemoryEngine
) -> None:
    engine.calls.clear()
    result = shop.backup("dbdata", dry_run=True)
    assert result.success and result.dry_run
    steps = [(s.kind, s.target, s.wave) for s in result.plan.steps]
    # the read-only reader keeps running: it cannot write to the volume
    assert steps == [("stop", "db", 0), ("backup", "dbdata", 1), ("start-ready", "db", 2)]
    assert not [c for c in engine.calls if c.startswith(("stop", "create", "put", "get"))]
    paused = shop.backup("dbdata", quiesce="pause", dry_run=True)
    assert [s.kind for s in paused.plan.steps] == ["pause", "backup", "unpause"]
    live = shop.backup("dbdata", quiesce="none", dry_run=True)
    assert [s.kind for s in live.plan.steps] == ["backup"]


def test_a_backup_writes_a_private_archive_and_a_manifest_of_every_file(
    shop: InfrastructureManager, engine: MemoryEngine, tmp_path: Path
) -> None:
    result = shop.backup(stack="shop")
    assert result.success, result.error
    (row,) = result.archives
    archive = Path(row.archive)
    assert archive.parent == tmp_path / "backups"  # beside the journal
    assert stat.S_IMODE(archive.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    assert stat.S_IMODE(manifest_path(archive).stat().st_mode) == 0o600
    assert not [p for p in archive.parent.iterdir() if p.name.startswith(".")]
    manifest = read_manifest(archive)
    files = {f.path: f for f in manifest.files}
    assert files["table"].size == 4 and files["table"].mode == 0o640
    assert manifest.stack == "shop" and manifest.containers == ("db", "reader")
    assert row.quiesced == ("db",) and row.files == len(manifest.files)
    assert engine.inspect_container("db").state == "running"  # started again
    frame = result.to_frame()
    assert list(frame["volume"]) == ["dbdata"] and frame["bytes"][0] == 7
    # no helper and no imported image is left behind
    assert [c.name for c in engine.containers.values()] == ["db", "reader"]
    assert [i for i in engine.images.values() if not i.tags] == []
    listed = shop.backups()
    assert list(listed["volume"]) == ["dbdata"] and bool(listed["intact"][0])


def test_a_restore_writes_reads_back_and_compares(
    shop: InfrastructureManager, engine: MemoryEngine
) -> None:
    archive = shop.backup("dbdata").archives[0].archive
    result = shop.restore(archive, volume="dbcopy")
    assert result.success, result.error
    assert [s.kind for s in result.plan.steps] == ["restore"]
    assert result.plan.steps[0].undo is not None  # the volume it creates goes on a failure
    (row,) = result.archives
    assert row.verified is True and row.verify_seconds is not None
    assert engine.volume_data["dbcopy"]["table"][1] == b"rows"
    again = shop.restore(archive, volume="dbcopy")
    assert not again.success and "not empty" in str(again.error)
    assert "replace=True" in str(again.error)


def test_replace_backs_up_what_is_there_and_makes_its_users_again(
    shop: InfrastructureManager, engine: MemoryEngine
) -> None:
    archive = shop.backup("dbdata").archives[0].archive
    fill(engine, "db", "/var/lib/db", {"later": b"written after the backup"})
    plain = shop.restore(archive)
    assert not plain.success and "replace=True" in str(plain.error)
    planned = shop.restore(archive, replace=True, dry_run=True)
    assert [(s.kind, s.target) for s in planned.plan.steps] == [
        ("stop", "db"), ("stop", "reader"), ("backup", "dbdata"), ("remove", "db"),
        ("remove", "reader"), ("remove-volume", "dbdata"), ("restore", "dbdata"),
        ("remake", "db"), ("remake", "reader"), ("start-ready", "db"), ("start-ready", "reader"),
    ]  # fmt: skip
    result = shop.restore(archive, replace=True)
    assert result.success, result.error
    assert [a.action for a in result.archives] == ["before-restore", "restore"]
    assert "later" not in engine.volume_data["dbdata"]
    kept = read_manifest(Path(result.archives[0].archive))
    assert "later" in {f.path for f in kept.files} and kept.reason == "before-restore"
    states = {c.name: c.state for c in engine.containers.values()}
    assert states == {"db": "running", "reader": "running"}


def test_replace_is_refused_for_a_volume_a_foreign_container_holds(
    shop: InfrastructureManager, engine: MemoryEngine
) -> None:
    archive = shop.backup("dbdata").archives[0].archive
    by_hand = ContainerSpec(name="by-hand", image=BASE, volumes=(Mount("dbdata", "/x", "volume"),))
    engine.create_container(by_hand, {}, {}, [])
    engine.calls.clear()
    refused = shop.restore(archive, replace=True)
    assert not refused.success and "used by by-hand, which neither infranb" in str(refused.error)
    assert not [c for c in engine.calls if c.startswith(("stop", "remove", "create"))]


def test_a_damaged_archive_fails_the_restore_and_leaves_nothing(
    shop: InfrastructureManager, engine: MemoryEngine
) -> None:
    archive = Path(shop.backup("dbdata").archives[0].archive)
    data = bytearray(archive.read_bytes())
    data[600] ^= 0xFF  # inside the first file's contents
    archive.write_bytes(bytes(data))
    result = shop.restore(archive, volume="fresh")
    assert not result.success and "checksum" in str(result.error)
    assert result.rolled_back and "fresh" not in engine.volumes
    assert not bool(shop.backups()["intact"][0])


def test_what_a_restore_wrote_is_compared_file_by_file(
    shop: InfrastructureManager, engine: MemoryEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = shop.backup("dbdata").archives[0].archive
    real = engine.put_archive_stream

    def lossy(ref: str, folder: str, chunks: Any) -> None:
        real(ref, folder, chunks)
        with engine._lock:
            for held in engine.volume_data.values():
                if "table" in held:
                    info, _ = held["table"]
                    held["table"] = (info, b"ROWS")

    monkeypatch.setattr(engine, "put_archive_stream", lossy)
    result = shop.restore(archive, volume="fresh")
    assert not result.success and "table: sha256" in str(result.error)
    assert result.rolled_back and "fresh" not in engine.volumes


def test_bad_requests_are_refused_in_one_sentence(
    shop: InfrastructureManager, engine: MemoryEngine, tmp_path: Path
) -> None:
    engine.calls.clear()
    nothing = shop.backup()
    assert not nothing.success and "needs volumes=[...] or stack=" in str(nothing.error)
    assert "quiesce" in str(shop.backup("dbdata", quiesce="freeze").error)
    assert "compress" in str(shop.backup("dbdata", compress="xz").error)
    missing = shop.backup("nope")
    assert not missing.success and "no volume named nope" in str(missing.error)
    assert "is not a file" in str(shop.restore(tmp_path / "none.tar").error)
    folder = shop.backup(["/srv/data"])
    assert "a folder of the host (a bind mount's source)" in str(folder.error)
    assert not [c for c in engine.calls if c.startswith(("stop", "create", "put"))]


def test_no_room_is_refused_before_anything_is_touched(
    shop: InfrastructureManager, engine: MemoryEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine.volume_sizes = lambda: {"dbdata": 10**18}  # type: ignore[method-assign]
    engine.calls.clear()
    result = shop.backup("dbdata")
    assert not result.success and "free some space" in str(result.error)
    assert "stop_container" not in engine.calls


def test_secret_driver_options_never_reach_a_manifest_the_journal_or_a_result(
    engine: MemoryEngine, tmp_path: Path
) -> None:
    m = manager(engine, tmp_path)
    options = {"type": "cifs", "o": "username=ops,password=s3cr3t-pw"}
    engine.volumes["share"] = VolumeInfo("share", "local", {}, options=options)
    result = m.backup("share")
    assert result.success, result.error
    archive = Path(result.archives[0].archive)
    text = manifest_path(archive).read_text()
    assert "s3cr3t-pw" not in text and "username=ops" in text
    refused = m.restore(archive, volume="share2")
    assert not refused.success and "driver_opts" in str(refused.error)
    given = {"type": "cifs", "o": "username=ops,password=s3cr3t-pw"}
    restored = m.restore(archive, volume="share2", driver_opts=given)
    assert restored.success, restored.error
    shown = str(restored) + repr(restored) + restored.to_frame().to_string()
    shown += repr(restored.plan.steps) + json.dumps([s.to_json() for s in restored.plan.steps])
    assert "s3cr3t-pw" not in shown
    journal = (tmp_path / "journal.sqlite").read_bytes()
    assert b"s3cr3t-pw" not in journal


def test_masked_options_and_differences_are_plain_functions() -> None:
    assert masked_options({"o": "addr=1.2.3.4,password=x", "device": "//h/s"}) == {
        "o": f"addr=1.2.3.4,password={MASK}",
        "device": "//h/s",
    }
    a = FileEntry("f", "file", 0o600, 0, 0, 3, "aa")
    assert differences([a], [a]) == []
    b = FileEntry("f", "file", 0o644, 1, 0, 3, "aa")
    (said,) = differences([a], [b])
    assert "mode 0600 in the manifest, 0644 now" in said and "uid 0" in said
    assert differences([a], []) == ["f is missing"]
    assert differences([], [a]) == ["f is not in the manifest"]


def test_a_teardown_snapshots_its_volumes_and_its_revert_brings_the_data_back(
    shop: InfrastructureManager, engine: MemoryEngine
) -> None:
    planned = shop.down("shop", volumes=True, dry_run=True)
    assert [(s.kind, s.target) for s in planned.plan.steps] == [
        ("stop", "db"),
        ("backup", "dbdata"),
    ]
    down = shop.down("shop", volumes=True)
    assert down.success, down.error
    assert "dbdata" not in engine.volumes and not engine.containers
    (snapshot,) = down.archives
    assert snapshot.action == "snapshot" and Path(snapshot.archive).exists()
    back = shop.revert(down.run_id)
    assert back.success, back.error
    assert engine.volume_data["dbdata"]["table"][1] == b"rows"
    assert {c.name for c in engine.containers.values()} == {"db", "reader"}
    assert [a.action for a in back.archives] == ["restore"]


def test_snapshots_over_the_cap_are_refused_before_anything_is_removed(
    engine: MemoryEngine, tmp_path: Path
) -> None:
    m = manager(engine, tmp_path, snapshot_max_bytes=3)
    up(m, {"name": "db", "image": BASE, "volumes": ["dbdata:/var/lib/db"]})
    fill(engine, "db", "/var/lib/db", {"table": b"rows"})
    refused = m.down("shop", volumes=True)
    assert not refused.success and "snapshot_max_bytes=3" in str(refused.error)
    assert "volume dbdata: 4" in str(refused.error) and "snapshot_before=()" in str(refused.error)
    assert "dbdata" in engine.volumes and engine.inspect_container("db").state == "running"
    off = manager(engine, tmp_path, snapshot_before=())
    gone = off.down("shop", volumes=True)
    assert gone.success and not gone.archives and "dbdata" not in engine.volumes


def test_a_failed_snapshot_removes_nothing_and_starts_again_what_it_stopped(
    shop: InfrastructureManager, engine: MemoryEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(ref: str, path: str) -> Any:
        raise EngineError("reading the volume failed (injected)")

    monkeypatch.setattr(engine, "get_archive_stream", broken)
    result = shop.down("shop", volumes=True)
    assert not result.success and "injected" in str(result.error) and result.rolled_back
    assert "dbdata" in engine.volumes
    assert engine.inspect_container("db").state == "running"
    assert list(shop.backups()["volume"]) == []


def test_the_history_says_where_each_runs_archives_are_and_prune_deletes_snapshots_only(
    shop: InfrastructureManager, engine: MemoryEngine
) -> None:
    kept = shop.backup("dbdata")
    down = shop.down("shop", volumes=True)
    assert shop.revert(down.run_id or "").success
    history = shop.history()
    row = history[history["run_id"] == down.run_id].iloc[0]
    assert row["archives"] == f"snapshot dbdata: {down.archives[0].archive}"
    assert "snapshot 1" in row["changes"]
    with pytest.raises(ValueError, match="keep=N or older_than"):
        shop.prune_snapshots()
    assert shop.prune_snapshots(older_than="7d").empty  # taken just now
    would = shop.prune_snapshots(keep=0, dry_run=True)
    assert list(would["volume"]) == ["dbdata"] and not would["deleted"].any()
    assert Path(down.archives[0].archive).exists()
    gone = shop.prune_snapshots(keep=0)
    assert list(gone["archive"]) == [down.archives[0].archive] and gone["deleted"].all()
    assert not Path(down.archives[0].archive).exists()
    assert Path(kept.archives[0].archive).exists()  # a backup asked for is never pruned


def test_a_failed_replacement_puts_the_volume_it_wrote_to_back_as_it_was(
    engine: MemoryEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The new version migrates the data, then fails its start: the rollback brings back
    the old container and the volume's snapshot, not the migrated data."""
    m = manager(engine, tmp_path)
    db = {"name": "db", "image": BASE, "volumes": ["dbdata:/var/lib/db"]}
    up(m, db)
    fill(engine, "db", "/var/lib/db", {"table": b"rows"})
    real = engine.start_container

    def migrating(ref: str) -> None:
        target = engine.containers.get(ref)
        if target is not None and "exit 3" in target.command:
            held = engine.volume_data["dbdata"]
            held["table"] = (held["table"][0], b"MIGRATED")
            held["added"] = (tarfile.TarInfo("added"), b"")
        real(ref)

    monkeypatch.setattr(engine, "start_container", migrating)
    dry = run_sync(m.execute(InfrastructureOperation(
        operation="orchestrate_containers", stack="shop", dry_run=True,
        containers=[{**db, "command": ["sh", "-c", "exit 3"]}])))  # fmt: skip
    (step,) = dry.plan
    assert any("snapshot of dbdata (4 bytes)" in w for w in step.warnings)
    failed = run_sync(m.execute(InfrastructureOperation(
        operation="orchestrate_containers", stack="shop",
        containers=[{**db, "command": ["sh", "-c", "exit 3"]}])))  # fmt: skip
    assert not failed.success and failed.rolled_back, failed.error
    assert "volume dbdata from its snapshot" in str(failed.error)
    assert {k: v[1] for k, v in engine.volume_data["dbdata"].items() if k} == {"table": b"rows"}
    (back,) = engine.containers.values()
    assert back.name == "db" and back.state == "running" and "exit 3" not in back.command
    assert [a.action for a in failed.archives] == ["snapshot"]


@pytest.mark.parametrize("compress", ["gz", "zst"])
def test_a_compressed_backup_restores_the_same_files(
    shop: InfrastructureManager, engine: MemoryEngine, compress: str
) -> None:
    taken = shop.backup("dbdata", compress=compress)
    assert taken.success, taken.error
    archive = Path(taken.archives[0].archive)
    assert archive.name.endswith(f".tar.{compress}")
    assert read_manifest(archive).compress == compress
    restored = shop.restore(archive, volume=f"copy-{compress}")
    assert restored.success, restored.error
    assert engine.volume_data[f"copy-{compress}"]["sub/index"][1] == b"idx"


def test_the_revert_of_a_replacement_writes_its_snapshot_back_with_consent(
    engine: MemoryEngine, tmp_path: Path
) -> None:
    """A run replaced the database (its volume snapshotted first); the new version then
    wrote to the volume. Its revert brings the old container back and the snapshot in place
    of what the volume holds, which is backed up first; it needs consent."""
    m = manager(engine, tmp_path, confirm_destructive=True)
    db = {"name": "db", "image": BASE, "volumes": ["dbdata:/var/lib/db"]}
    up(m, db)
    fill(engine, "db", "/var/lib/db", {"table": b"rows"})
    op = InfrastructureOperation(
        operation="orchestrate_containers", stack="shop",
        containers=[{**db, "environment": {"VERSION": "2"}}],
    )  # fmt: skip
    second = run_sync(m.execute(op, confirm=True))
    assert second.success, second.error
    assert [a.action for a in second.archives] == ["snapshot"]
    fill(engine, "db", "/var/lib/db", {"table": b"MIGRATED", "added": b""})
    refused = m.revert(second.run_id or "")
    assert refused.refused and "replace what volume dbdata holds" in str(refused.error)
    back = m.revert(second.run_id or "", confirm=True)
    assert back.success, back.error
    held = {k: v[1] for k, v in engine.volume_data["dbdata"].items() if k}
    assert held == {"table": b"rows"}
    (db_now,) = engine.containers.values()
    assert db_now.state == "running" and "VERSION" not in db_now.environment
    # the revert's own recreate snapshots the volume too (its rollback would need it)
    assert [a.action for a in back.archives] == ["snapshot", "before-restore", "restore"]
    kept = read_manifest(Path(back.archives[1].archive))
    assert {f.path for f in kept.files if f.path} == {"table", "added"}
