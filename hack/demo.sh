#!/usr/bin/env bash
# The quick start, offline: a local registry (Debian's docker-registry) as the Docker Hub mirror,
# busybox built from busybox-static and pushed to it, then `berth run --rm busybox echo hello`.
#   BERTH_DEMO_REGISTRY=127.0.0.1:5000   registry address (an existing registry there is reused)
# Writes /etc/berth/config.json (registry-mirrors) only if that file does not exist yet.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/usr/local/go/bin:$PATH
ADDR=${BERTH_DEMO_REGISTRY:-127.0.0.1:5000}
STATE=/var/lib/berth-demo
if ! curl -fsS "http://$ADDR/v2/" >/dev/null 2>&1; then
  mkdir -p "$STATE/registry"
  cat > "$STATE/registry.yml" <<YML
version: 0.1
log: {level: warn}
storage: {filesystem: {rootdirectory: $STATE/registry}}
http: {addr: $ADDR}
YML
  setsid /usr/bin/docker-registry serve "$STATE/registry.yml" >>"$STATE/registry.log" 2>&1 < /dev/null &
  echo $! > "$STATE/registry.pid"
  for _ in $(seq 50); do curl -fsS "http://$ADDR/v2/" >/dev/null 2>&1 && break; sleep 0.1; done
  echo "demo: docker-registry on $ADDR (pid $(cat "$STATE/registry.pid"), storage $STATE/registry)"
fi
ACCEPT='application/vnd.docker.distribution.manifest.list.v2+json,application/vnd.oci.image.index.v1+json,application/vnd.docker.distribution.manifest.v2+json'
if ! curl -fs -o /dev/null -H "Accept: $ACCEPT" "http://$ADDR/v2/library/busybox/manifests/latest"; then
  go run ./hack/mkimage --registry "$ADDR" index >/dev/null
  echo "demo: pushed busybox (built from busybox-static) to $ADDR/library/busybox:latest"
fi
if [ ! -e /etc/berth/config.json ]; then
  mkdir -p /etc/berth
  printf '{\n  "registry-mirrors": ["http://%s"]\n}\n' "$ADDR" > /etc/berth/config.json
  echo "demo: wrote /etc/berth/config.json: Docker Hub is mirrored by http://$ADDR"
fi
berth image resolve busybox | sed -n '1,3p'
exec berth run --rm --registry-mirror "http://$ADDR" busybox echo hello
