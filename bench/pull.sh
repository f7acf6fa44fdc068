#!/usr/bin/env bash
# Cold pull of a ~210 MB, 4-layer image (debootstrap'd Debian + 50 MB of random files + 20k small
# files + a whiteout layer) from a local registry: berth side by side with docker, podman,
# skopeo (download only, and + umoci unpack) and the floor (parallel curl | gzip -dc | tar -x, no
# verification), in one run, with ../shared/peers' harness (hyperfine, engine storage on a
# journaled loop-mounted ext4, caches made cold before every run).
#
#   bench/pull.sh                       # ENGINES="docker podman berth" by default
#   ENGINES=berth ROUNDS=1 bench/pull.sh
#
# Results: /var/tmp/berth-bench/results/run-<UTC>/summary.md (medians, ranges, ratios); the numbers
# and this command go to docs/benchmarks.md. Needs root; installs the peers from Debian on first use.
set -euo pipefail
cd "$(dirname "$0")/.."
PEERS=${PEERS:-$(cd ../shared/peers && pwd)}
hack/setup.sh >/dev/null
export BERTH=${BERTH:-$PWD/bin/berth}
export ENGINES=${ENGINES:-"docker podman berth"}
export BENCHES=${BENCHES:-pull}
exec "$PEERS/run-all.sh"
