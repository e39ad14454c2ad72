// JetStream intent on its own: what each intent compiles to (config/jetstreamIntent.ts, merged by
// config/users.ts), what is refused with the path, value and fix, and the dev stack's
// notification-service, moved from hand-written subjects to intent with the same permissions.
// The server side of these subjects is test/render/jetstreamIntent.server.test.ts.
import { describe, expect, test } from "vitest";
import { parseStackConfig, readStackFile } from "../../config/load";
import { natsUsers } from "../../config/users";
import { renderAuthConf } from "../../render/authConf";
import { hashPasswords } from "../../render/files";
import { parsePermissionsSummary, permissionsEnvKey, permissionsSummary } from "../../render/permissionsSummary";
import { problemAt, problemsOf } from "../harness/configProblems";
import { DEV_STACK_FIXTURE } from "../harness/tools";

const STREAMS = [
  {
    name: "ORDERS",
    subjects: ["orders.>"],
    consumers: [
      { name: "worker" },
      { name: "quiet", ackPolicy: "none" },
      { name: "pusher", type: "push", deliverSubject: "deliver.orders" },
      { name: "old", delete: true },
    ],
    allowDelete: true,
  },
  { name: "COPY", mirror: { stream: "ORDERS" } },
];

const userOf = (service: Record<string, unknown>, streams: unknown[] = STREAMS) =>
  natsUsers(parseStackConfig({ services: [{ name: "svc", ...service }], streams }).config).find((u) => u.user === "svc")!;

