// What a deployment is doing right now, read from every node's monitoring endpoints (no NATS
// connection, no credentials): the data behind `nats-infra status` and `nats-infra monitor`.
//
// Which endpoint gives what, checked on nats-server 2.14.10:
// - /varz: server_name, version, start, uptime, config_load_time, connections, slow_consumers,
//   the JetStream limits (jetstream.config.max_memory / max_storage).
// - /accstatz?unused=1: per account conns, total_conns, num_subscriptions, slow_consumers and the
//   counters `received` (what the account's clients published: in) and `sent` (what was delivered
//   to them: out). Their msgs/bytes include messages that crossed routes, gateways and leaf
//   nodes, also broken out under those names; subtracting them leaves the account's own clients,
//   so adding nodes up counts each message once. Without unused=1 an account with no connection
//   on that node is left out.
// - /jsz?accounts=true&streams=true: memory and storage in use, stream/consumer/message counts,
//   the meta leader (meta_cluster.leader) and, per account, every stream this node holds a copy
//   of with its state (messages, bytes, consumer_count) and its leader (cluster.leader).
// - /routez: one entry per route connection (a pool of several per peer, plus pinned accounts),
//   remote_name the peer's server_name.
// - /healthz: ops/health.ts.
// /connz and /accountz add nothing here: accstatz already counts connections per account.
import { quorumLoss, type QuorumLoss } from "./quorum";
import { checkHealth, describeHealth, type HealthAnswer } from "./health";
import { atHost, inspectContainer, type ContainerState } from "./docker";
import type { Target, TargetNode } from "./target";

export interface Traffic {
  msgs: number;
  bytes: number;
}

export interface AccountStatus {
  name: string;
  connections: number;
  /** Connections since the server started. */
  totalConnections: number;
  subscriptions: number;
  slowConsumers: number;
  /** Counters since the server started: published by this account's clients (in) and delivered to them (out). */
  in: Traffic;
  out: Traffic;
  /** JetStream memory and storage this account uses on the node (every copy it holds). */
  jetstream?: { memory: number; storage: number };
}

export interface StreamStatus {
  account: string;
  name: string;
  messages: number;
  bytes: number;
  consumers: number;
  leader?: string;
}

export interface JetStreamStatus {
  memory: number;
  storage: number;
  /** The server's limits (jetstream.max_memory_store / max_file_store). */
  maxMemory: number;
  maxStorage: number;
  streams: number;
  consumers: number;
  messages: number;
  bytes: number;
  metaLeader?: string;
}

export interface ServerStatus {
  serverName: string;
  version: string;
  start: string;
  uptime: string;
  configLoadTime: string;
  connections: number;
  totalConnections: number;
  slowConsumers: number;
  /** When the account counters were read, by the server's clock (ms since the epoch): rates divide by it. */
  sampledAt: number;
  accounts: AccountStatus[];
  /** Undefined when JetStream is off. */
  jetstream?: JetStreamStatus;
  /** The copies of streams this node holds. */
  streams: StreamStatus[];
  /** Peers by server_name. */
  routes: string[];
  /** Endpoints that did not answer although /varz did, with why. */
  missing: string[];
}

export interface NodeStatus {
  name: string;
  monitorUrl: string;
  health: HealthAnswer;
  /** Undefined when the node's /varz did not answer. */
  server?: ServerStatus;
  /** Why /varz did not answer. */
  error?: string;
  /** For a deployed stack: the node's container. */
  container?: ContainerState;
  /** The node's Docker host (its dockerHost) when it is not the local one. */
  dockerHost?: string;
}

/** An account over every node that answered. */
export interface AccountSummary extends Omit<AccountStatus, "jetstream"> {
  streams: number;
  /** Messages and bytes in the account's streams (each stream counted once, by its leader's copy). */
  messages: number;
  bytes: number;
}

export interface Status {
  target: string;
  surveyorUrl?: string;
  /** When the report was made (this machine's clock, ISO). */
  at: string;
  nodes: NodeStatus[];
  accounts: AccountSummary[];
  /** Every stream once: the leader's copy, or the first node's that holds one. */
  streams: StreamStatus[];
  /** One line per thing an operator should look at; empty when everything is fine. */
  problems: string[];
}

