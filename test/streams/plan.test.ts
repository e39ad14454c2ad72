// The planner on its own: a declaration and a hand-written server answer in, the plan out; no
// server. Every row of the field tables has cases below (a test fails when a row has none), and
// each case says, in the server's units, what the server holds and what the plan must send.
import type { ConsumerConfig, StreamConfig, StreamState } from "@nats-io/jetstream";
import { describe, expect, test } from "vitest";
import { MANAGED_KEY } from "../../streams/desired";
import { planStream } from "../../streams/diff";
import { CONSUMER_FIELDS, STREAM_FIELDS, type Field } from "../../streams/fields";
import { needsSubjectCounts } from "../../streams/losses";
import type { StreamPlan } from "../../streams/plan";
import { declare, NOW, observed, serverConsumer, serverStream, type ConsumerInput, type StreamInput } from "./observed";

type Outcome =
  /** Changed in place, nothing lost. */
  | "update"
  /** The server cannot change it: refused, recreated with allowDelete. */
  | "fixed"
  /** Stored messages would go: refused, applied with allowDelete. */
  | "lossy";

interface Case<Server, Declared> {
  /** What the server holds, over the defaults. */
  server?: Partial<Server>;
  declared: Partial<Declared>;
  expect: Outcome;
  /** The change as the plan shows it. */
  shown: string;
  /** Server entries the update (or the new stream's request) must carry. */
  sent?: Partial<Server>;
  /** For lossy cases: what the plan says goes, and the least value that keeps everything. */
  what?: string;
  keep?: string;
  state?: Partial<StreamState>;
  subjectCounts?: Record<string, number>;
}

type StreamCase = Case<StreamConfig, StreamInput>;
type ConsumerCase = Case<ConsumerConfig, ConsumerInput> & {
  /** The stream the consumer reads, declared and on the server (where a case needs more than the defaults). */
  stream?: Partial<StreamInput>;
  streamServer?: Partial<StreamConfig>;
  /** Fields that change along with this one (a push consumer needs a deliver subject). */
  alsoChanged?: string[];
};

const hoursAgo = (hours: number) => new Date(NOW.getTime() - hours * 3_600_000).toISOString();