describe("compiled subjects", () => {
  test("publish: the stream's subjects, nothing of the JetStream API (the ack is the reply to the request)", () => {
    const user = userOf({ publish: ["raw.out"], jetstream: { publish: ["ORDERS"] } });
    expect(user.permissions.publish).toEqual({ allow: ["raw.out", "orders.>"] });
    expect(user.permissions.subscribe).toEqual({ allow: ["_INBOX.>"] });
    expect(user.jetstream!.derived).toEqual({ publish: ["orders.>"], subscribe: [] });
  });

  test("consume a pull durable: its info, its pulls and its acks, named by stream and consumer", () => {
    const user = userOf({ jetstream: { consume: [{ stream: "ORDERS", consumer: "worker" }] } });
    expect(user.permissions.publish.allow).toEqual([
      "$JS.API.CONSUMER.INFO.ORDERS.worker",
      "$JS.API.CONSUMER.MSG.NEXT.ORDERS.worker",
      "$JS.ACK.ORDERS.worker.>",
    ]);
  });

  test("ackPolicy none takes no acks; a push durable is received on its deliver subject, with no pulls", () => {
    expect(userOf({ jetstream: { consume: [{ stream: "ORDERS", consumer: "quiet" }] } }).permissions.publish.allow).toEqual([
      "$JS.API.CONSUMER.INFO.ORDERS.quiet",
      "$JS.API.CONSUMER.MSG.NEXT.ORDERS.quiet",
    ]);
    const push = userOf({ jetstream: { consume: [{ stream: "ORDERS", consumer: "pusher" }] } });
    expect(push.permissions.publish.allow).toEqual(["$JS.API.CONSUMER.INFO.ORDERS.pusher", "$JS.ACK.ORDERS.pusher.>"]);
    expect(push.permissions.subscribe.allow).toEqual(["deliver.orders", "_INBOX.>"]);
  });

  test("read: stream info and single-message get, no consumer", () => {
    expect(userOf({ jetstream: { read: ["ORDERS"] } }).permissions.publish.allow).toEqual(["$JS.API.STREAM.INFO.ORDERS", "$JS.API.STREAM.MSG.GET.ORDERS"]);
  });

  test("KV read: info, gets, ordered consumers on the bucket's keys and their flow control; write adds the keys, never a purge", () => {
    const kv = [{ bucket: "sessions" }];
    const read = [
      "$JS.API.INFO",
      "$JS.API.STREAM.INFO.KV_sessions",
      "$JS.API.STREAM.MSG.GET.KV_sessions",
      "$JS.API.DIRECT.GET.KV_sessions",
      "$JS.API.DIRECT.GET.KV_sessions.$KV.sessions.>",
      "$JS.API.CONSUMER.CREATE.KV_sessions.*.$KV.sessions.>",
      "$JS.API.CONSUMER.INFO.KV_sessions.*",
      "$JS.API.CONSUMER.DELETE.KV_sessions.*",
      "$JS.FC.KV_sessions.>",
    ];
    const config = (access: string) => natsUsers(parseStackConfig({ services: [{ name: "svc", jetstream: { kv: [{ bucket: "sessions", access }] } }], kv }).config).find((u) => u.user === "svc")!;
    expect(config("read").permissions.publish.allow).toEqual(read);
    expect(config("write").permissions.publish.allow).toEqual([...read, "$KV.sessions.>"]);
    expect(config("write").permissions.subscribe.allow).toEqual(["_INBOX.>"]);
  });

  test("object store read: info, metadata gets (direct ones for nats.go), ordered consumers on chunks and metadata; write adds both and the store's purge", () => {
    const objectStores = [{ store: "files" }];
    const read = [
      "$JS.API.INFO",
      "$JS.API.STREAM.INFO.OBJ_files",
      "$JS.API.STREAM.MSG.GET.OBJ_files",
      "$JS.API.DIRECT.GET.OBJ_files.$O.files.M.>",
      "$JS.API.CONSUMER.CREATE.OBJ_files.*.$O.files.C.>",
      "$JS.API.CONSUMER.CREATE.OBJ_files.*.$O.files.M.>",
      "$JS.API.CONSUMER.INFO.OBJ_files.*",
      "$JS.API.CONSUMER.DELETE.OBJ_files.*",
      "$JS.FC.OBJ_files.>",
    ];
    const user = (access: string) => natsUsers(parseStackConfig({ services: [{ name: "svc", jetstream: { objects: [{ store: "files", access }] } }], objectStores }).config).find((u) => u.user === "svc")!;
    expect(user("read").permissions.publish.allow).toEqual(read);
    expect(user("write").permissions.publish.allow).toEqual([...read, "$O.files.C.>", "$O.files.M.>", "$JS.API.STREAM.PURGE.OBJ_files"]);
  });

  test("raw subjects stay allowed and come first; a subject both grant is listed once", () => {
    const user = userOf({ publish: ["orders.>", "$JS.ACK.ORDERS.worker.>"], jetstream: { publish: ["ORDERS"], consume: [{ stream: "ORDERS", consumer: "worker" }] } });
    expect(user.permissions.publish.allow).toEqual(["orders.>", "$JS.ACK.ORDERS.worker.>", "$JS.API.CONSUMER.INFO.ORDERS.worker", "$JS.API.CONSUMER.MSG.NEXT.ORDERS.worker"]);
  });

  test("the preview summary shows the intent and the derived subjects; without intent the entry is as before", () => {
    const config = parseStackConfig({
      services: [{ name: "svc", jetstream: { consume: [{ stream: "ORDERS", consumer: "worker" }] } }, { name: "plain", publish: ["a.b"] }],
      streams: STREAMS,
    }).config;
    const summary = permissionsSummary(config);
    expect(parsePermissionsSummary(summary[permissionsEnvKey("svc")]).jetstream).toEqual({
      intent: { publish: [], consume: [{ stream: "ORDERS", consumer: "worker" }], read: [] },
      publish: ["$JS.API.CONSUMER.INFO.ORDERS.worker", "$JS.API.CONSUMER.MSG.NEXT.ORDERS.worker", "$JS.ACK.ORDERS.worker.>"],
      subscribe: [],
    });
    expect(JSON.parse(summary[permissionsEnvKey("plain")])).toEqual({ user: "plain", account: "APP", publish: ["a.b"], subscribe: ["_INBOX.>"], allowResponses: true });
  });
});

