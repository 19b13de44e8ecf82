#!/usr/bin/env bash
# Everything infranb needs on a Debian/Ubuntu machine, idempotent:
# system packages (Podman too: the tests start a Podman service of their own), the Python
# environment (.venv), a running Docker engine, the demo images,
# the local registries, and (with --browser) Chromium for the browser tests.
set -euo pipefail
cd "$(dirname "$0")/.."

want_browser=0
[ "${1:-}" = "--browser" ] && want_browser=1

packages=(docker.io busybox-static docker-registry apache2-utils curl docker-compose openssh-server openssh-client openssl iproute2 podman runc catatonit)
[ "$want_browser" = 1 ] && packages+=(chromium)
# The main job's report fetches the widget manager from npm once (infranb report); Debian's
# npm where the machine has no npm of its own.
command -v npm >/dev/null 2>&1 || packages+=(npm)
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "setup: please install: ${missing[*]}" >&2; exit 1
  fi
fi

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
stamp=.venv/.infranb-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "setup: installing Python packages into .venv"
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -e ".[test]"
  touch "$stamp"
fi
.venv/bin/python -m ipykernel install --sys-prefix --name python3 >/dev/null

# The notebooks read the demo database password from this file (a reference, never a value
# typed into a cell); make a random one the first time.
secret_file="$HOME/.config/infranb/demo-db-password"
if [ ! -f "$secret_file" ]; then
  mkdir -p "$(dirname "$secret_file")"
  (umask 077; .venv/bin/python -c "import secrets; print(secrets.token_urlsafe(16), end='')" \
    > "$secret_file")
fi

bash scripts/ensure-engine.sh
bash scripts/build-images.sh
bash scripts/registry.sh
