// The `streams` part of the stack config on its own: what is accepted, and for what is not, the
// path a person edits, the value found and how to fix it. The server rules checked here were
// each confirmed on nats-server 2.14 (see the comments in config/validate.ts).
import { describe, expect, test } from "vitest";
import { parseStackConfig, readStackFile, type ConfigProblem } from "../../config/load";
import { problemAt, problemsOf as problemsOfConfig } from "../harness/configProblems";
import { DEV_STACK_FIXTURE } from "../harness/tools";

const GB = 1024 ** 3;
const services = [{ name: "svc" }];

/** Every problem of the config with these keys beside a minimal services list. */
const problemsOf = (raw: Record<string, unknown>) => problemsOfConfig({ services, ...raw });

/** The message at `path`, failing with every reported problem when there is none there. */
const messageAt = (problems: ConfigProblem[], path: string) => problemAt(problems, path).message;

const accepts = (raw: Record<string, unknown>) => parseStackConfig({ services, ...raw }).config.streams;

describe("accepted", () => {
  test("the dev stack's EVENTS stream, with every default filled in", () => {
    const [events] = parseStackConfig(readStackFile(DEV_STACK_FIXTURE)).config.streams;
    expect(events).toEqual({
      name: "EVENTS",
      subjects: ["events.*"],
      account: "APP",
      storage: "file",
      replicas: 1,
      retention: "limits",
      maxMsgs: 1000000,
      maxBytes: -1,
      maxAge: "0s",
      maxMsgSize: -1,
      maxMsgsPerSubject: -1,
      discard: "old",
      denyDelete: false,
      denyPurge: false,
      allowDelete: false,
      delete: false,
      consumers: [
        { name: "notification-service", type: "pull", filterSubjects: [], ackPolicy: "explicit", ackWait: "30s", maxDeliver: -1, maxAckPending: 1000, deliverPolicy: "all", delete: false },
      ],
    });
  });

  test("sizes with units, durations, push consumers, several filters", () => {
    const [stream] = accepts({
      streams: [
        {
          name: "ORDERS_v2-eu",
          subjects: ["orders.*.created", "orders.*.paid"],
          maxBytes: "2GB",
          maxMsgSize: "64KB",
          maxAge: "72h",
          duplicateWindow: "5m",
          consumers: [
            { name: "audit", type: "push", deliverSubject: "audit.orders", ackPolicy: "none", filterSubjects: ["orders.*.created", "orders.*.paid"] },
          ],
        },
      ],
    });
    expect(stream).toMatchObject({ maxBytes: 2 * GB, maxMsgSize: 64 * 1024, maxAge: "72h", duplicateWindow: "5m" });
  });

  test('maxAge "0" is read as "0s" (forever), so nothing after parsing sees two spellings', () => {
    const streams = accepts({ streams: [{ name: "A", subjects: ["a"], maxAge: "0" }, { name: "B", subjects: ["b"] }, { name: "C", subjects: ["c"], maxAge: "0s" }] });
    expect(streams.map((s) => s.maxAge)).toEqual(["0s", "0s", "0s"]);
    // Only the bare 0 is special: other unitless numbers are no duration.
    expect(messageAt(problemsOf({ streams: [{ name: "A", subjects: ["a"], maxAge: "10" }] }), "nats-infra:streams[0].maxAge")).toContain("not a duration");
  });

  test("streams of different accounts may share subjects; a stream may be deleted explicitly", () => {
    const streams = accepts({
      accounts: [{ name: "APP" }, { name: "OTHER" }],
      streams: [
        { name: "A", subjects: ["x.>"], allowDelete: true, delete: true },
        { name: "A", subjects: ["x.>"], account: "OTHER", allowDelete: true, consumers: [{ name: "c", delete: true }] },
      ],
    });
    expect(streams.map((s) => [s.account, s.name, s.delete])).toEqual([
      ["APP", "A", true],
      ["OTHER", "A", false],
    ]);
  });
});

