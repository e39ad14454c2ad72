#!/usr/bin/env bash
# Builds the NATS programs that tests and benchmarks run, at the versions in config/versions.json
# (the same versions the default images pin), into .tools/bin/. Builds are cached per version
# under ~/.cache/nats-infra/tools, so a rerun only copies binaries.
set -euo pipefail
cd "$(dirname "$0")/.."
bin_dir="$PWD/.tools/bin"
cache_root="${NATS_INFRA_TOOLS_CACHE:-$HOME/.cache/nats-infra/tools}"
mkdir -p "$bin_dir" "$cache_root"
command -v go >/dev/null || { echo "install-tools: Go is needed (apt-get install golang, or https://go.dev/dl)" >&2; exit 1; }

# name module version binary optional
entries=$(node -e '
  const v = require("./config/versions.json");
  for (const [name, t] of Object.entries(v)) if (!name.startsWith("$") && t.module)
    console.log([name, t.module, t.version, t.binary, t.optional ? "optional" : "required"].join(" "));
')

status=0
while read -r name module version binary need; do
  cached="$cache_root/$binary@$version"
  if [ ! -x "$cached/$binary" ]; then
    echo "install-tools: building $module@$version"
    tmp=$(mktemp -d)
    if CGO_ENABLED=0 GOBIN="$tmp" GOFLAGS=-trimpath go install "$module@$version" >"$tmp.log" 2>&1; then
      mkdir -p "$cached" && mv "$tmp/$binary" "$cached/$binary"
    else
      if [ "$need" = optional ]; then
        echo "install-tools: WARNING: could not build $name ($module@$version); tests that need it report this. Go said:" >&2
        tail -n 3 "$tmp.log" >&2
        rm -rf "$tmp" "$tmp.log"
        continue
      fi
      cat "$tmp.log" >&2
      status=1
      rm -rf "$tmp" "$tmp.log"
      continue
    fi
    rm -rf "$tmp" "$tmp.log"
  fi
  ln -sf "$cached/$binary" "$bin_dir/$binary"
  echo "install-tools: $binary $version -> .tools/bin/$binary"
done <<<"$entries"

# nats-py, the Python client the README's Python snippet uses; tests run it from this venv.
py_version=$(node -p 'require("./config/versions.json").natsPy.version')
if [ "$(.tools/py/bin/pip show nats-py 2>/dev/null | sed -n 's/^Version: //p')" != "$py_version" ]; then
  python3 -m venv .tools/py
  .tools/py/bin/pip install --quiet --disable-pip-version-check "nats-py==$py_version" || status=1
fi
echo "install-tools: nats-py $py_version -> .tools/py"
exit $status
