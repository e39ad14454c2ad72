// `nats-infra clean`: deletes a deployment's data for good (what `pulumi destroy` keeps on purpose),
// only after printing exactly what goes and the person typing the stack name, or --yes. Without a
// terminal to ask on and without --yes it refuses and deletes nothing.
import { createInterface } from "node:readline/promises";
import { destroyGraceSeconds } from "../../components/natsContainerSpec";
import { spansHosts } from "../../config/cluster";
import { natsImageOf } from "../../config/container";
import { remoteConfigBase } from "../../config/remoteConfigDir";
import {
  configDirsOf,
  executeDevClean,
  executeStackClean,
  isEmptyPlan,
  planDevClean,
  planStackClean,
  stackNameOf,
  type DevCleanPlan,
  type StackCleanPlan,
} from "../../ops/clean";
import { containerNodes } from "../../ops/lifecycle";
import { resolveTarget, type Target } from "../../ops/target";
import { UsageError } from "../args";
import { EXIT, type Command } from "../command";
import { operate, REPO_ROOT, type OperateContext } from "../operate";
import { formatBytes } from "./status";

const KEPT_BY_DOWN = "npm run down (pulumi destroy) keeps the JetStream volumes on purpose; clean is the way to delete the data.";

const USAGE = `usage: npx nats-infra clean [--stack NAME | --dev [STATE_DIR]] [--yes]

Deletes a deployment for good, after printing exactly what it deletes and asking you to type the
stack name:
  --stack NAME   the stack's containers (each nats server stopped with lame duck first), every
                 node's config directory (docker.configDir or .nats-infra/NAME/config, and its
                 -<i> siblings) and the JetStream data volumes, with their size
  --dev          the dev server's state directory: its passwords, JetStream data and logs (stop
                 the dev server first); without --stack or --dev, that of the dev server that
                 has run here (.nats-infra/dev-server)
${KEPT_BY_DOWN}

  --yes          delete without asking (for scripts)

Exit codes: 0 deleted, or nothing to delete; 1 not confirmed, the dev server still running or a
deletion that failed; 2 no terminal to confirm on and no --yes (nothing deleted), or a --url
target; 3 Docker unreachable.`;

export const CLEAN_SPEC = { usage: USAGE, booleans: ["yes"] };

/** Asks on the terminal; undefined when there is none to ask on. */
export type Ask = (question: string) => Promise<string | undefined>;

export async function askOnTerminal(question: string): Promise<string | undefined> {
  if (!process.stdin.isTTY) return undefined;
  const terminal = createInterface({ input: process.stdin, output: process.stdout });
  try {
    return await terminal.question(question);
  } finally {
    terminal.close();
  }
}

export async function clean({ flags, json, target, output }: OperateContext, ask: Ask = askOnTerminal): Promise<number> {
  if (json) throw new UsageError("--json: clean asks a person to confirm; use --yes in scripts");
  const stateDir = target.stateDir;
  const plan = stateDir !== undefined ? await planDevClean(stateDir, target.stackFile!, target.nodes.map((n) => n.monitorUrl)) : await planStack(target);
  output.out(`${describePlan(plan)}\n`);
  if (isEmptyPlan(plan)) {
    output.out("nothing to delete\n");
    return EXIT.ok;
  }
  if (flags.yes !== true) {
    const answer = await ask(`type the stack name (${plan.stack}) to delete all of this: `);
    if (answer === undefined) {
      output.err("error: no terminal to confirm on: give --yes to delete without asking; nothing was deleted\n");
      return EXIT.usage;
    }
    if (answer.trim() !== plan.stack) {
      output.err(`not confirmed (${JSON.stringify(answer.trim())} is not ${plan.stack}); nothing was deleted\n`);
      return EXIT.problem;
    }
  }
  if (plan.kind === "dev") {
    executeDevClean(plan);
    output.out(`removed ${plan.stateDir}\n`);
    return EXIT.ok;
  }
  const result = await executeStackClean(plan, { helperImage: natsImageOf(target.config!), log: (line) => output.out(`${line}\n`) });
  const killed = result.stopped.filter((s) => s.outcome === "stopped" && s.exitCode !== 0);
  for (const s of killed) output.err(`warning: ${s.node} exited ${s.exitCode}: killed before its lame duck ended (its clients were cut)\n`);
  output.out(`done: ${result.removed.length} removed\n`);
  return EXIT.ok;
}

async function planStack(target: Target): Promise<StackCleanPlan> {
  const nodes = containerNodes(target, false, "clean");
  const config = target.config!;
  const stackFile = target.stackFile!;
  const remoteBase = spansHosts(config) ? remoteConfigBase(config.docker.namePrefix, config.docker.configDir) : undefined;
  return planStackClean(nodes, config, { stack: stackNameOf(stackFile), configDirs: configDirsOf(config, stackFile, remoteBase), graceSeconds: destroyGraceSeconds(config) });
}

export function describePlan(plan: StackCleanPlan | DevCleanPlan): string {
  if (plan.kind === "dev") {
    return [
      `clean deletes the dev server's state directory ${plan.stateDir} (${formatBytes(plan.bytes)}): its passwords (credentials.json), JetStream data and logs.`,
      "Stopping the dev server (Ctrl-C) keeps them on purpose; clean is the way to delete them.",
    ].join("\n");
  }
  if (isEmptyPlan(plan)) return `stack ${plan.stack}: no container, volume or config directory of it is there.`;
  const lines = [`clean deletes, for stack ${plan.stack}:`];
  const containers = [
    ...plan.servers.map((s) => [s.node.container.name, `${s.node.name}, ${s.state}`, s.node.container.dockerHost]),
    ...plan.sidecars.map((s) => [s.name, `${s.role}, ${s.state}`, s.dockerHost]),
  ];
  if (containers.length) {
    lines.push(`  containers (each nats server stopped with lame duck first, up to ${plan.graceSeconds} s):`);
    lines.push(...containers.map(([name, what, host]) => `    ${name} (${what})${host ? ` on ${host}` : ""}`));
  }
  if (plan.volumes.length) {
    lines.push("  JetStream data volumes:");
    lines.push(...plan.volumes.map((v) => `    ${v.name}${v.size ? ` (${v.size})` : ""}${v.dockerHost ? ` on ${v.dockerHost}` : ""}`));
  }
  if (plan.configDirs.length) {
    lines.push("  config directories:");
    lines.push(...plan.configDirs.map((d) => `    ${d.dir}${d.dockerHost ? ` on ${d.dockerHost} (if there)` : ""}`));
  }
  lines.push("Nothing else: images, the Docker network and Pulumi's state stay (npm run down removes the stack from Pulumi's state).");
  lines.push(KEPT_BY_DOWN);
  return lines.join("\n");
}

export const command: Command = {
  name: "clean",
  summary: "delete a stack's containers, config dirs and JetStream volumes (or the dev server's state dir), after confirmation",
  usage: USAGE,
  // After `npm run down` a stack has no outputs, and what clean deletes is exactly what is left.
  run: operate(CLEAN_SPEC, (context) => clean(context), (flags) => resolveTarget(flags, REPO_ROOT, { undeployed: true })),
};
