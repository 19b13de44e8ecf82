#!/usr/bin/env bash
# Local copies of what nbconvert's HTML would load from public CDNs: the Jupyter widgets
# HTML manager and require.js (from npm), so reports render offline. Usage: report-assets.sh DIR
set -euo pipefail
cd "$(dirname "$0")/.."
dest=${1:-reports/assets}
cache=build/npm
if [ ! -f "$cache/node_modules/@jupyter-widgets/html-manager/dist/embed-amd.js" ]; then
  if ! command -v npm >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null
    else
      echo "report-assets: install npm first" >&2; exit 1
    fi
  fi
  mkdir -p "$cache"
  (cd "$cache" && npm install --silent --no-audit --no-fund --no-save \
     @jupyter-widgets/html-manager@1.0.15 requirejs@2.3.7 >/dev/null)
fi
mkdir -p "$dest/html-manager"
cp "$cache"/node_modules/@jupyter-widgets/html-manager/dist/*.js "$dest/html-manager/"
find "$cache/node_modules/@jupyter-widgets/html-manager/dist" -maxdepth 1 -type f \
  \( -name '*.woff*' -o -name '*.ttf' -o -name '*.eot' -o -name '*.svg' \) \
  -exec cp {} "$dest/html-manager/" \;
cp "$cache/node_modules/requirejs/require.js" "$dest/require.js"
echo "// MathJax is not needed by infranb reports" > "$dest/no-mathjax.js"
