// Which intent a denied JetStream subject needed, in the stack file's words, and only when
// following the hint would let that request through (the wrong hints are the "no hint"
// cases). The real server's lines, from natscli and test-auth, are in
// test/render/missingIntentHints.server.test.ts.
import { describe, expect, test } from "vitest";
import { explainDenial, parseViolation, TEST_AUTH_CLIENT_NAME, type Denial } from "../../config/missingIntent";
import { parseStackConfig, readStackFile } from "../../config/load";
import { DEV_STACK_FIXTURE } from "../harness/tools";

const config = parseStackConfig({
  services: [
    { name: "svc", jetstream: { publish: ["ORDERS"], kv: [{ bucket: "settings", access: "read" }], objects: [{ store: "reports", access: "read" }] } },
    { name: "plain", publish: ["plain.>"] },
    { name: "elsewhere", account: "OTHER" },
  ],
  accounts: [{ name: "APP" }, { name: "OTHER" }],
  streams: [{ name: "ORDERS", subjects: ["orders.>"], consumers: [{ name: "worker" }] }],
  kv: [{ bucket: "settings" }],
  objectStores: [{ store: "reports" }],
}).config;
const explain = (user: string, subject: string, more: Partial<Denial> = {}) => explainDenial(config, { user, kind: "publish", subject, ...more });

describe("explainDenial: a hint that works", () => {
  test.each([
    ["$JS.API.CONSUMER.MSG.NEXT.ORDERS.worker", "reading stream ORDERS through its consumer worker", "add { stream: ORDERS, consumer: worker } to nats-infra:services[1].jetstream.consume"],
    ["$JS.ACK.ORDERS.worker.1.2.3.4.5", "reading stream ORDERS through its consumer worker", "add { stream: ORDERS, consumer: worker } to nats-infra:services[1].jetstream.consume"],
    ["$JS.API.STREAM.MSG.GET.ORDERS", "reading stream ORDERS", "add ORDERS to nats-infra:services[1].jetstream.read"],
    ["$JS.API.DIRECT.GET.KV_settings.$KV.settings.theme", "reading KV bucket settings", "add { bucket: settings, access: read } to nats-infra:services[1].jetstream.kv"],
    ["$KV.settings.theme", "writing KV bucket settings", "add { bucket: settings, access: write } to nats-infra:services[1].jetstream.kv"],
    ["$O.reports.C.abc", "writing object store reports", "add { store: reports, access: write } to nats-infra:services[1].jetstream.objects"],
    ["$JS.API.DIRECT.GET.OBJ_reports.$O.reports.M.>", "reading object store reports", "add { store: reports, access: read } to nats-infra:services[1].jetstream.objects"],
    ["$JS.API.CONSUMER.CREATE.OBJ_reports.oc_1.$O.reports.M.>", "reading object store reports", "add { store: reports, access: read } to nats-infra:services[1].jetstream.objects"],
    ["orders.created", "publishing to stream ORDERS", "add ORDERS to nats-infra:services[1].jetstream.publish"],
  ])("%s", (subject, why, fix) => {
    expect(explain("plain", subject)).toBe(`plain was denied publish to "${subject}" (${why}): ${fix}`);
  });

  test("a store the service reads already: the hint changes its access instead of listing it twice", () => {
    expect(explain("svc", "$KV.settings.theme")).toBe('svc was denied publish to "$KV.settings.theme" (writing KV bucket settings): set access: write on nats-infra:services[0].jetstream.kv[0]');
    expect(explain("svc", "$O.reports.M.abc")).toMatch(/: set access: write on nats-infra:services\[0\]\.jetstream\.objects\[0\]$/);
  });
});

