#!/usr/bin/env bash
# Sourced by tools/pulumi.sh (and usable by hand: `source tools/pulumi-env.sh`): when no `pulumi`
# is on PATH, puts the one `npm run tools` installed into .tools/pulumi first, with its own
# PULUMI_HOME (where its plugins are). A user's own Pulumi is left alone.
nats_infra_pulumi_env() {
  local root
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/.tools/pulumi"
  command -v pulumi >/dev/null 2>&1 && return 0
  [ -x "$root/bin/pulumi" ] || return 0
  export PATH="$root/bin:$PATH" PULUMI_HOME="$root/home"
  # Without this the CLI prefers any pulumi-resource-* found on PATH to the installed plugins.
  export PULUMI_IGNORE_AMBIENT_PLUGINS=true PULUMI_SKIP_UPDATE_CHECK=true
  hash -r
}
nats_infra_pulumi_env
