#!/usr/bin/env bash
# Container start latency and monitor memory: `berth run --rm busybox true` side by side with
# `docker run --rm`, `podman run --rm`, the bare runtimes `runc run` and `crun run` of an equivalent
# bundle (the floor) and unshare+chroot, in one run (../shared/peers' bench-start.sh); then the RSS
# and PSS of each engine's per-container monitor with 10 containers running (bench-mem.sh).
#
#   bench/run.sh                         # ENGINES="docker podman berth"
#   ENGINES=berth BENCHES=start bench/run.sh
#
# berth pulls busybox through bench/berth-config.json (Docker Hub mirrored by the peers' registry on
# 127.0.0.1:5000). Results: /var/tmp/berth-bench/results/run-<UTC>/summary.md; numbers and this
# command go to docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
PEERS=${PEERS:-$(cd ../shared/peers && pwd)}
hack/setup.sh >/dev/null
export BERTH=${BERTH:-"$PWD/bin/berth --config $PWD/bench/berth-config.json"}
export ENGINES=${ENGINES:-"docker podman berth"}
export BENCHES=${BENCHES:-"start mem"}
exec "$PEERS/run-all.sh"
