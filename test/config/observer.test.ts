// The observer's grants as the config layer computes them: exactly the requests natscli's operator
// checks and reports make (each one is exercised against the real server and natscli in
// test/render/observer.server.test.ts and test/cluster/observer.server.test.ts), and none of the
// subjects that act on a server, a stream or a client. Matched with the test harness's own
// subject matcher, not the product's.
import path from "node:path";
import { describe, expect, test } from "vitest";
import { parseStackConfig, readStackFile } from "../../config/load";
import { observerContext, observerImports, OBSERVER_USER } from "../../config/observer";
import { natsUsers } from "../../config/users";
import { localSecrets } from "../../ops/localRender";
import { matchedByAny } from "../harness/permissionProbe";
import { DEV_STACK_FIXTURE } from "../harness/tools";

const REPO = path.resolve(__dirname, "..", "..");
const dev = parseStackConfig(readStackFile(DEV_STACK_FIXTURE)).config;
const accounts = parseStackConfig(readStackFile(path.join(REPO, "test", "fixtures", "Pulumi.accounts.yaml"))).config;
const observerOf = (config: typeof dev) => natsUsers(config).find((u) => u.user === OBSERVER_USER)!;

describe("the observer user", () => {
  test("lives in the system account, may request exactly the read-only reports, and uses only its own inbox", () => {
    const observer = observerOf(dev);
    expect(observer.account).toBe("SYS");
    expect(observer.permissions).toEqual({
      publish: {
        allow: [
          "$SYS.REQ.SERVER.PING",
          "$SYS.REQ.SERVER.PING.VARZ",
          "$SYS.REQ.SERVER.PING.JSZ",
          "$SYS.REQ.SERVER.*.JSZ",
          "$SYS.REQ.SERVER.PING.CONNZ",
          "$SYS.REQ.SERVER.PING.HEALTHZ",
          "$SYS.REQ.SERVER.PING.ROUTEZ",
          "$SYS.REQ.SERVER.PING.GATEWAYZ",
          "$SYS.REQ.SERVER.PING.LEAFZ",
          "jsapi.*.INFO",
          "jsapi.*.STREAM.LIST",
          "jsapi.*.STREAM.NAMES",
          "jsapi.*.STREAM.INFO.*",
          "jsapi.*.CONSUMER.LIST.*",
          "jsapi.*.CONSUMER.NAMES.*",
          "jsapi.*.CONSUMER.INFO.*.*",
          "_INBOX_observer.>",
        ],
      },
      subscribe: { allow: ["_INBOX_observer.>"] },
      allowResponses: false,
    });
  });

  test("no subject that changes a server, a stream, a consumer or a message is allowed", () => {
    const allow = observerOf(accounts).permissions.publish.allow!;
    const acting = [
      "$SYS.REQ.SERVER.NABC.RELOAD",
      "$SYS.REQ.SERVER.NABC.KICK",
      "$SYS.REQ.SERVER.NABC.LDM",
      "$SYS.REQ.SERVER.PING.PROFILEZ",
      "$SYS.REQ.SERVER.NABC.PROFILEZ",
      "$SYS.REQ.ACCOUNT.APP.CLAIMS.UPDATE",
      "$JS.API.META.LEADER.STEPDOWN",
      "$JS.API.SERVER.REMOVE",
      "$JS.API.STREAM.CREATE.ORDERS",
      ...["APP", "BILLING"].flatMap((a) => [
        `jsapi.${a}.STREAM.CREATE.ZQ`,
        `jsapi.${a}.STREAM.UPDATE.ORDERS`,
        `jsapi.${a}.STREAM.DELETE.ORDERS`,
        `jsapi.${a}.STREAM.PURGE.ORDERS`,
        `jsapi.${a}.STREAM.MSG.DELETE.ORDERS`,
        `jsapi.${a}.STREAM.MSG.GET.ORDERS`,
        `jsapi.${a}.STREAM.LEADER.STEPDOWN.ORDERS`,
        `jsapi.${a}.STREAM.SNAPSHOT.ORDERS`,
        `jsapi.${a}.CONSUMER.CREATE.ORDERS.zq`,
        `jsapi.${a}.CONSUMER.DELETE.ORDERS.packer`,
        `jsapi.${a}.CONSUMER.MSG.NEXT.ORDERS.packer`,
      ]),
      // Replies of other system-account clients (Surveyor's), and application subjects.
      "_INBOX.abc.def",
      "orders.new",
      "billing.charge",
    ];
    expect(acting.filter((subject) => matchedByAny(allow, subject))).toEqual([]);
  });

  test("each account with JetStream exports its read-only JetStream API to the system account, under jsapi.<ACCOUNT>", () => {
    const imports = observerImports(accounts);
    // LEGACY has JetStream off: nothing to observe there.
    expect([...new Set(imports.map((i) => i.account))]).toEqual(["APP", "BILLING"]);
    expect(imports.filter((i) => i.account === "BILLING")).toEqual(
      ["INFO", "STREAM.LIST", "STREAM.NAMES", "STREAM.INFO.*", "CONSUMER.LIST.*", "CONSUMER.NAMES.*", "CONSUMER.INFO.*.*"].map((rest) => ({
        account: "BILLING",
        subject: `$JS.API.${rest}`,
        to: `jsapi.BILLING.${rest}`,
      })),
    );
  });

  test("without JetStream it keeps the server requests and loses the JetStream ones", () => {
    const off = parseStackConfig({ services: [{ name: "svc" }], jetstream: { enabled: false } }).config;
    expect(observerImports(off)).toEqual([]);
    const { allow } = observerOf(off).permissions.publish;
    expect(allow!.filter((s) => s.startsWith("jsapi."))).toEqual([]);
    expect(allow).toContain("$SYS.REQ.SERVER.PING");
    expect(observerContext(off, "nats://nats:4222", "pw")).toEqual({ url: "nats://nats:4222", user: "_observer", password: "pw", inbox_prefix: "_INBOX_observer" });
  });

  test("nats-box's natscli context: the observer, its inbox prefix and the default account's JetStream API", () => {
    expect(observerContext(accounts, "nats://nats:4222", "pw")).toEqual({
      url: "nats://nats:4222",
      user: "_observer",
      password: "pw",
      inbox_prefix: "_INBOX_observer",
      jetstream_api_prefix: "jsapi.APP",
    });
  });

  test("the render command's and the dev server's credentials.json hold it, like every other user", () => {
    const { credentials } = localSecrets(dev, undefined, "local");
    expect(credentials[OBSERVER_USER]).toEqual({ user: "_observer", password: expect.any(String), account: "SYS", url: "nats://127.0.0.1:4222", inboxPrefix: "_INBOX_observer" });
    // A dev server started before the observer existed keeps its passwords and gains this one.
    const { _observer, ...before } = credentials;
    expect(localSecrets(dev, { credentials: before }, "local").credentials).toEqual({ ...before, _observer: { ..._observer, password: expect.any(String) } });
  });
});
