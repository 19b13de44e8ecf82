#!/usr/bin/env bash
# Make sure a Docker engine answers. If none does and this is a Debian-like machine where we
# are root, install docker.io and start dockerd in the background; otherwise say what to do.
set -euo pipefail

engine_up() { docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

if ! command -v docker >/dev/null 2>&1 || ! command -v dockerd >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "ensure-engine: installing docker.io"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
  fi
fi
if engine_up; then
  echo "ensure-engine: Docker $(docker version --format '{{.Server.Version}}') is running"
  exit 0
fi
if [ -n "${DOCKER_HOST:-}" ]; then
  echo "ensure-engine: no engine answers at DOCKER_HOST=$DOCKER_HOST; start it or unset DOCKER_HOST" >&2
  exit 1
fi
if [ "$(id -u)" != 0 ] || ! command -v dockerd >/dev/null 2>&1; then
  echo "ensure-engine: no Docker engine is running. Start one (sudo systemctl start docker," >&2
  echo "or as root: dockerd &) or set DOCKER_HOST, then run this again." >&2
  exit 1
fi
echo "ensure-engine: starting dockerd (log: /tmp/infranb-dockerd.log)"
nohup dockerd >/tmp/infranb-dockerd.log 2>&1 &
for _ in $(seq 60); do
  engine_up && { echo "ensure-engine: Docker $(docker version --format '{{.Server.Version}}') is up"; exit 0; }
  sleep 1
done
echo "ensure-engine: dockerd did not answer within 60 s; see /tmp/infranb-dockerd.log" >&2
tail -20 /tmp/infranb-dockerd.log >&2 || true
exit 1
