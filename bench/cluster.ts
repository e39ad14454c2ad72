// Part "cluster": what three servers cost and buy, on real nats-servers rendered as the product
// renders them (test/harness/natsCluster.ts), all side by side on loopback.
//
// 1. JetStream publish, sync and async acks (natscli `nats bench js pub`), on one server, on
//    three servers with an R1 stream and on three with an R3 stream. Cases interleaved across
//    repeats, a fresh stream before every run; medians, and medians of per-repeat ratios to one
//    server (each ratio's pair ran in the same repeat).
// 2. Failover: a publisher waiting for every ack, the R3 stream's leader SIGKILLed; the time
//    from the kill to the ack of the first message sent after it. The node is restarted and the
//    cluster healthy again before the next repeat.
// 3. A rolling restart of the three nodes (ops/rollingRestart, each restart a lame duck stop and
//    a start, as the product's lame duck settings make it) under that publisher: total time and
//    the longest gap between two acks.
// Nothing asserts: figures are printed and written to bench/results/cluster.json.
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { performance } from "node:perf_hooks";
import { jetstreamAdminUser } from "../config/users";
import { rollingRestart } from "../ops/rollingRestart";
import { AckedPublisher } from "../test/cluster/support/ackedPublisher";
import { ACCOUNT, clusterStack, createDeclaredStreams, ORDER_SERVICE, STREAM as FAILOVER_STREAM, STREAM_SUBJECT, streamLeader } from "../test/cluster/support/clusterStack";
import { restartableNodes, startCluster, type RunningCluster } from "../test/harness/natsCluster";
import { startNats } from "../test/harness/natsServer";
import { toolPath } from "../test/harness/tools";
import { jsPublish, type Target } from "./support/natsBench";
import { machine, median, printTable, writeResults, type Row } from "./support/report";

const JS_SYNC_MSGS = 5_000;
const JS_ASYNC_MSGS = 50_000;
const BENCH_USER = "bench-client";
const BENCH_STREAM = "benchstream";
const BENCH_SUBJECTS = ["bench.js.>"];
/** Acks before each kill, so the publisher is in full swing. */
const ACKS_BEFORE_KILL = 200;
/** Short, so a publish that went to the dead leader is retried soon: the failover figure's resolution. */
const ACK_TIMEOUT_MS = 500;
/** The rolling restart takes tens of seconds each (lame duck): fewer repeats than the rest. */
const MAX_ROLLING_REPEATS = 3;

/** The cluster test stack (an R3 stream, its publisher) plus a bench client and a deletable bench stream. */
function benchStack(replicas: number): Record<string, unknown> {
  const base = clusterStack(Math.min(replicas, 3));
  return {
    ...base,
    services: [...(base.services as object[]), { name: BENCH_USER, publish: ["bench.>", `$JS.API.STREAM.INFO.${BENCH_STREAM}`], subscribe: [] }],
    streams: [...(base.streams as object[]), { name: BENCH_STREAM, subjects: BENCH_SUBJECTS, storage: "file", replicas, allowDelete: true }],
  };
}

interface Setup {
  name: string;
  target: Target;
  replicas: number;
  admin: { user: string; pass: string };
  stop(): Promise<void>;
}

const ADMIN = jetstreamAdminUser(ACCOUNT);

async function single(): Promise<Setup> {
  const nats = await startNats(benchStack(1));
  return {
    name: "1 node",
    target: { url: nats.url, monitorUrl: nats.monitorUrl, user: BENCH_USER, password: nats.passwords[BENCH_USER] },
    replicas: 1,
    admin: { user: ADMIN, pass: nats.passwords[ADMIN] },
    stop: () => nats.stop(),
  };
}

async function threeNodes(replicas: number): Promise<Setup> {
  const cluster = await startCluster(benchStack(replicas), 3);
  return {
    name: `3 nodes, R${replicas}`,
    // Every URL, as a client gets them; natscli (nats.go) splits the list itself.
    target: { url: cluster.urls, monitorUrl: cluster.nodes[0].monitorUrl, user: BENCH_USER, password: cluster.passwords[BENCH_USER] },
    replicas,
    admin: { user: ADMIN, pass: cluster.passwords[ADMIN] },
    stop: () => cluster.stop(),
  };
}