const STREAM_CASES: Record<string, StreamCase[]> = {
  subjects: [
    { declared: { subjects: ["orders.>", "refunds.>"] }, expect: "update", shown: "orders.> -> orders.>, refunds.>", sent: { subjects: ["orders.>", "refunds.>"] } },
  ],
  storage: [{ declared: { storage: "memory" }, expect: "fixed", shown: "file -> memory", sent: { storage: "memory" as StreamConfig["storage"] } }],
  replicas: [{ declared: { replicas: 3 }, expect: "update", shown: "1 -> 3", sent: { num_replicas: 3 } }],
  retention: [
    // Nothing stored, nothing lost.
    { declared: { retention: "interest" }, expect: "update", shown: "limits -> interest", sent: { retention: "interest" as StreamConfig["retention"] } },
    // Interest keeps less than limits, never more: back to limits loses nothing.
    { server: { retention: "interest" as StreamConfig["retention"] }, declared: { retention: "limits" }, state: { messages: 5 }, expect: "update", shown: "interest -> limits" },
    {
      declared: { retention: "interest" },
      state: { messages: 5 },
      expect: "lossy",
      shown: "limits -> interest",
      what: "removes at once every stored message that no consumer still needs (the stream holds 5 messages)",
    },
    { declared: { retention: "workqueue" }, expect: "fixed", shown: "limits -> workqueue", sent: { retention: "workqueue" as StreamConfig["retention"] } },
    { server: { retention: "workqueue" as StreamConfig["retention"] }, declared: { retention: "interest" }, expect: "fixed", shown: "workqueue -> interest" },
  ],
  maxMsgs: [
    { server: { max_msgs: 100 }, declared: { maxMsgs: 200 }, expect: "update", shown: "100 -> 200", sent: { max_msgs: 200 } },
    // Lower, but above what is stored.
    { server: { max_msgs: 100 }, declared: { maxMsgs: 20 }, state: { messages: 10 }, expect: "update", shown: "100 -> 20", sent: { max_msgs: 20 } },
    { server: { max_msgs: 100 }, declared: { maxMsgs: 4 }, state: { messages: 10 }, expect: "lossy", shown: "100 -> 4", what: "removes the 6 oldest of the 10 stored messages", keep: "10" },
  ],
  maxBytes: [
    { declared: { maxBytes: "1MB" }, state: { messages: 3, bytes: 4096 }, expect: "update", shown: "unlimited -> 1MB", sent: { max_bytes: 1024 * 1024 } },
    { declared: { maxBytes: "1KB" }, state: { messages: 3, bytes: 4096 }, expect: "lossy", shown: "unlimited -> 1KB", what: "removes the oldest messages until 1KB of the 4KB stored remain", keep: "4KB" },
  ],
  maxAge: [
    { server: { max_age: 3_600_000_000_000 }, declared: { maxAge: "2h" }, expect: "update", shown: "1h -> 2h", sent: { max_age: 7_200_000_000_000 } },
    // "0" is "0s": forever.
    { server: { max_age: 3_600_000_000_000 }, declared: { maxAge: "0" }, expect: "update", shown: "1h -> 0s (forever)", sent: { max_age: 0 } },
    {
      declared: { maxAge: "1h" },
      state: { messages: 2, first_ts: hoursAgo(3) },
      expect: "lossy",
      shown: "0s (forever) -> 1h",
      what: `removes every message older than 1h (the oldest is from ${hoursAgo(3)})`,
    },
  ],
  maxMsgSize: [{ declared: { maxMsgSize: "64KB" }, expect: "update", shown: "unlimited -> 64KB", sent: { max_msg_size: 64 * 1024 } }],
  maxMsgsPerSubject: [
    { declared: { maxMsgsPerSubject: 5 }, state: { messages: 6 }, subjectCounts: { "orders.a": 5, "orders.b": 1 }, expect: "update", shown: "unlimited -> 5", sent: { max_msgs_per_subject: 5 } },
    {
      declared: { maxMsgsPerSubject: 2 },
      state: { messages: 6 },
      subjectCounts: { "orders.a": 5, "orders.b": 1 },
      expect: "lossy",
      shown: "unlimited -> 2",
      what: "removes 3 messages from 1 subject that hold more than 2",
      keep: "5",
    },
  ],
  discard: [{ declared: { discard: "new" }, expect: "update", shown: "old -> new", sent: { discard: "new" as StreamConfig["discard"] } }],
  duplicateWindow: [
    { declared: { duplicateWindow: "5m" }, expect: "update", shown: "2m -> 5m", sent: { duplicate_window: 300_000_000_000 } },
    // Undeclared, the window follows a maxAge shorter than 2m, as the server's default does.
    { server: { max_age: 30_000_000_000 }, declared: { maxAge: "30s" }, expect: "update", shown: "2m -> 30s", sent: { duplicate_window: 30_000_000_000 } },
  ],
  denyDelete: [
    { declared: { denyDelete: true }, expect: "update", shown: "false -> true", sent: { deny_delete: true } },
    { server: { deny_delete: true }, declared: {}, expect: "fixed", shown: "true -> false" },
  ],
  denyPurge: [
    { declared: { denyPurge: true }, expect: "update", shown: "false -> true", sent: { deny_purge: true } },
    { server: { deny_purge: true }, declared: {}, expect: "fixed", shown: "true -> false" },
  ],
  description: [
    { declared: { description: "orders" }, expect: "update", shown: '(none) -> "orders"', sent: { description: "orders" } },
    // Removed from the config: cleared on the server.
    { server: { description: "old" }, declared: {}, expect: "update", shown: '"old" -> (none)', sent: { description: undefined } },
  ],
};

