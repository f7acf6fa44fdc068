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
# tests' real registries and images. unzip unpacks a fetched Go toolchain.
# libseccomp-dev and pkg-config: the embedded runtime's seccomp support (cgo).
# skopeo writes the docker-archive and OCI layouts the save/load tests read.
# iproute2 and nftables: the network tests build namespaces with `ip` and
# read berth's table with `nft` (berth itself uses netlink, never them).
PACKAGES=(ca-certificates curl unzip git gcc libc6-dev pkg-config libseccomp-dev docker-registry busybox-static apache2-utils skopeo iproute2 nftables)

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

# Go: /usr/local/go if present. On a fresh machine (Debian 12's golang-go
# is 1.19, too old for go.mod) the release berth is tested with is fetched
# from the Go module proxy, the way `go` itself fetches toolchains
# (golang.org/toolchain), checked against the SHA-256 pinned here, and
# unpacked at /usr/local/go.
GO_VERSION=1.26.8
GO_ZIP_SHA256=30c2b1bf7dcc88d3eb0a1364e47ddd9128edb3110a30e8a0ef61cd5856b31de7 # linux-amd64
GO_DIR=${GO_DIR:-/usr/local/go}
export PATH=$GO_DIR/bin:$PATH
if ! command -v go >/dev/null; then
  [ "$(uname -m)" = x86_64 ] || { echo "setup: no Go found; install Go at $GO_DIR" >&2; exit 1; }
  proxy=$(echo "${GOPROXY:-https://proxy.golang.org}" | cut -d, -f1)
  zip=$(mktemp /tmp/berth-go.XXXXXX.zip)
  echo "setup: fetching Go $GO_VERSION from $proxy"
  curl -fsSL -o "$zip" "$proxy/golang.org/toolchain/@v/v0.0.1-go$GO_VERSION.linux-amd64.zip"
  if ! echo "$GO_ZIP_SHA256  $zip" | sha256sum -c --quiet; then
    rm -f "$zip"; echo "setup: the Go $GO_VERSION archive does not match its pinned SHA-256" >&2; exit 1
  fi
  tmp=$(mktemp -d /tmp/berth-go.XXXXXX)
  unzip -q "$zip" -d "$tmp"
  # Module zips keep no file modes: the commands are made executable, as
  # cmd/go does for the toolchains it fetches.
  src="$tmp/golang.org/toolchain@v0.0.1-go$GO_VERSION.linux-amd64"
  chmod -R a+rX "$src"; chmod a+x "$src"/bin/* "$src"/pkg/tool/*/*
  mkdir -p "$(dirname "$GO_DIR")"; mv "$src" "$GO_DIR"
  rm -rf "$tmp" "$zip"
fi
need=$(awk '/^go /{print $2}' go.mod)
have=$(go env GOVERSION | sed 's/^go//')
if [ "$(printf '%s\n%s\n' "$need" "$have" | sort -V | head -1)" != "$need" ]; then
  echo "setup: go $have ($(command -v go)) is older than the $need that go.mod needs; remove it or install Go $need or newer at $GO_DIR" >&2
  exit 1
fi

[ "${1:-}" = "--deps" ] && exit 0

commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
go build -tags seccomp -trimpath -ldflags "-X berth.dev/berth/internal/version.Commit=$commit" -o bin/berth ./cmd/berth
CGO_ENABLED=0 go build -trimpath -o bin/berth-init ./cmd/berth-init
install -m 0755 bin/berth "$PREFIX/bin/berth"
install -D -m 0755 bin/berth-init "$PREFIX/libexec/berth/berth-init"
echo "setup: installed $PREFIX/bin/berth ($("$PREFIX/bin/berth" version --format '{{.Version}} {{.GitCommit}}'))"
