#!/usr/bin/env bash
# Installs what berth needs on Debian 12 (as root), builds berth and installs
# it to $PREFIX/bin (default /usr/local). Idempotent.
#   hack/setup.sh            everything
#   hack/setup.sh --deps     only the packages and the Go toolchain check (used by hack/test.sh)
set -euo pipefail
cd "$(dirname "$0")/.."

PREFIX=${PREFIX:-/usr/local}
# Debian packages berth's build and tests use (one list, for setup and CI alike).
# docker-registry, busybox-static and apache2-utils (htpasswd) serve the
# tests' real registries and images.
# libseccomp-dev and pkg-config: the embedded runtime's seccomp support (cgo).
# skopeo writes the docker-archive and OCI layouts the save/load tests read.
# iproute2 and nftables: the network tests build namespaces with `ip` and
# read berth's table with `nft` (berth itself uses netlink, never them).
PACKAGES=(ca-certificates curl git gcc libc6-dev pkg-config libseccomp-dev docker-registry busybox-static apache2-utils skopeo iproute2 nftables)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Debian's docker-registry package enables a service on :5000; berth's tests
# start their own registries on free ports, so the packaged one stays off.
if [[ " ${missing[*]:-} " == *" docker-registry "* ]] && command -v systemctl >/dev/null && systemctl is-system-running >/dev/null 2>&1; then
  systemctl disable --now docker-registry >/dev/null 2>&1 || true
fi

# Go: /usr/local/go if present, else Debian's golang-go if new enough.
export PATH=/usr/local/go/bin:$PATH
if ! command -v go >/dev/null; then
  echo "setup: installing golang-go"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq golang-go >/dev/null
fi
need=$(awk '/^go /{print $2}' go.mod)
have=$(go env GOVERSION | sed 's/^go//')
if [ "$(printf '%s\n%s\n' "$need" "$have" | sort -V | head -1)" != "$need" ]; then
  echo "setup: go $have is older than the $need that go.mod needs; install Go $need or newer at /usr/local/go" >&2
  exit 1
fi

[ "${1:-}" = "--deps" ] && exit 0

commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
go build -tags seccomp -trimpath -ldflags "-X berth.dev/berth/internal/version.Commit=$commit" -o bin/berth ./cmd/berth
CGO_ENABLED=0 go build -trimpath -o bin/berth-init ./cmd/berth-init
install -m 0755 bin/berth "$PREFIX/bin/berth"
install -D -m 0755 bin/berth-init "$PREFIX/libexec/berth/berth-init"
echo "setup: installed $PREFIX/bin/berth ($("$PREFIX/bin/berth" version --format '{{.Version}} {{.GitCommit}}'))"
