#!/usr/bin/env bash
# Open JupyterLab on notebooks/ (after the usual set-up), listening on 127.0.0.1:8888.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
root_flag=()
[ "$(id -u)" = 0 ] && root_flag=(--allow-root)
exec .venv/bin/jupyter lab --no-browser --ip=127.0.0.1 --port="${PORT:-8888}" \
  --notebook-dir=notebooks "${root_flag[@]}"