describe("refused, with the path, the value and the fix", () => {
  const refused = (jetstream: unknown, extra: Record<string, unknown> = {}) =>
    problemsOf({ services: [{ name: "a" }, { name: "b" }, { name: "svc", jetstream, ...extra }], streams: STREAMS, accounts: [{ name: "APP" }, { name: "OTHER" }] });

  test("an undeclared consumer", () => {
    const problem = problemAt(refused({ consume: [{ stream: "ORDERS", consumer: "nobody" }] }), "nats-infra:services[2].jetstream.consume[0].consumer");
    expect(problem.value).toBe('"nobody"');
    expect(problem.message).toBe("stream ORDERS declares no consumer nobody (its consumers: worker, quiet, pusher); declare it under nats-infra:streams[0].consumers or fix the name");
  });

  test("an undeclared stream, in publish, read and consume", () => {
    const problems = refused({ publish: ["NOPE"], read: ["NOPE"], consume: [{ stream: "NOPE", consumer: "worker" }] });
    for (const path of ["publish[0]", "read[0]", "consume[0].stream"]) {
      const problem = problemAt(problems, `nats-infra:services[2].jetstream.${path}`);
      expect(problem.value).toBe('"NOPE"');
      expect(problem.message).toBe("no stream NOPE is declared under nats-infra:streams (streams of account APP: ORDERS, COPY); declare it there or fix the name");
    }
  });

  test("a stream of another account", () => {
    const problem = problemAt(refused({ publish: ["ORDERS"] }, { account: "OTHER" }), "nats-infra:services[2].jetstream.publish[0]");
    expect(problem.message).toMatch(/^stream ORDERS belongs to account APP, not to this service's account OTHER; .*account OTHER declares no streams/);
  });

  test("a consumer being deleted, and publishing to a mirror", () => {
    const problems = refused({ publish: ["COPY"], consume: [{ stream: "ORDERS", consumer: "old" }] });
    expect(problemAt(problems, "nats-infra:services[2].jetstream.consume[0].consumer").message).toMatch(/is being deleted \(delete: true\); remove it/);
    expect(problemAt(problems, "nats-infra:services[2].jetstream.publish[0]").message).toMatch(/no subjects of its own \(a mirror\).*publish to the stream it mirrors/);
  });

  test("intent on a service without requests: the answers would have nowhere to go", () => {
    const problem = problemAt(refused({ publish: ["ORDERS"] }, { requests: false }), "nats-infra:services[2].requests");
    expect(problem.value).toBe("false");
    expect(problem.message).toMatch(/set requests: true or remove jetstream/);
  });

  test("an undeclared KV bucket or object store, one of another account, and an unknown access", () => {
    const stores = { kv: [{ bucket: "sessions" }, { bucket: "theirs", account: "OTHER" }], objectStores: [{ store: "files" }] };
    const problems = problemsOf({
      services: [{ name: "svc", jetstream: { kv: [{ bucket: "nope", access: "read" }, { bucket: "theirs", access: "write" }], objects: [{ store: "nope", access: "write" }] } }],
      accounts: [{ name: "APP" }, { name: "OTHER" }],
      ...stores,
    });
    const bucket = problemAt(problems, "nats-infra:services[0].jetstream.kv[0].bucket");
    expect(bucket.value).toBe('"nope"');
    expect(bucket.message).toBe("no KV bucket nope is declared under nats-infra:kv (KV buckets of account APP: sessions); declare it there or fix the name");
    expect(problemAt(problems, "nats-infra:services[0].jetstream.kv[1].bucket").message).toMatch(/^KV bucket theirs belongs to account OTHER, not to this service's account APP/);
    expect(problemAt(problems, "nats-infra:services[0].jetstream.objects[0].store").message).toBe(
      "no object store nope is declared under nats-infra:objectStores (object stores of account APP: files); declare it there or fix the name",
    );
    const access = problemAt(problemsOf({ services: [{ name: "svc", jetstream: { kv: [{ bucket: "sessions", access: "admin" }] } }], ...stores }), "nats-infra:services[0].jetstream.kv[0].access");
    expect(access.message).toMatch(/access is read \(get, list, watch\) or write/);
  });
});

describe("the dev stack's notification-service, moved to intent", () => {
  const raw = readStackFile(DEV_STACK_FIXTURE);
  const { config } = parseStackConfig(raw);
  // What Pulumi.dev.yaml listed by hand before the move.
  const HAND_WRITTEN = [
    "notification.>",
    "$JS.API.CONSUMER.INFO.EVENTS.notification-service",
    "$JS.API.CONSUMER.MSG.NEXT.EVENTS.notification-service",
    "$JS.ACK.EVENTS.notification-service.>",
  ];

  test("declares the intent and keeps only its application subjects raw", () => {
    const service = config.services.find((s) => s.name === "notification-service")!;
    expect(service.publish).toEqual(["notification.>"]);
    expect(service.jetstream).toEqual({ publish: [], consume: [{ stream: "EVENTS", consumer: "notification-service" }], read: [] });
  });

  test("gets exactly the permissions it had, in the same order, so auth.conf is unchanged", () => {
    const now = natsUsers(config).find((u) => u.user === "notification-service")!;
    expect(now.permissions.publish).toEqual({ allow: HAND_WRITTEN });
    const services = (raw.services as Record<string, unknown>[]).map(({ jetstream, ...service }) =>
      service.name === "notification-service" ? { ...service, publish: HAND_WRITTEN } : { jetstream, ...service },
    );
    const before = parseStackConfig({ ...raw, services }).config;
    // One set of hashes for both renders: bcrypt salts differ on every call.
    const hashes = hashPasswords(config, (user) => `pw-${user}`, 4);
    expect(renderAuthConf(config, hashes)).toBe(renderAuthConf(before, hashes));
    expect(natsUsers(config).map((u) => u.permissions)).toEqual(natsUsers(before).map((u) => u.permissions));
  });
});
