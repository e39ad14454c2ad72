#!/usr/bin/env bash
# `npm run up | preview | down | outputs`: Pulumi on a local file backend inside this project,
# with the secrets passphrase from the environment or a generated, gitignored file. No Pulumi
# Cloud account is needed. Extra arguments go to pulumi (e.g. `npm run up -- --yes`).
set -euo pipefail
cd "$(dirname "$0")/.."

action="${1:?usage: tools/pulumi.sh up|preview|down|outputs [pulumi args...]}"
shift
stack="${NATS_INFRA_STACK:-dev}"
command -v pulumi >/dev/null || {
  echo "pulumi: the Pulumi CLI is not installed; see https://www.pulumi.com/docs/iac/download-install/" >&2
  exit 1
}

state_dir="$PWD/.pulumi-state"
mkdir -p "$state_dir"
export PULUMI_BACKEND_URL="${PULUMI_BACKEND_URL:-file://$state_dir}"
if [ -z "${PULUMI_CONFIG_PASSPHRASE:-}" ] && [ -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
  if [ ! -s .passphrase ]; then
    (umask 077 && head -c 32 /dev/urandom | base64 >.passphrase)
    echo "pulumi: generated a secrets passphrase in .passphrase (keep it: it decrypts this stack's secrets)" >&2
  fi
  export PULUMI_CONFIG_PASSPHRASE_FILE="$PWD/.passphrase"
fi

pulumi stack select "$stack" >/dev/null 2>&1 || pulumi stack init "$stack" --secrets-provider passphrase
case "$action" in
  up) exec pulumi up "$@" ;;
  preview) exec pulumi preview --diff "$@" ;;
  # The JetStream volume is retained on delete: destroy removes containers, never data.
  down) exec pulumi destroy "$@" ;;
  outputs) exec pulumi stack output --json --show-secrets "$@" ;;
  *)
    echo "pulumi: unknown action '$action'; use up, preview, down or outputs" >&2
    exit 64
    ;;
esac