const C = "worker";
const CONSUMER_CASES: Record<string, ConsumerCase[]> = {
  type: [
    {
      declared: { type: "push", deliverSubject: "out.worker" },
      alsoChanged: ["deliverSubject"],
      expect: "fixed",
      shown: "pull -> push",
      sent: { deliver_subject: "out.worker" },
    },
  ],
  deliverSubject: [
    { server: { deliver_subject: "out.a" }, declared: { type: "push", deliverSubject: "out.b" }, expect: "update", shown: '"out.a" -> "out.b"', sent: { deliver_subject: "out.b" } },
  ],
  filterSubjects: [
    // One filter goes in filter_subject, several in filter_subjects; the other key is cleared.
    { declared: { filterSubjects: ["orders.a"] }, expect: "update", shown: "(none) -> orders.a", sent: { filter_subject: "orders.a", filter_subjects: undefined } },
    {
      server: { filter_subject: "orders.a" },
      declared: { filterSubjects: ["orders.a", "orders.b"] },
      expect: "update",
      shown: "orders.a -> orders.a, orders.b",
      sent: { filter_subject: undefined, filter_subjects: ["orders.a", "orders.b"] },
    },
    {
      stream: { retention: "interest" },
      streamServer: { retention: "interest" as StreamConfig["retention"] },
      state: { messages: 4 },
      declared: { filterSubjects: ["orders.a"] },
      expect: "lossy",
      shown: "(none) -> orders.a",
      what: "on an interest stream, removes at once the stored messages that no consumer wants under the new filters",
    },
  ],
  ackPolicy: [{ declared: { ackPolicy: "all" }, expect: "fixed", shown: "explicit -> all", sent: { ack_policy: "all" as ConsumerConfig["ack_policy"] } }],
  ackWait: [{ declared: { ackWait: "1m" }, expect: "update", shown: "30s -> 1m", sent: { ack_wait: 60_000_000_000 } }],
  maxDeliver: [{ server: { max_deliver: 3 }, declared: { maxDeliver: 10 }, expect: "update", shown: "3 -> 10", sent: { max_deliver: 10 } }],
  maxAckPending: [{ declared: { maxAckPending: 20 }, expect: "update", shown: "1000 -> 20", sent: { max_ack_pending: 20 } }],
  deliverPolicy: [{ declared: { deliverPolicy: "new" }, expect: "fixed", shown: "all -> new", sent: { deliver_policy: "new" as ConsumerConfig["deliver_policy"] } }],
  description: [{ declared: { description: "ships orders" }, expect: "update", shown: '(none) -> "ships orders"', sent: { description: "ships orders" } }],
};

/** A row's cases must show each of its kinds of behaviour, so a new row or a new rule needs a case. */
function checkCoverage(rows: Field<any, any>[], cases: Record<string, Case<unknown, unknown>[]>) {
  expect(Object.keys(cases).sort()).toEqual(rows.map((row) => row.key).sort());
  for (const row of rows) {
    const outcomes = new Set(cases[row.key].map((c) => c.expect));
    if (row.fixed) expect(outcomes.has("fixed"), `${row.key}: a case the server refuses`).toBe(true);
    if (!row.fixed || row.fixed.when) expect(outcomes.has("update"), `${row.key}: a case changed in place`).toBe(true);
    if (row.loss) expect(outcomes.has("lossy"), `${row.key}: a case that loses messages`).toBe(true);
  }
}

const splitShown = (shown: string) => {
  const [from, to] = shown.split(" -> ");
  return { from, to };
};

