// The replacement guard of a cluster: a command that makes a plain `pulumi up` fail before it
// replaces more than one node's container. The engine replaces containers that have no dependency
// between them in parallel (docs/cluster.md), so an image upgrade, a port or a mount change would
// otherwise take every node down at once. `npm run up` (tools/pulumi.sh) replaces them one at a
// time instead, and tells the guard so through ROLLING_ENV.
//
// How: its stdin lists each node's container spec hash (the label the container carries,
// restartKey.ts containerSpecKey), one line per node. Its create and update run GUARD_SCRIPT,
// which compares that list with the one its previous run printed (the command provider puts the
// previous stdout in PULUMI_COMMAND_STDOUT) and fails when more than one node's hash changed,
// unless ROLLING_ENV is 1 in the Pulumi CLI's environment (the provider's commands inherit it).
// Every node's config command and container depend on it, so a refusal comes before any of them
// is touched. A failed update is not recorded by the engine, so the next run compares against the
// same previous list.
import * as command from "@pulumi/command";
import type * as pulumi from "@pulumi/pulumi";
import { clusterNodes } from "../config/cluster";
import type { StackConfig } from "../config/schema";
import type { DockerHosts } from "./dockerHosts";
import { nodeSpecHash } from "./natsNode";

/** Set to 1 by `npm run up` for the update that follows its node-by-node replacements. */
export const ROLLING_ENV = "NATS_INFRA_ROLLING";

export interface GuardNode {
  container: string;
  specHash: string;
}

/** What natsNode.ts hashes into each node's label, so the guard lists exactly the labels the containers get. */
export interface GuardInputs {
  config: StackConfig;
  image: string;
  /** Node 0's config directory (node i mounts `<configDir>-i`); on another Docker host its delivery's base. */
  configDir: string;
  hosts: Pick<DockerHosts, "of">;
  networkName: string;
}

/** Each node's container and the hash of its declared spec (its label), in node order. */
export function guardNodes(inputs: GuardInputs): GuardNode[] {
  return clusterNodes(inputs.config).map((node) => {
    // The hash natsNode.ts puts on the node's label (test/components/replacementGuard.test.ts
    // checks that every hash equals its container's label).
    return { container: node.containerName, specHash: nodeSpecHash(inputs, node) };
  });
}

/** Plain, so preview shows which nodes' containers change: `<container> <spec hash>` per line. */
export const guardStdin = (nodes: readonly GuardNode[]): string => nodes.map((n) => `${n.container} ${n.specHash}\n`).join("");

/**
 * POSIX sh (the provider runs it with /bin/sh -c). Counts the containers listed both now and in
 * the previous run whose hash differs (added or removed nodes are created or deleted, not
 * replaced), refuses two or more unless ROLLING_ENV=1, and prints the list it accepted: the next
 * run compares against that.
 */
export const GUARD_SCRIPT = `set -f
list=$(cat)
changed=$(printf '%s\\n' "$list" | awk 'BEGIN { n = split(ENVIRON["PULUMI_COMMAND_STDOUT"], old, "\\n"); for (i = 1; i <= n; i++) if (split(old[i], f, " ") == 2) was[f[1]] = f[2] } NF == 2 && ($1 in was) && was[$1] != $2 { print $1 }')
set -- $changed
if [ $# -gt 1 ]; then
  if [ "\${${ROLLING_ENV}:-}" != 1 ]; then
    echo "nats-infra replacement guard: this update would replace the containers of $# nodes at once ($*): their image, ports, mounts or other container settings changed. A plain pulumi up replaces them in parallel, so no node would serve until they are back and replicated streams would lose their quorum. No node was touched. Run npm run up instead: it replaces one node at a time (pulumi up --target per node, waiting until every node's /healthz is ok in between), then runs the rest of the update. To replace them all at once on purpose (a planned outage): ${ROLLING_ENV}=1 pulumi up" >&2
    exit 1
  fi
  echo "nats-infra replacement guard: the containers of $* changed; allowed, ${ROLLING_ENV}=1 (npm run up replaces them one at a time)" >&2
elif [ $# -eq 1 ]; then
  echo "nats-infra replacement guard: only the container of $1 changes: replaced alone" >&2
fi
printf '%s\\n' "$list"
`;

export function createReplacementGuard(name: string, inputs: GuardInputs, parent: pulumi.Resource): command.local.Command {
  return new command.local.Command(
    `${name}-replacement-guard`,
    {
      create: GUARD_SCRIPT,
      update: GUARD_SCRIPT,
      stdin: guardStdin(guardNodes(inputs)),
      // The previous run's list, in PULUMI_COMMAND_STDOUT: what the nodes run now.
      addPreviousOutputInEnv: true,
    },
    { parent },
  );
}
