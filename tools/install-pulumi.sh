#!/usr/bin/env bash
# Part of `npm run tools`: the Pulumi engine that `npm run up|preview|down|outputs` and the engine
# tests run. A `pulumi` already on PATH (the user's own) is kept and nothing is installed. Otherwise
# the CLI, the Node.js language host and the docker, random and command plugins come from
# NATS_INFRA_PULUMI_PREBUILT, a directory of prebuilt binaries (`<name>.xz` or `<name>`; CI sets
# ../shared/pulumi, whose README says what each was built from), because the Pulumi downloads are
# not reachable from every machine. They go into .tools/pulumi: bin/ (CLI and language host) and
# home/ (PULUMI_HOME, with the plugins installed), unpacked once per input under
# ~/.cache/nats-infra/pulumi. bin/pulumi.source records which binaries run, as .tools/bin does.
# tools/pulumi-env.sh puts them on PATH.
set -euo pipefail
cd "$(dirname "$0")/.."
say() { echo "install-tools: pulumi: $*"; }
root="$PWD/.tools/pulumi"
want=$(node -p 'require("./config/versions.json").pulumi.version')
plugins=$(node -e 'const p = require("./config/versions.json").pulumi.plugins; for (const [n, v] of Object.entries(p)) console.log(n, v)')

own=$(PATH="$(printf '%s' "$PATH" | tr ':' '\n' | grep -vxF "$root/bin" | paste -sd:)" command -v pulumi || true)
if [ -n "$own" ]; then
  reported=$("$own" version 2>/dev/null || echo unknown)
  say "using your own $own ($reported); nats-infra is tested with v$want"
  exit 0
fi

prebuilt="${NATS_INFRA_PULUMI_PREBUILT:-}"
case "$prebuilt" in "" | /*) ;; *) prebuilt="$PWD/$prebuilt" ;; esac
[ -z "$prebuilt" ] || [ ! -d "$prebuilt" ] || prebuilt=$(cd "$prebuilt" && pwd -P)
if [ -z "$prebuilt" ]; then
  if [ -x "$root/bin/pulumi" ]; then
    say "keeping .tools/pulumi ($(cat "$root/bin/pulumi.source" 2>/dev/null || echo 'source unknown'))"
  else
    say "WARNING: no pulumi on PATH and NATS_INFRA_PULUMI_PREBUILT is unset: install the Pulumi CLI v$want (https://www.pulumi.com/docs/iac/download-install/), or point NATS_INFRA_PULUMI_PREBUILT at a directory of prebuilt binaries; npm run up and the engine tests need it" >&2
  fi
  exit 0
fi

# One file per binary, xz-compressed or not.
source_of() {
  if [ -f "$prebuilt/$1.xz" ]; then echo "$prebuilt/$1.xz"; elif [ -f "$prebuilt/$1" ]; then echo "$prebuilt/$1"; else
    echo "install-tools: pulumi: $prebuilt has no $1 (nor $1.xz)" >&2
    return 1
  fi
}
names=(pulumi pulumi-language-nodejs)
while read -r name _; do names+=("pulumi-resource-$name"); done <<<"$plugins"
inputs=()
for name in "${names[@]}"; do inputs+=("$(source_of "$name")"); done
key=$(sha256sum "${inputs[@]}" | sha256sum | cut -c1-16)
cache="${NATS_INFRA_TOOLS_CACHE:-$HOME/.cache/nats-infra/tools}/pulumi@$key"
if [ ! -f "$cache/.complete" ]; then
  say "unpacking ${#names[@]} binaries from $prebuilt into $cache"
  rm -rf "$cache" && mkdir -p "$cache"
  for i in "${!names[@]}"; do
    case "${inputs[i]}" in *.xz) xz -dc "${inputs[i]}" >"$cache/${names[i]}" ;; *) cp "${inputs[i]}" "$cache/${names[i]}" ;; esac
    chmod 755 "$cache/${names[i]}"
  done
  touch "$cache/.complete"
fi

reported=$("$cache/pulumi" version)
[ "$reported" = "v$want" ] || say "NOTE: config/versions.json pins v$want; the prebuilt CLI reports $reported" >&2
mkdir -p "$root/bin" "$root/home"
ln -sfn "$cache/pulumi" "$root/bin/pulumi"
ln -sfn "$cache/pulumi-language-nodejs" "$root/bin/pulumi-language-nodejs"
sha() { sha256sum "$1" | cut -d' ' -f1; }
{
  echo "prebuilt ${inputs[0]} sha256 $(sha "$cache/pulumi") version $reported (the Pulumi CLI is not installable from the package registries)"
  echo "language host: prebuilt ${inputs[1]} sha256 $(sha "$cache/pulumi-language-nodejs")"
} >"$root/bin/pulumi.source"

# `pulumi plugin install` reads the Pulumi.yaml of its working directory: run it from elsewhere.
export PULUMI_HOME="$root/home" PULUMI_IGNORE_AMBIENT_PLUGINS=true PULUMI_SKIP_UPDATE_CHECK=true
while read -r name version; do
  file="$cache/pulumi-resource-$name"
  installed="$PULUMI_HOME/plugins/resource-$name-v$version/pulumi-resource-$name"
  if [ -x "$installed" ] && cmp -s "$installed" "$file"; then
    say "plugin $name $version already installed"
  else
    (cd / && "$cache/pulumi" plugin install resource "$name" "$version" --file "$file" --reinstall >/dev/null)
    say "plugin $name $version installed from $file"
  fi
  echo "plugin $name $version: prebuilt $prebuilt sha256 $(sha "$file")" >>"$root/bin/pulumi.source"
done <<<"$plugins"
say "$reported -> .tools/pulumi (PULUMI_HOME .tools/pulumi/home; tools/pulumi-env.sh puts it on PATH)"