describe("refused, with the path to edit", () => {
  test("names the server would refuse, for streams and consumers", () => {
    const problems = problemsOf({ streams: [{ name: "my.stream", subjects: ["a"], consumers: [{ name: "ok" }, { name: "bad name" }] }] });
    expect(messageAt(problems, "nats-infra:streams[0].name")).toContain("letters, digits, '_' and '-'");
    expect(messageAt(problems, "nats-infra:streams[0].consumers[1].name")).toContain("no dots, spaces");
    expect(problems.find((p) => p.path === "nats-infra:streams[0].name")!.value).toBe('"my.stream"');
    const tooLong = problemsOf({ streams: [{ name: "S".repeat(256), subjects: ["a"] }] });
    expect(messageAt(tooLong, "nats-infra:streams[0].name")).toContain("1-255");
  });

  test("subject syntax, and subjects the server keeps for its API", () => {
    const problems = problemsOf({ streams: [{ name: "S", subjects: ["orders..x", ">", "$JS.API.>", "$SYS.ACCOUNT.>", "ok.*"] }] });
    expect(messageAt(problems, "nats-infra:streams[0].subjects[0]")).toContain("empty token");
    expect(messageAt(problems, "nats-infra:streams[0].subjects[1]")).toContain('overlaps "$JS.>"');
    expect(messageAt(problems, "nats-infra:streams[0].subjects[2]")).toContain("keeps for its own API");
    expect(messageAt(problems, "nats-infra:streams[0].subjects[3]")).toContain('overlaps "$SYS.>"');
    expect(problems.some((p) => p.path === "nats-infra:streams[0].subjects[4]")).toBe(false);
  });

  test("two streams of one account with overlapping subjects", () => {
    const problems = problemsOf({ streams: [{ name: "A", subjects: ["orders.*"] }, { name: "B", subjects: ["orders.eu.>"] }, { name: "C", subjects: ["orders.>"] }] });
    expect(messageAt(problems, "nats-infra:streams[2].subjects[0]")).toContain('overlaps "orders.*" of stream A in the same account');
    expect(problems.some((p) => p.path === "nats-infra:streams[1].subjects[0]")).toBe(false);
  });

  test("a stream declared twice in one account", () => {
    const problems = problemsOf({ streams: [{ name: "A", subjects: ["a"] }, { name: "A", subjects: ["b"] }] });
    expect(messageAt(problems, "nats-infra:streams[1].name")).toContain("declared twice in account APP");
  });

  test("more replicas than servers", () => {
    expect(messageAt(problemsOf({ streams: [{ name: "A", subjects: ["a"], replicas: 3 }] }), "nats-infra:streams[0].replicas")).toContain("number of servers (cluster.nodes: 1)");
    const three = { cluster: { nodes: 3 } };
    expect(messageAt(problemsOf({ ...three, streams: [{ name: "A", subjects: ["a"], replicas: 4 }] }), "nats-infra:streams[0].replicas")).toContain("(cluster.nodes: 3)");
    expect(accepts({ ...three, streams: [{ name: "A", subjects: ["a"], replicas: 3 }] })[0].replicas).toBe(3);
  });

  test("maxBytes beyond the JetStream limits: one stream, all streams together, an account's own limit", () => {
    const one = problemsOf({ jetstream: { maxFileStore: "10GB" }, streams: [{ name: "A", subjects: ["a"], maxBytes: "11GB" }] });
    expect(messageAt(one, "nats-infra:streams[0].maxBytes")).toContain("jetstream.maxFileStore");
    const together = problemsOf({ jetstream: { maxFileStore: "10GB" }, streams: [{ name: "A", subjects: ["a"], maxBytes: "6GB" }, { name: "B", subjects: ["b"], maxBytes: "6GB" }] });
    expect(messageAt(together, "nats-infra:streams[1].maxBytes")).toContain(`reserve ${12 * GB} bytes in all (A, B)`);
    const account = problemsOf({ accounts: [{ name: "APP", jetstream: { maxFile: "1GB" } }], streams: [{ name: "A", subjects: ["a"], maxBytes: "2GB" }] });
    expect(messageAt(account, "nats-infra:streams[0].maxBytes")).toContain("account APP's jetstream.maxFile");
    // Memory streams count against the memory limit only.
    expect(() => accepts({ jetstream: { maxFileStore: "1GB" }, streams: [{ name: "M", subjects: ["m"], storage: "memory", maxBytes: "512MB" }] })).not.toThrow();
  });

  test("limits of 0, which the server would silently turn into something else", () => {
    const problems = problemsOf({ streams: [{ name: "A", subjects: ["a"], maxMsgs: 0, maxBytes: 0, consumers: [{ name: "c", maxDeliver: 0 }] }] });
    expect(messageAt(problems, "nats-infra:streams[0].maxMsgs")).toContain("use -1 for no limit");
    expect(messageAt(problems, "nats-infra:streams[0].maxBytes")).toContain("use -1 for no limit");
    expect(messageAt(problems, "nats-infra:streams[0].consumers[0].maxDeliver")).toContain("use -1 for no limit");
  });

  test("a duplicate window longer than maxAge", () => {
    const problems = problemsOf({ streams: [{ name: "A", subjects: ["a"], maxAge: "30s", duplicateWindow: "1m" }] });
    expect(messageAt(problems, "nats-infra:streams[0].duplicateWindow")).toContain("must not be longer than maxAge (30s)");
    // Without a window, the default shortens itself to maxAge.
    expect(() => accepts({ streams: [{ name: "A", subjects: ["a"], maxAge: "30s" }] })).not.toThrow();
  });

  test("delete without allowDelete, for a stream and for a consumer", () => {
    const problems = problemsOf({ streams: [{ name: "A", subjects: ["a"], delete: true, consumers: [{ name: "c", delete: true }] }] });
    expect(messageAt(problems, "nats-infra:streams[0].delete")).toContain("set allowDelete: true on this stream as well");
    expect(messageAt(problems, "nats-infra:streams[0].consumers[0].delete")).toContain("set allowDelete: true on the stream as well");
  });

  test("consumers: duplicate names, push without target, a delivery loop, filters outside the stream", () => {
    const problems = problemsOf({
      streams: [
        {
          name: "A",
          subjects: ["a.>"],
          consumers: [
            { name: "c" },
            { name: "c" },
            { name: "p", type: "push" },
            { name: "loop", type: "push", deliverSubject: "a.out" },
            { name: "f", filterSubjects: ["b.x", "a.x", "a.*"] },
          ],
        },
      ],
    });
    expect(messageAt(problems, "nats-infra:streams[0].consumers[1].name")).toContain("unique within a stream");
    expect(messageAt(problems, "nats-infra:streams[0].consumers[2].deliverSubject")).toContain("push consumer needs a deliverSubject");
    expect(messageAt(problems, "nats-infra:streams[0].consumers[3].deliverSubject")).toContain("the server refuses the cycle");
    expect(messageAt(problems, "nats-infra:streams[0].consumers[4].filterSubjects[0]")).toContain("matches none of the stream's subjects");
    expect(messageAt(problems, "nats-infra:streams[0].consumers[4].filterSubjects[2]")).toContain('overlaps "a.x" of the same consumer');
  });

  test("work queues: one consumer per subject, explicit acks for pull consumers", () => {
    const problems = problemsOf({
      streams: [
        {
          name: "W",
          subjects: ["jobs.>"],
          retention: "workqueue",
          consumers: [{ name: "all" }, { name: "eu", filterSubjects: ["jobs.eu.>"] }, { name: "fast", filterSubjects: ["jobs.fast"], ackPolicy: "none" }],
        },
      ],
    });
    expect(messageAt(problems, "nats-infra:streams[0].consumers[1].filterSubjects")).toContain("overlaps consumer all on this workqueue stream");
    expect(messageAt(problems, "nats-infra:streams[0].consumers[2].ackPolicy")).toContain("must use ackPolicy: explicit");
    // A consumer marked for deletion no longer counts.
    expect(() =>
      accepts({ streams: [{ name: "W", subjects: ["jobs.>"], retention: "workqueue", allowDelete: true, consumers: [{ name: "old", delete: true }, { name: "new" }] }] }),
    ).not.toThrow();
  });

  test("an unknown account, an account without JetStream, JetStream off, an unknown key", () => {
    const problems = problemsOf({
      accounts: [{ name: "APP" }, { name: "NOJS", jetstream: false }],
      streams: [
        { name: "A", subjects: ["a"], account: "NOPE" },
        { name: "B", subjects: ["b"], account: "NOJS" },
        { name: "C", subjects: ["c"], maxMsg: 5 },
      ],
    });
    expect(messageAt(problems, "nats-infra:streams[0].account")).toContain("no such account; declared accounts: APP, NOJS");
    expect(messageAt(problems, "nats-infra:streams[1].account")).toContain("JetStream is off for account NOJS");
    expect(problems.some((p) => p.path.startsWith("nats-infra:streams[2]") && p.path.includes("maxMsg"))).toBe(true);
    const off = problemsOf({ jetstream: { enabled: false }, streams: [{ name: "A", subjects: ["a"] }] });
    expect(messageAt(off, "nats-infra:streams[0].name")).toContain("JetStream is disabled");
  });

  test("the error a person reads: every problem, with path, value and fix, no stack trace", () => {
    try {
      parseStackConfig({ services, streams: [{ name: "A", subjects: ["a"], replicas: 3, delete: true }] });
      throw new Error("accepted");
    } catch (error) {
      const text = (error as Error).message;
      expect(text).toContain("Invalid nats-infra stack config (2 problems)");
      expect(text).toContain("nats-infra:streams[0].replicas: must not exceed the number of servers (cluster.nodes: 1); each replica lives on its own server (found: 3)");
      expect(text).toContain("nats-infra:streams[0].delete: deleting a stream loses every message in it");
      expect(text).not.toMatch(/\n\s+at /);
    }
  });
});

