// `nats-infra logs [NODE] [--tail N] [--follow]`: the server log of one node or of all (each line
// then prefixed with its node when there are several), from `docker logs` for a deployed stack or
// the dev server's log files; --follow keeps printing until Ctrl-C.
import { devLogSources, printLogs, type LogSource } from "../../ops/logs";
import { containerNodes, containerStates, selectNodes } from "../../ops/lifecycle";
import { TargetError } from "../../ops/target";
import { UsageError } from "../args";
import { EXIT, type Command } from "../command";
import { operate, type OperateContext } from "../operate";

const USAGE = `usage: npx nats-infra logs [NODE] [--tail N] [--follow] [target]

The server log of NODE (its server name, e.g. nats-1, or its index) or, without NODE, of every
node: on a stack of several nodes each line is prefixed with its node ("nats-1 | ..."); the log of
one node is printed as the server wrote it. A deployed stack (--stack): docker logs of the node's
container, at the node's dockerHost. The dev server (--dev): nats-server.log in its state dir.

  --tail N     the last N lines of each node's log (default: all)
  --follow     keep printing new lines until Ctrl-C

Exit codes: 0 done, 1 a log could not be read, 2 bad usage or a --url target (logs need
--stack or --dev), 3 Docker unreachable.`;

export const LOGS_SPEC = { usage: USAGE, strings: ["tail"], booleans: ["follow"], positionals: ["node"] };

/** Until Ctrl-C: what a follow waits for; `dispose` when done. */
export interface StopSignal {
  signal: AbortSignal;
  dispose(): void;
}

export function onCtrlC(): StopSignal {
  const controller = new AbortController();
  // While this listener is there, Ctrl-C ends the follow instead of the process.
  const abort = () => controller.abort();
  process.once("SIGINT", abort);
  return { signal: controller.signal, dispose: () => void process.removeListener("SIGINT", abort) };
}

/** The command's body; tests give it a target and their own stop signal. */
export async function showLogs({ flags, positionals, json, target, output }: OperateContext, stop: () => StopSignal = onCtrlC): Promise<number> {
  if (json) throw new UsageError("--json: logs are text");
  const tail = parseTail(flags.tail);
  let sources: LogSource[];
  const stateDir = target.stateDir;
  if (stateDir !== undefined) {
    // The dev server's nodes carry the config's server names, in node order.
    const all = devLogSources(target.config!, stateDir);
    sources = selectNodes(all.map((s) => ({ ...s, name: s.node })), positionals[0], target.source);
  } else {
    if (target.nodes.some((n) => !n.container)) throw new TargetError("logs need --stack NAME (a deployed stack's containers) or --dev (the dev server's log files); servers given by --url have no logs known here", "usage");
    const nodes = selectNodes(containerNodes(target, false, "logs"), positionals[0], target.source);
    await containerStates(nodes);
    sources = nodes.map((n) => ({ node: n.name, container: n.container }));
  }
  const follow = flags.follow === true;
  const stopper = follow ? stop() : undefined;
  try {
    await printLogs(sources, { tail, follow, signal: stopper?.signal, write: (line) => output.out(`${line}\n`) });
  } finally {
    stopper?.dispose();
  }
  return EXIT.ok;
}

function parseTail(value: string | boolean | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string" || !/^\d+$/.test(value)) throw new UsageError(`--tail ${value}: give a number of lines, e.g. --tail 100`);
  return Number(value);
}

export const command: Command = {
  name: "logs",
  summary: "the server logs of one node or all (docker logs, or the dev server's files); --tail, --follow",
  usage: USAGE,
  run: operate(LOGS_SPEC, (context) => showLogs(context)),
};
