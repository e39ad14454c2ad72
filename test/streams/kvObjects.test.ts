// KV buckets, object stores, mirrors and sources in the planner on its own (no server): each new
// row of the tables changes in place, is refused as fixed, or is refused as losing data, as the
// server (2.14.10) would have it; and the stdin contract gains the new kinds only when declared.
import type { StreamConfig } from "@nats-io/jetstream";
import { describe, expect, test } from "vitest";
import { kvSchema, objectStoreSchema } from "../../config/streams";
import { accountStdin, parseAccountStdin } from "../../streams/contract";
import { planStream } from "../../streams/diff";
import { ORIGIN_FIELDS } from "../../streams/fields";
import { kvStream, objectStoreStream, type KindedStream } from "../../streams/kinds";
import { formatStream } from "../../streams/format";
import { declare, observed, serverStream } from "./observed";

const kv = (input: Record<string, unknown> = {}) => kvStream(kvSchema.parse({ bucket: "sessions", ...input }));
const objects = (input: Record<string, unknown> = {}) => objectStoreStream(objectStoreSchema.parse({ store: "files", ...input }));

/** Plans `stream` against the server holding `server` over what a first run would have created. */
function planOver(stream: KindedStream, server: Partial<StreamConfig> = {}, state = {}, subjectCounts?: Record<string, number>) {
  const created = planStream(stream.declared, observed(), undefined, stream.kind).request!;
  return planStream(stream.declared, observed(serverStream({ ...created, ...server } as Partial<StreamConfig>, state), [], subjectCounts), undefined, stream.kind);
}

describe("KV buckets", () => {
  test("a new bucket is the stream the KV clients make", () => {
    const plan = planStream(kv({ history: 5, ttl: "1h", maxValueSize: "1KB", compression: true }).declared, observed(), undefined, kv().kind);
    expect(plan.kind).toBe("create");
    expect(plan.stream).toBe("KV_sessions");
    expect(plan.request).toMatchObject({
      name: "KV_sessions",
      subjects: ["$KV.sessions.>"],
      max_msgs_per_subject: 5,
      max_age: 3_600_000_000_000,
      max_msg_size: 1024,
      discard: "new",
      deny_delete: true,
      deny_purge: false,
      allow_rollup_hdrs: true,
      allow_direct: true,
      compression: "s2",
      duplicate_window: 120_000_000_000,
    });
    expect(formatStream(plan)[0]).toContain("create KV bucket sessions (stream KV_sessions)");
  });

  test("a rerun over what was created changes nothing", () => {
    expect(planOver(kv({ history: 3 })).kind).toBe("unchanged");
  });

  test("history, ttl, maxValueSize and compression change in place under their own names", () => {
    const before = { max_msgs_per_subject: 1, max_age: 0, max_msg_size: -1, compression: "none" as StreamConfig["compression"] };
    const plan = planOver(kv({ history: 10, ttl: "1h", maxValueSize: "1KB", compression: true }), before);
    expect(plan.kind).toBe("update");
    expect(plan.changes.map((c) => c.field)).toEqual(["ttl", "maxValueSize", "history", "compression"]);
    expect(plan.update).toMatchObject({ max_msgs_per_subject: 10, max_age: 3_600_000_000_000, max_msg_size: 1024, compression: "s2" });
  });

  test("lowering history with keys holding more revisions is refused, applied only with allowDelete", () => {
    const counts = { "$KV.sessions.a": 5, "$KV.sessions.b": 1 };
    const refused = planOver(kv({ history: 2 }), { max_msgs_per_subject: 5 }, { messages: 6 }, counts);
    expect(refused.kind).toBe("refused");
    expect(refused.refusals.map((r) => [r.field, r.problem])).toEqual([["history", "5 -> 2 removes 3 messages from 1 subject that hold more than 2"]]);
    expect(planOver(kv({ history: 2, allowDelete: true }), { max_msgs_per_subject: 5 }, { messages: 6 }, counts).kind).toBe("update");
  });

  test("storage is fixed at creation: refused with the field named", () => {
    const plan = planOver(kv({ storage: "memory" }), { storage: "file" as StreamConfig["storage"] }, { messages: 1 });
    expect(plan.refusals.map((r) => r.field)).toEqual(["storage"]);
    expect(planOver(kv({ storage: "memory", allowDelete: true }), { storage: "file" as StreamConfig["storage"] }, { messages: 1 }).kind).toBe("replace");
  });

  test("a bucket made outside nats-infra without the rollup and direct-get settings is adopted and given them", () => {
    const plan = planOver(kv(), { allow_rollup_hdrs: false, allow_direct: false, metadata: {} });
    expect(plan).toMatchObject({ kind: "update", adopt: true });
    expect(plan.changes.map((c) => c.field)).toEqual(["allowRollup", "allowDirect"]);
  });

  test("delete needs allowDelete", () => {
    const have = observed(serverStream({}, { messages: 3 }));
    expect(planStream(kv({ delete: true }).declared, have, undefined, kv().kind).kind).toBe("refused");
    expect(planStream(kv({ delete: true, allowDelete: true }).declared, have, undefined, kv().kind).kind).toBe("delete");
  });
});

