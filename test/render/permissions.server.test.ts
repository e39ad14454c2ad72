// The dev stack (Pulumi.dev.yaml) on the real nats-server: the rendered config is accepted, and
// the server grants each service exactly what the stack config declares, for publish and
// subscribe, request/reply and JetStream. Its inboxes are private: each service receives replies
// under its own prefix only, never under another's or `_INBOX`.
import { connect } from "@nats-io/transport-node";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { parseStackConfig, readStackFile } from "../../config/load";
import { jetstreamAdminUser } from "../../config/users";
import { startNats, type RunningNats } from "../harness/natsServer";
import {
  checkStackConfig,
  denySamples,
  isLiteral,
  PermissionProbe,
  samplesOf,
  subscribeDenyCases,
  withObservers,
} from "../harness/permissionProbe";
import { DEV_STACK_FIXTURE } from "../harness/tools";

const raw = readStackFile(DEV_STACK_FIXTURE);
const { config } = parseStackConfig(raw);
const services = config.services;
const serviceNames = services.map((s) => s.name);
const counts = { publishAllowed: 0, publishDenied: 0, subscribeAllowed: 0, subscribeDenied: 0 };

let nats: RunningNats;
let probe: PermissionProbe;
beforeAll(async () => {
  nats = await startNats(withObservers(raw));
  probe = await PermissionProbe.open(nats);
});
afterAll(async () => {
  await probe?.close();
  await nats?.stop();
  console.log(`permissions.test (dev stack): ${JSON.stringify(counts)} probe cases`);
});

/** Where a service's replies arrive in the dev stack (`inboxes: private`), written out rather than derived. */
const ownInbox = (name: string) => `_INBOX_${name}.>`;
/** What the stack file declares for a service, and its inbox where it makes requests. */
const declaredAllows = (service: (typeof services)[number]) => ({
  publish: service.publish,
  subscribe: service.requests ? [...service.subscribe, ownInbox(service.name)] : service.subscribe,
});
/** Other services' subjects and reply inboxes, and the shared `_INBOX`: nothing there is this one's. */
const elsewhere = (name: string) => [
  ...services.filter((s) => s.name !== name).flatMap((s) => [...s.publish, ...s.subscribe, ownInbox(s.name)]),
  "_INBOX.>",
  ownInbox(jetstreamAdminUser("APP")),
];
const serviceNamed = (name: string) => services.find((s) => s.name === name)!;

test("nats-server -t accepts the dev stack as rendered", () => {
  const result = checkStackConfig(raw);
  expect(result.output).toContain("is valid");
  expect(result.ok).toBe(true);
});

test("the dev stack declares the three services this file checks, on private inboxes", () => {
  expect(serviceNames).toEqual(["teacher-service", "user-service", "notification-service"]);
  expect(config.inboxes).toBe("private");
});

describe.each(serviceNames)("%s", (name) => {
  const allows = declaredAllows(serviceNamed(name));

  test("may publish every subject its publish allows match", async () => {
    const subjects = allows.publish.flatMap(samplesOf);
    const verdicts = await probe.publish(name, subjects);
    expect(verdicts.filter((v) => !v.allowed)).toEqual([]);
    expect(verdicts).toHaveLength(subjects.length);
    counts.publishAllowed += verdicts.length;
  });

  test("may publish nothing else: siblings, parents, other services' subjects and inboxes, $SYS, $JS.API", async () => {
    const subjects = denySamples(allows.publish, elsewhere(name));
    expect(subjects.length).toBeGreaterThan(15);
    const verdicts = await probe.publish(name, subjects);
    expect(verdicts.filter((v) => v.allowed)).toEqual([]);
    counts.publishDenied += verdicts.length;
  });

  test("receives every subject its subscribe allows match, by pattern and by literal subject", async () => {
    const cases = allows.subscribe.flatMap((pattern) => samplesOf(pattern).flatMap((subject) => [{ pattern, subject }, { pattern: subject, subject }]));
    const verdicts = await probe.subscribe(name, cases);
    expect(verdicts.filter((v) => v.rejected || !v.received)).toEqual([]);
    counts.subscribeAllowed += verdicts.length;
  });

  test("receives nothing else, through literal or wider wildcard subscriptions: no other service's subjects, no one else's replies", async () => {
    const cases = subscribeDenyCases(allows.subscribe, elsewhere(name));
    expect(cases.length).toBeGreaterThan(15);
    const verdicts = await probe.subscribe(name, cases);
    expect(verdicts.filter((v) => v.received)).toEqual([]);
    // A literal subject outside the allows is refused outright.
    expect(verdicts.filter((v) => isLiteral(v.pattern) && !v.rejected)).toEqual([]);
    counts.subscribeDenied += verdicts.length;
  });
});

