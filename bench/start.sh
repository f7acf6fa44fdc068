#!/usr/bin/env bash
# Start latency of `run --rm busybox true`: berth beside docker, podman, `runc run` and `crun run`
# of an equivalent bundle (the floor) and unshare+chroot, in one hyperfine run (-N, warm-up 3,
# RUNS each, order as listed), reusing ../shared/peers' registry, images, bundle and storage fs.
# An engine whose command fails on this host is reported and left out (podman and crun 1.8 refuse
# cgroup "hybrid mode" while the v2 mount still holds a controller).
#   bench/start.sh             RUNS=20 by default
set -euo pipefail
cd "$(dirname "$0")/.."
PEERS=${PEERS:-$(cd ../shared/peers && pwd)}
. "$PEERS/env.sh"
hack/setup.sh >/dev/null
BERTH="$PWD/bin/berth --config $PWD/bench/berth-config.json"
RUNS=${RUNS:-20}
# Engine storage on the peers' journaled loop-mounted ext4 (stop-all.sh unmounts it).
mountpoint -q "$FS_MNT" && [ -e "$BUNDLE/config.json" ] || "$PEERS/setup-peers.sh" >/dev/null
"$PEERS/registry.sh" start >/dev/null
$DOCKER version >/dev/null 2>&1 || "$PEERS/dockerd.sh" start >/dev/null
# The equivalent bundle: the config.json berth itself generates for this container (Docker's
# seccomp profile, masked paths, cgroup namespace), over a plain rootfs directory instead of the
# overlay, in a new empty network namespace. runc run of it is the floor berth is measured
# against, with berth's --network none row beside it; `runc spec`'s is lighter.
EQ=$RESULTS/berth-bundle
$BERTH image inspect busybox >/dev/null 2>&1 || $BERTH pull -q busybox >/dev/null
id=$($BERTH run -d busybox true)
$BERTH wait "$id" >/dev/null
rm -rf "$EQ"; mkdir -p "$EQ"
python3 - "${BERTH_ROOT:-/var/lib/berth}/containers/$id" "$EQ" "$BB_ROOTFS" <<'PY'
import json, shutil, sys
_, cdir, eq, rootfs = sys.argv
s = json.load(open(cdir + "/bundle/config.json"))
s["root"] = {"path": rootfs, "readonly": False}
for m in s["mounts"]:
    if m["source"].startswith(cdir):
        dst = eq + "/" + m["source"].rsplit("/", 1)[1]
        shutil.copy(m["source"], dst)
        m["source"] = dst
s["linux"].pop("cgroupsPath", None)
for ns in s["linux"]["namespaces"]:
    ns.pop("path", None)  # berth's bridge netns is gone with the container: a new, empty one
json.dump(s, open(eq + "/config.json", "w"))
PY
$BERTH rm "$id" >/dev/null
# The same bundle over an overlay like berth's own: the image's layer dirs as lower, a fresh
# upper and work dir for every run (made by hyperfine's --prepare, outside the timing), so that
# runc pays the overlay's copy-ups as berth does.
OV=$SCRATCH/runc-overlay
LOWER=$($BERTH image inspect busybox --format '{{.GraphDriver.Data.LowerDir}}')
EQO=$RESULTS/berth-bundle-overlay
rm -rf "$EQO"; cp -r "$EQ" "$EQO"
python3 - "$EQO/config.json" "$OV/merged" <<'PY'
import json, sys
s = json.load(open(sys.argv[1])); s["root"]["path"] = sys.argv[2]; json.dump(s, open(sys.argv[1], "w"))
PY
OV_PREPARE="bash -c 'umount $OV/merged 2>/dev/null; rm -rf $OV; mkdir -p $OV/upper $OV/work $OV/merged && mount -t overlay overlay -o lowerdir=$LOWER,upperdir=$OV/upper,workdir=$OV/work $OV/merged'"
trap 'umount "$OV/merged" 2>/dev/null; rm -rf "$OV"' EXIT
cmds=(
  "berth|$BERTH run --rm busybox true"
  "berth-net-none|$BERTH run --rm --network none busybox true"
  "docker|$DOCKER run --rm busybox true"
  "podman|$PODMAN run --rm busybox true"
  "runc-berth-bundle|runc run --bundle $EQ bench-runc-eq"
  "runc-berth-bundle-overlay|runc run --bundle $EQO bench-runc-eqo"
  "runc|runc run --bundle $BUNDLE bench-runc"
  "crun|crun run --bundle $BUNDLE bench-crun"
  "unshare-chroot|unshare --fork --pid --mount --uts --ipc --net chroot $BB_ROOTFS /bin/true"
)
args=(); prepares=()
for c in "${cmds[@]}"; do
  name=${c%%|*}; cmd=${c#*|}
  prep=true
  [ "$name" = runc-berth-bundle-overlay ] && prep=$OV_PREPARE
  if out=$(bash -c "$prep" 2>&1 && bash -c "$cmd" 2>&1); then
    args+=(-n "$name" "$cmd"); prepares+=(--prepare "$prep")
  else
    echo "left out $name: $(echo "$out" | tail -1)"
  fi
done
mkdir -p "$RESULTS"
hyperfine -N --warmup 3 --runs "$RUNS" --export-json "$RESULTS/start.json" "${prepares[@]}" "${args[@]}"