describe("object stores", () => {
  test("a new store is the stream the object store clients make; rerun, ttl and a fixed field", () => {
    const store = objects({ ttl: "24h" });
    const plan = planStream(store.declared, observed(), undefined, store.kind);
    expect(plan.request).toMatchObject({
      name: "OBJ_files",
      subjects: ["$O.files.C.>", "$O.files.M.>"],
      max_age: 86_400_000_000_000,
      discard: "new",
      allow_rollup_hdrs: true,
      allow_direct: true,
      deny_delete: false,
      compression: "none",
    });
    expect(planOver(store).kind).toBe("unchanged");
    expect(planOver(objects({ ttl: "1h" }), { max_age: 86_400_000_000_000 }, { messages: 0 }).changes).toEqual([{ field: "ttl", from: "24h", to: "1h" }]);
    expect(planOver(objects({ storage: "memory" }), { storage: "file" as StreamConfig["storage"] }, { messages: 2 }).refusals.map((r) => r.field)).toEqual(["storage"]);
  });
});

describe("mirrors and sources", () => {
  const mirror = (m: Record<string, unknown>) => declare({ subjects: [], mirror: m as never });

  test("every origin row has cases", () => expect(ORIGIN_FIELDS.map((r) => r.key)).toEqual(["mirror", "sources"]));

  test("a new mirror has no subjects and names its origin", () => {
    const plan = planStream(mirror({ stream: "ORIGIN", filterSubject: "orders.eu.>", startSeq: 10 }), observed());
    expect(plan.request).toMatchObject({ subjects: [], mirror: { name: "ORIGIN", filter_subject: "orders.eu.>", opt_start_seq: 10 } });
    expect(plan.summary).toContain("mirror of ORIGIN");
  });

  test("the same mirror on the server is unchanged", () => {
    const plan = planStream(mirror({ stream: "ORIGIN" }), observed(serverStream({ subjects: undefined, mirror: { name: "ORIGIN" } })));
    expect(plan.kind).toBe("unchanged");
  });

  test("a mirror's origin cannot change, a normal stream cannot become a mirror, nor a mirror a normal stream", () => {
    const other = planStream(mirror({ stream: "OTHER" }), observed(serverStream({ subjects: undefined, mirror: { name: "ORIGIN" } })));
    expect(other.refusals.map((r) => [r.field, r.problem])).toEqual([["mirror", "the server cannot change a mirror's origin, filter or start (ORIGIN -> OTHER)"]]);
    const normal = planStream(mirror({ stream: "ORIGIN" }), observed(serverStream()));
    expect(normal.refusals.map((r) => [r.field, r.problem])).toEqual([["mirror", "the server cannot turn a normal stream into a mirror ((none) -> ORIGIN)"]]);
    const promoted = planStream(declare({ sources: [] }), observed(serverStream({ subjects: undefined, mirror: { name: "ORIGIN" } })));
    expect(promoted.refusals.map((r) => r.field)).toEqual(["mirror"]);
    expect(promoted.refusals[0].problem).toContain("nats-infra does not turn a mirror into a normal stream");
  });

  test("sources are added and removed in place; left out, the server's sources stay", () => {
    const added = planStream(declare({ sources: [{ stream: "A" }, { stream: "B", filterSubject: "b.x" }] }), observed(serverStream({ sources: [{ name: "A" }] })));
    expect(added.kind).toBe("update");
    expect(added.changes).toEqual([{ field: "sources", from: "A", to: "A, B (b.x)" }]);
    expect(added.update?.sources).toEqual([{ name: "A" }, { name: "B", filter_subject: "b.x" }]);
    const removed = planStream(declare({ sources: [] }), observed(serverStream({ sources: [{ name: "A" }] })));
    expect(removed.changes).toEqual([{ field: "sources", from: "A", to: "(none)" }]);
    expect(planStream(declare(), observed(serverStream({ sources: [{ name: "A" }] }))).kind).toBe("unchanged");
  });
});

describe("stdin", () => {
  const events = declare();
  test("an account without buckets or stores writes the same JSON as before", () => {
    expect(accountStdin("APP", [events], { kv: [], objectStores: [] })).toBe(accountStdin("APP", [events]));
    expect(JSON.parse(accountStdin("APP", [events]))).not.toHaveProperty("kv");
  });

  test("buckets and stores are keyed by name and read back", () => {
    const bucket = kvSchema.parse({ bucket: "sessions" });
    const store = objectStoreSchema.parse({ store: "files" });
    const raw = accountStdin("APP", [], { kv: [bucket], objectStores: [store] });
    expect(JSON.parse(raw)).toMatchObject({ streams: {}, kv: { sessions: { history: 1 } }, objectStores: { files: { ttl: "0s" } } });
    expect(parseAccountStdin(raw)).toEqual({ account: "APP", streams: [], kv: [bucket], objectStores: [store] });
    expect(() => parseAccountStdin(raw.replace('"kv":{"sessions"', '"kv":{"other"'))).toThrow("KV buckets are keyed by their bucket; other");
  });
});
