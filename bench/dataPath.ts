// Part "datapath": what our rendered config (auth, permissions, limits) costs on the data path,
// measured with natscli's `nats bench` against the same nats-server run bare (no auth, server
// defaults) in the same run, and JetStream publishing with sync_interval 1s next to `always`.
// All servers run side by side on loopback and cases are interleaved across repeats, so other
// load on the machine spreads over all of them. Reported: the median throughput, the median of
// the per-repeat ratios (each pair ran back to back), and the server's CPU per message, which
// other load on the machine disturbs far less than throughput.
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { readStackFile } from "../config/load";
import { jetstreamAdminUser } from "../config/users";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { AUTH_CONF_FILE } from "../render/natsConf";
import { natsValue, type NatsValue } from "../render/natsValue";
import { startNats, type RunningNats } from "../test/harness/natsServer";
import { toolPath } from "../test/harness/tools";
import { startBareNats } from "./support/bareNats";
import { corePubSub, jsPublish, type Target } from "./support/natsBench";
import { cpuSeconds } from "./support/procCpu";
import { machine, median, printTable, writeResults, type Row } from "./support/report";
import { DEV_STACK_FIXTURE } from "../test/harness/tools";

/** Sized so that one repeat of every case takes well under a minute on 2 cores. */
const CORE_MSGS = 500_000;
const CORE_1K_MSGS = 200_000;
const JS_SYNC_MSGS = 10_000;
const JS_ASYNC_MSGS = 100_000;
/** fsync per write is far slower: a tenth of the messages gives a rate in similar time. */
const ALWAYS_FACTOR = 10;
const STREAM = "benchstream";
const BENCH_USER = "bench-client";

function ourStack(syncInterval: string): Record<string, unknown> {
  const dev = readStackFile(DEV_STACK_FIXTURE);
  return {
    ...dev,
    services: [
      ...(dev.services as object[]),
      // What a service needs to run `nats bench`: its subjects, its stream's INFO, replies.
      { name: BENCH_USER, publish: ["bench.>", `$JS.API.STREAM.INFO.${STREAM}`], subscribe: ["bench.>"] },
    ],
    jetstream: { ...(dev.jetstream as object), syncInterval },
    streams: [...((dev.streams as object[]) ?? []), { name: STREAM, subjects: ["bench.js.>"], storage: "file", allowDelete: true }],
  };
}

interface Server {
  name: string;
  target: Target;
  pid: number;
  /** Who may create and delete the bench stream. */
  admin: { user?: string; pass?: string };
  syncAlways: boolean;
  /** The diagnostic server: only the core cases run on it. */
  diagnostic?: boolean;
  stop(): Promise<void>;
}

async function ours(name: string, syncInterval: string, options: { unrestricted?: boolean } = {}): Promise<Server> {
  const nats = await startNats(ourStack(syncInterval));
  if (options.unrestricted) await dropPermissions(nats, BENCH_USER);
  const admin = jetstreamAdminUser("APP");
  return {
    name,
    target: { url: nats.url, monitorUrl: nats.monitorUrl, user: BENCH_USER, password: nats.passwords[BENCH_USER] },
    pid: nats.process.pid!,
    admin: { user: admin, pass: nats.passwords[admin] },
    syncAlways: syncInterval === "always",
    diagnostic: options.unrestricted,
    stop: () => nats.stop(),
  };
}

/**
 * Diagnostic only: the same rendered config with one user's permissions taken out, to tell how
 * much of the difference to bare is the per-message permission check. auth.conf is rendered
 * by natsValue as JSON-compatible text, so it is read back as data and serialised again.
 */
