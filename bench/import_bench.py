"""`import infranb` and the manager's inventory views, this tree against another, alternating.

    .venv/bin/python bench/import_bench.py                 # this tree only
    git worktree add /tmp/old REV && .venv/bin/python bench/import_bench.py /tmp/old

Each measurement runs in a fresh interpreter whose sys.path starts with the tree measured;
the inventory is read with 20 stopped containers of the bench's own on the local engine.
"""

import json
import pathlib
import statistics
import subprocess
import sys
import uuid

import docker

HERE = str(pathlib.Path(__file__).resolve().parents[1])
TREES = {"before": sys.argv[1], "after": HERE} if len(sys.argv) > 1 else {"this tree": HERE}
ROUNDS = 15
INVENTORY = r"""
import json, statistics, sys, time
sys.path.insert(0, sys.argv[1])
from infranb import InfrastructureManager
m = InfrastructureManager()
m.containers()
out = {}
for view in ("containers", "images", "networks", "volumes"):
    times = []
    for _ in range(15):
        t = time.perf_counter(); getattr(m, view)(); times.append(time.perf_counter() - t)
    out[view] = statistics.median(times)
m.close()
print(json.dumps(out))
"""
IMPORT = (
    "import sys, time; sys.path.insert(0, sys.argv[1]); t = time.perf_counter(); "
    "import infranb; print(time.perf_counter() - t)"
)


def run(code, tree):
    out = subprocess.run(
        [sys.executable, "-c", code, tree], capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


client = docker.from_env()
tag = f"inb-ab-{uuid.uuid4().hex[:6]}"
made = [
    client.containers.create(
        "infranb-demo/base:1", ["sleep", "60"], name=f"{tag}-{i}", labels={"inb-bench": tag}
    )
    for i in range(20)
]
try:
    imports = {k: [] for k in TREES}
    views = {k: {} for k in TREES}
    for _ in range(ROUNDS):
        for name, tree in TREES.items():
            imports[name].append(float(run(IMPORT, tree)))
            for view, secs in json.loads(run(INVENTORY, tree)).items():
                views[name].setdefault(view, []).append(secs)
    for name in TREES:
        median = 1000 * statistics.median(imports[name])
        print(f"{name:6} import infranb (in-process): {median:.1f} ms")
    for view in views[name]:
        shown = ", ".join(
            f"{n} {1000 * statistics.median(v[view]):.1f} ms" for n, v in views.items()
        )
        print(f"manager.{view}(): {shown}")
        if len(TREES) == 2:
            b, a = (statistics.median(views[n][view]) for n in ("before", "after"))
            pairs = statistics.median(
                x / y for x, y in zip(views["after"][view], views["before"][view], strict=True)
            )
            print(f"  ratio after/before: {a / b:.2f} (median of the pairs' ratios {pairs:.2f})")
    if len(TREES) == 2:
        b, a = (statistics.median(imports[n]) for n in ("before", "after"))
        # Round i of each tree ran back to back: a pair's ratio cancels the machine's drift.
        pairs = statistics.median(
            x / y for x, y in zip(imports["after"], imports["before"], strict=True)
        )
        print(f"import ratio after/before: {a / b:.2f} (median of the pairs' ratios {pairs:.2f})")
finally:
    for c in made:
        c.remove(force=True)
