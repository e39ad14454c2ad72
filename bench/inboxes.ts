// Part "inboxes": what a private reply inbox costs a requester (issue 17). Requesters on the
// shared `_INBOX`, on their own `_INBOX_<name>` (private) and on both grants at once (both, the
// migration state) run side by side on the same server, with nats.js on the prefix their
// credentials carry: sequential core requests to an echo responder and sequential KV gets
// (STREAM.MSG.GET), each a request whose reply comes back on the inbox. On one server and on a
// 3-node cluster (requester on node 1, responder on node 0, the bucket R3). Modes are
// interleaved within each repeat, their order alternating, so other load on the machine spreads
// over all of them. Reported: median p50, p99 and requests per second, and the medians of the
// per-repeat ratios to shared (each pair ran in the same repeat). Nothing asserts.
import { performance } from "node:perf_hooks";
import { jetstream } from "@nats-io/jetstream";
import { Kvm, type KV } from "@nats-io/kv";
import type { Msg, NatsConnection } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";
import type { StackConfig } from "../config/schema";
import { createDeclaredStreams } from "../test/cluster/support/clusterStack";
import { startCluster } from "../test/harness/natsCluster";
import { startNats } from "../test/harness/natsServer";
import { toolPath } from "../test/harness/tools";
import { inboxPrefixOf } from "../test/harness/login";
import { reconcileDeclared } from "../test/harness/reconcileDeclared";
import { machine, median, printTable, writeResults, type Row } from "./support/report";

const REQUESTS = 2_000;
const WARMUP = 200;
const MODES = ["shared", "private", "both"] as const;
type Mode = (typeof MODES)[number];
const RESPONDER = "echo";
const WRITER = "writer";
const BUCKET = "benchkv";
const KEY = "k";
const SUBJECT = "bench.echo";
const PAYLOAD = "x".repeat(100);
const requester = (mode: Mode) => `requester-${mode}`;

function benchStack(replicas: number): Record<string, unknown> {
  return {
    inboxes: "private",
    services: [
      { name: RESPONDER, subscribe: [SUBJECT], requests: false },
      ...MODES.map((mode) => ({ name: requester(mode), inbox: mode, publish: [SUBJECT], jetstream: { kv: [{ bucket: BUCKET, access: "read" }] } })),
      { name: WRITER, jetstream: { kv: [{ bucket: BUCKET, access: "write" }] } },
    ],
    kv: [{ bucket: BUCKET, replicas }],
  };
}

interface ServerKind {
  name: string;
  config: StackConfig;
  passwords: Record<string, string>;
  urls: string[];
  responderNode: number;
  requesterNode: number;
  stop(): Promise<void>;
}

async function oneServer(): Promise<ServerKind> {
  const nats = await startNats(benchStack(1));
  await reconcileDeclared(nats.config, nats.url, nats.passwords).catch(stopAndThrow(() => nats.stop()));
  return { name: "1 server", config: nats.config, passwords: nats.passwords, urls: [nats.url], responderNode: 0, requesterNode: 0, stop: () => nats.stop() };
}

async function threeNodes(): Promise<ServerKind> {
  const cluster = await startCluster(benchStack(3), 3);
  await createDeclaredStreams(cluster).catch(stopAndThrow(() => cluster.stop()));
  return {
    name: "3 nodes (requester on node 1, responder on 0, bucket R3)",
    config: cluster.config,
    passwords: cluster.passwords,
    urls: cluster.urlList,
    responderNode: 0,
    requesterNode: 1,
    stop: () => cluster.stop(),
  };
}

/** A server whose setup failed is stopped before the error goes on. */
const stopAndThrow = (stop: () => Promise<void>) => async (error: unknown) => {
  await stop();
  throw error;
};

interface Requester {
  mode: Mode;
  nc: NatsConnection;
  kv: KV;
}

interface Case {
  name: string;
  once: (r: Requester) => Promise<unknown>;
}

const CASES: Case[] = [
  { name: "core request/reply, 100 B", once: (r) => r.nc.request(SUBJECT, PAYLOAD, { timeout: 5_000 }) },
  { name: "KV get (STREAM.MSG.GET)", once: (r) => r.kv.get(KEY) },
];

interface Sample {
  p50Us: number;
  p99Us: number;
  perSecond: number;
}