describe("a trailing * in a subscribe allow", () => {
  // nats-server accepts a subscription to events.> under the allow events.* (it matches the
  // subscription's ">" against the allow's "*"); without the deny nats-infra adds, that
  // subscription then delivered events.a.b as well.
  test("notification-service's events.> subscription delivers events.teacher but not events.teacher.extra", async () => {
    const verdicts = await probe.subscribe("notification-service", [
      { pattern: "events.>", subject: "events.teacher" },
      { pattern: "events.>", subject: "events.teacher.extra" },
      { pattern: "events.*.>", subject: "events.teacher.extra" },
    ]);
    expect(verdicts.map((v) => [v.pattern, v.subject, v.received])).toEqual([
      ["events.>", "events.teacher", true],
      ["events.>", "events.teacher.extra", false],
      ["events.*.>", "events.teacher.extra", false],
    ]);
  });

  test("is refused, naming the entry, when another allow reaches deeper and no deny can close the gap", () => {
    expect(() => parseStackConfig({ services: [{ name: "a", subscribe: ["events.*", "events.audit.>"] }] })).toThrow(
      /nats-infra:services\[0\]\.subscribe\[0\]: nats-server accepts a subscription to "events.>"/,
    );
    // Covered entirely by another allow, there is nothing to close.
    expect(parseStackConfig({ services: [{ name: "a", subscribe: ["events.*", "events.>"] }] }).warnings).toEqual([]);
  });
});

describe("request/reply", () => {
  test("teacher-service asks user.get and user-service answers through allow_responses", async () => {
    const responder = await probe.connectAs("user-service");
    const requester = await probe.connectAs("teacher-service");
    try {
      responder.subscribe("user.get", { callback: (err, msg) => void (!err && msg.respond(`user for ${msg.string()}`)) });
      await responder.flush();
      const reply = await requester.request("user.get", "42", { timeout: 2_000 });
      expect(reply.string()).toBe("user for 42");
    } finally {
      await Promise.all([responder.close(), requester.close()]);
    }
  });

  test("user-service may publish into teacher-service's inbox once, as the reply, and never otherwise", async () => {
    const teacher = await probe.connectAs("teacher-service");
    try {
      const replyTo = "_INBOX_teacher-service.teacherbox.1";
      const inbox = teacher.subscribe(replyTo, { max: 1 });
      await teacher.flush();
      // Before any request the inbox is just a subject user-service has no right to.
      const [unsolicited] = await probe.publish("user-service", [replyTo]);
      expect(unsolicited.allowed).toBe(false);

      // The same connection receives the request with teacher-service's reply subject, and answers.
      const userService = await probe.connection("user-service");
      const answered = new Promise<string>((resolve) => {
        userService.subscribe("user.get", {
          max: 1,
          callback: (err, msg) => {
            if (err) return resolve(`error: ${err.message}`);
            msg.respond("first");
            resolve(msg.reply ?? "(no reply subject)");
          },
        });
      });
      await userService.flush();
      teacher.publish("user.get", "7", { reply: replyTo });
      expect(await answered).toBe(replyTo);
      await userService.flush();
      expect(await inboxNext(inbox)).toBe("first");
      // The one-time grant is used up: a second publish to that inbox is refused again.
      const [second] = await probe.publish("user-service", [replyTo]);
      expect(second.allowed).toBe(false);
    } finally {
      await teacher.close();
    }
  });
});

describe("JetStream: EVENTS stream and the notification-service durable", () => {
  test("admin creates, teacher publishes with an ack, notification-service pulls with its own permissions", async () => {
    const stream = config.streams[0];
    const consumer = stream.consumers[0];
    expect([stream.name, consumer.name]).toEqual(["EVENTS", "notification-service"]);

    const admin = await probe.connectAs(jetstreamAdminUser("APP"));
    const teacher = await probe.connectAs("teacher-service");
    const notifier = await probe.connectAs("notification-service");
    try {
      const jsm = await jetstreamManager(admin);
      await jsm.streams.add({ name: stream.name, subjects: stream.subjects, max_msgs: stream.maxMsgs });
      await jsm.consumers.add(stream.name, { durable_name: consumer.name, ack_policy: "explicit" as never });

      const ack = await jetstream(teacher).publish("events.teacher", "teacher 1 created");
      expect(ack.stream).toBe("EVENTS");
      expect(ack.seq).toBe(1);

      const pull = await jetstream(notifier).consumers.get(stream.name, consumer.name);
      const msg = await pull.next({ expires: 2_000 });
      expect(msg?.subject).toBe("events.teacher");
      expect(msg?.string()).toBe("teacher 1 created");
      await msg!.ackAck();
      const info = await pull.info();
      expect(info.num_ack_pending).toBe(0);
      expect(info.delivered.consumer_seq).toBe(1);

      // The admin creates only the consumers the config declares (one it chose could read the stream).
      await expect(jsm.consumers.add(stream.name, { durable_name: "someone-else", ack_policy: "explicit" as never })).rejects.toThrow(/Permissions Violation/);
      const adminOther = await probe.publish(jetstreamAdminUser("APP"), ["$JS.API.CONSUMER.CREATE.EVENTS.someone-else", "$JS.API.STREAM.PURGE.EVENTS", "$JS.API.STREAM.DELETE.EVENTS", "events.teacher"]);
      expect(adminOther.filter((v) => v.allowed)).toEqual([]);
      // notification-service's publish rights name one consumer: it cannot use or make another one.
      const verdicts = await probe.publish("notification-service", [
        "$JS.API.CONSUMER.INFO.EVENTS.someone-else",
        "$JS.API.CONSUMER.MSG.NEXT.EVENTS.someone-else",
        "$JS.API.STREAM.INFO.EVENTS",
        "$JS.API.STREAM.MSG.GET.EVENTS",
        "$JS.API.STREAM.PURGE.EVENTS",
        "$JS.API.CONSUMER.CREATE.EVENTS",
      ]);
      expect(verdicts.filter((v) => v.allowed)).toEqual([]);
      // And teacher-service, which publishes events.teacher, has no JetStream API rights at all.
      const teacherApi = await probe.publish("teacher-service", ["$JS.API.INFO", "$JS.API.STREAM.INFO.EVENTS"]);
      expect(teacherApi.filter((v) => v.allowed)).toEqual([]);
    } finally {
      await Promise.all([admin.close(), teacher.close(), notifier.close()]);
    }
  });
});

