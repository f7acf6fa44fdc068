#!/usr/bin/env bash
# `compose up -d` (berth: `up -d --wait`) then `down` of a 10-service project (busybox, no health
# checks, each service's process exits on SIGTERM), berth beside Debian's docker-compose (1.29, on
# the peers' dockerd), hyperfine, RUNS runs each, in one run; medians and the ratio.
#   bench/compose.sh                RUNS=10
set -euo pipefail
cd "$(dirname "$0")/.."
PEERS=${PEERS:-$(cd ../shared/peers && pwd)}
. "$PEERS/env.sh"
hack/setup.sh >/dev/null
RUNS=${RUNS:-10}
command -v docker-compose >/dev/null || { apt-get update -qq >/dev/null; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose >/dev/null; }
# Engine storage on the peers' journaled loop-mounted ext4 (stop-all.sh unmounts it).
mountpoint -q "$FS_MNT" && [ -e "$BUNDLE/config.json" ] || "$PEERS/setup-peers.sh" >/dev/null
"$PEERS/registry.sh" start >/dev/null
$DOCKER version >/dev/null 2>&1 || "$PEERS/dockerd.sh" start >/dev/null
BERTH="$PWD/bin/berth --config $PWD/bench/berth-config.json"
DIR=$STATE/compose-bench; rm -rf "$DIR"; mkdir -p "$DIR"
{
  echo "services:"
  for i in $(seq 1 10); do
    printf '  s%d:\n    image: busybox\n    command: ["sh", "-c", "trap exit TERM; sleep 1000 & wait"]\n' "$i"
  done
} > "$DIR/compose.yaml"
$BERTH image inspect busybox >/dev/null 2>&1 || $BERTH pull -q busybox >/dev/null
$DOCKER image inspect busybox >/dev/null 2>&1 || $DOCKER pull -q busybox >/dev/null
mkdir -p "$RESULTS"
hyperfine -N --warmup 1 --runs "$RUNS" --export-json "$RESULTS/compose.json" \
  -n berth "bash -c '$BERTH compose -f $DIR/compose.yaml -p cb up -d --wait 2>/dev/null && $BERTH compose -f $DIR/compose.yaml -p cb down'" \
  -n docker-compose "bash -c 'docker-compose -f $DIR/compose.yaml -p cb up -d 2>/dev/null && docker-compose -f $DIR/compose.yaml -p cb down 2>/dev/null'"
python3 - "$RESULTS/compose.json" <<'PY'
import json, statistics as st, sys
r = {x["command"]: st.median(x["times"]) * 1000 for x in json.load(open(sys.argv[1]))["results"]}
for k, v in r.items():
    print(f"{k}: median {v:.0f} ms, berth ÷ it {r['berth'] / v:.2f}")
PY
