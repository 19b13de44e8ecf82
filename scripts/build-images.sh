#!/usr/bin/env bash
# Build infranb's demo/test images under infranb's own names (never nginx/postgres/...):
#   infranb-demo/base:1  busybox, no HEALTHCHECK, idles, stops at once on SIGTERM
#   infranb-demo/web:1   busybox httpd on :80 with a 1 s HEALTHCHECK, stops on SIGTERM
set -euo pipefail
cd "$(dirname "$0")/.."

if ! dpkg -s busybox-static >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq busybox-static >/dev/null
  else
    echo "build-images: install busybox-static (a static /bin/busybox) first" >&2; exit 1
  fi
fi
for dir in base web; do cp /bin/busybox "images/$dir/busybox"; done
export DOCKER_BUILDKIT=0
docker build -q -t infranb-demo/base:1 images/base 2>/dev/null >/dev/null
docker build -q -t infranb-demo/web:1 images/web 2>/dev/null >/dev/null
echo "build-images: infranb-demo/base:1 infranb-demo/web:1"
