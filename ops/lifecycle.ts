// Stop, start and restart the nats containers of a deployed stack with the docker CLI, each at its
// node's Docker host (DOCKER_HOST = its dockerHost), as components/apply-config.sh and the rollout
// reach them. The container's stop signal is SIGUSR2, so every stop here is a lame duck stop:
// clients are moved to the other nodes, not cut. A restart goes through ops/rollingRestart.ts,
// so two nodes are never down at once.
import { atHost, dockerText, inspectContainer, type ContainerState } from "./docker";
import { waitHealthy } from "./health";
import { rollingRestart, type RollingRestartReport } from "./rollingRestart";
import { TargetError, type Target, type TargetNode } from "./target";

/** A node of a deployed stack: its container is known. */
export type ContainerNode = TargetNode & { container: NonNullable<TargetNode["container"]> };

/** The longest wait for a started or restarted server to answer its /healthz with ok (the component's waitTimeout). */
export const HEALTH_TIMEOUT_MS = 120_000;

/**
 * The target's nodes as containers, or a usage error that says where `what` works: a dev server
 * runs processes (stopped with Ctrl-C), a --url target has no containers known.
 */
export function containerNodes(target: Target, devServer: boolean, what: string): ContainerNode[] {
  if (target.nodes.every((n): n is ContainerNode => n.container !== undefined)) return target.nodes;
  if (devServer) {
    throw new TargetError(`${what} manages the containers of a deployed stack (--stack NAME); the dev server is started with npx nats-infra dev and stopped with Ctrl-C there`, "usage");
  }
  throw new TargetError(`${what} needs the containers of a deployed stack: give --stack NAME (servers given by --url have no container known)`, "usage");
}

/** Every node when `which` is undefined; else the one named by server name or index. */
export function selectNodes<T extends { name: string }>(nodes: T[], which: string | undefined, source: string): T[] {
  if (which === undefined) return nodes;
  const byName = nodes.find((n) => n.name === which);
  if (byName) return [byName];
  if (/^\d+$/.test(which) && Number(which) < nodes.length) return [nodes[Number(which)]];
  const known = nodes.map((n, i) => `${n.name} (${i})`).join(", ");
  throw new TargetError(`no node "${which}" in ${source}; its nodes: ${known}`, "usage");
}

/** Exit code 3 (TargetError "unreachable") unless every Docker host of `nodes` answers. */
export async function requireDockerHosts(dockerHosts: (string | undefined)[]): Promise<void> {
  for (const host of new Set(dockerHosts)) {
    await dockerText(host, ["version", "--format", "{{.Server.Version}}"], 15_000).catch((error: Error) => {
      const missing = /ENOENT/.test(error.message);
      throw new TargetError(missing ? "docker not found: install the Docker CLI" : `Docker unreachable${atHost(host)} (${error.message.replace(/^docker version[^:]*failed: /, "")})`, "unreachable");
    });
  }
}

/** Each node's container state; Docker must answer (exit 3 otherwise) and every container must exist (exit 1). */
export async function containerStates(nodes: ContainerNode[]): Promise<ContainerState[]> {
  await requireDockerHosts(nodes.map((n) => n.container.dockerHost));
  const states = await Promise.all(nodes.map((n) => inspectContainer(n.container.name, n.container.dockerHost)));
  const missing = nodes.filter((_, i) => states[i].problem);
  if (missing.length) {
    throw new Error(missing.map((n) => `${n.name}: container ${n.container.name}${at(n)}: ${states[nodes.indexOf(n)].problem}`).join("; ") + "; is the stack deployed (npm run up)?");
  }
  return states;
}

export interface StopResult {
  node: string;
  container: string;
  /** The node's Docker host, when not the local one. */
  dockerHost?: string;
  /** "stopped": now; "not running": it was not. */
  outcome: "stopped" | "not running";
  /** The server's exit code: 0 after a lame duck stop, 137 when Docker killed it at the end of the grace. */
  exitCode?: number;
  ms?: number;
}

/**
 * `docker stop -t <graceSeconds>` of each node, one after the other in the order given: Docker
 * sends SIGUSR2 (lame duck) and kills the server only when the grace runs out.
 */
