#!/usr/bin/env bash
# Builds one Go program of this repository into .tools/bin/:
#   bash tools/build-go-client.sh [<binary> <source dir>]
# with no arguments nats-infra-goclient, the nats.go test client in test/clients/go; `npm run tools`
# also builds nats-infra-auth-events from tools/auth-events (the exporter of refused logins). The
# build is cached under ~/.cache/nats-infra/tools/<binary>@<key> (NATS_INFRA_TOOLS_CACHE moves it,
# as for install-tools.sh), where <key> hashes the program's go.mod, go.sum and *.go:
#   1. .tools/bin/<binary> is kept when its .source records this key and its sha256 still
#      matches (no Go needed);
#   2. else the cached build of this key is linked (no Go, no network needed);
#   3. else `go build` (CGO_ENABLED=0: a static binary) makes it (modules from the Go module
#      cache or the proxy) into that cache.
# .tools/bin/<binary>.source records: go build <source dir> key <key> sha256 <hash>
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -ne 0 ] && [ $# -ne 2 ]; then
  echo "usage: bash tools/build-go-client.sh [<binary> <source dir>]" >&2
  exit 2
fi
binary=${1:-nats-infra-goclient}
src=${2:-test/clients/go}
if [ ! -f "$src/go.mod" ]; then
  echo "build-go-client: $src has no go.mod" >&2
  exit 2
fi
bin_dir="$PWD/.tools/bin"
cache_root="${NATS_INFRA_TOOLS_CACHE:-$HOME/.cache/nats-infra/tools}"
mkdir -p "$bin_dir" "$cache_root"

sha256() { sha256sum "$1" | cut -d' ' -f1; }

# Every input of the build, in a fixed order, by name and content.
key=$(cd "$src" && find . -maxdepth 1 -type f \( -name go.mod -o -name go.sum -o -name '*.go' \) | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -c1-16)
cached="$cache_root/$binary@$key"
recorded=$(cat "$bin_dir/$binary.source" 2>/dev/null || true)

if [ -x "$bin_dir/$binary" ] && [ "$recorded" = "go build $src key $key sha256 $(sha256 "$bin_dir/$binary")" ]; then
  echo "build-go-client: .tools/bin/$binary is the build of key $key (sha256 checked); kept"
  exit 0
fi

if [ ! -x "$cached/$binary" ]; then
  if ! command -v go >/dev/null; then
    echo "build-go-client: Go is needed to build $src (no cached build of key $key in $cache_root)" >&2
    exit 1
  fi
  echo "build-go-client: building $src (key $key)"
  tmp=$(mktemp -d)
  # -mod=mod: go.sum is committed, a missing module is fetched rather than refused;
  # -buildvcs=false: the program lives inside this repository, whose state is no input of the build.
  if ! (cd "$src" && CGO_ENABLED=0 go build -mod=mod -buildvcs=false -trimpath -o "$tmp/$binary" .); then
    rm -rf "$tmp"
    echo "build-go-client: go build of $src failed" >&2
    exit 1
  fi
  mkdir -p "$cached" && mv "$tmp/$binary" "$cached/$binary"
  rm -rf "$tmp"
fi

rm -f "$bin_dir/$binary.tmp"
ln -sfn "$cached/$binary" "$bin_dir/$binary"
printf '%s\n' "go build $src key $key sha256 $(sha256 "$cached/$binary")" >"$bin_dir/$binary.source"
echo "build-go-client: $binary (key $key) -> .tools/bin/$binary, from $cached/$binary"