async function dropPermissions(nats: RunningNats, user: string): Promise<void> {
  const file = path.join(nats.dir, AUTH_CONF_FILE);
  const auth = JSON.parse(readFileSync(file, "utf8").replace(/^#.*\n/gm, "")) as { accounts: Record<string, { users?: { user: string; permissions?: unknown }[] }> };
  for (const account of Object.values(auth.accounts)) for (const u of account.users ?? []) if (u.user === user) delete u.permissions;
  writeFileSync(file, natsValue(auth as unknown as NatsValue) + "\n");
  await nats.reload();
}

async function bare(): Promise<Server> {
  const nats = await startBareNats();
  return { name: "bare", target: { url: nats.url, monitorUrl: nats.monitorUrl }, pid: nats.pid, admin: {}, syncAlways: false, stop: () => nats.stop() };
}

/** A fresh, empty stream before each JetStream run, so every run starts from the same state. */
async function freshStream(server: Server): Promise<void> {
  const nc = await connect({ servers: server.target.url, ...server.admin });
  try {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.delete(STREAM).catch(() => false);
    await jsm.streams.add({ name: STREAM, subjects: ["bench.js.>"] });
  } finally {
    await nc.close();
  }
}

interface Case {
  name: string;
  appliesTo: (s: Server) => boolean;
  prepare?: (s: Server) => Promise<void>;
  msgs: (s: Server) => number;
  /** Messages per second. */
  run: (s: Server, msgs: number) => Promise<number>;
}

const CASES: Case[] = [
  {
    name: "core pub/sub, 128 B (delivered msgs/s)",
    appliesTo: (s) => !s.syncAlways,
    msgs: () => CORE_MSGS,
    run: async (s, msgs) => (await corePubSub(s.target, "bench.core", msgs)).sub,
  },
  {
    name: "core pub/sub, 1 KiB (delivered msgs/s)",
    appliesTo: (s) => !s.syncAlways,
    msgs: () => CORE_1K_MSGS,
    run: async (s, msgs) => (await corePubSub(s.target, "bench.core", msgs, "1KB")).sub,
  },
  {
    name: "JetStream publish, sync acks",
    appliesTo: (s) => !s.diagnostic,
    prepare: freshStream,
    msgs: (s) => (s.syncAlways ? JS_SYNC_MSGS / ALWAYS_FACTOR : JS_SYNC_MSGS),
    run: (s, msgs) => jsPublish(s.target, "sync", STREAM, "bench.js.sync", msgs),
  },
  {
    name: "JetStream publish, async acks (batch 500)",
    appliesTo: (s) => !s.diagnostic,
    prepare: freshStream,
    msgs: (s) => (s.syncAlways ? JS_ASYNC_MSGS / ALWAYS_FACTOR : JS_ASYNC_MSGS),
    run: (s, msgs) => jsPublish(s.target, "async", STREAM, "bench.js.async", msgs),
  },
];

interface Sample {
  rate: number;
  /** Server CPU per message, microseconds. */
  cpuUs: number;
}

export async function benchDataPath(repeats = 9): Promise<void> {
  const servers: Server[] = [];
  try {
    servers.push(
      await bare(),
      await ours("ours (sync_interval 1s)", "1s"),
      await ours("ours (sync_interval always)", "always"),
      await ours("ours, bench user without permissions (diagnostic)", "1s", { unrestricted: true }),
    );
    const samples = new Map<string, Sample[]>();
    for (let r = 0; r < repeats; r++) {
      for (const c of CASES) {
        for (const s of servers.filter(c.appliesTo)) {
          await c.prepare?.(s);
          const msgs = c.msgs(s);
          const cpuBefore = cpuSeconds(s.pid);
          const rate = await c.run(s, msgs);
          const sample = { rate, cpuUs: ((cpuSeconds(s.pid) - cpuBefore) / msgs) * 1e6 };
          const key = `${c.name}|${s.name}`;
          samples.set(key, [...(samples.get(key) ?? []), sample]);
          console.log(`  [${r + 1}/${repeats}] ${c.name}, ${s.name}: ${Math.round(rate)} msgs/s, server ${sample.cpuUs.toFixed(2)} us CPU/msg`);
        }
      }
    }
    const of = (c: Case, s: Server) => samples.get(`${c.name}|${s.name}`) ?? [];
    const med = (c: Case, s: Server, pick: (x: Sample) => number) => median(of(c, s).map(pick));
    /** Median over repeats of a/b, each pair from the same repeat. */
    const ratios = (c: Case, a: Server, b: Server, pick: (x: Sample) => number) => of(c, a).map((x, i) => pick(x) / pick(of(c, b)[i]));
    const pairedRatio = (c: Case, a: Server, b: Server, pick: (x: Sample) => number) => median(ratios(c, a, b, pick));
    const range = (values: number[]) => `${Math.min(...values).toFixed(2)}-${Math.max(...values).toFixed(2)}`;
    /** Other load only ever slows a run down, so the fastest run is the least disturbed one. */
    const best = (c: Case, s: Server) => Math.max(...of(c, s).map((x) => x.rate));
    const [bareServer, ours1s, oursAlways, unrestricted] = servers;
    const rows: Row[] = CASES.map((c) => {
      const always = c.appliesTo(oursAlways);
      const diagnostic = c.appliesTo(unrestricted);
      return {
        case: c.name,
        "bare msgs/s": med(c, bareServer, (x) => x.rate),
        "ours msgs/s": med(c, ours1s, (x) => x.rate),
        "ours / bare": pairedRatio(c, ours1s, bareServer, (x) => x.rate),
        "ours / bare, range": range(ratios(c, ours1s, bareServer, (x) => x.rate)),
        "ours / bare, best runs": best(c, ours1s) / best(c, bareServer),
        "server CPU us/msg bare": med(c, bareServer, (x) => x.cpuUs),
        "server CPU us/msg ours": med(c, ours1s, (x) => x.cpuUs),
        "CPU ours / bare": pairedRatio(c, ours1s, bareServer, (x) => x.cpuUs),
        "sync always msgs/s": always ? med(c, oursAlways, (x) => x.rate) : "-",
        "always / 1s": always ? pairedRatio(c, oursAlways, ours1s, (x) => x.rate) : "-",
        "no-permissions user / bare, best runs": diagnostic ? best(c, unrestricted) / best(c, bareServer) : "-",
        "CPU no-permissions / bare": diagnostic ? pairedRatio(c, unrestricted, bareServer, (x) => x.cpuUs) : "-",
      };
    });
    printTable(
      `nats bench, median of ${repeats} (core ${CORE_MSGS} msgs of 128 B, ${CORE_1K_MSGS} of 1 KiB; JetStream 128 B, sync ${JS_SYNC_MSGS}, async ${JS_ASYNC_MSGS}; with always a tenth of those)`,
      rows,
    );
    const file = writeResults("datapath", {
      machine: machine({ natsServer: toolPath("nats-server"), nats: toolPath("nats") }),
      repeats,
      messages: { core: CORE_MSGS, core1k: CORE_1K_MSGS, jsSync: JS_SYNC_MSGS, jsAsync: JS_ASYNC_MSGS, alwaysFactor: ALWAYS_FACTOR },
      rows,
      samples: Object.fromEntries(samples),
    });
    console.log(`\nwrote ${file}`);
  } finally {
    for (const s of servers) await s.stop();
  }
}
