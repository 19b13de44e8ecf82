#!/usr/bin/env bash
# The main job: set everything up, run notebooks/07-runbook-template.ipynb headless against
# the local engine with `infranb report`, and leave an offline HTML report next to the
# executed notebook (the audit record) under reports/. Papermill-style parameters pass through:
#   bash scripts/runbook.sh -p STACK my-stack -p WEB_PORT 18071
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh >&2
exec timeout 900 .venv/bin/infranb report notebooks/07-runbook-template.ipynb -o reports "$@"
