// Which intent a denied JetStream subject needed, from the subject alone, in the stack file's words.
import { describe, expect, test } from "vitest";
import { explainDenial, parseViolation } from "../../config/missingIntent";
import { parseStackConfig, readStackFile } from "../../config/load";

const dev = parseStackConfig(readStackFile("Pulumi.dev.yaml")).config;
const teacher = dev.services.findIndex((s) => s.name === "teacher-service");

describe("explainDenial", () => {
  test.each([
    ["$JS.API.CONSUMER.MSG.NEXT.EVENTS.notification-service", "reading stream EVENTS through its consumer notification-service", "add { stream: EVENTS, consumer: notification-service } to", "jetstream.consume"],
    ["$JS.ACK.EVENTS.notification-service.1.2.3.4.5", "reading stream EVENTS through its consumer notification-service", "consume", "jetstream.consume"],
    ["$JS.API.STREAM.MSG.GET.EVENTS", "reading stream EVENTS", "add EVENTS to", "jetstream.read"],
    ["$JS.API.DIRECT.GET.KV_settings.$KV.settings.theme", "reading KV bucket settings", "add { bucket: settings, access: read } to", "jetstream.kv"],
    ["$KV.settings.theme", "writing KV bucket settings", "add { bucket: settings, access: write } to", "jetstream.kv"],
    ["$O.reports.C.abc", "writing object store reports", "add { store: reports, access: write } to", "jetstream.objects"],
    ["$JS.API.CONSUMER.CREATE.OBJ_reports.oc_1.$O.reports.M.>", "reading object store reports", "add { store: reports, access: read } to", "jetstream.objects"],
    ["events.created", "publishing to stream EVENTS", "add EVENTS to", "jetstream.publish"],
  ])("%s", (subject, why, add, key) => {
    const text = explainDenial(dev, { user: "teacher-service", kind: "publish", subject })!;
    expect(text).toContain(why);
    expect(text).toContain(add);
    expect(text).toContain(`nats-infra:services[${teacher}].${key}`);
  });

  test("no hint where no intent grants the subject, or for a user that is no declared service", () => {
    expect(explainDenial(dev, { user: "teacher-service", kind: "publish", subject: "billing.invoice" })).toBeUndefined();
    expect(explainDenial(dev, { user: "teacher-service", kind: "publish", subject: "$JS.API.CONSUMER.CREATE.EVENTS.spy" })).toBeUndefined();
    expect(explainDenial(dev, { user: "_tools", kind: "publish", subject: "$JS.API.STREAM.MSG.GET.EVENTS" })).toBeUndefined();
  });
});

test("parseViolation reads nats-server 2.14's log lines and nothing else", () => {
  const publish = '[28747] 2026/11/30 09:31:25.689096 [ERR] 127.0.0.1:56554 - cid:5 - "v1.53.1:go:NATS CLI Version v0.5.0" - "APP/user:svc" - Publish Violation - Subject "$JS.API.CONSUMER.MSG.NEXT.EVENTS.other"';
  const subscribe = '[28747] 2026/11/30 09:31:25.719467 [ERR] 127.0.0.1:56570 - cid:6 - "v1.53.1:go:NATS CLI Version v0.5.0" - "$G/user:svc" - Subscription Violation - Subject "secret.>", SID 1';
  expect(parseViolation(publish)).toEqual({ user: "svc", kind: "publish", subject: "$JS.API.CONSUMER.MSG.NEXT.EVENTS.other" });
  expect(parseViolation(subscribe)).toEqual({ user: "svc", kind: "subscribe", subject: "secret.>" });
  expect(parseViolation("[1] [INF] Server is ready")).toBeUndefined();
});
