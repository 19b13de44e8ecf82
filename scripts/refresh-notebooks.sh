#!/usr/bin/env bash
# Re-execute the example notebooks in place against the local engine, so their saved outputs
# (the documentation) describe the code as it is. Run after changing what a notebook shows.
#   bash scripts/refresh-notebooks.sh [notebooks/NN-name.ipynb ...]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >&2
if [ "$#" -eq 0 ]; then set -- notebooks/*.ipynb; fi
for notebook in "$@"; do
  echo "refresh: $notebook"
  timeout 600 .venv/bin/python - "$notebook" <<'PY'
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

path = Path(sys.argv[1])
nb = nbformat.read(path, as_version=4)
NotebookClient(nb, timeout=300, kernel_name="python3",
               resources={"metadata": {"path": str(path.parent)}}).execute()
errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
          if o.output_type == "error"]
if errors:
    sys.exit(f"{path}: {errors[0]['ename']}: {errors[0]['evalue']}")
nbformat.write(nb, path)
PY
done