export interface CollectOptions {
  /** Ask Docker about each node's container (when the target knows it); default true. */
  containers?: boolean;
}

/** The system's own default account: nats-infra never puts users in it; shown only when someone is connected. */
const GLOBAL_ACCOUNT = "$G";
const REQUEST_TIMEOUT_MS = 2_000;

export async function collectStatus(target: Target, options: CollectOptions = {}): Promise<Status> {
  const nodes = await Promise.all(target.nodes.map((node) => collectNode(node, options.containers ?? true)));
  const streams = distinctStreams(nodes);
  const quorum = quorumLossOf(nodes);
  return {
    target: target.source,
    surveyorUrl: target.surveyorUrl,
    at: new Date().toISOString(),
    nodes,
    accounts: summarizeAccounts(nodes, streams),
    streams,
    problems: [...(quorum ? [quorum.message] : []), ...nodes.flatMap(problemsOf)],
  };
}

/** True when not one node answered: the whole target is unreachable (exit code 3). */
export function noneAnswered(status: Status): boolean {
  return status.nodes.every((n) => !n.server && n.health.status === undefined);
}

async function collectNode(node: TargetNode, containers: boolean): Promise<NodeStatus> {
  const [health, server, container] = await Promise.all([
    checkHealth(node.monitorUrl),
    readServer(node.monitorUrl).then(
      (s) => ({ server: s }),
      (error: unknown) => ({ error: error instanceof Error ? error.message : String(error) }),
    ),
    containers && node.container ? inspectContainer(node.container.name, node.container.dockerHost) : undefined,
  ]);
  const dockerHost = node.container?.dockerHost;
  return { name: node.name, monitorUrl: node.monitorUrl, health, ...server, ...(container ? { container } : {}), ...(dockerHost ? { dockerHost } : {}) };
}

interface Varz {
  server_name: string;
  version: string;
  start: string;
  uptime: string;
  config_load_time: string;
  connections: number;
  total_connections: number;
  slow_consumers: number;
  jetstream?: { config?: { max_memory: number; max_storage: number } };
}

interface DataStats extends Traffic {
  routes?: Traffic;
  gateways?: Traffic;
  leafs?: Traffic;
}

interface Accstatz {
  now: string;
  account_statz: { acc: string; conns: number; total_conns: number; num_subscriptions: number; slow_consumers: number; sent: DataStats; received: DataStats }[];
}

interface Jsz {
  memory: number;
  storage: number;
  streams: number;
  consumers: number;
  messages: number;
  bytes: number;
  meta_cluster?: { leader?: string };
  account_details?: {
    name: string;
    memory: number;
    storage: number;
    stream_detail?: { name: string; cluster?: { leader?: string }; state: { messages: number; bytes: number; consumer_count: number } }[];
  }[];
}

interface Routez {
  routes: { remote_name?: string }[];
}

