#!/usr/bin/env bash
# Networking: (1) time from `run -d -p 127.0.0.1:PORT:80 busybox httpd` to the first successful
# HTTP response through the published port, then `rm -f`; (2) TCP throughput from the host into a
# container through a published port (bench/tput writes MB megabytes to `nc -l` in the container).
# berth beside docker and podman (engines that fail on this host are reported and left out),
# interleaved, ROUNDS rounds of RUNS runs; medians. Uses ../shared/peers' registry, dockerd and
# storage fs. Traffic stays on 127.0.0.1 and the engines' own bridges.
#   bench/net.sh                  ENGINES="berth docker podman" RUNS=10 ROUNDS=2 MB=1024
set -euo pipefail
cd "$(dirname "$0")/.."
PEERS=${PEERS:-$(cd ../shared/peers && pwd)}
ENGINES=${ENGINES:-"berth docker podman"} # before env.sh, whose default leaves berth out
. "$PEERS/env.sh"
hack/setup.sh >/dev/null
RUNS=${RUNS:-10}; ROUNDS=${ROUNDS:-2}; MB=${MB:-1024}
BERTH="$PWD/bin/berth --config $PWD/bench/berth-config.json"
# Engine storage on the peers' journaled loop-mounted ext4 (stop-all.sh unmounts it).
mountpoint -q "$FS_MNT" && [ -e "$BUNDLE/config.json" ] || "$PEERS/setup-peers.sh" >/dev/null
"$PEERS/registry.sh" start >/dev/null
$DOCKER version >/dev/null 2>&1 || "$PEERS/dockerd.sh" start >/dev/null
export PATH=/usr/local/go/bin:$PATH
go build -o "$STATE/tput" ./bench/tput
OUT=$RESULTS/net; rm -rf "$OUT"; mkdir -p "$OUT"
cmd_of() { case $1 in berth) echo "$BERTH" ;; docker) echo "$DOCKER" ;; podman) echo "$PODMAN" ;; esac; }

now_ms() { date +%s%3N; }
first_response() { # engine port -> ms
  local c; c=$(cmd_of "$1")
  local t0 id t1
  t0=$(now_ms)
  id=$($c run -d -p "127.0.0.1:$2:80" busybox httpd -f -p 80 -h /etc) || return 1
  until curl -sf -o /dev/null "http://127.0.0.1:$2/hostname"; do
    if [ $(( $(now_ms) - t0 )) -gt 30000 ]; then $c rm -f "$id" >/dev/null; return 1; fi
  done
  t1=$(now_ms)
  $c rm -f "$id" >/dev/null
  echo $((t1 - t0))
}
throughput() { # engine port -> MB/s
  local c; c=$(cmd_of "$1")
  local id r
  id=$($c run -d -p "127.0.0.1:$2:5001" busybox sh -c 'nc -l -p 5001 > /dev/null') || return 1
  r=$("$STATE/tput" -addr "127.0.0.1:$2" -mb "$MB") || { $c rm -f "$id" >/dev/null; return 1; }
  $c rm -f "$id" >/dev/null
  echo "$r"
}

ok=()
for e in $ENGINES; do
  c=$(cmd_of "$e")
  $c image inspect busybox >/dev/null 2>&1 || $c pull -q busybox >/dev/null 2>&1 || true
  if out=$(first_response "$e" 18900 2>&1); then ok+=("$e"); else echo "left out $e: $(echo "$out" | tail -1)"; fi
done
for r in $(seq 1 "$ROUNDS"); do
  for e in "${ok[@]}"; do
    for i in $(seq 1 "$RUNS"); do first_response "$e" 18901 >> "$OUT/first-$e.txt"; done
    for i in $(seq 1 3); do throughput "$e" 18902 >> "$OUT/tput-$e.txt"; done
  done
done
python3 - "$OUT" "${ok[@]}" <<'PY'
import statistics as st, sys
out, engines = sys.argv[1], sys.argv[2:]
first = {e: [float(x) for x in open(f"{out}/first-{e}.txt")] for e in engines}
tput = {e: [float(x) for x in open(f"{out}/tput-{e}.txt")] for e in engines}
b = st.median(first["berth"]) if "berth" in first else None
print("| engine | run -d -p to first HTTP response (median, n) | berth ÷ it | host → container TCP (median MB/s, n) | berth ÷ it |")
print("|---|---|---|---|---|")
for e in engines:
    fm, tm = st.median(first[e]), st.median(tput[e])
    print(f"| {e} | {fm:.0f} ms ({len(first[e])}) | {b/fm:.2f} | {tm:.0f} ({len(tput[e])}) | {st.median(tput['berth'])/tm:.2f} |")
PY