describe("stream fields, row by row", () => {
  test("every row of the stream table has cases for each of its behaviours", () => checkCoverage(STREAM_FIELDS, STREAM_CASES));

  const cases = Object.entries(STREAM_CASES).flatMap(([key, list]) => list.map((c, i) => ({ key, c, title: `${key} #${i + 1}: ${c.shown} (${c.expect})` })));
  const planOf = (c: StreamCase, extra: Partial<StreamInput> = {}) => {
    const info = serverStream(c.server, c.state);
    return { info, plan: planStream(declare({ ...c.declared, ...extra }), observed(info, [], c.subjectCounts)) };
  };

  test.each(cases)("$title", ({ key, c }) => {
    const { info, plan } = planOf(c);
    expect(plan.changes).toEqual([{ field: key, ...splitShown(c.shown) }]);
    switch (c.expect) {
      case "update": {
        expect(plan.kind).toBe("update");
        expect(plan.refusals).toEqual([]);
        expect(plan.losses).toEqual([]);
        if (c.sent) expect(plan.update).toMatchObject(c.sent);
        // The update, merged into the server's config as the client does, leaves nothing to change.
        const after = { ...info, config: { ...info.config, ...plan.update } };
        expect(planStream(declare(c.declared), observed(after, [], c.subjectCounts)).kind).toBe("unchanged");
        break;
      }
      case "fixed": {
        const row = STREAM_FIELDS.find((r) => r.key === key)!;
        expect(plan.kind).toBe("refused");
        expect(plan.update).toBeUndefined();
        expect(plan.refusals).toEqual([
          {
            field: key,
            problem: `${row.fixed!.why} (${c.shown})`,
            options: [expect.stringContaining(`set ${key} back to ${splitShown(c.shown).from}`), expect.stringContaining("declare a new stream under another name"), expect.stringContaining("set allowDelete: true on ORDERS")],
          },
        ]);
        const replaced = planOf(c, { allowDelete: true }).plan;
        expect(replaced.kind).toBe("replace");
        expect(replaced.losses).toEqual([{ field: key, what: expect.stringContaining(`then creates it again because ${key} cannot change in place`) }]);
        expect(replaced.request).toMatchObject({ name: "ORDERS", metadata: { [MANAGED_KEY]: "true" }, ...c.sent });
        break;
      }
      case "lossy": {
        const { from } = splitShown(c.shown);
        expect(plan.kind).toBe("refused");
        expect(plan.refusals).toEqual([
          {
            field: key,
            problem: `${c.shown} ${c.what}`,
            options: [c.keep ? `keep ${key} at ${c.keep} or more (it is ${from} now)` : `keep ${key} at ${from}`, expect.stringContaining("nats stream purge ORDERS"), "set allowDelete: true on ORDERS to accept the loss"],
          },
        ]);
        const allowed = planOf(c, { allowDelete: true }).plan;
        expect(allowed.kind).toBe("update");
        expect(allowed.losses).toEqual([{ field: key, what: c.what }]);
        expect(allowed.update).toBeDefined();
        break;
      }
    }
  });

  test("an empty stream loses nothing, so a lowering that would drop messages from a full one goes ahead", () => {
    for (const [key, list] of Object.entries(STREAM_CASES)) {
      for (const c of list.filter((l) => l.expect === "lossy")) {
        const plan = planStream(declare(c.declared), observed(serverStream(c.server, { ...c.state, messages: 0, bytes: 0 }), [], c.subjectCounts));
        expect(plan.kind, key).toBe("update");
        expect(plan.losses, key).toEqual([]);
      }
    }
  });
});

