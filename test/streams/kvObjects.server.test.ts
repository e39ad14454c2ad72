// KV buckets, object stores, mirrors and sources against the real nats-server 2.14.10: created by
// the account's JetStream admin within its rights, used by a service through the JetStream API
// (@nats-io/kv and @nats-io/obj are not installed: puts and gets go to the subjects and the
// stream API those clients use), rerun as no-ops, data-losing and fixed changes refused.
import { jetstream, jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { StackConfigInput } from "../../config/schema";
import { jetstreamAdminUser } from "../../config/users";
import { reconcile, type ReconcileResult } from "../../streams/reconcile";
import { startNats, waitFor, type RunningNats } from "../harness/natsServer";

const ADMIN = jetstreamAdminUser("APP");
const SERVICES = [{ name: "producer", publish: [">"], subscribe: [] }];
type Input = Pick<StackConfigInput, "streams" | "kv" | "objectStores">;

let nats: RunningNats;
beforeAll(async () => {
  nats = await startNats({ services: SERVICES });
});
afterAll(async () => nats?.stop());

/** Puts the declarations in the server's auth (the admin's rights follow them) and reconciles. */
async function converge(input: Input): Promise<ReconcileResult & { output: string }> {
  const config = nats.rewrite({ services: SERVICES, ...input });
  await nats.reload();
  let output = "";
  const result = await reconcile(config.streams, {
    url: nats.url,
    env: { NATS_PASSWORD: nats.passwords[ADMIN] },
    dryRun: false,
    reportOthers: true,
    kv: config.kv,
    objectStores: config.objectStores,
    log: (text) => (output += `${text}\n`),
  });
  return { ...result, output };
}

async function as<T>(user: string, run: (jsm: JetStreamManager, nc: Awaited<ReturnType<typeof connect>>) => Promise<T>): Promise<T> {
  const nc = await connect({ servers: nats.url, ...nats.login(user) });
  try {
    return await run(await jetstreamManager(nc), nc);
  } finally {
    await nc.close();
  }
}

const kinds = (result: ReconcileResult) => Object.fromEntries(result.plans.flatMap((p) => p.streams).map((s) => [s.stream, s.kind]));
const publish = (subject: string, data: string) => as("producer", async (_jsm, nc) => void (await jetstream(nc).publish(subject, data)));
const messages = (stream: string) => as("producer", async (jsm) => (await jsm.streams.info(stream)).state.messages);

describe("KV buckets and object stores", () => {
  const stores: Input = { kv: [{ bucket: "sessions", history: 5, ttl: "1h" }], objectStores: [{ store: "files", maxBytes: "16MB" }] };

  test("created as the clients make them, used with puts and gets, and a rerun changes nothing", async () => {
    const first = await converge(stores);
    expect(first.refused, first.output).toEqual([]);
    expect(kinds(first)).toEqual({ KV_sessions: "create", OBJ_files: "create" });
    expect(first.output).toContain("create KV bucket sessions (stream KV_sessions)");
    const kv = await as("producer", (jsm) => jsm.streams.info("KV_sessions"));
    expect(kv.config).toMatchObject({ subjects: ["$KV.sessions.>"], max_msgs_per_subject: 5, discard: "new", allow_rollup_hdrs: true, deny_delete: true, allow_direct: true });

    // A KV put is a publish to $KV.<bucket>.<key>; a get reads the key's last message.
    for (const value of ["v1", "v2", "v3"]) await publish("$KV.sessions.user1", value);
    const got = await as("producer", (jsm) => jsm.streams.getMessage("KV_sessions", { last_by_subj: "$KV.sessions.user1" }));
    expect(got?.string()).toBe("v3");
    // An object: its chunks under $O.<store>.C.<id>, its metadata under $O.<store>.M.<name>.
    await publish("$O.files.C.chunk1", "hello object");
    await publish("$O.files.M.greeting", JSON.stringify({ name: "greeting", nuid: "chunk1", size: 12, chunks: 1 }));
    const meta = await as("producer", (jsm) => jsm.streams.getMessage("OBJ_files", { last_by_subj: "$O.files.M.greeting" }));
    expect(meta?.json<{ nuid: string }>().nuid).toBe("chunk1");

    const again = await converge(stores);
    expect(kinds(again)).toEqual({ KV_sessions: "unchanged", OBJ_files: "unchanged" });
    expect(again.changed).toBe(false);
  });

  test("lowering history below the revisions stored, or changing storage, is refused and nothing changes", async () => {
    const lower = await converge({ ...stores, kv: [{ bucket: "sessions", history: 2, ttl: "1h" }] });
    expect(lower.refused.map((p) => [p.stream, p.refusals.map((r) => r.field)])).toEqual([["KV_sessions", ["history"]]]);
    expect(lower.output).toContain("cannot change history: 5 -> 2 removes 1 message from 1 subject that hold more than 2");
    const fixed = await converge({ ...stores, objectStores: [{ store: "files", maxBytes: "16MB", storage: "memory" }] });
    expect(fixed.refused.map((p) => [p.stream, p.refusals.map((r) => r.field)])).toEqual([["OBJ_files", ["storage"]]]);
    expect(await messages("KV_sessions")).toBe(3);
    expect(await messages("OBJ_files")).toBe(2);
  });

  test("compression and a higher history change in place, keeping the data", async () => {
    const result = await converge({ ...stores, kv: [{ bucket: "sessions", history: 10, ttl: "1h", compression: true }] });
    expect(kinds(result).KV_sessions).toBe("update");
    const info = await as("producer", (jsm) => jsm.streams.info("KV_sessions"));
    expect(info.config).toMatchObject({ max_msgs_per_subject: 10, compression: "s2" });
    expect(info.state.messages).toBe(3);
  });

  test("the admin's rights reach the declared buckets' and stores' streams only, and delete none without allowDelete", async () => {
    await as(ADMIN, async (jsm) => {
      expect((await jsm.streams.info("KV_sessions")).config.name).toBe("KV_sessions");
      await expect(jsm.streams.delete("KV_sessions")).rejects.toThrow(/Permissions Violation for Publish to "\$JS\.API\.STREAM\.DELETE\.KV_sessions"/);
      await expect(jsm.streams.purge("OBJ_files")).rejects.toThrow(/Permissions Violation for Publish to "\$JS\.API\.STREAM\.PURGE\.OBJ_files"/);
      await expect(jsm.streams.add({ name: "KV_rogue", subjects: ["$KV.rogue.>"] })).rejects.toThrow(/Permissions Violation for Publish to "\$JS\.API\.STREAM\.CREATE\.KV_rogue"/);
    });
    // Asked twice (allowDelete and delete), the store goes.
    const gone = await converge({ kv: stores.kv, objectStores: [{ store: "files", maxBytes: "16MB", allowDelete: true, delete: true }] });
    expect(kinds(gone).OBJ_files).toBe("delete");
    await expect(as("producer", (jsm) => jsm.streams.info("OBJ_files"))).rejects.toThrow(/stream not found/);
  });
});

describe("mirrors and sources", () => {
  const orders = { name: "ORDERS", subjects: ["orders.>"] };

  test("a mirror receives its origin's messages; a source is added in place; the mirror's origin cannot change", async () => {
    const first = await converge({ streams: [orders, { name: "ORDERS_COPY", mirror: { stream: "ORDERS" } }, { name: "ALL", subjects: ["all.>"] }] });
    expect(first.refused, first.output).toEqual([]);
    for (let i = 0; i < 3; i++) await publish("orders.eu", `order ${i}`);
    await publish("all.x", "own");
    await waitFor(async () => (await messages("ORDERS_COPY")) === 3, 5_000, () => "the mirror did not receive the 3 orders");

    const sourced = await converge({ streams: [orders, { name: "ORDERS_COPY", mirror: { stream: "ORDERS" } }, { name: "ALL", subjects: ["all.>"], sources: [{ stream: "ORDERS" }] }] });
    expect(kinds(sourced)).toMatchObject({ ALL: "update", ORDERS_COPY: "unchanged" });
    expect(sourced.output).toContain("sources: (none) -> ORDERS");
    await waitFor(async () => (await messages("ALL")) === 4, 5_000, () => "the source did not bring the 3 orders");

    const moved = await converge({ streams: [orders, { name: "ORDERS_COPY", mirror: { stream: "ALL" } }, { name: "ALL", subjects: ["all.>"], sources: [{ stream: "ORDERS" }] }] });
    expect(moved.refused.map((p) => [p.stream, p.refusals.map((r) => r.field)])).toEqual([["ORDERS_COPY", ["mirror"]]]);
    expect(await messages("ORDERS_COPY")).toBe(3);
  });
});
