#!/usr/bin/env bash
# Builds the NATS programs that tests and benchmarks run, at the versions in config/versions.json
# (the same versions the default images pin), into .tools/bin/. For each tool, the first that
# applies:
#   1. .tools/bin/<binary> is kept when its .source records the pinned `go install module@version`
#      and its sha256 matches: nothing is built or copied, and no Go is needed;
#   2. a build cached under ~/.cache/nats-infra/tools/<binary>@<version> is linked;
#   3. `go install` builds it into that cache.
#
# Where `go install` of a tool fails (the Go proxy here refuses github.com/nats-io/nats-surveyor
# with 403), NATS_INFRA_PREBUILT_BIN names a directory of prebuilt binaries to fall back to
# (relative paths are read from the repo root; CI sets ../shared/bin). The fallback is used only
# after `go install` failed, never in place of a version that installs. A refusal by the module
# proxy (HTTP 403, 404 or 410) is recorded in the cache (<binary>@<version>.refused, with its
# date) and not asked again for REFUSAL_DAYS days; NATS_INFRA_RETRY_REFUSED=1 asks now. When a
# fallback of another version than the pinned one ends up in .tools/bin, the last lines of the
# output say so. Next to every installed binary, .tools/bin/<binary>.source says where it came
# from, so tests can say which binary ran:
#   go install <module>@<version> sha256 <hash>
#   prebuilt <path> sha256 <hash> version <its --version> (go install <module>@<version> failed[, so not the pinned <version>])
set -euo pipefail
cd "$(dirname "$0")/.."
bin_dir="$PWD/.tools/bin"
cache_root="${NATS_INFRA_TOOLS_CACHE:-$HOME/.cache/nats-infra/tools}"
mkdir -p "$bin_dir" "$cache_root"
# A refused module is asked again after this many days: a new proxy policy or release may let it through.
REFUSAL_DAYS=7

