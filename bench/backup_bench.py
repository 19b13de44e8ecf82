"""Volume backups and restores against the recipe people use, on the same engine, alternating.

    .venv/bin/python bench/backup_bench.py [--rounds 5] [--mib 1024] [--files 10000]

A volume holding ``--mib`` MiB of random bytes in ``--files`` files is:

1. backed up by ``manager.backup`` (``quiesce="none"``: nothing uses it), and by the recipe
   ``docker run --rm -v VOL:/d IMAGE tar c -C /d .`` into a file, with a local image;
2. restored by ``manager.restore`` into a new volume (its read-back verification timed on
   its own line), and by ``docker run --rm -i -v VOL:/d IMAGE tar x -C /d`` from that file;
3. read from the volume's folder on this machine's disk in 1 MiB reads (the machine's limit
   for the same bytes; the page cache holds them after the first round, as it does for both
   tools).

Medians of ``--rounds``, the tools alternating in each round; throughput in MiB/s of the
volume's bytes, and infranb's over the recipe's. Then the cost of a snapshot: a backup of a
100 MB volume, the time a stop-first recreate's gap grows by when it takes one first.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import subprocess
import tarfile
import tempfile
import time
import uuid
from functools import partial
from pathlib import Path

from infranb import InfrastructureManager, InfrastructureManagerConfig
from infranb.core.backups import MOUNT_POINT
from infranb.core.specs import ContainerSpec, Mount
from infranb.engines.docker import DockerEngine

BASE = "infranb-demo/base:1"


def fill(engine: DockerEngine, volume: str, mib: int, files: int) -> int:
    """Put ``mib`` MiB of random bytes in ``files`` files into ``volume``, streamed."""
    size = mib * 2**20 // files
    spec = ContainerSpec(
        name=f"bench-fill-{uuid.uuid4().hex[:6]}", image=BASE, command=("true",),
        network_mode="none", volumes=(Mount(volume, MOUNT_POINT, "volume"),),
    )  # fmt: skip
    cid = engine.create_container(spec, {}, {"infranb-bench": "backup"}, [])

    def chunks():  # one tar, streamed as it is written
        buffer = io.BytesIO()
        tar = tarfile.open(fileobj=buffer, mode="w|")  # noqa: SIM115 (closed below, a generator)
        for i in range(files):
            info = tarfile.TarInfo(f"d{i % 50}/f{i}")
            info.size = size
            tar.addfile(info, io.BytesIO(os.urandom(size)))
            if buffer.tell() > 2**22:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        tar.close()
        yield buffer.getvalue()

    try:
        engine.put_archive_stream(cid, MOUNT_POINT, chunks())
    finally:
        engine.remove_container(cid, force=True)
    return size * files


def timed(fn) -> float:
    began = time.perf_counter()
    fn()
    return time.perf_counter() - began


def docker(*args: str, **kwargs) -> None:
    kwargs.setdefault("stdout", subprocess.DEVNULL)
    subprocess.run(["docker", *args], check=True, stderr=subprocess.PIPE, **kwargs)


def mountpoint(volume: str) -> Path:
    out = subprocess.run(
        ["docker", "volume", "inspect", "-f", "{{.Mountpoint}}", volume],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return Path(out.stdout.strip())


def read_folder(folder: Path) -> int:
    total = 0
    for path in folder.rglob("*"):
        if path.is_file():
            with path.open("rb") as f:
                while block := f.read(2**20):
                    total += len(block)
    return total


def snapshot_cost(rounds: int) -> None:
    """A stop-first recreate of a container writing to a 100 MB volume, with the snapshot
    ``recreate_with_volume`` takes and without it (``snapshot_before=()``), alternating."""
    from infranb import InfrastructureOperation
    from infranb.manager import down_operation

    engine = DockerEngine()
    stack = f"bench-snap-{uuid.uuid4().hex[:6]}"
    volume = f"{stack}-data"
    work = Path(tempfile.mkdtemp(prefix="bench-snap-"))
    engine.create_volume(volume, "local", {"infranb-bench": "backup"})
    fill(engine, volume, 100, 100)
    on = InfrastructureManagerConfig(journal=None, backup_dir=str(work), min_uptime=0.0)
    off = InfrastructureManagerConfig(journal=None, snapshot_before=(), min_uptime=0.0)

    def request(i: int) -> InfrastructureOperation:
        return InfrastructureOperation(
            operation="orchestrate_containers", stack=stack,
            containers=[{"image": BASE, "name": f"{stack}-db", "command": ["sleep", "600"],
                         "stop_signal": "SIGKILL", "environment": {"ROUND": str(i)},
                         "volumes": {volume: "/data"}}],
        )  # fmt: skip

    times: dict[str, list[float]] = {"with a snapshot": [], "without": []}
    try:
        with InfrastructureManager(off) as plain, InfrastructureManager(on) as snapping:
            assert plain.run(request(0)).success
            changes = iter(range(1, 2 * rounds + 1))  # each run changes the environment
            for _ in range(rounds):
                for label, m in (("with a snapshot", snapping), ("without", plain)):
                    began = time.perf_counter()
                    result = m.run(request(next(changes)))
                    times[label].append(time.perf_counter() - began)
                    assert result.success, result.error
        with_, without = (statistics.median(times[k]) for k in times)
        print(f"\n# a stop-first recreate of a container writing to a 100 MB volume, medians of "
              f"{rounds}")  # fmt: skip
        for k, v in times.items():
            print(f"{k:16} {statistics.median(v):6.2f}s   {[round(x, 2) for x in v]}")
        print(f"the snapshot adds {with_ - without:.2f}s to the recreate (and to its gap)")
    finally:
        with InfrastructureManager(off) as m:
            m.run(down_operation(stack, volumes=True))
        subprocess.run(["docker", "volume", "rm", "-f", volume], capture_output=True)
        subprocess.run(["rm", "-rf", str(work)])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--mib", type=int, default=1024)
    parser.add_argument("--files", type=int, default=10000)
    parser.add_argument("--part", choices=("archives", "snapshot"), default=None)
    args = parser.parse_args()
    if args.part != "archives":
        snapshot_cost(args.rounds)
    if args.part == "snapshot":
        return
    engine = DockerEngine()
    tag = uuid.uuid4().hex[:6]
    volume = f"bench-backup-{tag}"
    work = Path(tempfile.mkdtemp(prefix="bench-backup-"))
    engine.create_volume(volume, "local", {"infranb-bench": "backup"})
    made = [volume]
    config = InfrastructureManagerConfig(journal=None, backup_dir=str(work / "infranb"))
    times: dict[str, list[float]] = {k: [] for k in (
        "backup infranb", "backup recipe", "restore infranb", "restore infranb: verify",
        "restore recipe", "read from disk",
    )}  # fmt: skip
    try:
        began = time.perf_counter()
        total = fill(engine, volume, args.mib, args.files)
        print(f"# a volume of {total / 2**20:.0f} MiB in {args.files} files, filled in "
              f"{time.perf_counter() - began:.1f}s; Docker {engine.info().version}")  # fmt: skip
        with InfrastructureManager(config) as m:
            for round_ in range(args.rounds):
                recipe = work / f"recipe-{round_}.tar"
                with recipe.open("wb") as out:
                    times["backup recipe"].append(timed(lambda: docker(
                        "run", "--rm", "-v", f"{volume}:/d", BASE, "tar", "c", "-C", "/d", ".",
                        stdout=out)))  # fmt: skip
                result = None

                def ours() -> None:
                    nonlocal result
                    result = m.backup(volume, quiesce="none")
                    assert result.success, result.error

                times["backup infranb"].append(timed(ours))
                archive = result.archives[0].archive  # type: ignore[union-attr]
                mine, theirs = f"{volume}-r{round_}", f"{volume}-t{round_}"
                made += [mine, theirs]
                restored = m.restore(archive, volume=mine)
                assert restored.success, restored.error
                row = restored.archives[0]
                times["restore infranb"].append(row.seconds)
                times["restore infranb: verify"].append(row.verify_seconds or 0.0)
                engine.create_volume(theirs, "local", {"infranb-bench": "backup"})
                with recipe.open("rb") as source:
                    untar = (
                        "run",
                        "--rm",
                        "-i",
                        "-v",
                        f"{theirs}:/d",
                        BASE,
                        "tar",
                        "x",
                        "-C",
                        "/d",
                    )
                    times["restore recipe"].append(timed(partial(docker, *untar, stdin=source)))
                times["read from disk"].append(timed(lambda: read_folder(mountpoint(volume))))
                for v in (mine, theirs):
                    engine.remove_volume(v)
                    made.remove(v)
                recipe.unlink()
                Path(archive).unlink()
                Path(archive).with_suffix(".json").unlink()
                print(f"round {round_ + 1}: " + ", ".join(
                    f"{k} {v[-1]:.2f}s" for k, v in times.items()), flush=True)  # fmt: skip
        mib = total / 2**20
        print(f"\n# medians of {args.rounds}, {mib:.0f} MiB")
        for k, v in times.items():
            med = statistics.median(v)
            print(f"{k:26} {med:6.2f}s  {mib / med:7.0f} MiB/s   {[round(x, 2) for x in v]}")
        backup = statistics.median(times["backup recipe"]) / statistics.median(
            times["backup infranb"]
        )
        writes = [
            r - v
            for r, v in zip(times["restore infranb"], times["restore infranb: verify"], strict=True)
        ]
        restore = statistics.median(times["restore recipe"]) / statistics.median(writes)
        whole = statistics.median(times["restore recipe"]) / statistics.median(
            times["restore infranb"]
        )
        print(f"backup: infranb's throughput / the recipe's = {backup:.2f}")
        print(f"restore without its read-back: infranb's / the recipe's = {restore:.2f}")
        print(f"restore with its read-back (the recipe verifies nothing) = {whole:.2f}")
    finally:
        for v in made:
            subprocess.run(["docker", "volume", "rm", "-f", v], capture_output=True)
        subprocess.run(["rm", "-rf", str(work)])


if __name__ == "__main__":
    main()