describe("consumer fields, row by row", () => {
  test("every row of the consumer table has cases for each of its behaviours", () => checkCoverage(CONSUMER_FIELDS, CONSUMER_CASES));

  const cases = Object.entries(CONSUMER_CASES).flatMap(([key, list]) => list.map((c, i) => ({ key, c, title: `${key} #${i + 1}: ${c.shown} (${c.expect})` })));
  const planOf = (c: ConsumerCase, extra: Partial<StreamInput> = {}, consumerConfig: Partial<ConsumerConfig> = c.server ?? {}) => {
    const consumer = serverConsumer(C, consumerConfig, { num_pending: 7, num_ack_pending: 2 });
    const plan = planStream(declare({ ...c.stream, ...extra, consumers: [{ name: C, ...c.declared }] }), observed(serverStream(c.streamServer, c.state), [consumer]));
    return { consumer, plan, step: plan.consumers[0] };
  };

  test.each(cases)("$title", ({ key, c }) => {
    const { consumer, plan, step } = planOf(c);
    const field = `consumers[${C}].${key}`;
    expect(step.changes[0]).toEqual({ field, ...splitShown(c.shown) });
    expect(step.changes.map((ch) => ch.field)).toEqual([field, ...(c.alsoChanged ?? []).map((k) => `consumers[${C}].${k}`)]);
    switch (c.expect) {
      case "update": {
        expect(plan.kind).toBe("unchanged");
        expect(step.kind).toBe("update");
        expect(step.update).toMatchObject(c.sent!);
        // Keys cleared by the update must be there, set to undefined, for the client's merge to clear them.
        for (const [k, v] of Object.entries(c.sent!)) if (v === undefined) expect(Object.keys(step.update!)).toContain(k);
        const merged = { ...consumer.config, ...step.update };
        expect(planOf(c, {}, merged).step.kind).toBe("unchanged");
        break;
      }
      case "fixed": {
        expect(plan.kind).toBe("refused");
        expect(plan.refusals).toEqual([
          {
            field,
            problem: `the server cannot change a consumer's ${key} (${c.shown})`,
            options: [`set it back to ${splitShown(c.shown).from}`, expect.stringContaining("add a consumer under a new name"), expect.stringContaining(`set allowDelete: true on ORDERS to let nats-infra delete ${C}`)],
          },
        ]);
        const replaced = planOf(c, { allowDelete: true });
        expect(replaced.plan.kind).toBe("unchanged");
        expect(replaced.step.kind).toBe("replace");
        expect(replaced.step.losses).toEqual([{ field, what: expect.stringContaining("deletes the consumer (7 messages not yet delivered, 2 awaiting acknowledgement)") }]);
        expect(replaced.step.request).toMatchObject({ durable_name: C, ...c.sent });
        break;
      }
      case "lossy": {
        expect(plan.kind).toBe("refused");
        expect(plan.refusals).toEqual([{ field, problem: `${c.shown} ${c.what}`, options: [`keep ${field} at ${splitShown(c.shown).from}`, expect.stringContaining("nats stream purge"), "set allowDelete: true on ORDERS to accept the loss"] }]);
        const allowed = planOf(c, { allowDelete: true });
        expect(allowed.step.kind).toBe("update");
        expect(allowed.step.losses).toEqual([{ field, what: c.what }]);
        break;
      }
    }
  });

  test("ack timing is neither sent nor compared for a consumer without acks", () => {
    const declared = declare({ consumers: [{ name: "fire", ackPolicy: "none", ackWait: "5m", maxAckPending: 5 }] });
    const created = planStream(declared, observed());
    expect(created.consumers[0].request).not.toHaveProperty("ack_wait");
    expect(created.consumers[0].request).not.toHaveProperty("max_ack_pending");
    const onServer = serverConsumer("fire", { ack_policy: "none" as ConsumerConfig["ack_policy"], ack_wait: undefined, max_ack_pending: undefined });
    expect(planStream(declared, observed(serverStream(), [onServer])).consumers[0].kind).toBe("unchanged");
  });

  test("the order of filter subjects is no change", () => {
    const declared = declare({ consumers: [{ name: C, filterSubjects: ["orders.a", "orders.b"] }] });
    const onServer = serverConsumer(C, { filter_subjects: ["orders.b", "orders.a"] });
    expect(planStream(declared, observed(serverStream(), [onServer])).consumers[0].kind).toBe("unchanged");
  });
});

