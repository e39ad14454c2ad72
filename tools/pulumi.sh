#!/usr/bin/env bash
# `npm run up | preview | down | outputs`: Pulumi on a local file backend inside this project,
# with the secrets passphrase from the environment or a generated, gitignored file. No Pulumi
# Cloud account is needed. Extra arguments go to pulumi (e.g. `npm run up -- --yes`).
#
# `up` of a stack that runs a cluster (Pulumi.<stack>.yaml, cluster.nodes > 1) first asks
# `pulumi preview --json` which node containers the update replaces. The engine replaces
# containers without a dependency between them in parallel, so an image, port or mount change
# would take every node down at once; when it would replace more than one, this replaces them one
# node at a time (one `pulumi up --target` each, waiting until every node's /healthz is ok before
# and after each), then runs the full `pulumi up` for the rest (docs/cluster.md, "Node-by-node
# replacement"; cli/rollingUp.ts reads the preview and waits for the servers).
set -euo pipefail
cd "$(dirname "$0")/.."

action="${1:?usage: tools/pulumi.sh up|preview|down|outputs [pulumi args...]}"
shift
stack="${NATS_INFRA_STACK:-dev}"
# Your own pulumi when it is on PATH, else the one `npm run tools` put in .tools/pulumi.
source tools/pulumi-env.sh
command -v pulumi >/dev/null || {
  echo "pulumi: the Pulumi CLI is not installed; see https://www.pulumi.com/docs/iac/download-install/ (or \`npm run tools\` with NATS_INFRA_PULUMI_PREBUILT naming a directory of prebuilt binaries)" >&2
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

say() { echo "npm run up: $*" >&2; }
rolling() { node_modules/.bin/tsx cli/rollingUp.ts "$@"; }
clustered() { [ -f "Pulumi.$stack.yaml" ] && [ -x node_modules/.bin/tsx ] && rolling clustered "Pulumi.$stack.yaml"; }
confirmed() {
  local arg
  for arg; do case "$arg" in --yes | -y | --skip-preview | -f) return 0 ;; esac; done
  return 1
}
targets_given() {
  local arg
  for arg; do case "$arg" in --target* | -t | --exclude* | --replace*) return 0 ;; esac; done
  return 1
}

# Every full update after this script's own preview runs with NATS_INFRA_ROLLING=1: the preview
# showed that it replaces no more than one node's container (the others were replaced one at a
# time before it), which is all the replacement guard (components/replacementGuard.ts) checks, and
# the guard's record may still list containers replaced by an earlier run that stopped half way.
full_update() {
  rm -f "$preview"
  export NATS_INFRA_ROLLING=1
  exec pulumi up "$@"
}

# Stops the run with what to do; `plan` lines are `<container> <urn>...`, `i` the next one.
stop() {
  rm -f "$preview"
  say "$1 Replaced: $(containers 0 "$i"); not yet: $(containers "$2" "${#plan[@]}"). $3"
  exit 1
}
containers() {
  local names="" j
  for ((j = $1; j < $2; j++)); do names+="${names:+, }${plan[j]%% *}"; done
  echo "${names:-none}"
}

rolling_up() {
  local lines i node fields target args
  preview=$(mktemp)
  say "stack $stack runs a cluster: asking Pulumi which node containers this update replaces (pulumi preview --json)"
  if ! pulumi preview --json --show-sames >"$preview"; then
    rm -f "$preview"
    say "pulumi preview failed, so nothing was changed; npm run preview shows why"
    exit 1
  fi
  lines=$(rolling plan "$preview") || { rm -f "$preview"; exit 1; }
  if [ -z "$lines" ]; then
    say "no cluster replaces more than one node's container: one pulumi up"
    full_update "$@"
  fi
  if ! confirmed "$@"; then
    local answer=""
    [ -t 0 ] || { rm -f "$preview"; say "nothing was changed: add --yes (npm run up -- --yes) to replace the nodes one at a time"; exit 1; }
    read -r -p "npm run up: replace these nodes one at a time now? [y/N] " answer
    case "$answer" in y | Y | yes) ;; *) rm -f "$preview"; say "nothing was changed"; exit 1 ;; esac
  fi
  mapfile -t plan <<<"$lines"
  local again="once \`npx nats-infra health --stack $stack\` says ok, run npm run up again: it goes on with the nodes not yet replaced."
  for ((i = 0; i < ${#plan[@]}; i++)); do
    read -r -a fields <<<"${plan[i]}"
    node="${fields[0]}"
    if ! rolling wait "$preview" "$i"; then
      [ "$i" -gt 0 ] || { rm -f "$preview"; say "the cluster is not healthy (the node above and its /healthz answer), so no node was replaced; $again"; exit 1; }
      stop "After ${plan[i - 1]%% *} was replaced, not every node became healthy (the node above and its last /healthz answer), so the update stopped before $node." "$i" "Look at that node (docker logs <container>); $again"
    fi
    args=()
    for target in "${fields[@]:1}"; do args+=(--target "$target"); done
    say "($((i + 1))/${#plan[@]}) $node alone: pulumi up --yes ${args[*]}"
    pulumi up --yes "${args[@]}" ||
      stop "pulumi up for $node failed (its error above), so the update stopped there; $node is down if its old container was removed before the failure." $((i + 1)) "Check $node (docker ps -a --filter name=$node; docker logs $node) and fix the cause; $again"
  done
  rolling wait "$preview" "$i" ||
    stop "After $node was replaced, not every node became healthy (the node above and its last /healthz answer), so the rest of the update was not run." "$i" "Look at that node (docker logs <container>); $again"
  say "every node is in place and healthy; pulumi up for the rest of the update"
  full_update "$@"
}

case "$action" in
  up)
    # Targets given by hand: that person chose what to replace.
    if ! targets_given "$@" && clustered; then rolling_up "$@"; fi
    exec pulumi up "$@"
    ;;
  preview) exec pulumi preview --diff "$@" ;;
  # The JetStream volume is retained on delete: destroy removes containers, never data.
  down) exec pulumi destroy "$@" ;;
  outputs) exec pulumi stack output --json --show-secrets "$@" ;;
  *)
    echo "pulumi: unknown action '$action'; use up, preview, down or outputs" >&2
    exit 64
    ;;
esac
