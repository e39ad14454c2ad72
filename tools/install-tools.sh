#!/usr/bin/env bash
# Builds the NATS programs that tests and benchmarks run, at the versions in config/versions.json
# (the same versions the default images pin), into .tools/bin/. Builds are cached per version
# under ~/.cache/nats-infra/tools, so a rerun only copies binaries.
#
# Where `go install` of a tool fails (the Go proxy here refuses github.com/nats-io/nats-surveyor
# with 403), NATS_INFRA_PREBUILT_BIN names a directory of prebuilt binaries to fall back to
# (relative paths are read from the repo root; CI sets ../shared/bin). The fallback is used only
# after `go install` failed, never in place of a version that installs. Next to every installed
# binary, .tools/bin/<binary>.source says where it came from, so tests can say which binary ran:
#   go install <module>@<version> sha256 <hash>
#   prebuilt <path> sha256 <hash> version <its --version> (go install <module>@<version> failed)
set -euo pipefail
cd "$(dirname "$0")/.."
bin_dir="$PWD/.tools/bin"
cache_root="${NATS_INFRA_TOOLS_CACHE:-$HOME/.cache/nats-infra/tools}"
mkdir -p "$bin_dir" "$cache_root"
command -v go >/dev/null || { echo "install-tools: Go is needed (apt-get install golang, or https://go.dev/dl)" >&2; exit 1; }

prebuilt_dir="${NATS_INFRA_PREBUILT_BIN:-}"
case "$prebuilt_dir" in
  "" | /*) ;;
  *) prebuilt_dir="$PWD/$prebuilt_dir" ;;
esac

sha256() { sha256sum "$1" | cut -d' ' -f1; }
# First line of `<binary> --version`, if it has one (bounded: a binary without the flag may run).
version_of() { timeout 10 "$1" --version 2>&1 </dev/null | head -n 1 || true; }
write_source() { printf '%s\n' "$2" >"$bin_dir/$1.source.tmp" && mv "$bin_dir/$1.source.tmp" "$bin_dir/$1.source"; }

# Copies $prebuilt_dir/<binary> into .tools/bin; fails (status 1) when there is none to use.
install_prebuilt() {
  local binary=$1 module=$2 version=$3 file
  [ -n "$prebuilt_dir" ] || return 1
  file="$prebuilt_dir/$binary"
  if [ ! -f "$file" ] || [ ! -x "$file" ]; then
    echo "install-tools: $binary: NATS_INFRA_PREBUILT_BIN=$NATS_INFRA_PREBUILT_BIN has no executable $binary ($file)" >&2
    return 1
  fi
  file=$(cd "$(dirname "$file")" && pwd -P)/$binary
  local reported
  reported=$(version_of "$file")
  # A copy, not a link: .tools/bin must not change when that directory does. Remove first, so a
  # link left by an earlier `go install` is replaced instead of written through.
  rm -f "$bin_dir/$binary" "$bin_dir/$binary.tmp"
  cp "$file" "$bin_dir/$binary.tmp" && chmod 755 "$bin_dir/$binary.tmp" && mv "$bin_dir/$binary.tmp" "$bin_dir/$binary"
  write_source "$binary" "prebuilt $file sha256 $(sha256 "$bin_dir/$binary") version ${reported:-unknown} (go install $module@$version failed)"
  echo "install-tools: $binary: go install refused; using prebuilt $file (${reported:-no --version output})"
  case "$reported" in
    *"${version#v}"*) ;;
    *) echo "install-tools: NOTE: $binary: config/versions.json pins $version; the prebuilt reports '${reported:-nothing}'" >&2 ;;
  esac
}

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
      echo "install-tools: $binary: go install $module@$version failed; Go said:" >&2
      tail -n 3 "$tmp.log" >&2
      if install_prebuilt "$binary" "$module" "$version"; then
        rm -rf "$tmp" "$tmp.log"
        continue
      fi
      if [ "$need" = optional ]; then
        echo "install-tools: WARNING: could not build $name ($module@$version) and no prebuilt $binary to fall back to (NATS_INFRA_PREBUILT_BIN names a directory of prebuilt binaries); tests that need it report this." >&2
        if [ -e "$bin_dir/$binary" ]; then
          echo "install-tools: WARNING: .tools/bin/$binary from an earlier run stays: $(cat "$bin_dir/$binary.source" 2>/dev/null || echo 'source unknown')" >&2
        fi
      else
        cat "$tmp.log" >&2
        status=1
      fi
      rm -rf "$tmp" "$tmp.log"
      continue
    fi
    rm -rf "$tmp" "$tmp.log"
  fi
  rm -f "$bin_dir/$binary.tmp"
  ln -sfn "$cached/$binary" "$bin_dir/$binary"
  write_source "$binary" "go install $module@$version sha256 $(sha256 "$cached/$binary")"
  echo "install-tools: $binary $version -> .tools/bin/$binary"
done <<<"$entries"

# nats-py, the Python client the README's Python snippet uses; tests run it from this venv.
py_version=$(node -p 'require("./config/versions.json").natsPy.version')
if [ "$(.tools/py/bin/pip show nats-py 2>/dev/null | sed -n 's/^Version: //p')" != "$py_version" ]; then
  python3 -m venv .tools/py
  .tools/py/bin/pip install --quiet --disable-pip-version-check "nats-py==$py_version" || status=1
fi
echo "install-tools: nats-py $py_version -> .tools/py"

# The Pulumi engine (CLI, language host, plugins) where none is on PATH.
bash tools/install-pulumi.sh || status=1
exit $status