describe("whole streams", () => {
  test("a stream not on the server is created with the converted config, marked managed, with its consumers", () => {
    const plan = planStream(
      declare({
        maxMsgs: 500,
        maxBytes: "10MB",
        maxAge: "24h",
        description: "made here",
        consumers: [
          { name: "worker", filterSubjects: ["orders.a"], ackWait: "45s", maxDeliver: 5 },
          { name: "gone", delete: true },
        ],
        allowDelete: true,
      }),
      observed(),
      "nats-infra:streams[0]",
    );
    expect(plan).toMatchObject({ kind: "create", where: "nats-infra:streams[0]", summary: "subjects orders.>; file, limits, 1 replica; maxMsgs 500, maxBytes 10MB, maxAge 24h" });
    expect(plan.request).toEqual({
      name: "ORDERS",
      subjects: ["orders.>"],
      storage: "file",
      num_replicas: 1,
      retention: "limits",
      max_msgs: 500,
      max_bytes: 10 * 1024 * 1024,
      max_age: 24 * 3_600_000_000_000,
      max_msg_size: -1,
      max_msgs_per_subject: -1,
      discard: "old",
      duplicate_window: 120_000_000_000,
      deny_delete: false,
      deny_purge: false,
      description: "made here",
      metadata: { [MANAGED_KEY]: "true" },
    });
    expect(plan.consumers.map((c) => [c.name, c.kind])).toEqual([
      ["worker", "create"],
      ["gone", "absent"],
    ]);
    expect(plan.consumers[0].request).toEqual({ durable_name: "worker", name: "worker", filter_subject: "orders.a", ack_policy: "explicit", ack_wait: 45_000_000_000, max_deliver: 5, max_ack_pending: 1000, deliver_policy: "all" });
    expect(plan.consumers[0].summary).toBe("pull, ack explicit, filter orders.a, deliver all");
  });

  test("a stream that matches the config is unchanged, and so are its consumers", () => {
    const plan = planStream(declare({ consumers: [{ name: C }] }), observed(serverStream({}, { messages: 12, bytes: 900, consumer_count: 1 }), [serverConsumer(C)]));
    expect(plan).toMatchObject({ kind: "unchanged", adopt: false, changes: [], losses: [], refusals: [], update: undefined, state: { messages: 12, bytes: 900, consumers: 1 } });
    expect(plan.consumers).toEqual([{ kind: "unchanged", name: C, changes: [], losses: [], update: undefined }]);
  });

  test("several changes at once: each in-place field listed, each refusal named", () => {
    const plan = planStream(declare({ storage: "memory", maxMsgs: 4, description: "x" }), observed(serverStream({}, { messages: 10 })));
    expect(plan.kind).toBe("refused");
    expect(plan.changes.map((c) => c.field)).toEqual(["storage", "maxMsgs", "description"]);
    expect(plan.refusals.map((r) => r.field)).toEqual(["storage", "maxMsgs"]);
  });

  test("a stream made outside nats-infra is adopted: marked managed, its own metadata kept", () => {
    const info = serverStream({ max_msgs: 50, metadata: { owner: "team-a" } });
    const plan = planStream(declare({ maxMsgs: 80 }), observed(info));
    expect(plan).toMatchObject({ kind: "update", adopt: true, changes: [{ field: "maxMsgs", from: "50", to: "80" }] });
    expect(plan.update).toMatchObject({ max_msgs: 80, metadata: { owner: "team-a", [MANAGED_KEY]: "true" } });
    // Nothing to change but the marker: still an update, so the marker gets written.
    const same = planStream(declare({ maxMsgs: 50 }), observed(info));
    expect(same).toMatchObject({ kind: "update", adopt: true, changes: [] });
    expect(same.update?.metadata).toEqual({ owner: "team-a", [MANAGED_KEY]: "true" });
  });

  test("a mirror or a sealed stream of the declared name is refused, and replaced only with allowDelete", () => {
    const mirror = serverStream({ mirror: { name: "ORIGIN" }, subjects: undefined }, { messages: 2 });
    const refused = planStream(declare(), observed(mirror));
    expect(refused.kind).toBe("refused");
    expect(refused.refusals.map((r) => [r.field, r.problem])).toEqual([["mirror", "the stream on the server mirrors ORIGIN; nats-infra does not manage mirrors"]]);
    expect(planStream(declare({ allowDelete: true }), observed(mirror)).kind).toBe("replace");
    const sealed = planStream(declare(), observed(serverStream({ sealed: true })));
    expect(sealed.refusals.map((r) => r.field)).toEqual(["sealed"]);
  });

  test("recreating a stream says it takes the consumers the config does not declare with it", () => {
    const plan = planStream(
      declare({ storage: "memory", allowDelete: true, consumers: [{ name: C }] }),
      observed(serverStream({}, { messages: 5, bytes: 500, consumer_count: 2 }), [serverConsumer(C), serverConsumer("stray")]),
    );
    expect(plan.kind).toBe("replace");
    expect(plan.losses[0].what).toBe(
      "deletes the stream with its 5 messages (500 bytes) and 2 consumers (including stray, which the config does not declare), then creates it again because storage cannot change in place",
    );
    expect(plan.consumers.map((c) => [c.name, c.kind])).toEqual([[C, "create"]]);
  });
});

describe("consumers of an existing stream", () => {
  test("a declared consumer missing on the server is added; one the config lacks is left alone", () => {
    const plan = planStream(declare({ consumers: [{ name: "late", deliverPolicy: "new" }] }), observed(serverStream(), [serverConsumer("other")]));
    expect(plan.kind).toBe("unchanged");
    expect(plan.consumers.map((c) => [c.name, c.kind])).toEqual([
      ["late", "create"],
      ["other", "unmanaged"],
    ]);
    expect(plan.consumers[0].request).toMatchObject({ durable_name: "late", deliver_policy: "new" });
  });
});