describe("authentication and health", () => {
  test("a wrong password and an unknown user are refused", async () => {
    await expect(connect({ servers: nats.url, user: "teacher-service", pass: "wrong", reconnect: false })).rejects.toThrow(/Authorization/i);
    await expect(connect({ servers: nats.url, user: "nobody", pass: "pw-nobody", reconnect: false })).rejects.toThrow(/Authorization/i);
    await expect(connect({ servers: nats.url, reconnect: false })).rejects.toThrow(/Authorization/i);
  });

  test("/healthz answers ok, with JetStream", async () => {
    for (const query of ["", "?js-enabled-only=true", "?js-server-only=true"]) {
      const response = await fetch(`${nats.monitorUrl}/healthz${query}`);
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ status: "ok" });
    }
  });
});

/** A service with no publish list and no responses, and one that makes no requests. */
describe("services with nothing to publish, and without requests", () => {
  const edgeRaw = {
    services: [
      { name: "mute", publish: [], subscribe: ["mute.in"], responses: false },
      { name: "replier", publish: [], subscribe: ["replier.in"], responses: true },
      { name: "no-requests", publish: ["orders.create"], subscribe: ["orders.*"], requests: false },
    ],
  };
  let edge: RunningNats;
  let edgeProbe: PermissionProbe;
  beforeAll(async () => {
    expect(checkStackConfig(edgeRaw).ok).toBe(true);
    edge = await startNats(withObservers(edgeRaw));
    edgeProbe = await PermissionProbe.open(edge);
  });
  afterAll(async () => {
    await edgeProbe?.close();
    await edge?.stop();
  });

  test("publish: [] with responses: false can publish nothing, not even a reply", async () => {
    const subjects = ["mute.in", "mute.out", "zq", "_INBOX.zq1.zq2", "$JS.API.INFO", "$SYS.REQ.SERVER.PING"];
    const verdicts = await edgeProbe.publish("mute", subjects);
    expect(verdicts.filter((v) => v.allowed)).toEqual([]);
    // A request reaches it, but its answer is refused.
    const mute = await edgeProbe.connectAs("mute");
    const requester = edgeProbe.observer("APP");
    try {
      mute.subscribe("mute.in", { callback: (err, msg) => void (!err && msg.respond("answer")) });
      await mute.flush();
      await expect(requester.request("mute.in", "q", { timeout: 500 })).rejects.toThrow(/timeout|TimeoutError/i);
    } finally {
      await mute.close();
    }
  });

  test("publish: [] with responses: true can answer a request and publish nothing else", async () => {
    const replier = await edgeProbe.connectAs("replier");
    try {
      replier.subscribe("replier.in", { callback: (err, msg) => void (!err && msg.respond("answer")) });
      await replier.flush();
      const reply = await edgeProbe.observer("APP").request("replier.in", "q", { timeout: 2_000 });
      expect(reply.string()).toBe("answer");
    } finally {
      await replier.close();
    }
    const verdicts = await edgeProbe.publish("replier", ["replier.in", "replier.out", "_INBOX.zq1.zq2", "zq"]);
    expect(verdicts.filter((v) => v.allowed)).toEqual([]);
  });

  test("requests: false grants no _INBOX.> subscription, so requests cannot get replies", async () => {
    const verdicts = await edgeProbe.subscribe("no-requests", [
      { pattern: "_INBOX.>", subject: "_INBOX.zq1.zq2" },
      { pattern: "_INBOX.zq1.*", subject: "_INBOX.zq1.zq2" },
      { pattern: "_INBOX.zq1.zq2", subject: "_INBOX.zq1.zq2" },
    ]);
    expect(verdicts.map((v) => [v.rejected, v.received])).toEqual([
      [true, false],
      [true, false],
      [true, false],
    ]);
    const allowed = await edgeProbe.subscribe("no-requests", [{ pattern: "orders.*", subject: "orders.created" }]);
    expect(allowed).toEqual([{ pattern: "orders.*", subject: "orders.created", rejected: false, received: true }]);
  });
});

async function inboxNext(sub: AsyncIterable<{ string(): string }>): Promise<string> {
  for await (const msg of sub) return msg.string();
  return "(inbox closed)";
}
