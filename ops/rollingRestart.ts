// Restarts the servers of a cluster one at a time, so replicated JetStream keeps its quorum and
// clients always have somewhere to go. Knows nothing of Docker or Pulumi: each node brings its own
// restart() (a container restart, a local process, ...), and health comes from /healthz.
//
// For each node, in the order given:
//   1. wait until EVERY node answers the full /healthz with ok: a node is never taken down while
//      another one is not current (a restart then could cost an R3 stream its quorum);
//   2. restart it (lame duck stop, start again on the config on disk);
//   3. wait until it is healthy again (its streams and consumers caught up).
// The first failure (a wait that times out, a restart that throws or hangs) ends the run: nothing
// further is restarted, and the error names the node and what its /healthz said.
import { NotHealthyError, waitHealthy, type HealthAnswer, type HealthTarget } from "./health";
import { atHost } from "./docker";

export interface RestartableNode {
  /** Used in messages and the report (nats.conf `server_name` reads best). */
  name: string;
  /** Where its /healthz is served: `http://host:8222`. */
  monitorUrl: string;
  /** Where it runs, when that is worth saying (a node's dockerHost): "restarting at <where>". */
  where?: string;
  /** Lame duck stop, then start again on the config on disk; resolves once the server has started. */
  restart(): Promise<void>;
}

export interface RollingRestartOptions {
  /** Longest wait for every node to be healthy before a restart, and for the restarted node after it. Default 120 s. */
  healthTimeoutMs?: number;
  /**
   * The nodes that must be healthy before each restart: the whole cluster when only some of its
   * nodes are restarted. Default: the nodes restarted.
   */
  healthyBefore?: readonly HealthTarget[];
  /** Longest one restart() may take, lame duck included. Default 300 s (lame duck lasts lameDuckDuration at most, 30 s by default here). */
  restartTimeoutMs?: number;
  /** Between two rounds of /healthz checks. Default 200 ms. */
  pollIntervalMs?: number;
  /** Progress, one line per step, for a command line to print. */
  log?: (line: string) => void;
}

export interface NodeRestartReport {
  name: string;
  /** Waiting for every node to be healthy before this one went down. */
  waitedMs: number;
  /** restart() from call to resolve: lame duck, stop, start. */
  downMs: number;
  /** From restart() resolving until its /healthz said ok. */
  untilHealthyMs: number;
}

export interface RollingRestartReport {
  nodes: NodeRestartReport[];
  totalMs: number;
}

export type RollingRestartPhase = "before restart" | "restart" | "after restart";

export class RollingRestartError extends Error {
  constructor(
    /** The node whose turn it was. */
    readonly node: string,
    readonly phase: RollingRestartPhase,
    /** The nodes restarted before the failure. */
    readonly completed: NodeRestartReport[],
    /** The node whose /healthz held things up, and its last answer (health waits only). */
    readonly health: { node: string; answer: HealthAnswer } | undefined,
    message: string,
  ) {
    super(message);
    this.name = "RollingRestartError";
  }
}

const DEFAULTS = { healthTimeoutMs: 120_000, restartTimeoutMs: 300_000, pollIntervalMs: 200 };

export async function rollingRestart(nodes: readonly RestartableNode[], options: RollingRestartOptions = {}): Promise<RollingRestartReport> {
  const { healthTimeoutMs, restartTimeoutMs, pollIntervalMs } = { ...DEFAULTS, ...options };
  const log = options.log ?? (() => undefined);
  const names = nodes.map((n) => n.name);
  const duplicate = names.find((name, i) => names.indexOf(name) !== i);
  if (duplicate !== undefined) throw new Error(`rolling restart: node name ${duplicate} appears twice; every node needs its own name`);

  const started = Date.now();
  const completed: NodeRestartReport[] = [];
  const fail = (node: RestartableNode, phase: RollingRestartPhase, error: unknown): never => {
    const notRestarted = names.slice(completed.length + (phase === "before restart" ? 0 : 1));
    const tail = `${completed.length ? `restarted: ${completed.map((c) => c.name).join(", ")}` : "no node was restarted"}; not restarted: ${notRestarted.join(", ") || "none"}`;
    if (error instanceof NotHealthyError) {
      const what = phase === "before restart" ? `waiting for every node to be healthy before restarting ${node.name}` : `waiting for ${node.name} to be healthy after its restart`;
      throw new RollingRestartError(
        node.name,
        phase,
        completed,
        { node: error.node, answer: error.answer },
        `rolling restart stopped ${what}: ${error.message}. ${tail}`,
      );
    }
    const reason = error instanceof Error ? error.message : String(error);
    throw new RollingRestartError(node.name, phase, completed, undefined, `rolling restart stopped: restarting ${node.name} failed: ${reason}. ${tail}`);
  };

  for (const node of nodes) {
    let mark = Date.now();
    log(`${node.name}: waiting until every node is healthy`);
    await waitHealthy(options.healthyBefore ?? nodes, healthTimeoutMs, { intervalMs: pollIntervalMs }).catch((error) => fail(node, "before restart", error));
    const waitedMs = Date.now() - mark;

    mark = Date.now();
    log(`${node.name}: restarting${atHost(node.where)}`);
    // Through a promise, so a restart() that throws before it returns one is caught the same way.
    await withTimeout(Promise.resolve().then(() => node.restart()), restartTimeoutMs, `restart() did not finish within ${restartTimeoutMs} ms`).catch((error) => fail(node, "restart", error));
    const downMs = Date.now() - mark;

    mark = Date.now();
    log(`${node.name}: started after ${downMs} ms; waiting until it is healthy`);
    await waitHealthy([node], healthTimeoutMs, { intervalMs: pollIntervalMs }).catch((error) => fail(node, "after restart", error));
    const untilHealthyMs = Date.now() - mark;
    completed.push({ name: node.name, waitedMs, downMs, untilHealthyMs });
    log(`${node.name}: healthy ${untilHealthyMs} ms after its start`);
  }
  return { nodes: completed, totalMs: Date.now() - started };
}

/** The restart itself cannot be cancelled (it is the caller's); the run just stops waiting for it. */
async function withTimeout<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)));
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** One line per node, for a command line: `nats-1: waited 0 ms, down 12034 ms, healthy 410 ms later`. */
export function formatRollingRestart(report: RollingRestartReport): string {
  const lines = report.nodes.map((n) => `${n.name}: waited ${n.waitedMs} ms, down ${n.downMs} ms, healthy ${n.untilHealthyMs} ms later`);
  return [...lines, `total: ${report.totalMs} ms`].join("\n");
}
