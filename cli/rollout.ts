// `tsx cli/rollout.ts` with the rollout JSON on stdin (components/rolloutContract.ts): applies a
// cluster's restart-class changes by restarting, one at a time, the nodes whose running settings
// differ from the config. The NatsCluster component's `<name>-rollout` command runs it after
// every node's config command (which installed the files without reloading) and container.
//
// Which nodes: each node's config directory records the settings key its server was started with
// (RUNNING_SETTINGS_FILE); a node whose record differs from the desired key, or has none, is
// restarted; the others are left alone. So a run that failed half way, run again (the next
// `pulumi up` reruns the command, whose inputs were not recorded as applied), continues with the
// nodes not yet restarted, and a run with nothing to do restarts nothing.
//
// How: ops/rollingRestart.ts, in node order. Before a node goes down every node of the cluster
// (not only those still to restart) must answer the full /healthz; the restart is
// `docker restart -t <graceSeconds>`: the container's stop signal SIGUSR2 puts the server in lame
// duck mode (clients move to the other nodes), then it starts again on the installed files. The
// record is written once the container has started again, since from then on the server runs the
// new settings; the run then waits for the node to be healthy before it goes on.
//
// A node on another Docker host (its `dockerHost` in the stdin) is restarted, and its record read
// and written, by docker commands with DOCKER_HOST set to that host (components/rolloutRecords.ts);
// its health at its monitoring URL, on its address.
//
// Exit codes (cli/command.ts EXIT): 0 done or nothing to do; 1 a restart or a health wait failed
// (the message names the node and its /healthz), or 3 when that was a server not answering at
// all; 2 stdin is not the contract's JSON.
import { parseRolloutStdin, RolloutStdinError, type RolloutNode, type RolloutStdin } from "../components/rolloutContract";
import { atHost, DockerError, dockerAt } from "../ops/docker";
import { nodeRecords, readRunningSettings, recordRunningSettings, type RunningSettingsRecords } from "../components/rolloutRecords";
import { HEALTH_TIMEOUT_MS } from "../ops/lifecycle";
import { formatRollingRestart, rollingRestart } from "../ops/rollingRestart";
import { processOutput, runCommand, UsageError, type Output } from "./args";

const USAGE = `usage: tsx cli/rollout.ts < rollout.json
  stdin: {"graceSeconds": 45, "nodes": [{"server", "container", "monitorUrl", "configDir", "settingsKey", "dockerHost"?}, ...]}
  (what the NatsCluster component's <name>-rollout command passes; nodes in restart order)`;

export interface NodeDecision {
  node: RolloutNode;
  /** The settings key its server was started with; undefined when nothing is recorded. */
  running: string | undefined;
  restart: boolean;
}

/**
 * For each node, in the order given (node 0 first): restart it when its running settings are not
 * the desired ones. Nothing recorded counts as different: restarting a node that already ran
 * them costs one lame duck cycle, leaving one that did not would leave the change unapplied.
 */
export function decideRollout(nodes: readonly RolloutNode[], runningSettings: (node: RolloutNode) => string | undefined): NodeDecision[] {
  return nodes.map((node) => {
    const running = runningSettings(node);
    return { node, running, restart: running !== node.settingsKey };
  });
}

/** A local node's record (the file in its config directory); components/rolloutRecords.ts also reads remote ones. */
export { readRunningSettings, recordRunningSettings };

function describe(decision: NodeDecision): string {
  const { node, running } = decision;
  const what = decision.restart ? `runs settings ${running ?? "(not recorded)"}, the config has ${node.settingsKey}: restart` : `runs settings ${node.settingsKey}: up to date`;
  return `${node.server} (${node.container}): ${what}`;
}

/** `docker restart` with the grace, at the node's Docker host; rejects with docker's own message. */
async function dockerRestart(container: string, graceSeconds: number, dockerHost?: string): Promise<void> {
  // The CLI's own deadline is the grace (then SIGKILL); allow for the start after it.
  await dockerAt(dockerHost, ["restart", "-t", String(graceSeconds), container], { timeoutMs: (graceSeconds + 120) * 1000 }).catch((error: Error) => {
    throw new Error(`docker restart ${container} failed${atHost(dockerHost)}: ${error instanceof DockerError ? error.detail : error.message}`);
  });
}

/** Runs the rollout described by `stdin`; the restart and the records are parameters so tests can watch them. */
export async function rollout(
  stdin: RolloutStdin,
  output: Output,
  restartContainer: (container: string, graceSeconds: number, dockerHost?: string) => Promise<void> = dockerRestart,
  records: RunningSettingsRecords = nodeRecords,
): Promise<void> {
  const running = new Map(await Promise.all(stdin.nodes.map(async (node) => [node, await records.read(node)] as const)));
  const decisions = decideRollout(stdin.nodes, (node) => running.get(node));
  for (const decision of decisions) output.out(`${describe(decision)}\n`);
  const due = decisions.filter((d) => d.restart).map((d) => d.node);
  if (due.length === 0) {
    output.out("every node runs the configured settings: nothing to restart\n");
    return;
  }
  const cluster = stdin.nodes.map((n) => ({ name: n.server, monitorUrl: n.monitorUrl }));
  const report = await rollingRestart(
    due.map((node) => ({
      name: node.server,
      monitorUrl: node.monitorUrl,
      async restart() {
        await restartContainer(node.container, stdin.graceSeconds, node.dockerHost);
        await records.write(node);
      },
    })),
    {
      healthTimeoutMs: HEALTH_TIMEOUT_MS,
      // The nodes already up to date must be healthy too before one goes down.
      healthyBefore: cluster,
      restartTimeoutMs: (stdin.graceSeconds + 120) * 1000,
      log: (line) => output.out(`${line}\n`),
    },
  );
  output.out(`${formatRollingRestart(report)}\n`);
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

async function main(): Promise<number> {
  if (process.argv.includes("--help")) {
    processOutput.out(`${USAGE}\n`);
    return 0;
  }
  return runCommand(USAGE, async () => {
    if (process.argv.length > 2) throw new UsageError(`unexpected arguments: ${process.argv.slice(2).join(" ")}`);
    let stdin: RolloutStdin;
    try {
      stdin = parseRolloutStdin(await readStdin());
    } catch (error) {
      if (error instanceof RolloutStdinError) throw new UsageError(error.message);
      throw error;
    }
    await rollout(stdin, processOutput);
  });
}

if (require.main === module) void main().then((code) => (process.exitCode = code));
