#!/usr/bin/env bash
# The main job: set everything up, run notebooks/07-runbook-template.ipynb headless against
# the local engine, and leave a rendered HTML report that works offline, next to the executed
# notebook (the audit record). Papermill-style parameters pass through:
#   bash scripts/runbook.sh -p STACK my-stack -p WEB_PORT 18071
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh >&2
bash scripts/report-assets.sh reports/assets >&2

stamp=$(date -u +%Y%m%dT%H%M%SZ)
name="runbook-$stamp"
mkdir -p reports
set +e
# The journal names the notebook a run came from; papermill does not tell the kernel.
INFRANB_NOTEBOOK="notebooks/07-runbook-template.ipynb" \
  timeout 900 .venv/bin/papermill notebooks/07-runbook-template.ipynb "reports/$name.ipynb" \
  --cwd notebooks --kernel python3 --log-level WARNING "$@"
ran=$?
set -e
if [ ! -f "reports/$name.ipynb" ]; then
  echo "runbook: the notebook did not run (papermill exit $ran)" >&2
  exit 1
fi
# Widgets and require.js from the local copies, so the report renders with no network.
.venv/bin/jupyter nbconvert --to html "reports/$name.ipynb" --output-dir reports \
  --HTMLExporter.widget_renderer_url=assets/html-manager/embed-amd.js \
  --HTMLExporter.require_js_url=assets/require.js \
  --HTMLExporter.mathjax_url=assets/no-mathjax.js --log-level WARN
verdict=$(.venv/bin/python - "reports/$name.ipynb" <<'PY'
import sys, nbformat
nb = nbformat.read(sys.argv[1], 4)
lines = [line for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
         if o.get("output_type") == "stream" for line in o["text"].splitlines()
         if line.startswith("VERDICT:")]
print(lines[-1] if lines else "VERDICT: FAILED - the runbook stopped before its summary")
PY
)
echo "report:   $PWD/reports/$name.html"
echo "executed: $PWD/reports/$name.ipynb"
echo "$verdict"
[ "$ran" = 0 ] && [[ "$verdict" == "VERDICT: OK"* ]]
