// The ports a dev server's nodes listen on, checked before anything starts: a taken one is named
// with its node, the stack-file key it comes from, and who holds it (another dev server by its
// state directory), in one line each.
import { readFileSync } from "node:fs";
import path from "node:path";
import { clusterNodes, nodePortSource } from "../config/cluster";
import type { StackConfig } from "../config/schema";
import { canListen, portHolder } from "./portHolder";
import { DEV_STATE_FILE } from "./target";

/** Some port the stack needs is taken: the message names each (one line per port). */
export class PortTakenError extends Error {}

/** dev.json in the state dir. */
export interface DevState {
  stackFile: string;
  pid?: number;
}

interface NeededPort {
  port: number;
  /** "node nats-1's client port" */
  what: string;
  /** The stack file key it comes from: "nats-infra:server.clientPort + 1". */
  key: string;
  /** The key to change. */
  base: string;
}

/** Every port the dev server's nodes listen on (127.0.0.1): client, monitoring and, in a cluster, route (routePort + index). */
export function neededPorts(config: StackConfig): NeededPort[] {
  const nodes = clusterNodes(config);
  const ports: NeededPort[] = [];
  for (const node of nodes) {
    for (const [field, kind] of [["clientPort", "client"], ["monitorPort", "monitoring"]] as const) {
      const { base, key } = nodePortSource(config, node.index, field);
      ports.push({ port: node[field], what: `node ${node.serverName}'s ${kind} port`, key: `nats-infra:${key}`, base: `nats-infra:${base}` });
    }
    if (nodes.length > 1) {
      const base = "nats-infra:cluster.routePort";
      ports.push({ port: config.cluster.routePort + node.index, what: `node ${node.serverName}'s route port`, key: `${base} + ${node.index}`, base });
    }
  }
  return ports;
}

/** Throws PortTakenError naming each needed port (not in `ours`) that something else listens on, and who. */
export async function refuseTakenPorts(config: StackConfig, ours = new Set<number>()): Promise<void> {
  const needed = neededPorts(config).filter((p) => !ours.has(p.port));
  const free = await Promise.all(needed.map((p) => canListen(p.port)));
  const taken = needed.filter((_, i) => !free[i]);
  if (taken.length === 0) return;
  throw new PortTakenError(
    taken
      .map((p) => {
        const { who, stop } = holderOf(p.port);
        return `port ${p.port} (${p.what}, ${p.key}) is taken by ${who}: ${stop}, or set another ${p.base}`;
      })
      .join("\n"),
  );
}

/**
 * Who listens on a port, and how to free it. A nats-server run from a dev state dir (its
 * `-c <stateDir>[/node-<i>]/nats.conf`) is named by that state dir, and by its dev server when
 * that is alive (the pid in dev.json, which is the server's parent).
 */
function holderOf(port: number): { who: string; stop: string } {
  const holder = portHolder(port);
  if (!holder) return { who: "another program", stop: "stop it (`ss -ltnp` names it)" };
  const at = holder.argv.indexOf("-c");
  const conf = at >= 0 ? holder.argv[at + 1] : undefined;
  if (holder.name !== "nats-server" || !conf) return { who: `${holder.name} (pid ${holder.pid})`, stop: "stop it" };
  const dir = path.dirname(path.resolve(holder.cwd ?? "/", conf));
  const stateDir = /^node-\d+$/.test(path.basename(dir)) ? path.dirname(dir) : dir;
  const state = readDevState(stateDir);
  if (!state) return { who: `nats-server (pid ${holder.pid}, -c ${conf})`, stop: `stop it (kill ${holder.pid})` };
  if (state.pid !== undefined && state.pid === holder.ppid && isAlive(state.pid)) {
    return { who: `the dev server running from ${stateDir} (pid ${state.pid})`, stop: `stop it (Ctrl-C where it runs, or kill ${state.pid})` };
  }
  return { who: `nats-server (pid ${holder.pid}) left running from the dev state dir ${stateDir} without its dev server`, stop: `stop it (kill ${holder.pid})` };
}

export function readDevState(stateDir: string): DevState | undefined {
  try {
    return JSON.parse(readFileSync(path.join(stateDir, DEV_STATE_FILE), "utf8")) as DevState;
  } catch {
    return undefined;
  }
}

/** Whether a process with this pid runs (and may be signalled by this one). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