async function readServer(monitorUrl: string): Promise<ServerStatus> {
  // /varz decides whether the node answers at all; the others only fill in what they can.
  const varz = await monitorJson<Varz>(monitorUrl, "/varz");
  const missing: string[] = [];
  const optional = <T>(path: string) =>
    monitorJson<T>(monitorUrl, path).catch((error: unknown) => {
      missing.push(`${path}: ${error instanceof Error ? error.message : String(error)}`);
      return undefined;
    });
  const jetstreamOn = varz.jetstream?.config !== undefined;
  const [accstatz, jsz, routez] = await Promise.all([
    optional<Accstatz>("/accstatz?unused=1"),
    jetstreamOn ? optional<Jsz>("/jsz?accounts=true&streams=true") : undefined,
    optional<Routez>("/routez"),
  ]);
  const jsByAccount = new Map((jsz?.account_details ?? []).map((a) => [a.name, a]));
  const accounts = (accstatz?.account_statz ?? [])
    .filter((a) => a.acc !== GLOBAL_ACCOUNT || a.conns > 0)
    .map((a): AccountStatus => {
      const js = jsByAccount.get(a.acc);
      return {
        name: a.acc,
        connections: a.conns,
        totalConnections: a.total_conns,
        subscriptions: a.num_subscriptions,
        slowConsumers: a.slow_consumers,
        in: ownClients(a.received),
        out: ownClients(a.sent),
        ...(js ? { jetstream: { memory: js.memory, storage: js.storage } } : {}),
      };
    })
    .sort((x, y) => x.name.localeCompare(y.name));
  return {
    serverName: varz.server_name,
    version: varz.version,
    start: varz.start,
    uptime: varz.uptime,
    configLoadTime: varz.config_load_time,
    connections: varz.connections,
    totalConnections: varz.total_connections,
    slowConsumers: varz.slow_consumers,
    sampledAt: accstatz ? Date.parse(accstatz.now) : Date.now(),
    accounts,
    jetstream: jsz && varz.jetstream?.config ? jetstreamOf(jsz, varz.jetstream.config) : undefined,
    streams: (jsz?.account_details ?? []).flatMap((a) =>
      (a.stream_detail ?? []).map((s) => ({ account: a.name, name: s.name, messages: s.state.messages, bytes: s.state.bytes, consumers: s.state.consumer_count, leader: s.cluster?.leader })),
    ),
    routes: [...new Set((routez?.routes ?? []).map((r) => r.remote_name).filter((n): n is string => !!n))].sort(),
    missing,
  };
}

/** Traffic of the account's own clients on this node: without what crossed routes, gateways and leaf nodes. */
function ownClients(stats: DataStats): Traffic {
  const crossed = [stats.routes, stats.gateways, stats.leafs].filter((t): t is Traffic => !!t);
  return {
    msgs: stats.msgs - crossed.reduce((sum, t) => sum + t.msgs, 0),
    bytes: stats.bytes - crossed.reduce((sum, t) => sum + t.bytes, 0),
  };
}

function jetstreamOf(jsz: Jsz, limits: { max_memory: number; max_storage: number }): JetStreamStatus {
  return {
    memory: jsz.memory,
    storage: jsz.storage,
    maxMemory: limits.max_memory,
    maxStorage: limits.max_storage,
    streams: jsz.streams,
    consumers: jsz.consumers,
    messages: jsz.messages,
    bytes: jsz.bytes,
    metaLeader: jsz.meta_cluster?.leader,
  };
}

async function monitorJson<T>(monitorUrl: string, path: string): Promise<T> {
  const response = await fetch(`${monitorUrl.replace(/\/+$/, "")}${path}`, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) }).catch((error: unknown) => {
    const cause = (error as { cause?: unknown }).cause;
    if (error instanceof Error && error.name === "TimeoutError") throw new Error(`no response within ${REQUEST_TIMEOUT_MS} ms`);
    throw new Error(cause instanceof Error ? cause.message : error instanceof Error ? error.message : String(error));
  });
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  return (await response.json()) as T;
}

function distinctStreams(nodes: NodeStatus[]): StreamStatus[] {
  const chosen = new Map<string, StreamStatus>();
  for (const node of nodes) {
    for (const stream of node.server?.streams ?? []) {
      const key = `${stream.account}\u0000${stream.name}`;
      const isLeaderCopy = stream.leader !== undefined && stream.leader === node.server!.serverName;
      if (!chosen.has(key) || isLeaderCopy) chosen.set(key, stream);
    }
  }
  return [...chosen.values()].sort((x, y) => x.account.localeCompare(y.account) || x.name.localeCompare(y.name));
}