describe("explainDenial: no hint where following it would not help", () => {
  test("an intent the service already declares (a request its intent does not grant)", () => {
    // svc reads the store; nats-py's unnamed consumer create is no part of that intent.
    expect(explain("svc", "$JS.API.CONSUMER.CREATE.OBJ_reports")).toBeUndefined();
    // svc lists ORDERS under jetstream.publish already; publishing does not give a subscription.
    expect(explain("svc", "orders.created", { kind: "subscribe" })).toBeUndefined();
  });

  test("a consumer the config does not declare (natscli looks one up before creating it)", () => {
    expect(explain("plain", "$JS.API.CONSUMER.INFO.ORDERS.new-one")).toBeUndefined();
    expect(explain("plain", "$JS.API.CONSUMER.MSG.NEXT.ORDERS.new-one")).toBeUndefined();
  });

  test("a stream, bucket or store the service's account does not declare", () => {
    expect(explain("plain", "$JS.API.STREAM.INFO.NOPE")).toBeUndefined();
    expect(explain("plain", "$KV.nope.key")).toBeUndefined();
    expect(explain("elsewhere", "$JS.API.STREAM.MSG.GET.ORDERS")).toBeUndefined();
    expect(explain("elsewhere", "orders.created")).toBeUndefined();
  });

  test("test-auth's probes, recognised by its connection name", () => {
    const probe = { client: `v3.4.0:nats.js:${TEST_AUTH_CLIENT_NAME}` };
    expect(explain("plain", "$JS.API.STREAM.MSG.GET.ORDERS", probe)).toBeUndefined();
    expect(explain("plain", "$JS.API.STREAM.MSG.GET.ORDERS", { client: TEST_AUTH_CLIENT_NAME })).toBeUndefined();
    // Another client of the same user is hinted as before.
    expect(explain("plain", "$JS.API.STREAM.MSG.GET.ORDERS", { client: "v3.4.0:nats.js:billing" })).toMatch(/add ORDERS to/);
  });

  test("a subject no intent grants, or a user that is no declared service", () => {
    expect(explain("plain", "billing.invoice")).toBeUndefined();
    expect(explain("plain", "$JS.API.CONSUMER.CREATE.ORDERS.spy")).toBeUndefined();
    expect(explain("plain", "$JS.API.DIRECT.GET.ORDERS")).toBeUndefined();
    expect(explain("_tools", "$JS.API.STREAM.MSG.GET.ORDERS")).toBeUndefined();
  });

  test("the dev stack: notification-service is hinted nothing for its own durable, teacher-service is", () => {
    const dev = parseStackConfig(readStackFile(DEV_STACK_FIXTURE)).config;
    const subject = "$JS.API.CONSUMER.MSG.NEXT.EVENTS.notification-service";
    expect(explainDenial(dev, { user: "notification-service", kind: "publish", subject })).toBeUndefined();
    expect(explainDenial(dev, { user: "teacher-service", kind: "publish", subject })).toMatch(/add \{ stream: EVENTS, consumer: notification-service \} to nats-infra:services\[0\]\.jetstream\.consume$/);
  });
});

test("parseViolation reads nats-server 2.14's log lines, with the client's label, and nothing else", () => {
  const publish = '[28747] 2026/11/30 09:31:25.689096 [ERR] 127.0.0.1:56554 - cid:5 - "v1.53.1:go:NATS CLI Version v0.5.0" - "APP/user:svc" - Publish Violation - Subject "$JS.API.CONSUMER.MSG.NEXT.EVENTS.other"';
  const subscribe = '[28747] 2026/11/30 09:31:25.719467 [ERR] 127.0.0.1:56570 - cid:6 - "v3.4.0:nats.js:nats-infra test-auth" - "$G/user:svc" - Subscription Violation - Subject "secret.>", SID 1';
  const anonymous = '[1] 2026/11/30 09:31:25.719467 [ERR] 127.0.0.1:56571 - cid:7 - "APP/user:svc" - Publish Violation - Subject "say.\\"hi\\""';
  expect(parseViolation(publish)).toEqual({ user: "svc", kind: "publish", subject: "$JS.API.CONSUMER.MSG.NEXT.EVENTS.other", client: "v1.53.1:go:NATS CLI Version v0.5.0" });
  expect(parseViolation(subscribe)).toEqual({ user: "svc", kind: "subscribe", subject: "secret.>", client: "v3.4.0:nats.js:nats-infra test-auth" });
  expect(parseViolation(anonymous)).toEqual({ user: "svc", kind: "publish", subject: 'say."hi"' });
  expect(parseViolation("[1] [INF] Server is ready")).toBeUndefined();
});