/** A fresh, empty bench stream with the setup's replicas before each run. */
async function freshStream(setup: Setup): Promise<void> {
  const nc = await connect({ servers: setup.target.url.split(","), ...setup.admin });
  try {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.delete(BENCH_STREAM).catch(() => false);
    await jsm.streams.add({ name: BENCH_STREAM, subjects: BENCH_SUBJECTS, num_replicas: setup.replicas });
  } finally {
    await nc.close();
  }
}

const PUBLISH_CASES = [
  { name: "JetStream publish, sync acks", mode: "sync" as const, msgs: JS_SYNC_MSGS },
  { name: "JetStream publish, async acks (batch 500)", mode: "async" as const, msgs: JS_ASYNC_MSGS },
];

async function benchPublish(repeats: number): Promise<{ rows: Row[]; samples: Record<string, number[]> }> {
  const setups: Setup[] = [];
  try {
    setups.push(await single(), await threeNodes(1), await threeNodes(3));
    const samples: Record<string, number[]> = {};
    for (let r = 0; r < repeats; r++) {
      for (const c of PUBLISH_CASES) {
        for (const s of setups) {
          await freshStream(s);
          const rate = await jsPublish(s.target, c.mode, BENCH_STREAM, "bench.js.x", c.msgs);
          (samples[`${c.name}|${s.name}`] ??= []).push(rate);
          console.log(`  [${r + 1}/${repeats}] ${c.name}, ${s.name}: ${Math.round(rate)} msgs/s`);
        }
      }
    }
    const of = (c: string, s: Setup) => samples[`${c}|${s.name}`];
    const pairedRatio = (c: string, a: Setup, b: Setup) => median(of(c, a).map((x, i) => x / of(c, b)[i]));
    const [one, r1, r3] = setups;
    const rows = PUBLISH_CASES.map((c) => ({
      case: `${c.name}, ${c.msgs} msgs`,
      "1 node msgs/s": median(of(c.name, one)),
      "3 nodes R1 msgs/s": median(of(c.name, r1)),
      "3 nodes R3 msgs/s": median(of(c.name, r3)),
      "R1 / 1 node": pairedRatio(c.name, r1, one),
      "R3 / 1 node": pairedRatio(c.name, r3, one),
    }));
    return { rows, samples };
  } finally {
    for (const s of setups) await s.stop();
  }
}

async function startPublisher(cluster: RunningCluster): Promise<AckedPublisher> {
  return AckedPublisher.start({
    servers: cluster.urlList,
    user: ORDER_SERVICE,
    pass: cluster.passwords[ORDER_SERVICE],
    subject: STREAM_SUBJECT,
    limit: Number.MAX_SAFE_INTEGER,
    intervalMs: 0,
    ackTimeoutMs: ACK_TIMEOUT_MS,
  });
}

interface FailoverSample {
  killed: string;
  /** Kill -> ack of the first message sent after the kill. */
  failoverMs: number;
  failedAttempts: number;
}

async function benchFailover(cluster: RunningCluster, repeats: number): Promise<FailoverSample[]> {
  const samples: FailoverSample[] = [];
  for (let r = 0; r < repeats; r++) {
    const publisher = await startPublisher(cluster);
    try {
      await publisher.untilAcked(ACKS_BEFORE_KILL);
      const leader = await streamLeader(cluster, FAILOVER_STREAM);
      const failedBefore = publisher.failedAttempts;
      const killedAt = performance.now();
      await cluster.kill(leader);
      await publisher.untilAcked(publisher.acked.length + ACKS_BEFORE_KILL);
      const failoverMs = publisher.firstAckOfMessageSentAfter(killedAt)! - killedAt;
      samples.push({ killed: cluster.nodes[leader].serverName, failoverMs, failedAttempts: publisher.failedAttempts - failedBefore });
      console.log(`  [${r + 1}/${repeats}] killed ${cluster.nodes[leader].serverName}: next ack after ${Math.round(failoverMs)} ms`);
      await cluster.start(leader);
      await cluster.waitHealthy();
    } finally {
      await publisher.stop();
    }
  }
  return samples;
}