function summarizeAccounts(nodes: NodeStatus[], streams: StreamStatus[]): AccountSummary[] {
  const byName = new Map<string, AccountSummary>();
  for (const account of nodes.flatMap((n) => n.server?.accounts ?? [])) {
    const sum = byName.get(account.name) ?? { name: account.name, connections: 0, totalConnections: 0, subscriptions: 0, slowConsumers: 0, in: { msgs: 0, bytes: 0 }, out: { msgs: 0, bytes: 0 }, streams: 0, messages: 0, bytes: 0 };
    sum.connections += account.connections;
    sum.totalConnections += account.totalConnections;
    sum.subscriptions += account.subscriptions;
    sum.slowConsumers += account.slowConsumers;
    sum.in = add(sum.in, account.in);
    sum.out = add(sum.out, account.out);
    byName.set(account.name, sum);
  }
  for (const stream of streams) {
    const sum = byName.get(stream.account);
    if (!sum) continue;
    sum.streams += 1;
    sum.messages += stream.messages;
    sum.bytes += stream.bytes;
  }
  return [...byName.values()].sort((x, y) => x.name.localeCompare(y.name));
}

const add = (a: Traffic, b: Traffic): Traffic => ({ msgs: a.msgs + b.msgs, bytes: a.bytes + b.bytes });

/** Whether the nodes that answer (any status) are still a majority; see ops/quorum.ts. */
export function quorumLossOf(nodes: NodeStatus[]): QuorumLoss | undefined {
  return quorumLoss(nodes.map((n) => ({ name: n.name, answers: n.server !== undefined || n.health.status !== undefined })));
}

function problemsOf(node: NodeStatus): string[] {
  // Across Docker hosts, each problem says where its node runs.
  const who = `${node.name}${atHost(node.dockerHost)}`;
  if (!node.server && node.health.status === undefined) return [`${who}: ${node.health.detail}`];
  const problems: string[] = [];
  if (!node.health.ok) problems.push(`${who}: not healthy: ${describeHealth(node.health)}`);
  if (!node.server) problems.push(`${who}: /varz did not answer: ${node.error}`);
  const slow = node.server?.slowConsumers ?? 0;
  if (slow > 0) {
    const accounts = node.server!.accounts.filter((a) => a.slowConsumers > 0).map((a) => `${a.name} ${a.slowConsumers}`);
    problems.push(`${who}: ${slow} slow consumer${slow === 1 ? "" : "s"} since it started${accounts.length ? ` (${accounts.join(", ")})` : ""}`);
  }
  const container = node.container;
  if (container?.state && container.state !== "running") problems.push(`${who}: container ${container.name} is ${container.state}`);
  if (container?.health === "unhealthy") problems.push(`${who}: container ${container.name} is unhealthy by its Docker healthcheck`);
  return problems;
}

/** Messages and bytes per second in and out, per account, over every node. */
export interface AccountRates {
  account: string;
  inMsgs: number;
  inBytes: number;
  outMsgs: number;
  outBytes: number;
}

/**
 * The rate of each account's traffic between two reports of the same target, by each node's own
 * clock. A node that restarted in between (its counters started again) or missed either report
 * adds nothing, rather than a negative or made-up rate.
 */
export function accountRates(before: Status, after: Status): AccountRates[] {
  const rates = new Map<string, AccountRates>();
  for (const node of after.nodes) {
    const now = node.server;
    const then = before.nodes.find((n) => n.name === node.name)?.server;
    for (const account of now?.accounts ?? []) {
      const entry = rates.get(account.name) ?? { account: account.name, inMsgs: 0, inBytes: 0, outMsgs: 0, outBytes: 0 };
      rates.set(account.name, entry);
      const previous = then?.start === now!.start ? then.accounts.find((a) => a.name === account.name) : undefined;
      const seconds = previous ? (now!.sampledAt - then!.sampledAt) / 1000 : 0;
      if (!previous || seconds <= 0) continue;
      const per = (a: number, b: number) => Math.max(0, a - b) / seconds;
      entry.inMsgs += per(account.in.msgs, previous.in.msgs);
      entry.inBytes += per(account.in.bytes, previous.in.bytes);
      entry.outMsgs += per(account.out.msgs, previous.out.msgs);
      entry.outBytes += per(account.out.bytes, previous.out.bytes);
    }
  }
  return [...rates.values()].sort((x, y) => x.account.localeCompare(y.account));
}