prebuilt_dir="${NATS_INFRA_PREBUILT_BIN:-}"
case "$prebuilt_dir" in
  "" | /*) ;;
  *) prebuilt_dir="$PWD/$prebuilt_dir" ;;
esac

sha256() { sha256sum "$1" | cut -d' ' -f1; }
# First line of `<binary> --version`, if it has one (bounded: a binary without the flag may run).
version_of() { timeout 10 "$1" --version 2>&1 </dev/null | head -n 1 || true; }
write_source() { printf '%s\n' "$2" >"$bin_dir/$1.source.tmp" && mv "$bin_dir/$1.source.tmp" "$bin_dir/$1.source"; }
source_of() { cat "$bin_dir/$1.source" 2>/dev/null || true; }
# Whether a reported version is the pinned one (v0.9.11 in "nats-surveyor version v0.9.11-...").
is_pinned() { case "$1" in *"${2#v}"*) return 0 ;; *) return 1 ;; esac; }

# Whether .tools/bin/<binary> is the build `go install module@version` recorded, unchanged since.
matches_pin() {
  local binary=$1 module=$2 version=$3 recorded
  [ -x "$bin_dir/$binary" ] || return 1
  recorded=$(source_of "$binary")
  case "$recorded" in "go install $module@$version sha256 "*) ;; *) return 1 ;; esac
  [ "${recorded##* }" = "$(sha256 "$bin_dir/$binary")" ]
}

# A still-fresh refusal of module@version: prints its date and returns 0; else returns 1.
refused_recently() {
  local record=$1 at at_seconds
  [ -z "${NATS_INFRA_RETRY_REFUSED:-}" ] || return 1
  [ -f "$record" ] || return 1
  at=$(sed -n 's/^refused-at //p' "$record" | head -n 1)
  at_seconds=$(date -u -d "$at" +%s 2>/dev/null) || return 1
  [ $(($(date -u +%s) - at_seconds)) -lt $((REFUSAL_DAYS * 86400)) ] || return 1
  echo "$at"
}

# Writes the refusal record when Go's log shows the module proxy refused the module (not for a
# network failure or a compile error, which may pass next time).
record_refusal() {
  local record=$1 module=$2 version=$3 log=$4
  grep -Eq 'reading https?://[^ ]+: (403|404|410) ' "$log" || return 0
  { echo "refused-at $(date -u +%Y-%m-%dT%H:%M:%SZ)"; echo "go install $module@$version"; grep -E 'reading https?://' "$log" | head -n 3; } >"$record.tmp"
  mv "$record.tmp" "$record"
  echo "install-tools: recorded the refusal in $record; not asked again for $REFUSAL_DAYS days (NATS_INFRA_RETRY_REFUSED=1 asks now)" >&2
}

# Copies $prebuilt_dir/<binary> into .tools/bin (left as is when it is already that file); fails
# (status 1) when there is none to use.
install_prebuilt() {
  local binary=$1 module=$2 version=$3 file hash reported note kept
  [ -n "$prebuilt_dir" ] || return 1
  file="$prebuilt_dir/$binary"
  if [ ! -f "$file" ] || [ ! -x "$file" ]; then
    echo "install-tools: $binary: NATS_INFRA_PREBUILT_BIN=$NATS_INFRA_PREBUILT_BIN has no executable $binary ($file)" >&2
    return 1
  fi
  file=$(cd "$(dirname "$file")" && pwd -P)/$binary
  hash=$(sha256 "$file")
  reported=$(version_of "$file")
  if [ -x "$bin_dir/$binary" ] && [ "$(sha256 "$bin_dir/$binary")" = "$hash" ]; then
    kept=" (already in .tools/bin, sha256 checked; kept)"
  else
    kept=""
    # A copy, not a link: .tools/bin must not change when that directory does. Remove first, so a
    # link left by an earlier `go install` is replaced instead of written through.
    rm -f "$bin_dir/$binary" "$bin_dir/$binary.tmp"
    cp "$file" "$bin_dir/$binary.tmp" && chmod 755 "$bin_dir/$binary.tmp" && mv "$bin_dir/$binary.tmp" "$bin_dir/$binary"
  fi
  is_pinned "$reported" "$version" && note="" || note=", so not the pinned $version"
  write_source "$binary" "prebuilt $file sha256 $hash version ${reported:-unknown} (go install $module@$version failed$note)"
  echo "install-tools: $binary: using prebuilt $file (${reported:-no --version output})$kept"
}

# name module version binary optional
entries=$(node -e '
  const v = require("./config/versions.json");
  for (const [name, t] of Object.entries(v)) if (!name.startsWith("$") && t.module)
    console.log([name, t.module, t.version, t.binary, t.optional ? "optional" : "required"].join(" "));
')

status=0
while read -r name module version binary need; do
  if matches_pin "$binary" "$module" "$version"; then
    echo "install-tools: $binary $version: .tools/bin/$binary is that build (sha256 checked); kept"
    continue
  fi
  cached="$cache_root/$binary@$version"
  refusal="$cache_root/$binary@$version.refused"
  if [ ! -x "$cached/$binary" ]; then
    failed=""
    if refused_at=$(refused_recently "$refusal"); then
      echo "install-tools: $binary: the Go module proxy refused $module@$version on $refused_at (recorded in $refusal); not asked again before $(date -u -d "$refused_at + $REFUSAL_DAYS days" +%Y-%m-%d) (NATS_INFRA_RETRY_REFUSED=1 asks now)"
      failed=refused
    elif ! command -v go >/dev/null; then
      echo "install-tools: $binary: Go is needed to build $module@$version (apt-get install golang, or https://go.dev/dl)" >&2
      failed="no go"
    else
      echo "install-tools: building $module@$version"
      tmp=$(mktemp -d)
      if CGO_ENABLED=0 GOBIN="$tmp" GOFLAGS=-trimpath go install "$module@$version" >"$tmp.log" 2>&1; then
        mkdir -p "$cached" && mv "$tmp/$binary" "$cached/$binary"
        rm -f "$refusal"
      else
        echo "install-tools: $binary: go install $module@$version failed; Go said:" >&2
        tail -n 3 "$tmp.log" >&2
        record_refusal "$refusal" "$module" "$version" "$tmp.log"
        [ "$need" = optional ] || cat "$tmp.log" >&2
        failed="go install"
      fi
      rm -rf "$tmp" "$tmp.log"
    fi
    if [ -n "$failed" ]; then
      install_prebuilt "$binary" "$module" "$version" && continue
      if [ "$need" = optional ]; then
        echo "install-tools: WARNING: could not build $name ($module@$version) and no prebuilt $binary to fall back to (NATS_INFRA_PREBUILT_BIN names a directory of prebuilt binaries); tests that need it report this." >&2
        if [ -e "$bin_dir/$binary" ]; then
          echo "install-tools: WARNING: .tools/bin/$binary from an earlier run stays: $(source_of "$binary")" >&2
        fi
      else
        status=1
      fi
      continue
    fi
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

# The nats.go test client (test/clients/go) that the private-inbox tests and the README's Go
# snippet check run, and the exporter of refused logins (tools/auth-events) that the monitoring
# deployment uploads into its container; built with the machine's Go against the pinned nats.go,
# cached by content.
bash tools/build-go-client.sh || status=1
bash tools/build-go-client.sh nats-infra-auth-events tools/auth-events || status=1

# The Pulumi engine (CLI, language host, plugins) where none is on PATH.
bash tools/install-pulumi.sh || status=1

# Last, where it is seen: each binary in .tools/bin that is not the pinned version (a fallback).
while read -r name module version binary need; do
  recorded=$(source_of "$binary")
  case "$recorded" in
    prebuilt*) ;;
    *) continue ;;
  esac
  reported=$(sed -n 's/^prebuilt .* sha256 [0-9a-f]* version \(.*\) (go install .*$/\1/p' <<<"$recorded")
  is_pinned "$reported" "$version" && continue
  echo "install-tools: NOTE: .tools/bin/$binary is not the pinned $version but '${reported:-unknown}' (${recorded%% sha256 *}), because go install $module@$version failed; tests that run it print its .tools/bin/$binary.source"
done <<<"$entries"
exit $status