describe("KV buckets, object stores, mirrors and sources", () => {
  test("accepted with every default filled in", () => {
    const { kv, objectStores } = parseStackConfig({ services, kv: [{ bucket: "sessions" }], objectStores: [{ store: "files", ttl: "0" }] }).config;
    expect(kv).toEqual([{ bucket: "sessions", history: 1, maxValueSize: -1, account: "APP", storage: "file", replicas: 1, ttl: "0s", maxBytes: -1, compression: false, allowDelete: false, delete: false }]);
    expect(objectStores[0]).toMatchObject({ store: "files", ttl: "0s", maxBytes: -1 });
  });

  test("every problem of a bucket or store with its path", () => {
    const problems = problemsOf({
      kv: [{ bucket: "a.b", history: 65 }, { bucket: "ok", account: "NOPE", delete: true, replicas: 3 }, { bucket: "ok" }],
      objectStores: [{ store: "files", maxBytes: 0 }],
    });
    expect(messageAt(problems, "nats-infra:kv[0].bucket")).toContain("letters, digits");
    expect(messageAt(problems, "nats-infra:kv[0].history")).toBeDefined();
    expect(messageAt(problems, "nats-infra:objectStores[0].maxBytes")).toContain("0 bytes is not a limit");
  });

  test("cross-field: account, delete without allowDelete, replicas, a stream of the same name", () => {
    const problems = problemsOf({
      streams: [{ name: "KV_ok", subjects: ["x.>"] }],
      kv: [{ bucket: "ok", account: "NOPE", delete: true, replicas: 3 }, { bucket: "ok" }],
    });
    expect(messageAt(problems, "nats-infra:kv[0].account")).toContain("no such account");
    expect(messageAt(problems, "nats-infra:kv[0].delete")).toContain("allowDelete");
    expect(messageAt(problems, "nats-infra:kv[0].replicas")).toContain("number of servers");
    expect(messageAt(problems, "nats-infra:kv[1].bucket")).toContain("also declared as nats-infra:streams[0]");
  });

  test("a mirror has no subjects or sources; origins are streams of the same account with matching filters", () => {
    const problems = problemsOf({
      accounts: [{ name: "APP" }, { name: "OTHER" }],
      streams: [
        { name: "A", subjects: ["a.>"] },
        { name: "M", subjects: ["m.>"], mirror: { stream: "A" } },
        { name: "N", mirror: { stream: "A" }, sources: [{ stream: "A" }] },
        { name: "B", account: "OTHER", subjects: ["b.>"] },
        { name: "S", subjects: ["s.>"], sources: [{ stream: "B" }, { stream: "A", filterSubject: "z.>" }, { stream: "S" }] },
        { name: "E" },
      ],
    });
    expect(messageAt(problems, "nats-infra:streams[1].subjects")).toContain("a mirror has no subjects");
    expect(messageAt(problems, "nats-infra:streams[2].sources")).toContain("cannot have sources as well");
    expect(messageAt(problems, "nats-infra:streams[4].sources[0].stream")).toContain("is in account OTHER");
    expect(messageAt(problems, "nats-infra:streams[4].sources[1].filterSubject")).toContain("matches none of stream A's subjects");
    expect(messageAt(problems, "nats-infra:streams[4].sources[2].stream")).toContain("cannot mirror or source itself");
    expect(messageAt(problems, "nats-infra:streams[5].subjects")).toContain("a stream needs at least one subject");
  });
});
