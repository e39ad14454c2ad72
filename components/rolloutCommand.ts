// The command that applies a cluster's restart-class changes one node at a time. The config
// commands install such a change without reloading (a reload would refuse it); this command,
// after every node's config and container, runs cli/rollout.ts, which restarts the nodes whose
// running settings differ, one at a time, waiting for the whole cluster's /healthz in between.
//
// Its input is each node's desired settings key, as plain JSON on stdin, so preview shows which
// nodes a change restarts (`~ stdin: { ~ nodes: [ ~ [1]: { ~ settingsKey: ... } ] }`) and an
// auth change leaves it alone. Nothing secret reaches it, so its output is logged.
//
// A failed run is not recorded as done: the engine keeps the previous inputs of a resource whose
// update failed (pulumi/pulumi#2011, #2035), so the next `pulumi up` runs it again, and the
// running-settings record of each node (components/rolloutContract.ts) makes it skip the nodes
// already restarted.
import path from "node:path";
import * as command from "@pulumi/command";
import type * as pulumi from "@pulumi/pulumi";
import { repoRoot, tsxCommand } from "./natsStreams";
import type { RolloutStdin } from "./rolloutContract";

export function createRolloutCommand(name: string, rollout: RolloutStdin, opts: pulumi.CustomResourceOptions): command.local.Command {
  const root = repoRoot();
  const run = tsxCommand(root, path.join("cli", "rollout.ts"));
  return new command.local.Command(
    name,
    {
      create: run,
      update: run,
      // Nothing to undo: removing the cluster (or going back to one server) leaves the servers as they are.
      dir: root,
      stdin: JSON.stringify(rollout),
      addPreviousOutputInEnv: false,
      // Which node restarts when and for how long: the point of its output; it holds no credentials.
      logging: "stdoutAndStderr",
    },
    opts,
  );
}
