// Part "auth" (live half): 20 consecutive auth changes on a real nats-server while steady
// clients publish and subscribe, applied our way (rewrite the files, SIGHUP) and the old way
// (rewrite, stop and start the server on the same ports and store dir), in the same run.
// Each change adds a service, removes the one added two changes before, and edits a
// permission of another; none of them touches the steady clients' users.
import { performance } from "node:perf_hooks";
import { connect } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import type { StackConfigInput } from "../config/schema";
import { jetstreamAdminUser } from "../config/users";
import { sleep } from "../test/harness/natsServer";
import { median, printTable, type Row } from "./support/report";
import { RestartableNats } from "./support/restartableNats";
import { SteadyClients, type SteadyReport } from "./support/steadyClients";

export const AUTH_CHANGES = Number(process.env.BENCH_AUTH_CHANGES ?? 20);
if (!Number.isInteger(AUTH_CHANGES) || AUTH_CHANGES < 1) throw new Error(`BENCH_AUTH_CHANGES must be a positive integer, got ${process.env.BENCH_AUTH_CHANGES}`);
/** Steady traffic between two changes, so each change lands on a busy server. */
const SETTLE_MS = 300;
/** Longest wait for new credentials to work before the bench gives up. */
const USABLE_TIMEOUT_MS = 30_000;
const STREAM = "ORDERS";

function stack(change: number): StackConfigInput {
  const churn = [change - 1, change].filter((k) => k >= 1).map((k) => ({ name: `churn-${k}`, publish: [`churn.${k}.>`], subscribe: [`churn.${k}.>`] }));
  return {
    services: [
      { name: "bench-pub", publish: ["tick.>"] },
      { name: "bench-sub", subscribe: ["tick.>"] },
      { name: "bench-js", publish: ["orders.>"] },
      { name: "edit-svc", publish: Array.from({ length: change + 1 }, (_, k) => `edit.${k}`) },
      ...churn,
    ],
    jetstream: { syncInterval: "1s" },
    streams: [{ name: STREAM, subjects: ["orders.>"], storage: "file" }],
  };
}

export type ApplyMode = "reload (ours)" | "restart (reset-auth)";

export interface ModeResult extends SteadyReport {
  mode: ApplyMode;
  /** Per change: ms from the signal (or stop) until the added service could connect. */
  usableMs: number[];
  /** Per change: ms from the signal (or stop) until steady traffic flowed again, both kinds. */
  recoveredMs: number[];
  storedInStream: number;
}

async function runMode(mode: ApplyMode): Promise<ModeResult> {
  const server = await RestartableNats.start(stack(0) as Record<string, unknown>);
  const { nats } = server;
  let clients: SteadyClients | undefined;
  try {
    const admin = await connect({ servers: nats.url, user: jetstreamAdminUser("APP"), pass: nats.passwords[jetstreamAdminUser("APP")] });
    const jsm = await jetstreamManager(admin);
    await jsm.streams.add({ name: STREAM, subjects: ["orders.>"] });
    await admin.close();

    const pass = (user: string) => nats.passwords[user] ?? `pw-${user}`;
    clients = await SteadyClients.start({
      url: nats.url,
      publisher: { user: "bench-pub", pass: pass("bench-pub"), subject: "tick.a" },
      subscriber: { user: "bench-sub", pass: pass("bench-sub"), subject: "tick.>" },
      jsPublisher: { user: "bench-js", pass: pass("bench-js"), subject: "orders.a" },
    });
    await sleep(SETTLE_MS);

    const usableMs: number[] = [];
    const recoveredMs: number[] = [];
    for (let change = 1; change <= AUTH_CHANGES; change++) {
      nats.rewrite(stack(change));
      const before = clients.mark();
      const start = performance.now();
      if (mode === "reload (ours)") server.reload();
      else await server.restart();
      await untilConnects(nats.url, `churn-${change}`, pass(`churn-${change}`));
      usableMs.push(performance.now() - start);
      // Auth changes are minutes apart in practice: let the steady traffic recover before the
      // next one, so every change is counted on its own.
      await clients.untilRecovered(before, USABLE_TIMEOUT_MS);
      recoveredMs.push(performance.now() - start);
      await sleep(SETTLE_MS);
    }
    const report = await clients.stop();
    clients = undefined;

    const check = await connect({ servers: nats.url, user: jetstreamAdminUser("APP"), pass: nats.passwords[jetstreamAdminUser("APP")] });
    const storedInStream = (await (await jetstreamManager(check)).streams.info(STREAM)).state.messages;
    await check.close();
    return { mode, ...report, usableMs, recoveredMs, storedInStream };
  } finally {
    if (clients) await clients.stop().catch(() => undefined);
    await server.stop();
  }
}

async function untilConnects(url: string, user: string, pass: string): Promise<void> {
  const deadline = performance.now() + USABLE_TIMEOUT_MS;
  for (;;) {
    try {
      const nc = await connect({ servers: url, user, pass, reconnect: false, timeout: 1000 });
      await nc.flush();
      await nc.close();
      return;
    } catch (error) {
      if (performance.now() > deadline) throw new Error(`${user} could not connect within ${USABLE_TIMEOUT_MS} ms: ${(error as Error).message}`);
      await sleep(5);
    }
  }
}

export async function benchAuthReload(): Promise<{ rows: Row[]; results: ModeResult[] }> {
  const results: ModeResult[] = [];
  for (const mode of ["reload (ours)", "restart (reset-auth)"] as ApplyMode[]) {
    console.log(`  ${AUTH_CHANGES} auth changes, ${mode} ...`);
    results.push(await runMode(mode));
  }
  const rows: Row[] = results.map((r) => ({
    mode: r.mode,
    changes: r.usableMs.length,
    "usable median ms": median(r.usableMs),
    "usable max ms": Math.max(...r.usableMs),
    "traffic back median ms": median(r.recoveredMs),
    "steady disconnects": Object.values(r.clients).reduce((n, c) => n + c.disconnects, 0),
    "core published": r.corePublished,
    "core lost": r.coreLost,
    "core longest gap ms": r.coreLongestGapMs,
    "JS acked": r.jsAcked,
    "JS stored": r.storedInStream,
    "JS acked but lost": r.jsAcked - r.storedInStream,
    "JS publish errors": r.jsErrors,
    "JS longest publish ms": r.jsLongestPublishMs,
  }));
  printTable(`${AUTH_CHANGES} consecutive auth changes on a real nats-server with steady clients (same run)`, rows);
  return { rows, results };
}
