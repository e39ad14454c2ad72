// `nats-infra backup` and `restore` against real servers, as an operator runs them on a dev
// server's state directory (--dev): a stream with a durable consumer that acked part of it,
// backed up while a publisher runs, wiped, restored and checked message by message against what
// was published; refusals (a stream that exists, not a backup, a damaged one) change nothing;
// a server that is down is exit 3. Then the same on a 3-node cluster with an R3 stream whose
// servers lose their whole JetStream store.
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { headers, type MsgHdrs } from "@nats-io/nats-core";
import { jetstream, jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { reconcileDeclared } from "../harness/reconcileDeclared";
import { parseStackConfig } from "../../config/load";
import type { StackConfig, StackConfigInput } from "../../config/schema";
import { jetstreamAdminUser } from "../../config/users";
import type { Manifest } from "../../ops/backupManifest";
import { backupSubjects } from "../../ops/backupSnapshot";
import { natsInfra } from "../harness/cli";
import { writeDevState } from "../harness/devState";
import type { Login } from "../harness/login";
import { startCluster, type RunningCluster } from "../harness/natsCluster";
import { configLoadTime, startNats, waitFor, type RunningNats } from "../harness/natsServer";
import { freePort } from "../harness/ports";

/** `nats-infra backup|restore ...` in this process. */
const nats = (name: "backup" | "restore", ...argv: string[]) => natsInfra(name, ...argv);

const ADMIN = jetstreamAdminUser("APP");
const CONSUMER_SUBJECTS = ["$JS.API.CONSUMER.INFO.ORDERS.shipper", "$JS.API.CONSUMER.MSG.NEXT.ORDERS.shipper", "$JS.ACK.ORDERS.shipper.>"];
const stackInput = (replicas: number): StackConfigInput => ({
  services: [{ name: "orders-service", publish: ["orders.>", ...CONSUMER_SUBJECTS] }],
  streams: [{ name: "ORDERS", subjects: ["orders.>"], replicas, allowDelete: true, consumers: [{ name: "shipper", type: "pull", ackPolicy: "explicit" }] }],
});

const scratch = mkdtempSync(path.join(tmpdir(), "nats-infra-backup-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
let dirs = 0;
const newDir = (name: string) => path.join(scratch, `${name}-${++dirs}`);

/** A --dev state directory for servers the harness started. */
const devState = (input: Record<string, unknown>, config: StackConfig, passwords: Record<string, string>, url: string) =>
  writeDevState(newDir("state"), input, config, passwords, url);

/**
 * Grants (or takes away) the JetStream admin's rights to the subjects backup and restore use
 * (config/users.ts backupSubjects) in a rendered auth.conf, to show what happens without them.
 * The caller reloads the server.
 */
function setBackupGrants(authConf: string, config: StackConfig, granted: boolean): void {
  const body = JSON.parse(readFileSync(authConf, "utf8").replace(/^#.*$/gm, ""));
  for (const stream of config.streams) {
    const user = body.accounts[stream.account].users.find((u: { user: string }) => u.user === jetstreamAdminUser(stream.account));
    const subjects = backupSubjects(stream.name);
    const others = (user.permissions.publish.allow as string[]).filter((subject) => !subjects.includes(subject));
    user.permissions.publish.allow = granted ? [...others, ...subjects] : others;
  }
  writeFileSync(authConf, JSON.stringify(body, null, 2), { mode: 0o600 });
}


type Connection = Awaited<ReturnType<typeof connect>>;
interface Published {
  subject: string;
  data: Uint8Array;
  headers?: MsgHdrs;
}

/** As one user, with its inbox prefix (the JetStream admin's is its own). */
async function asUser<T>(url: string, login: Login, run: (nc: Connection) => Promise<T>): Promise<T> {
  const nc = await connect({ servers: url.split(","), ...login });
  try {
    return await run(nc);
  } finally {
    await nc.close();
  }
}

/** Publishes `count` messages of `size` random bytes; every 10th carries headers. */
async function publishOrders(nc: Connection, count: number, size: number, into: Map<number, Published>, subject = "orders.placed"): Promise<void> {
  const js = jetstream(nc);
  for (let i = 0; i < count; i++) {
    const message: Published = { subject, data: randomBytes(size) };
    if (i % 10 === 0) {
      message.headers = headers();
      message.headers.set("Order-Id", `order-${into.size}`);
    }
    const ack = await js.publish(message.subject, message.data, { headers: message.headers });
    into.set(ack.seq, message);
  }
}

/** A publisher that keeps going until stopped (at most `max` messages): the backup runs meanwhile. */
function startPublisher(nc: Connection, into: Map<number, Published>, max = 20_000): { stop(): Promise<number> } {
  let running = true;
  let sent = 0;
  const done = (async () => {
    const js = jetstream(nc);
    while (running && sent < max) {
      const message: Published = { subject: `orders.live.${sent % 5}`, data: randomBytes(200) };
      const ack = await js.publish(message.subject, message.data);
      into.set(ack.seq, message);
      sent++;
    }
  })();
  return {
    stop: async () => {
      running = false;
      await done;
      return sent;
    },
  };
}

/** The consumer's first `count` messages, each acknowledged (and the acknowledgement confirmed). */
async function ackOrders(nc: Connection, count: number): Promise<void> {
  const consumer = await jetstream(nc).consumers.get("ORDERS", "shipper");
  let acked = 0;
  while (acked < count) {
    const batch = await consumer.fetch({ max_messages: count - acked, expires: 5_000 });
    for await (const message of batch) {
      await message.ackAck();
      acked++;
    }
  }
}

/**
 * The restored stream holds, with no gap, exactly what was published at every sequence from the
 * manifest's first through its last, and then a leading part of the messages published while the
 * backup ran. (Its last sequence may be one past its last message: see ops/backupContent.ts.)
 */
async function expectPublishedMessages(jsm: JetStreamManager, published: Map<number, Published>, manifest: Manifest["streams"][number]): Promise<void> {
  const { state } = await jsm.streams.info("ORDERS");
  expect(state.first_seq).toBe(manifest.state.firstSeq);
  const seqs: number[] = [];
  for (let seq = state.first_seq; seq <= state.last_seq; seq++) {
    const stored = await jsm.streams.getMessage("ORDERS", { seq });
    if (!stored) continue;
    seqs.push(seq);
    const sent = published.get(seq)!;
    expect(stored.subject, `seq ${seq}`).toBe(sent.subject);
    expect(Buffer.from(stored.data).equals(Buffer.from(sent.data)), `seq ${seq} data`).toBe(true);
    expect(stored.header.get("Order-Id"), `seq ${seq} headers`).toBe(sent.headers?.get("Order-Id") ?? "");
  }
  expect(seqs.length).toBe(state.messages);
  const last = seqs[seqs.length - 1];
  expect(last).toBeGreaterThanOrEqual(manifest.state.lastSeq);
  expect(seqs).toEqual(Array.from({ length: last - state.first_seq + 1 }, (_, i) => state.first_seq + i));
  expect(last - manifest.state.lastSeq).toBeLessThanOrEqual(manifest.publishedDuringBackup.length);
}

const readManifest = (dir: string): Manifest => JSON.parse(readFileSync(path.join(dir, "manifest.json"), "utf8"));
const mode = (file: string) => statSync(file).mode & 0o777;

describe("a single server", () => {
  let server: RunningNats;
  let config: StackConfig;
  let stateDir: string;
  const published = new Map<number, Published>();
  const asAdmin = <T>(run: (jsm: JetStreamManager) => Promise<T>) => asUser(server.url, server.login(ADMIN), async (nc) => run(await jetstreamManager(nc)));
  const asService = <T>(run: (nc: Connection) => Promise<T>) => asUser(server.url, server.login("orders-service"), run);

  beforeAll(async () => {
    const input = stackInput(1);
    server = await startNats(input);
    config = server.config;
    stateDir = devState(input, config, server.passwords, server.url);
    await reconcileDeclared(config, server.url, server.passwords);
    await asService(async (nc) => {
      await publishOrders(nc, 3_000, 4_096, published);
      await ackOrders(nc, 300);
    });
  });
  afterAll(() => server?.stop());

  test("without the grants the JetStream admin cannot take a snapshot: exit 1, the subject named, no manifest", async () => {
    setBackupGrants(path.join(server.dir, "auth.conf"), config, false);
    await server.reload();
    const dir = newDir("backup");
    const run = await nats("backup", dir, "--dev", stateDir);
    expect(run.code, run.stderr).toBe(1);
    expect(run.stderr).toMatch(/APP\/ORDERS: .*\$JS\.API\.STREAM\.SNAPSHOT\.ORDERS/);
    expect(run.stderr).toContain("no manifest written");
    expect(run.stderr).not.toMatch(/^\s+at /m);
    expect(existsSync(path.join(dir, "manifest.json"))).toBe(false);
    setBackupGrants(path.join(server.dir, "auth.conf"), config, true);
    await server.reload();
  });

  test("backup while a publisher runs, wipe, restore: the same messages and the consumer's ack floor; refusals change nothing", async () => {
    const dir = newDir("backup");
    const publisher = await asService(async (nc) => {
      const running = startPublisher(nc, published);
      const run = await nats("backup", dir, "--dev", stateDir);
      const sent = await running.stop();
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toMatch(/^APP\/ORDERS {2}[\d,]+ messages \(seq 1\.\.[\d,]+\)/);
      return sent;
    });
    expect(publisher).toBeGreaterThan(0);

    const manifest = readManifest(dir);
    expect(manifest).toMatchObject({ format: "nats-infra-backup", formatVersion: 1, source: expect.stringContaining("dev server") });
    const [orders] = manifest.streams;
    expect(orders).toMatchObject({ account: "APP", name: "ORDERS", state: { firstSeq: 1 }, contentHash: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) });
    expect(orders.state.messages).toBeGreaterThanOrEqual(3_000);
    expect(orders.consumers).toEqual([expect.objectContaining({ name: "shipper", position: expect.objectContaining({ ackFloor: { consumerSeq: 300, streamSeq: 300 } }) })]);
    // Owner-only: the directories and every file (they hold every message).
    expect(mode(dir)).toBe(0o700);
    for (const file of ["manifest.json", ...orders.files.map((f) => f.path)]) expect(mode(path.join(dir, file)), file).toBe(0o600);

    // The data is gone (the stream deleted), then restored from the backup.
    await asAdmin((jsm) => jsm.streams.delete("ORDERS"));
    const restored = await nats("restore", dir, "--dev", stateDir);
    expect(restored.code, restored.stdout + restored.stderr).toBe(0);
    expect(restored.stdout).toContain("count, sequences and content hash match the manifest");
    expect(restored.stdout).toContain("consumer shipper at ack floor 300 as in the manifest");
    await asAdmin(async (jsm) => {
      await expectPublishedMessages(jsm, published, orders);
      const shipper = await jsm.consumers.info("ORDERS", "shipper");
      expect(shipper.ack_floor.stream_seq).toBe(300);
    });

    // The stream exists now: a second restore is refused, naming it, and the stream keeps a message published since.
    await asService((nc) => publishOrders(nc, 1, 10, published, "orders.after-restore"));
    const before = await asAdmin((jsm) => jsm.streams.info("ORDERS"));
    const refused = await nats("restore", dir, "--dev", stateDir);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain("APP/ORDERS: exists; --force replaces it");
    const after = await asAdmin((jsm) => jsm.streams.info("ORDERS"));
    expect(after.state).toMatchObject({ messages: before.state.messages, last_seq: before.state.last_seq });

    // --force replaces it: back to what the backup holds.
    const forced = await nats("restore", dir, "--force", "--dev", stateDir, "--json");
    expect(forced.code, forced.stdout + forced.stderr).toBe(0);
    expect(JSON.parse(forced.stdout)).toMatchObject({ restored: true, verified: true, streams: [{ name: "ORDERS", replaced: true, ok: true }] });
    await asAdmin(async (jsm) => {
      const { state } = await jsm.streams.info("ORDERS");
      expect(state.last_seq).toBeLessThan(before.state.last_seq);
      expect((await jsm.consumers.info("ORDERS", "shipper")).ack_floor.stream_seq).toBe(300);
    });
  }, 180_000);

  test("not a backup, an unfinished one, a damaged one: exit 2 with one line, nothing changed", async () => {
    const before = await asAdmin((jsm) => jsm.streams.info("ORDERS"));
    const empty = newDir("empty");
    mkdirSync(empty);
    const notBackup = await nats("restore", empty, "--force", "--dev", stateDir);
    expect(notBackup.code).toBe(2);
    expect(notBackup.stderr).toMatch(/^error: .* is not a complete nats-infra backup: it has no manifest\.json/);
    expect(notBackup.stderr.trim().split("\n")).toHaveLength(1);

    const missing = await nats("restore", newDir("nowhere"), "--dev", stateDir);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("is not a directory");

    // A whole backup, then one byte of its archive changed.
    const dir = newDir("backup");
    expect((await nats("backup", dir, "--dev", stateDir, "--stream", "ORDERS")).code).toBe(0);
    const archive = path.join(dir, "APP", "ORDERS", "stream.tar.s2");
    const bytes = readFileSync(archive);
    bytes[bytes.length >> 1] ^= 0xff;
    writeFileSync(archive, bytes);
    const damaged = await nats("restore", dir, "--force", "--dev", stateDir);
    expect(damaged.code).toBe(2);
    expect(damaged.stderr).toContain("the backup is damaged: APP/ORDERS/stream.tar.s2 is not the file the manifest recorded");

    // A backup that did not finish has no manifest.
    rmSync(path.join(dir, "manifest.json"));
    expect((await nats("restore", dir, "--force", "--dev", stateDir)).code).toBe(2);

    const after = await asAdmin((jsm) => jsm.streams.info("ORDERS"));
    expect(after.state).toEqual(before.state);
  }, 60_000);

  test("bad usage: exit 2, nothing written", async () => {
    const noDir = await nats("backup", "--dev", stateDir);
    expect(noDir.code).toBe(2);
    expect(noDir.stderr).toContain("give the directory to back up into");

    const dir = newDir("backup");
    const unknown = await nats("backup", dir, "--stream", "NOPE", "--dev", stateDir);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toBe("error: no stream NOPE in account APP (there: ORDERS)\n");
    expect(existsSync(dir)).toBe(false);

    const noAccount = await nats("backup", dir, "--account", "BILLING", "--dev", stateDir);
    expect(noAccount.code).toBe(2);
    expect(noAccount.stderr).toContain("no JetStream admin credentials for account BILLING");

    mkdirSync(dir);
    writeFileSync(path.join(dir, "something"), "");
    const used = await nats("backup", dir, "--dev", stateDir);
    expect(used.code).toBe(2);
    expect(used.stderr).toContain("exists and is not empty");
    expect(readdirSync(dir)).toEqual(["something"]);
  });

  test("without the restore grants, --force refuses before it deletes anything", async () => {
    const dir = newDir("backup");
    expect((await nats("backup", dir, "--dev", stateDir)).code).toBe(0);
    setBackupGrants(path.join(server.dir, "auth.conf"), config, false);
    await server.reload();
    try {
      const before = await asAdmin((jsm) => jsm.streams.info("ORDERS"));
      const refused = await nats("restore", dir, "--force", "--dev", stateDir);
      expect(refused.code).toBe(1);
      expect(refused.stdout).toContain(`APP/ORDERS: ${ADMIN} may not publish to $JS.API.STREAM.RESTORE.ORDERS, $JS.SNAPSHOT.RESTORE.ORDERS.*, $JS.API.STREAM.MSG.GET.ORDERS`);
      expect((await asAdmin((jsm) => jsm.streams.info("ORDERS"))).state).toEqual(before.state);
    } finally {
      setBackupGrants(path.join(server.dir, "auth.conf"), config, true);
      await server.reload();
    }
  });

  test("no server answers: exit 3 for backup and restore", async () => {
    const input = { ...stackInput(1), server: { clientPort: await freePort(), monitorPort: await freePort() } };
    const down = devState(input, parseStackConfig(input).config, server.passwords, "nats://127.0.0.1:1");
    const dir = newDir("backup");
    const backup = await nats("backup", dir, "--dev", down);
    expect(backup.code, backup.stderr).toBe(3);
    expect(backup.stderr).toMatch(/^error: cannot reach the server/);
    expect(existsSync(dir)).toBe(false);
    const whole = newDir("backup");
    expect((await nats("backup", whole, "--dev", stateDir)).code).toBe(0);
    const restore = await nats("restore", whole, "--dev", down);
    expect(restore.code, restore.stderr).toBe(3);
  });
});

describe("a 3-node cluster with an R3 stream", () => {
  let cluster: RunningCluster;
  let stateDir: string;
  const published = new Map<number, Published>();
  const asAdmin = <T>(run: (jsm: JetStreamManager) => Promise<T>) => asUser(cluster.urls, cluster.login(ADMIN), async (nc) => run(await jetstreamManager(nc)));

  beforeAll(async () => {
    const input = stackInput(3);
    cluster = await startCluster(input, 3);
    stateDir = devState(input, cluster.config, cluster.passwords, cluster.urls);
    // Each node loads the grants; the reload is seen in /varz.
    await Promise.all(
      cluster.nodes.map(async (node) => {
        setBackupGrants(path.join(node.dir, "auth.conf"), cluster.config, true);
        const before = await configLoadTime(node.monitorUrl);
        node.process!.kill("SIGHUP");
        await waitFor(async () => (await configLoadTime(node.monitorUrl)) !== before, 10_000, () => `node ${node.index} did not reload`);
      }),
    );
    await reconcileDeclared(cluster.config, cluster.urls, cluster.passwords);
    await asUser(cluster.urls, cluster.login("orders-service"), async (nc) => {
      await publishOrders(nc, 1_000, 4_096, published);
      await ackOrders(nc, 100);
    });
  }, 120_000);
  afterAll(() => cluster?.stop());

  test("every node loses its JetStream store; restore brings the R3 stream and its consumer back", async () => {
    const dir = newDir("backup");
    await asUser(cluster.urls, cluster.login("orders-service"), async (nc) => {
      const running = startPublisher(nc, published, 5_000);
      const run = await nats("backup", dir, "--dev", stateDir);
      await running.stop();
      expect(run.code, run.stderr).toBe(0);
    });
    const [orders] = readManifest(dir).streams;
    expect(orders.config).toMatchObject({ num_replicas: 3 });

    // Every node stopped, its JetStream store deleted, and started again: an empty cluster.
    for (const node of cluster.nodes) await cluster.kill(node.index);
    for (const node of cluster.nodes) rmSync(path.join(node.dir, "jetstream"), { recursive: true, force: true });
    await Promise.all(cluster.nodes.map((node) => cluster.start(node.index, "started")));
    await cluster.waitHealthy();
    expect(await asAdmin(async (jsm) => (await jsm.streams.list().next()).length)).toBe(0);

    const restored = await nats("restore", dir, "--dev", stateDir);
    expect(restored.code, restored.stdout + restored.stderr).toBe(0);
    await asAdmin(async (jsm) => {
      await expectPublishedMessages(jsm, published, orders);
      const info = await jsm.streams.info("ORDERS");
      expect(info.config.num_replicas).toBe(3);
      expect(info.cluster?.replicas ?? []).toHaveLength(2);
      const shipper = await jsm.consumers.info("ORDERS", "shipper");
      expect(shipper.ack_floor.stream_seq).toBe(100);
      expect(shipper.cluster?.replicas ?? []).toHaveLength(2);
    });

    // The restored position is replicated: the consumer's leader goes away, the new one has it too.
    const leader = (await asAdmin((jsm) => jsm.consumers.info("ORDERS", "shipper"))).cluster!.leader!;
    const index = cluster.nodes.find((n) => n.serverName === leader)!.index;
    await cluster.kill(index);
    await waitFor(async () => (await asAdmin((jsm) => jsm.consumers.info("ORDERS", "shipper"))).cluster?.leader !== leader, 30_000, () => "no new consumer leader");
    const after = await asAdmin((jsm) => jsm.consumers.info("ORDERS", "shipper"));
    expect(after.ack_floor.stream_seq).toBe(100);
    await cluster.start(index);
  }, 240_000);
});
