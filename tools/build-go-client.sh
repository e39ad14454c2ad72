#!/usr/bin/env bash
# Builds nats-infra-goclient, the nats.go test client in test/clients/go, into .tools/bin/. The
# build is cached under ~/.cache/nats-infra/tools/nats-infra-goclient@<key> (NATS_INFRA_TOOLS_CACHE
# moves it, as for install-tools.sh), where <key> hashes the client's go.mod, go.sum and *.go:
#   1. .tools/bin/nats-infra-goclient is kept when its .source records this key and its sha256
#      still matches (no Go needed);
#   2. else the cached build of this key is linked (no Go, no network needed);
#   3. else `go build` makes it (modules from the Go module cache or the proxy) into that cache.
# .tools/bin/nats-infra-goclient.source records: go build test/clients/go key <key> sha256 <hash>
set -euo pipefail
cd "$(dirname "$0")/.."
binary=nats-infra-goclient
src=test/clients/go
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
  # -buildvcs=false: the client lives inside this repository, whose state is no input of the build.
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
