#!/usr/bin/env bash
# Start two local registries (Debian's docker-registry) for pull tests and demos, and push the
# demo images to the open one:
#   127.0.0.1:5000  no auth
#   127.0.0.1:5001  htpasswd auth (user infranb / password from $INFRANB_REGISTRY_PASSWORD,
#                   default "infranb-test-pass"; test credentials, never real ones)
# Both listen on loopback only. State lives under ${INFRANB_REGISTRY_DIR:-/tmp/infranb-registry}.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${INFRANB_REGISTRY_DIR:-/tmp/infranb-registry}
password=${INFRANB_REGISTRY_PASSWORD:-infranb-test-pass}

if ! command -v docker-registry >/dev/null 2>&1 || ! command -v htpasswd >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-registry apache2-utils >/dev/null
  else
    echo "registry: install docker-registry and apache2-utils first" >&2; exit 1
  fi
fi
mkdir -p "$dir/open" "$dir/auth"
htpasswd -Bbn infranb "$password" > "$dir/htpasswd"

write_config() {  # name port extra
  cat > "$dir/$1.yml" <<YAML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $dir/$1
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$2
$3
YAML
}
write_config open 5000 ""
write_config auth 5001 "auth:
  htpasswd:
    realm: infranb-test
    path: $dir/htpasswd"

start() {  # name port
  if curl -s -o /dev/null "http://127.0.0.1:$2/v2/"; then return; fi
  nohup docker-registry serve "$dir/$1.yml" >"$dir/$1.log" 2>&1 &
  for _ in $(seq 30); do
    curl -s -o /dev/null "http://127.0.0.1:$2/v2/" && return
    sleep 0.5
  done
  echo "registry: $1 on 127.0.0.1:$2 did not start; see $dir/$1.log" >&2; exit 1
}
start open 5000
start auth 5001
for image in infranb-demo/base:1 infranb-demo/web:1; do
  docker tag "$image" "127.0.0.1:5000/$image"
  docker push -q "127.0.0.1:5000/$image" >/dev/null
  docker rmi -f "127.0.0.1:5000/$image" >/dev/null  # keep the engine's image list tidy
done
# A manifest list with one entry (this machine's platform): pulling it for another platform
# fails in the engine ("no matching manifest"), which proves a requested platform reaches it.
# (A single-platform image is pulled whatever platform is asked for.)
export DOCKER_CLI_EXPERIMENTAL=enabled  # docker manifest on 20.10 clients
docker manifest create --insecure --amend 127.0.0.1:5000/infranb-demo/multiarch:1 \
  127.0.0.1:5000/infranb-demo/base:1 >/dev/null
docker manifest push --insecure --purge 127.0.0.1:5000/infranb-demo/multiarch:1 >/dev/null
echo "registry: 127.0.0.1:5000 (open, demo images and a one-platform manifest list pushed), 127.0.0.1:5001 (htpasswd)"
