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
// Exit codes (cli/command.ts EXIT): 0 done or nothing to do; 1 a restart or a health wait failed
// (the message names the node and its /healthz), or 3 when that was a server not answering at
// all; 2 stdin is not the contract's JSON.
import { execFile } from "node:child_process";
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parseRolloutStdin, RolloutStdinError, RUNNING_SETTINGS_FILE, type RolloutNode, type RolloutStdin } from "../components/rolloutContract";
import { waitHealthy } from "../ops/health";
import { formatRollingRestart, rollingRestart } from "../ops/rollingRestart";
import { processOutput, runCommand, UsageError, type Output } from "./args";

const USAGE = `usage: tsx cli/rollout.ts < rollout.json
  stdin: {"graceSeconds": 45, "nodes": [{"server", "container", "monitorUrl", "configDir", "settingsKey"}, ...]}
  (what the NatsCluster component's <name>-rollout command passes; nodes in restart order)`;

/** Longest wait for the cluster's /healthz before a restart, and for the node after it. */
const HEALTH_TIMEOUT_MS = 120_000;

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

/** The key a node's record holds, or undefined when it has none. */
export function readRunningSettings(node: RolloutNode): string | undefined {
  try {
    return readFileSync(path.join(node.configDir, RUNNING_SETTINGS_FILE), "utf8").trim() || undefined;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

/** Written by rename, so a reader never sees half a key. */
export function recordRunningSettings(node: RolloutNode): void {
  const file = path.join(node.configDir, RUNNING_SETTINGS_FILE);
  writeFileSync(`${file}.tmp`, `${node.settingsKey}\n`, { mode: 0o600 });
  renameSync(`${file}.tmp`, file);
}

function describe(decision: NodeDecision): string {
  const { node, running } = decision;
  const what = decision.restart ? `runs settings ${running ?? "(not recorded)"}, the config has ${node.settingsKey}: restart` : `runs settings ${node.settingsKey}: up to date`;
  return `${node.server} (${node.container}): ${what}`;
}

/** `docker restart` with the grace; rejects with docker's own message. */
function dockerRestart(container: string, graceSeconds: number): Promise<void> {
  return new Promise((resolve, reject) => {
    // The CLI's own deadline is the grace (then SIGKILL); allow for the start after it.
    execFile("docker", ["restart", "-t", String(graceSeconds), container], { timeout: (graceSeconds + 120) * 1000 }, (error, _stdout, stderr) => {
      if (error) reject(new Error(`docker restart ${container} failed: ${stderr.trim() || error.message}`));
      else resolve();
    });
  });
}

/** Runs the rollout described by `stdin`; the restart itself is a parameter so tests can watch it. */
export async function rollout(
  stdin: RolloutStdin,
  output: Output,
  restartContainer: (container: string, graceSeconds: number) => Promise<void> = dockerRestart,
): Promise<void> {
  const decisions = decideRollout(stdin.nodes, readRunningSettings);
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
        // rollingRestart checks the nodes it restarts; the ones already up to date count too.
        await waitHealthy(cluster, HEALTH_TIMEOUT_MS);
        await restartContainer(node.container, stdin.graceSeconds);
        recordRunningSettings(node);
      },
    })),
    {
      healthTimeoutMs: HEALTH_TIMEOUT_MS,
      restartTimeoutMs: HEALTH_TIMEOUT_MS + (stdin.graceSeconds + 120) * 1000,
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