/** REQUESTS sequential calls, each timed. */
async function run(c: Case, r: Requester): Promise<Sample> {
  const latencies = new Float64Array(REQUESTS);
  const started = performance.now();
  for (let i = 0; i < REQUESTS; i++) {
    const t = performance.now();
    await c.once(r);
    latencies[i] = performance.now() - t;
  }
  const seconds = (performance.now() - started) / 1000;
  latencies.sort();
  return { p50Us: latencies[Math.floor(REQUESTS * 0.5)] * 1000, p99Us: latencies[Math.floor(REQUESTS * 0.99)] * 1000, perSecond: REQUESTS / seconds };
}

async function benchKind(kind: ServerKind, repeats: number): Promise<{ rows: Row[]; samples: Record<string, Sample[]> }> {
  const open: NatsConnection[] = [];
  const connectAs = async (user: string, node: number) => {
    const nc = await connect({ servers: kind.urls[node], user, pass: kind.passwords[user], inboxPrefix: inboxPrefixOf(kind.config, user) });
    open.push(nc);
    return nc;
  };
  try {
    const writer = await connectAs(WRITER, 0);
    await (await new Kvm(jetstream(writer)).open(BUCKET)).put(KEY, PAYLOAD);
    const echo = await connectAs(RESPONDER, kind.responderNode);
    echo.subscribe(SUBJECT, { callback: (error: Error | null, msg: Msg) => void (error || msg.respond(msg.data)) });
    await echo.flush();

    const requesters: Requester[] = [];
    for (const mode of MODES) {
      const nc = await connectAs(requester(mode), kind.requesterNode);
      requesters.push({ mode, nc, kv: await new Kvm(jetstream(nc, { timeout: 10_000 })).open(BUCKET) });
    }
    // The responder's interest crosses the routes a moment after it subscribed: warm up until every call answers.
    for (const r of requesters) for (const c of CASES) for (let i = 0; i < WARMUP; i++) await retryOnce(() => c.once(r));

    const samples: Record<string, Sample[]> = {};
    for (let repeat = 0; repeat < repeats; repeat++) {
      const order = repeat % 2 ? [...requesters].reverse() : requesters;
      for (const c of CASES) {
        for (const r of order) {
          const sample = await run(c, r);
          (samples[`${c.name}|${r.mode}`] ??= []).push(sample);
          console.log(`  [${repeat + 1}/${repeats}] ${kind.name}, ${c.name}, ${r.mode}: p50 ${sample.p50Us.toFixed(0)} us, p99 ${sample.p99Us.toFixed(0)} us, ${Math.round(sample.perSecond)}/s`);
        }
      }
    }

    const of = (c: Case, mode: Mode) => samples[`${c.name}|${mode}`];
    const med = (c: Case, mode: Mode, pick: (s: Sample) => number) => median(of(c, mode).map(pick));
    /** Median over repeats of mode/shared, each pair from the same repeat. */
    const ratio = (c: Case, mode: Mode, pick: (s: Sample) => number) => median(of(c, mode).map((s, i) => pick(s) / pick(of(c, "shared")[i])));
    const rows: Row[] = CASES.flatMap((c) =>
      MODES.map((mode) => ({
        case: c.name,
        inbox: mode,
        "p50 us": med(c, mode, (s) => s.p50Us),
        "p99 us": med(c, mode, (s) => s.p99Us),
        "req/s": med(c, mode, (s) => s.perSecond),
        "p50 / shared": mode === "shared" ? "-" : ratio(c, mode, (s) => s.p50Us),
        "p99 / shared": mode === "shared" ? "-" : ratio(c, mode, (s) => s.p99Us),
        "req/s / shared": mode === "shared" ? "-" : ratio(c, mode, (s) => s.perSecond),
      })),
    );
    printTable(`${kind.name}: ${REQUESTS} sequential calls per run, median of ${repeats}`, rows);
    return { rows, samples };
  } finally {
    await Promise.all(open.map((nc) => nc.close().catch(() => undefined)));
  }
}

async function retryOnce<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch {
    await new Promise((resolve) => setTimeout(resolve, 100));
    return call();
  }
}

export async function benchInboxes(repeats = 5): Promise<void> {
  const results: Record<string, { rows: Row[]; samples: Record<string, Sample[]> }> = {};
  for (const start of [oneServer, threeNodes]) {
    const kind = await start();
    try {
      results[kind.name] = await benchKind(kind, repeats);
    } finally {
      await kind.stop();
    }
  }
  const file = writeResults("inboxes", { machine: machine({ natsServer: toolPath("nats-server") }), repeats, requests: REQUESTS, warmup: WARMUP, results });
  console.log(`\nwrote ${file}`);
}
