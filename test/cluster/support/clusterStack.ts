// The stack the cluster tests and the cluster benchmark run: the dev stack plus an R3 stream with
// a durable consumer, the service that publishes to it and reads it, and an operator user for
// what no product user may do (read every stored message, back a stream up and restore it).
// Also: creating the declared streams with the product's own reconciler, finding a stream's
// leader, and each node's own view of a stream.
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { readStackFile } from "../../../config/load";
import { jetstreamAdminUser } from "../../../config/users";
import type { RunningCluster } from "../../harness/natsCluster";
import { reconcileDeclared } from "../../harness/reconcileDeclared";
import { waitFor } from "../../harness/natsServer";
import { DEV_STACK_FIXTURE } from "../../harness/tools";

export const ACCOUNT = "APP";
export const STREAM = "ORDERS";
export const STREAM_SUBJECT = "orders.new";
export const CONSUMER = "order-worker";
/** Publishes to ORDERS and reads it through its durable consumer, with exactly those rights. */
export const ORDER_SERVICE = "order-service";
/** Test-only: the whole JetStream API and snapshots of its account; no product user has these rights. */
export const OPERATOR = "stream-operator";

const OPERATOR_SERVICE = { name: OPERATOR, publish: ["$JS.API.>", "$JS.SNAPSHOT.>"], subscribe: [] };

/** A raw stack plus the operator user. */
export function withOperator(raw: Record<string, unknown>): Record<string, unknown> {
  return { ...raw, services: [...(raw.services as object[]), OPERATOR_SERVICE] };
}

export function clusterStack(replicas = 3): Record<string, unknown> {
  const dev = readStackFile(DEV_STACK_FIXTURE);
  return {
    ...dev,
    services: [
      ...(dev.services as object[]),
      {
        name: ORDER_SERVICE,
        publish: [
          "orders.>",
          `$JS.API.CONSUMER.INFO.${STREAM}.${CONSUMER}`,
          `$JS.API.CONSUMER.MSG.NEXT.${STREAM}.${CONSUMER}`,
          `$JS.ACK.${STREAM}.${CONSUMER}.>`,
        ],
        subscribe: [],
      },
      OPERATOR_SERVICE,
    ],
    streams: [
      ...(dev.streams as object[]),
      { name: STREAM, subjects: ["orders.>"], storage: "file", replicas, consumers: [{ name: CONSUMER, type: "pull", ackPolicy: "explicit" }] },
    ],
  };
}

/**
 * Creates the declared streams and consumers the way `pulumi up` does: the reconciler, as the
 * account's JetStream admin. On a loaded 2-core machine the first R3 create right after the
 * cluster came up has missed the client's API timeout; the reconciler is idempotent, so a
 * timeout is retried (twice at most).
 */
export async function createDeclaredStreams(cluster: RunningCluster): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await reconcileDeclared(cluster.config, cluster.nodes[0].url, cluster.passwords);
      return;
    } catch (error) {
      if (attempt >= 3 || !/timeout/i.test(String(error))) throw error;
      console.log(`creating the declared streams, attempt ${attempt}: ${String(error).split("\n")[0]}; retrying`);
    }
  }
}

/** The node index of a stream's leader, from stream info (`cluster.leader`) as the JetStream admin. */
export async function streamLeader(cluster: RunningCluster, stream = STREAM): Promise<number> {
  const admin = jetstreamAdminUser(ACCOUNT);
  const nc = await connect({ servers: cluster.urlList, ...cluster.login(admin) });
  try {
    const info = await (await jetstreamManager(nc)).streams.info(stream);
    const leader = cluster.nodes.findIndex((n) => n.serverName === info.cluster?.leader);
    if (leader < 0) throw new Error(`stream ${stream} has no leader among ${cluster.nodes.map((n) => n.serverName).join(", ")}: ${JSON.stringify(info.cluster)}`);
    return leader;
  } finally {
    await nc.close();
  }
}

export interface ReplicaView {
  server: string;
  messages: number;
  firstSeq: number;
  lastSeq: number;
}

/**
 * One node's own copy of a stream, from its monitoring endpoint: `/jsz?acc=<account>&streams=true`
 * lists, per stream this server hosts, the state of its local replica (checked on 2.14.10); a
 * node that hosts no copy answers undefined.
 */
export async function replicaView(node: { serverName: string; monitorUrl: string }, stream = STREAM, account = ACCOUNT): Promise<ReplicaView | undefined> {
  const jsz = (await (await fetch(`${node.monitorUrl}/jsz?acc=${encodeURIComponent(account)}&streams=true`)).json()) as {
    account_details?: { name: string; stream_detail?: { name: string; state: { messages: number; first_seq: number; last_seq: number } }[] }[];
  };
  const detail = jsz.account_details?.find((a) => a.name === account)?.stream_detail?.find((s) => s.name === stream);
  if (!detail) return undefined;
  return { server: node.serverName, messages: detail.state.messages, firstSeq: detail.state.first_seq, lastSeq: detail.state.last_seq };
}

/** Every message the stream holds, read in order by the operator through an ordered consumer: the payloads as numbers. */
export async function storedIds(cluster: RunningCluster, stream = STREAM): Promise<number[]> {
  const nc = await connect({ servers: cluster.urlList, ...cluster.login(OPERATOR) });
  try {
    const js = jetstream(nc);
    const { state } = await (await jetstreamManager(nc)).streams.info(stream);
    const ids: number[] = [];
    if (state.messages === 0) return ids;
    const consumer = await js.consumers.get(stream);
    const messages = await consumer.consume({ max_messages: 500 });
    for await (const m of messages) {
      ids.push(Number(m.string()));
      if (m.seq >= state.last_seq) break;
    }
    return ids;
  } finally {
    await nc.close();
  }
}

/**
 * Waits (bounded) until every node's own copy holds exactly `expected` (a restarted node catches
 * up from the others), and returns the views; throws with every node's view otherwise.
 */
export async function untilReplicasAgree(cluster: RunningCluster, expected: Omit<ReplicaView, "server">, timeoutMs = 30_000, stream = STREAM): Promise<ReplicaView[]> {
  const same = (v: ReplicaView | undefined) => v !== undefined && v.messages === expected.messages && v.firstSeq === expected.firstSeq && v.lastSeq === expected.lastSeq;
  let views: (ReplicaView | undefined)[] = [];
  await waitFor(
    async () => {
      views = await Promise.all(cluster.nodes.map((n) => replicaView(n, stream)));
      return views.every(same);
    },
    timeoutMs,
    () => `the replicas of ${stream} do not all hold ${JSON.stringify(expected)}: ${JSON.stringify(views)}`,
  );
  return views as ReplicaView[];
}
