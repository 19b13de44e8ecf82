"""Volume backups and restores on the real engines (issue 45): every kind of file survives
a round trip, a restore reads back and compares, a cancel leaves nothing, the writers are
quiesced and awaited healthy again, and Compose-made and anonymous volumes work too. Each
test runs under the census: no helper container and no imported image is left."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pytest

from infranb import InfrastructureManager, InfrastructureOperation
from infranb.core.archives import read_manifest
from infranb.core.backups import FileEntry
from infranb.engines.docker import DockerEngine
from infranb.manager import run_sync
from tests.compose_cli import V2
from tests.integration.conftest import BASE, Tracker, fast_config, teardown

#: builds a volume with modes, owners, a symlink, a hardlink, an empty folder and a 200 MB
#: file, once (a quiesce starts the container again), then marks it ready
FILL = (
    "test -f /data/.done || { mkdir -p /data/etc /data/empty /data/owned && "
    "echo conf > /data/etc/app.conf && chmod 640 /data/etc/app.conf && "
    "echo mine > /data/owned/file && chown -R 1000:1001 /data/owned && "
    "chmod 2750 /data/owned && ln -s etc/app.conf /data/link && "
    "ln /data/etc/app.conf /data/hard && head -c 209715200 /dev/urandom > /data/big && "
    "touch /data/.done; }; touch /tmp/ready; exec sleep 600"
)


def files(manifest_files: tuple[FileEntry, ...]) -> dict[str, FileEntry]:
    """A manifest's files by path, without the root's own entry."""
    return {f.path: f for f in manifest_files if f.path}


@pytest.fixture
def backups(tmp_path: Path) -> Path:
    return tmp_path / "backups"


def bring_up(m: InfrastructureManager, stack: str, **extra: object) -> None:
    container = {
        "image": BASE, "name": f"{stack}-db", "command": ["sh", "-c", FILL],
        "volumes": {f"{stack}-data": "/data"}, "stop_signal": "SIGKILL",
        "healthcheck": {"test": ["CMD", "test", "-f", "/tmp/ready"], "interval": "200ms",
                        "retries": 100},
        **extra,
    }  # fmt: skip
    op = InfrastructureOperation(
        operation="orchestrate_containers", stack=stack, containers=[container]
    )
    result = run_sync(m.execute(op))
    assert result.success, result.error


def test_every_kind_of_file_survives_a_backup_and_a_restore(
    engine: DockerEngine, stack: str, backups: Path
) -> None:
    with InfrastructureManager(fast_config(backup_dir=str(backups), journal=None)) as m:
        bring_up(m, stack)
        taken = m.backup(stack=stack)
        assert taken.success, taken.error
        (row,) = taken.archives
        assert row.quiesced == (f"{stack}-db",) and row.bytes > 200 * 2**20
        after = engine.inspect_container(f"{stack}-db")
        assert after is not None and after.state == "running" and after.health == "healthy"
        before = read_manifest(Path(row.archive))
        # wipe: the stack and its volume go, then the archive comes back into a new volume
        assert m.run(teardown(stack, volumes=True)).success
        assert f"{stack}-data" not in {v.name for v in engine.list_volumes()}
        restored = m.restore(row.archive)
        assert restored.success, restored.error
        assert restored.archives[0].verified is True
        check = m.backup(f"{stack}-data", to=backups / "check")
        assert check.success, check.error
        again = read_manifest(Path(check.archives[0].archive))
        assert files(again.files) == files(before.files)
        owned = files(before.files)["owned/file"]
        assert (owned.uid, owned.gid) == (1000, 1001)
        assert files(before.files)["owned"].mode == 0o2750
        assert files(before.files)["link"].link == "etc/app.conf"
        assert files(before.files)["hard"].type == "hardlink"
        assert files(before.files)["empty"].type == "dir"
        # the volume came back with the stack's labels: the stack's teardown removes it
        assert m.run(teardown(stack, volumes=True)).success
        assert f"{stack}-data" not in {v.name for v in engine.list_volumes()}


def test_a_restore_refuses_data_unless_asked_and_then_keeps_a_copy(
    engine: DockerEngine, stack: str, tracker: Tracker, backups: Path
) -> None:
    volume = f"{stack}-v"
    tracker.volumes += [volume, f"{stack}-copy"]
    engine.create_volume(volume, "local", {"inbt": stack})
    subprocess.run(
        ["docker", "run", "--rm", "-v", f"{volume}:/d", BASE, "sh", "-c", "echo one > /d/x"],
        check=True, capture_output=True,
    )  # fmt: skip
    with InfrastructureManager(fast_config(backup_dir=str(backups), journal=None)) as m:
        archive = m.backup(volume).archives[0].archive
        assert m.restore(archive, volume=f"{stack}-copy").success
        refused = m.restore(archive, volume=f"{stack}-copy")
        assert not refused.success and "replace=True" in str(refused.error)
        replaced = m.restore(archive, volume=f"{stack}-copy", replace=True)
        assert replaced.success, replaced.error
        assert [a.action for a in replaced.archives] == ["before-restore", "restore"]
        listed = m.backups()
        assert set(listed["reason"]) == {"backup", "before-restore"}
        assert listed["intact"].all()


def test_a_cancelled_backup_leaves_no_archive_and_no_helper(
    engine: DockerEngine, stack: str, tracker: Tracker, backups: Path
) -> None:
    volume = f"{stack}-big"
    tracker.volumes.append(volume)
    engine.create_volume(volume, "local", {"inbt": stack})
    subprocess.run(
        ["docker", "run", "--rm", "-v", f"{volume}:/d", BASE, "sh", "-c",
         "head -c 600000000 /dev/urandom > /d/big"],
        check=True, capture_output=True,
    )  # fmt: skip

    async def scenario(m: InfrastructureManager) -> None:
        task = asyncio.ensure_future(m.abackup(volume))
        written: list[Path] = []
        for _ in range(400):  # until bytes stream into the temporary file
            await asyncio.sleep(0.01)
            written = list(backups.glob(".*.partial")) if backups.exists() else []
            if written and written[0].stat().st_size > 0:
                break
        assert written, "the backup never started writing"
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    with InfrastructureManager(fast_config(backup_dir=str(backups), journal=None)) as m:
        asyncio.run(scenario(m))
    assert list(backups.iterdir()) == []  # neither a final archive nor a partial one
    assert engine.list_containers(labels={"infranb.helper": "volume"}) == []


def test_a_compose_made_volume_and_an_anonymous_one(
    engine: DockerEngine, stack: str, tracker: Tracker, tmp_path: Path, backups: Path
) -> None:
    """A project brought up by Compose v2 is backed up by its name: its named volume (with
    Compose's labels) and its anonymous one, the writer stopped and started again."""
    (tmp_path / "compose.yaml").write_text(
        "services:\n"
        "  db:\n"
        f"    image: {BASE}\n"
        "    command: [sh, -c, 'echo a > /named/f; echo b > /scratch/g; exec sleep 600']\n"
        "    stop_signal: SIGKILL\n"
        "    volumes: [named:/named, /scratch]\n"
        "volumes:\n"
        "  named: {}\n"
    )
    compose = [V2, "-p", stack, "-f", str(tmp_path / "compose.yaml")]
    subprocess.run([*compose, "up", "-d", "--wait"], check=True, capture_output=True)
    try:
        with InfrastructureManager(fast_config(backup_dir=str(backups), journal=None)) as m:
            result = m.backup(stack=stack)
            assert result.success, result.error
            by_volume = {a.volume: a for a in result.archives}
            assert f"{stack}_named" in by_volume and len(by_volume) == 2
            anonymous = next(v for v in by_volume if v != f"{stack}_named")
            assert len(anonymous) == 64
            manifest = read_manifest(Path(by_volume[f"{stack}_named"].archive))
            assert manifest.stack == stack and manifest.services == ("db",)
            assert "f" in files(manifest.files)
            assert "g" in files(read_manifest(Path(by_volume[anonymous].archive)).files)
        (listed,) = engine.list_containers(labels={"com.docker.compose.project": stack})
        assert listed.state == "running"
    finally:
        subprocess.run([*compose, "down", "-v"], check=True, capture_output=True)


def test_a_teardown_with_volumes_is_reverted_with_its_data(
    engine: DockerEngine, stack: str, tmp_path: Path
) -> None:
    """``down(volumes=True)`` snapshots the volume first; ``revert`` of it brings the stack
    back with the data, and the snapshot's restore is verified file by file."""
    journal = str(tmp_path / "journal.sqlite")
    config = fast_config(journal=journal, snapshot_before=("remove_volume",))
    with InfrastructureManager(config) as m:
        op = InfrastructureOperation(
            operation="orchestrate_containers", stack=stack,
            containers=[{
                "image": BASE, "name": f"{stack}-db", "stop_signal": "SIGKILL",
                "command": ["sh", "-c", "test -f /data/rows || echo precious > /data/rows; "
                            "exec sleep 600"],
                "volumes": {f"{stack}-data": "/data"},
            }],
        )  # fmt: skip
        assert m.run(op).success
        down = m.down(stack, volumes=True)
        assert down.success, down.error
        assert [a.action for a in down.archives] == ["snapshot"]
        assert Path(down.archives[0].archive).parent == tmp_path / "backups"
        assert f"{stack}-data" not in {v.name for v in engine.list_volumes()}
        back = m.revert(down.run_id or "")
        assert back.success, back.error
        assert back.archives[0].verified is True
        reading = m.exec(f"{stack}-db", ["cat", "/data/rows"])
        assert list(reading["line"]) == ["precious"]
        history = m.history()
        assert set(history["operation"]) >= {"cleanup_resources", "revert"}
        assert m.run(teardown(stack, volumes=True)).success


def test_a_failed_recreate_rolls_back_with_the_data_as_it_was(
    engine: DockerEngine, stack: str, tmp_path: Path
) -> None:
    """A new version that migrates the data and then fails: the rollback brings the old
    container back on the data as it was before the run, not the migrated data."""
    config = fast_config(
        journal=None, backup_dir=str(tmp_path / "b"), snapshot_before=("recreate_with_volume",)
    )

    def db(command: str) -> InfrastructureOperation:
        return InfrastructureOperation(
            operation="orchestrate_containers", stack=stack,
            containers=[{"image": BASE, "name": f"{stack}-db", "stop_signal": "SIGKILL",
                         "command": ["sh", "-c", command],
                         "volumes": {f"{stack}-data": "/data"}}],
        )  # fmt: skip

    with InfrastructureManager(config) as m:
        first = m.run(db("test -f /data/rows || echo 'row 1' > /data/rows; exec sleep 600"))
        assert first.success, first.error
        failed = m.run(db("echo migrated > /data/rows; touch /data/added; exit 3"))
        assert not failed.success and failed.rolled_back, failed.error
        assert [a.action for a in failed.archives] == ["snapshot"]
        assert f"volume {stack}-data from its snapshot" in str(failed.error)
        listing = m.exec(f"{stack}-db", ["ls", "/data"])
        assert list(listing["line"]) == ["rows"]
        assert list(m.exec(f"{stack}-db", ["cat", "/data/rows"])["line"]) == ["row 1"]
        assert m.run(teardown(stack, volumes=True)).success


def test_replace_makes_the_volumes_users_again_around_the_restore(
    engine: DockerEngine, stack: str, tmp_path: Path
) -> None:
    """A restore with replace=True into a volume a running container uses: it is stopped and
    removed, the volume made again with the archive, and the container made again as it
    was (same name, environment, networks) and started."""
    config = fast_config(journal=None, backup_dir=str(tmp_path / "b"))
    with InfrastructureManager(config) as m:
        op = InfrastructureOperation(
            operation="orchestrate_containers", stack=stack,
            containers=[{"image": BASE, "name": f"{stack}-db", "stop_signal": "SIGKILL",
                         "command": ["sleep", "600"], "environment": {"MODE": "kept"},
                         "networks": [f"{stack}-net"], "volumes": {f"{stack}-data": "/data"}}],
        )  # fmt: skip
        assert m.run(op).success
        m.exec(f"{stack}-db", ["sh", "-c", "echo before > /data/rows"])
        archive = m.backup(f"{stack}-data").archives[0].archive
        m.exec(f"{stack}-db", ["sh", "-c", "echo after > /data/rows; touch /data/extra"])
        result = m.restore(archive, replace=True)
        assert result.success, result.error
        assert [a.action for a in result.archives] == ["before-restore", "restore"]
        assert list(m.exec(f"{stack}-db", ["ls", "/data"])["line"]) == ["rows"]
        assert list(m.exec(f"{stack}-db", ["cat", "/data/rows"])["line"]) == ["before"]
        assert list(m.exec(f"{stack}-db", ["sh", "-c", "echo $MODE"])["line"]) == ["kept"]
        again = engine.inspect_container(f"{stack}-db")
        assert again is not None and again.networks == (f"{stack}-net",)
        assert m.run(teardown(stack, volumes=True)).success


def test_the_revert_of_a_replacement_brings_its_snapshot_back(
    engine: DockerEngine, stack: str, tmp_path: Path
) -> None:
    """A run replaces the database (the volume snapshotted once the old one stopped); the
    new version rewrites the data. The revert, with consent, brings the old container and
    the snapshot back, keeping a backup of what the volume held."""
    config = fast_config(
        journal=str(tmp_path / "journal.sqlite"), confirm_destructive=True,
        snapshot_before=("recreate_with_volume",),
    )  # fmt: skip

    def db(version: str) -> InfrastructureOperation:
        return InfrastructureOperation(
            operation="orchestrate_containers", stack=stack,
            containers=[{"image": BASE, "name": f"{stack}-db", "stop_signal": "SIGKILL",
                         "command": ["sleep", "600"], "environment": {"VERSION": version},
                         "volumes": {f"{stack}-data": "/data"}}],
        )  # fmt: skip

    with InfrastructureManager(config) as m:
        assert m.run(db("1")).success
        m.exec(f"{stack}-db", ["sh", "-c", "echo v1 > /data/rows"])
        second = run_sync(m.execute(db("2"), confirm=True))
        assert second.success, second.error
        m.exec(f"{stack}-db", ["sh", "-c", "echo v2 > /data/rows; touch /data/v2-only"])
        assert m.revert(second.run_id or "").refused  # it replaces data: consent first
        back = m.revert(second.run_id or "", confirm=True)
        assert back.success, back.error
        assert list(m.exec(f"{stack}-db", ["ls", "/data"])["line"]) == ["rows"]
        assert list(m.exec(f"{stack}-db", ["cat", "/data/rows"])["line"]) == ["v1"]
        assert list(m.exec(f"{stack}-db", ["sh", "-c", "echo $VERSION"])["line"]) == ["1"]
        kept = next(a for a in back.archives if a.action == "before-restore")
        assert "v2-only" in {f.path for f in read_manifest(Path(kept.archive)).files}
        assert run_sync(m.execute(teardown(stack, volumes=True), confirm=True)).success
