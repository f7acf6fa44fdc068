#!/usr/bin/env bash
# Installs what berth needs on Debian 12 (as root), builds berth and installs
# it to $PREFIX/bin (default /usr/local). Idempotent.
#   hack/setup.sh            everything
#   hack/setup.sh --deps     only the packages and the Go toolchain check (used by hack/test.sh)
set -euo pipefail
cd "$(dirname "$0")/.."

PREFIX=${PREFIX:-/usr/local}
# Debian packages berth's build and tests use (one list, for setup and CI alike).
PACKAGES=(ca-certificates git gcc libc6-dev)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
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
go build -trimpath -ldflags "-X berth.dev/berth/internal/version.Commit=$commit" -o bin/berth ./cmd/berth
install -m 0755 bin/berth "$PREFIX/bin/berth"
echo "setup: installed $PREFIX/bin/berth ($("$PREFIX/bin/berth" version --format '{{.Version}} {{.GitCommit}}'))"