describe("deletion only with delete and allowDelete", () => {
  const full = serverStream({}, { messages: 3, bytes: 300, consumer_count: 1 });

  test("a stream marked delete: true is refused without allowDelete, deleted with it, and absent when gone", () => {
    const refused = planStream(declare({ delete: true }), observed(full));
    expect(refused.kind).toBe("refused");
    expect(refused.refusals[0]).toMatchObject({ field: "delete", problem: "delete: true deletes the stream with its 3 messages (300 bytes) and 1 consumer, but allowDelete is not set" });
    const deleted = planStream(declare({ delete: true, allowDelete: true }), observed(full));
    expect(deleted).toMatchObject({ kind: "delete", losses: [{ field: "delete", what: "deletes the stream with its 3 messages (300 bytes) and 1 consumer" }] });
    expect(planStream(declare({ delete: true, allowDelete: true }), observed()).kind).toBe("absent");
  });

  test("allowDelete alone deletes nothing, and a stream missing from the config is not planned at all", () => {
    const plan = planStream(declare({ allowDelete: true }), observed(full, [serverConsumer("kept")]));
    expect(plan.kind).toBe("unchanged");
    expect(plan.consumers).toEqual([{ kind: "unmanaged", name: "kept", changes: [], losses: [] }]);
  });

  test("a consumer marked delete: true needs the stream's allowDelete", () => {
    const onServer = [serverConsumer(C, {}, { num_pending: 4, num_ack_pending: 1 })];
    const refused = planStream(declare({ consumers: [{ name: C, delete: true }] }), observed(full, onServer));
    expect(refused.kind).toBe("refused");
    expect(refused.refusals).toEqual([
      {
        field: `consumers[${C}].delete`,
        problem: "delete: true deletes the consumer (4 messages not yet delivered, 1 awaiting acknowledgement), but the stream's allowDelete is not set",
        options: ["remove delete: true", "set allowDelete: true on ORDERS as well to confirm"],
      },
    ]);
    const deleted = planStream(declare({ allowDelete: true, consumers: [{ name: C, delete: true }] }), observed(full, onServer));
    expect(deleted.kind).toBe("unchanged");
    expect(deleted.consumers).toEqual([{ kind: "delete", name: C, changes: [], losses: [{ field: `consumers[${C}].delete`, what: "deletes the consumer (4 messages not yet delivered, 1 awaiting acknowledgement)" }] }]);
    const gone = planStream(declare({ allowDelete: true, consumers: [{ name: C, delete: true }] }), observed(full));
    expect(gone.consumers.map((c) => c.kind)).toEqual(["absent"]);
  });
});

test("per-subject counts are read only when a lower per-subject limit could drop messages", () => {
  const holding = (messages: number, config: Partial<StreamConfig> = {}) => serverStream(config, { messages });
  expect(needsSubjectCounts(declare({ maxMsgsPerSubject: 2 }), holding(6))).toBe(true);
  expect(needsSubjectCounts(declare({ maxMsgsPerSubject: 2 }), holding(6, { max_msgs_per_subject: 5 }))).toBe(true);
  expect(needsSubjectCounts(declare({ maxMsgsPerSubject: 2 }), undefined)).toBe(false);
  expect(needsSubjectCounts(declare({ maxMsgsPerSubject: 2 }), holding(0))).toBe(false);
  expect(needsSubjectCounts(declare({ maxMsgsPerSubject: 10 }), holding(6))).toBe(false);
  expect(needsSubjectCounts(declare({ maxMsgsPerSubject: 5 }), holding(60, { max_msgs_per_subject: 3 }))).toBe(false);
  expect(needsSubjectCounts(declare(), holding(60))).toBe(false);
});

/** Changes in a plan carry names and shown values only, not the table's rows or raw values. */
test("a plan's changes are plain field, from and to", () => {
  const plan: StreamPlan = planStream(declare({ maxMsgs: 5, consumers: [{ name: C, ackWait: "1m" }] }), observed(serverStream(), [serverConsumer(C)]));
  expect(plan.changes).toStrictEqual([{ field: "maxMsgs", from: "unlimited", to: "5" }]);
  expect(plan.consumers[0].changes).toStrictEqual([{ field: `consumers[${C}].ackWait`, from: "30s", to: "1m" }]);
});
