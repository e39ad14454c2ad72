// One reconciler run: for each account, connect as its JetStream admin, read what the server has,
// plan, print the plan, and (unless a dry run) apply it stream by stream. A stream whose plan is
// refused is left exactly as it is; the others go ahead.
import { jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import type { KvDeclaration, ObjectStoreDeclaration, StreamDeclaration } from "../config/streams";
import { ApplyError, applyStreamPlan } from "./apply";
import { accountEnvSuffix, connectAdmin, credentialsFor, type NatsConnection } from "./connect";
import { planStream, planUnmanaged } from "./diff";
import { formatPlans } from "./format";
import { kindedStreams, type KindedStream } from "./kinds";
import { observeStream, otherStreams } from "./observe";
import { changesServer, planName, type AccountPlan, type StreamPlan } from "./plan";

export interface ReconcileOptions {
  /** The server's client URL, or every node's, comma-separated (connect.ts serverList). */
  url: string;
  env: NodeJS.ProcessEnv;
  dryRun: boolean;
  /** Also list the account's streams that the config does not declare (runs over a whole stack file). */
  reportOthers: boolean;
  /**
   * Further accounts to look at for streams the config does not declare (a whole stack file:
   * every JetStream account). Skipped, with a note, when the environment has no password for them.
   */
  accounts?: string[];
  /** KV buckets and object stores to reconcile too: streams underneath (kinds.ts). */
  kv?: KvDeclaration[];
  objectStores?: ObjectStoreDeclaration[];
  /**
   * The inbox prefix of a user, when a stack config says (config/users.ts); connect.ts
   * credentialsFor says what wins over it and what applies without it.
   */
  inboxPrefixOf?(user: string): string | undefined;
  /** Where each stream, bucket or store is declared, for messages (`nats-infra:streams[2]`). */
  where?(declaration: StreamDeclaration | KvDeclaration | ObjectStoreDeclaration): string | undefined;
  log: (text: string) => void;
}

export interface ReconcileResult {
  plans: AccountPlan[];
  /** Streams whose plan was refused: nothing of them was changed. */
  refused: StreamPlan[];
  changed: boolean;
}

/** Streams read in parallel per account; small enough for any server, large enough for 100s of streams. */
const READ_CONCURRENCY = 8;
/**
 * How long one JetStream API call may take. The client's 5 s default is shorter than a raft
 * election with a node down (nats-server waits 4 to 9 s before it calls one), and a new R3
 * consumer answers only once its group has a leader: with one node of three down, a run must
 * still succeed rather than report a timeout for a change the servers then carry out anyway.
 */
const JETSTREAM_API_TIMEOUT_MS = 20_000;

export async function reconcile(streams: StreamDeclaration[], options: ReconcileOptions): Promise<ReconcileResult> {
  const all = kindedStreams(streams, options.kv, options.objectStores);
  const declaring = new Set(all.map((s) => s.declared.account));
  const accounts = [...new Set([...declaring, ...(options.accounts ?? [])])];
  // The accounts read, in order: those with credentials (an account without streams may lack them).
  const connections = new Map<string, { nc: NatsConnection; jsm: JetStreamManager }>();
  try {
    for (const account of accounts) {
      let credentials;
      try {
        credentials = credentialsFor(account, options.env, options.inboxPrefixOf);
      } catch (error) {
        if (declaring.has(account)) throw error;
        options.log(`Account ${account}: not looked at (no streams declared, and no NATS_PASSWORD_${accountEnvSuffix(account)} to read its streams)`);
        continue;
      }
      const nc = await connectAdmin(options.url, account, credentials);
      connections.set(account, { nc, jsm: await jetstreamManager(nc, { timeout: JETSTREAM_API_TIMEOUT_MS }) });
    }
    const plans: AccountPlan[] = [];
    for (const [account, { jsm }] of connections) {
      const declared = all.filter((s) => s.declared.account === account);
      const now = new Date();
      const planned = await mapLimited(declared, READ_CONCURRENCY, async (s: KindedStream) =>
        planStream(s.declared, await read(jsm, s.declared, now), options.where?.(s.source), s.kind),
      );
      if (options.reportOthers) {
        const others = await otherStreams(jsm, new Set(declared.map((s) => s.declared.name)));
        planned.push(...others.map((info) => planUnmanaged(info, account)));
      }
      plans.push({ account, streams: planned });
    }
    options.log(formatPlans(plans));

    const planned = plans.flatMap((p) => p.streams);
    const refused = planned.filter((p) => p.kind === "refused");
    const toApply = planned.filter(changesServer);
    if (options.dryRun) {
      options.log("Dry run: nothing was changed.");
      return { plans, refused, changed: false };
    }
    for (const plan of toApply) {
      await applyStreamPlan(connections.get(plan.account)!.jsm, plan);
      options.log(`applied: ${planName(plan)} (account ${plan.account})`);
    }
    if (toApply.length) options.log(`Done: ${toApply.length} of ${planned.length} streams changed.`);
    return { plans, refused, changed: toApply.length > 0 };
  } finally {
    await Promise.all([...connections.values()].map(({ nc }) => nc.close().catch(() => undefined)));
  }
}

async function read(jsm: JetStreamManager, stream: StreamDeclaration, now: Date) {
  try {
    return await observeStream(jsm, stream, now);
  } catch (error) {
    throw new ApplyError(`reading stream ${stream.name} (account ${stream.account})`, error);
  }
}

async function mapLimited<T, R>(items: T[], limit: number, run: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await run(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