interface RollingSample {
  totalMs: number;
  longestStallMs: number;
  failedAttempts: number;
  nodes: { name: string; downMs: number; untilHealthyMs: number }[];
}

async function benchRolling(cluster: RunningCluster, repeats: number): Promise<RollingSample[]> {
  const samples: RollingSample[] = [];
  for (let r = 0; r < repeats; r++) {
    const publisher = await startPublisher(cluster);
    try {
      await publisher.untilAcked(ACKS_BEFORE_KILL);
      const failedBefore = publisher.failedAttempts;
      const started = performance.now();
      const report = await rollingRestart(restartableNodes(cluster), { healthTimeoutMs: 60_000, restartTimeoutMs: 90_000 });
      // Acks after the last restart close the last stall.
      await publisher.untilAcked(publisher.acked.length + ACKS_BEFORE_KILL);
      const sample = {
        totalMs: report.totalMs,
        longestStallMs: publisher.longestStallMs(started),
        failedAttempts: publisher.failedAttempts - failedBefore,
        nodes: report.nodes.map(({ name, downMs, untilHealthyMs }) => ({ name, downMs, untilHealthyMs })),
      };
      samples.push(sample);
      console.log(`  [${r + 1}/${repeats}] rolling restart ${report.totalMs} ms, longest publish stall ${Math.round(sample.longestStallMs)} ms`);
    } finally {
      await publisher.stop();
    }
  }
  return samples;
}

export async function benchCluster(repeats = 5): Promise<void> {
  const publish = await benchPublish(repeats);
  printTable(`JetStream publish, 128 B, median of ${repeats}; ratios are medians of per-repeat ratios`, publish.rows);

  const cluster = await startCluster(clusterStack(3), 3);
  let failover: FailoverSample[] = [];
  let rolling: RollingSample[] = [];
  try {
    await createDeclaredStreams(cluster);
    failover = await benchFailover(cluster, repeats);
    rolling = await benchRolling(cluster, Math.min(repeats, MAX_ROLLING_REPEATS));
  } finally {
    await cluster.stop();
  }
  const failoverMs = failover.map((s) => s.failoverMs);
  printTable(`Failover: SIGKILL of the R3 stream's leader under a publisher waiting for every ack (ack timeout ${ACK_TIMEOUT_MS} ms), ${repeats} repeats`, [
    { "kill -> next ack ms, median": median(failoverMs), min: Math.min(...failoverMs), max: Math.max(...failoverMs), "failed attempts, median": median(failover.map((s) => s.failedAttempts)) },
  ]);
  printTable(`Rolling restart of 3 nodes under that publisher (lame duck 30 s, grace 10 s), ${rolling.length} repeats`, [
    {
      "total ms, median": median(rolling.map((s) => s.totalMs)),
      "longest publish stall ms, median": median(rolling.map((s) => s.longestStallMs)),
      "longest stall, max": Math.max(...rolling.map((s) => s.longestStallMs)),
      "per node down ms, median": median(rolling.flatMap((s) => s.nodes.map((n) => n.downMs))),
      "per node until healthy ms, median": median(rolling.flatMap((s) => s.nodes.map((n) => n.untilHealthyMs))),
      "failed attempts, median": median(rolling.map((s) => s.failedAttempts)),
    },
  ]);
  const file = writeResults("cluster", {
    machine: machine({ natsServer: toolPath("nats-server"), nats: toolPath("nats") }),
    repeats,
    messages: { jsSync: JS_SYNC_MSGS, jsAsync: JS_ASYNC_MSGS },
    ackTimeoutMs: ACK_TIMEOUT_MS,
    publish,
    failover,
    rolling,
  });
  console.log(`\nwrote ${file}`);
}