export async function stopContainers(nodes: ContainerNode[], graceSeconds: number, log: (line: string) => void = () => undefined): Promise<StopResult[]> {
  const states = await containerStates(nodes);
  const results: StopResult[] = [];
  for (const [i, node] of nodes.entries()) {
    const { name, dockerHost } = node.container;
    if (states[i].state !== "running") {
      results.push({ node: node.name, container: name, ...where(node), outcome: "not running" });
      log(`${node.name}: ${name}${at(node)} is not running (${states[i].state})`);
      continue;
    }
    log(`${node.name}: stopping ${name}${at(node)} (lame duck, up to ${graceSeconds} s)`);
    const started = Date.now();
    await dockerText(dockerHost, ["stop", "-t", String(graceSeconds), name], (graceSeconds + 60) * 1000);
    const exitCode = Number((await dockerText(dockerHost, ["inspect", "--type", "container", "--format", "{{.State.ExitCode}}", name])).trim());
    results.push({ node: node.name, container: name, ...where(node), outcome: "stopped", exitCode, ms: Date.now() - started });
  }
  return results;
}

export interface StartResult {
  node: string;
  container: string;
  /** The node's Docker host, when not the local one. */
  dockerHost?: string;
  outcome: "started" | "already running";
}

/** `docker start` of each node that is not running, then waits until every one of them is healthy (full /healthz). */
export async function startContainers(nodes: ContainerNode[], options: { healthTimeoutMs?: number; log?: (line: string) => void } = {}): Promise<StartResult[]> {
  const log = options.log ?? (() => undefined);
  const states = await containerStates(nodes);
  const results: StartResult[] = [];
  for (const [i, node] of nodes.entries()) {
    const running = states[i].state === "running";
    if (!running) {
      log(`${node.name}: starting ${node.container.name}${at(node)}`);
      await dockerText(node.container.dockerHost, ["start", node.container.name]);
    }
    results.push({ node: node.name, container: node.container.name, ...where(node), outcome: running ? "already running" : "started" });
  }
  log(`waiting until ${nodes.map((n) => n.name).join(", ")} ${nodes.length > 1 ? "are" : "is"} healthy`);
  await waitHealthy(
    nodes.map((n) => ({ name: n.name, monitorUrl: n.monitorUrl })),
    options.healthTimeoutMs ?? HEALTH_TIMEOUT_MS,
  );
  return results;
}

/**
 * Restarts `selected` one node at a time (ops/rollingRestart.ts: every node of `all` healthy before
 * a node goes down, that node healthy again before the next) with `docker restart -t <grace>`.
 * Refuses at once when a container of the stack is not running: a restart would then take a
 * second node down.
 */
export async function restartContainers(
  selected: ContainerNode[],
  all: ContainerNode[],
  graceSeconds: number,
  options: { healthTimeoutMs?: number; log?: (line: string) => void } = {},
): Promise<RollingRestartReport> {
  const states = await containerStates(all);
  const down = all.filter((_, i) => states[i].state !== "running");
  if (down.length) {
    throw new Error(`${down.map((n) => `${n.name} (${states[all.indexOf(n)].state})`).join(", ")} not running: start ${down.length > 1 ? "them" : "it"} first (npx nats-infra start); a restart takes one node down only while all the others are up`);
  }
  const healthTimeoutMs = options.healthTimeoutMs ?? HEALTH_TIMEOUT_MS;
  return rollingRestart(
    selected.map((node) => ({
      name: node.name,
      monitorUrl: node.monitorUrl,
      where: node.container.dockerHost,
      restart: async () => void (await dockerText(node.container.dockerHost, ["restart", "-t", String(graceSeconds), node.container.name], (graceSeconds + 120) * 1000)),
    })),
    // A single node's restart waits for the others too.
    { healthTimeoutMs, healthyBefore: all, log: options.log },
  );
}

const at = (node: ContainerNode) => atHost(node.container.dockerHost);
const where = (node: ContainerNode) => (node.container.dockerHost ? { dockerHost: node.container.dockerHost } : {});
