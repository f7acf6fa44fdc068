#!/usr/bin/env bash
# `commit` of a running busybox container that wrote 100 MB (100 x 1 MiB random files) into its
# root filesystem: berth beside `docker commit` and `podman commit` (../shared/peers'
# bench-commit.sh: the committed image is removed and the disks synced before every run; ROUNDS
# interleaved rounds of RUNS runs). An engine that fails on this host is reported by the harness.
#   bench/commit.sh                      # ENGINES="docker podman berth"
set -euo pipefail
cd "$(dirname "$0")/.."
export ENGINES=${ENGINES:-"docker podman berth"}
export BENCHES=commit
exec bench/run.sh
