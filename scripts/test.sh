#!/usr/bin/env bash
# The whole test suite, from a fresh Debian/Ubuntu machine: set-up, lint, types, the docs site, unit and
# integration tests against the real engine and local registries, notebooks under nbval,
# and the browser tests. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh --browser
export PATH="$PWD/.venv/bin:$PATH"

echo "== ruff, mypy"
ruff check infranb tests bench notebooks/conftest.py
ruff format --check infranb tests bench notebooks/conftest.py
mypy

echo "== docs (mkdocs build --strict: a broken link or a missing reference fails)"
mkdocs build --strict --quiet

echo "== pytest (unit, integration, notebooks, browser)"
# Outer timeout: a hung kernel or browser must not eat CI's time.
timeout 2400 pytest tests notebooks --nbval-lax --nbval-sanitize-with notebooks/sanitize.cfg \
  -p no:cacheprovider -q -rs "$@"
