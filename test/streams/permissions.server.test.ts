// The JetStream admin user on the real server: it can do what the reconciler needs for the
// declared streams and nothing else. It cannot delete a stream without allowDelete, purge, read or
// publish application messages, make consumers the config does not declare, or reach another
// account's streams.
import { spawnSync } from "node:child_process";
import { jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { parseStackConfig } from "../../config/load";
import type { StackConfigInput } from "../../config/schema";
import { jetstreamAdminPermissions, jetstreamAdminUser } from "../../config/users";
import { reconcile } from "../../streams/reconcile";
import { startNats, waitFor, type RunningNats } from "../harness/natsServer";
import { toolPath } from "../harness/tools";

const APP_ADMIN = jetstreamAdminUser("APP");
const BILLING_ADMIN = jetstreamAdminUser("BILLING");
const STACK: StackConfigInput = {
  services: [
    { name: "producer", publish: ["events.>", "logs.>"] },
    { name: "biller", account: "BILLING", publish: ["invoices.>"] },
  ],
  accounts: [{ name: "APP" }, { name: "BILLING" }],
  streams: [
    { name: "EVENTS", subjects: ["events.>"], consumers: [{ name: "reader" }] },
    { name: "LOGS", subjects: ["logs.>"], allowDelete: true, consumers: [{ name: "shipper" }] },
    { name: "INVOICES", account: "BILLING", subjects: ["invoices.>"] },
  ],
};

let nats: RunningNats;
type Connection = Awaited<ReturnType<typeof connect>>;

beforeAll(async () => {
  nats = await startNats(STACK as Record<string, unknown>);
  // The admins themselves create everything: what the reconciler needs is within their rights.
  const config = parseStackConfig(STACK).config;
  let output = "";
  const result = await reconcile(config.streams, {
    url: nats.url,
    env: { NATS_PASSWORD_APP: nats.passwords[APP_ADMIN], NATS_PASSWORD_BILLING: nats.passwords[BILLING_ADMIN] },
    dryRun: false,
    reportOthers: true,
    log: (text) => (output += text),
  });
  expect(result.refused, output).toEqual([]);
  const nc = await connect({ servers: nats.url, user: "producer", pass: nats.passwords.producer });
  for (let i = 0; i < 3; i++) nc.publish("events.x", "e");
  await nc.flush();
  await nc.close();
});
afterAll(async () => nats?.stop());

async function asAdmin<T>(user: string, run: (jsm: JetStreamManager, nc: Connection) => Promise<T>): Promise<T> {
  // With the admin's own inbox prefix, as the reconciler connects (streams/connect.ts).
  const nc = await connect({ servers: nats.url, ...nats.login(user) });
  try {
    return await run(await jetstreamManager(nc), nc);
  } finally {
    await nc.close();
  }
}

const denied = (subject: string) => new RegExp(`Permissions Violation for Publish to "${subject.replace(/[.$*>]/g, "\\$&")}"`);

describe("what the admin may do", () => {
  test("reads, updates and lists the declared streams and consumers", async () => {
    await asAdmin(APP_ADMIN, async (jsm) => {
      expect((await jsm.streams.info("EVENTS")).state.messages).toBe(3);
      expect((await jsm.consumers.info("EVENTS", "reader")).name).toBe("reader");
      const names: string[] = [];
      for await (const info of jsm.streams.list()) names.push(info.config.name);
      expect(names.sort()).toEqual(["EVENTS", "LOGS"]);
      await jsm.streams.update("EVENTS", { description: "updated by the admin" });
      await jsm.consumers.update("EVENTS", "reader", { max_deliver: 7 });
    });
  });

  test("deletes a declared consumer and the stream of a stream that says allowDelete", async () => {
    await asAdmin(APP_ADMIN, async (jsm) => {
      expect(await jsm.consumers.delete("LOGS", "shipper")).toBe(true);
      expect(await jsm.streams.delete("LOGS")).toBe(true);
    });
  });
});

describe("what the admin may not do", () => {
  test("delete a stream, or a consumer of a stream, that does not say allowDelete", async () => {
    await asAdmin(APP_ADMIN, async (jsm) => {
      await expect(jsm.streams.delete("EVENTS")).rejects.toThrow(denied("$JS.API.STREAM.DELETE.EVENTS"));
      await expect(jsm.consumers.delete("EVENTS", "reader")).rejects.toThrow(denied("$JS.API.CONSUMER.DELETE.EVENTS.reader"));
    });
    // natscli, as a person with the admin's password would use it.
    const rm = spawnSync(toolPath("nats"), ["stream", "rm", "EVENTS", "--force", "--timeout", "2s"], {
      encoding: "utf8",
      env: { PATH: process.env.PATH, NATS_URL: nats.url, NATS_USER: APP_ADMIN, NATS_PASSWORD: nats.passwords[APP_ADMIN] },
    });
    expect(rm.status).not.toBe(0);
    expect(`${rm.stdout}${rm.stderr}`).toMatch(/[Pp]ermissions [Vv]iolation/);
    await asAdmin(APP_ADMIN, async (jsm) => expect((await jsm.streams.info("EVENTS")).state.messages).toBe(3));
  });

  test("purge a stream or delete its messages; read them only from a declared stream (backups hash them)", async () => {
    await asAdmin(APP_ADMIN, async (jsm) => {
      await expect(jsm.streams.purge("EVENTS")).rejects.toThrow(denied("$JS.API.STREAM.PURGE.EVENTS"));
      await expect(jsm.streams.deleteMessage("EVENTS", 1)).rejects.toThrow(denied("$JS.API.STREAM.MSG.DELETE.EVENTS"));
      // A declared stream: readable, as a snapshot of it would be (nats-infra backup).
      expect((await jsm.streams.getMessage("EVENTS", { seq: 1 }))?.seq).toBe(1);
    });
  });

  test("create a stream or a consumer the config does not declare", async () => {
    await asAdmin(APP_ADMIN, async (jsm) => {
      await expect(jsm.streams.add({ name: "ROGUE", subjects: ["rogue.>"] })).rejects.toThrow(denied("$JS.API.STREAM.CREATE.ROGUE"));
      // A consumer of its own choosing could deliver the stream's messages to the admin.
      await expect(jsm.consumers.add("EVENTS", { durable_name: "spy", ack_policy: "none" as never, deliver_subject: "_INBOX.spy" })).rejects.toThrow(
        denied("$JS.API.CONSUMER.CREATE.EVENTS.spy"),
      );
    });
  });

  test("fetch from a declared consumer", async () => {
    await asAdmin(APP_ADMIN, async (_jsm, nc) => {
      await expect(nc.request("$JS.API.CONSUMER.MSG.NEXT.EVENTS.reader", JSON.stringify({ batch: 1, no_wait: true }))).rejects.toThrow(
        denied("$JS.API.CONSUMER.MSG.NEXT.EVENTS.reader"),
      );
    });
  });

  test("publish or subscribe to application subjects, or read replies outside its own inbox", async () => {
    await asAdmin(APP_ADMIN, async (jsm, nc) => {
      const errors: string[] = [];
      const watching = (async () => {
        for await (const status of nc.status()) if (status.type === "error") errors.push(String((status as { error?: unknown }).error));
      })();
      nc.publish("events.x", "forged");
      nc.subscribe("events.>");
      // Replies: the shared inbox and the other account's admin's are not its own.
      nc.subscribe("_INBOX.>");
      nc.subscribe(`_INBOX_${BILLING_ADMIN}.>`);
      await nc.flush();
      // The server's -ERR lines arrive before the flush's PONG; the status loop may lag a tick.
      await waitFor(async () => errors.length >= 4, 2_000, () => `expected four permission errors, got: ${errors.join("; ")}`);
      expect(errors.join("\n")).toContain('Permissions Violation for Publish to "events.x"');
      expect(errors.join("\n")).toContain('Permissions Violation for Subscription to "events.>"');
      expect(errors.join("\n")).toContain('Permissions Violation for Subscription to "_INBOX.>"');
      expect(errors.join("\n")).toContain(`Permissions Violation for Subscription to "_INBOX_${BILLING_ADMIN}.>"`);
      expect((await jsm.streams.info("EVENTS")).state.messages).toBe(3);
      void watching;
    });
  });

  test("reach another account's streams, or be used for another account", async () => {
    await asAdmin(APP_ADMIN, async (jsm) => {
      // The admin's rights name INVOICES nowhere, and its account holds no such stream.
      await expect(jsm.streams.info("INVOICES")).rejects.toThrow(denied("$JS.API.STREAM.INFO.INVOICES"));
    });
    await asAdmin(BILLING_ADMIN, async (jsm) => expect((await jsm.streams.info("INVOICES")).config.name).toBe("INVOICES"));
    const billing = parseStackConfig(STACK).config.streams.filter((s) => s.account === "BILLING");
    await expect(
      reconcile(billing, { url: nats.url, env: { NATS_USER: APP_ADMIN, NATS_PASSWORD: nats.passwords[APP_ADMIN] }, dryRun: true, reportOthers: false, log: () => undefined }),
    ).rejects.toThrow(`${APP_ADMIN} belongs to account APP, not BILLING; set NATS_USER_BILLING and NATS_PASSWORD_BILLING for account BILLING`);
  });
});

test("the admin's rights name only declared streams and consumers, and deletion only where allowDelete", () => {
  const config = parseStackConfig(STACK).config;
  const { publish, subscribe, allowResponses } = jetstreamAdminPermissions(config, "APP");
  expect(subscribe).toEqual({ allow: ["_INBOX__jsadmin_APP.>"] });
  expect(allowResponses).toBe(false);
  const allow = publish.allow!;
  expect(allow.filter((s) => s.includes("DELETE"))).toEqual(["$JS.API.STREAM.DELETE.LOGS", "$JS.API.CONSUMER.DELETE.LOGS.shipper"]);
  expect(allow.some((s) => /PURGE|MSG\.DELETE|\.ACK\.(?!EVENTS|LOGS)|INVOICES/.test(s))).toBe(false);
  // Backups: snapshot, restore and reading messages, of the declared streams only.
  for (const stream of ["EVENTS", "LOGS"]) {
    expect(allow).toEqual(expect.arrayContaining([`$JS.API.STREAM.SNAPSHOT.${stream}`, `$JS.API.STREAM.RESTORE.${stream}`, `$JS.API.STREAM.MSG.GET.${stream}`]));
  }
  expect(allow.filter((s) => /SNAPSHOT|RESTORE|MSG\.GET/.test(s)).every((s) => /\.(EVENTS|LOGS)(\.|$)/.test(s))).toBe(true);
  // Wildcards: the filter-subject suffix of a declared consumer's create subject, and the
  // snapshot's chunk subjects of a declared stream.
  expect(allow.filter((s) => s.includes("*") || s.includes(">")).sort()).toEqual(
    [
      "$JS.API.CONSUMER.CREATE.EVENTS.reader.>",
      "$JS.API.CONSUMER.CREATE.LOGS.shipper.>",
      "$JS.SNAPSHOT.ACK.EVENTS.>",
      "$JS.SNAPSHOT.ACK.LOGS.>",
      "$JS.SNAPSHOT.RESTORE.EVENTS.*",
      "$JS.SNAPSHOT.RESTORE.LOGS.*",
    ].sort(),
  );
});
