// Responding into a private inbox, on the real nats-server: a responder allowed to publish
// anywhere answers a request sent from a private inbox, also when the request reached it on two
// of its subscriptions. That case is why nats-infra never denies publishing into other users'
// inboxes: with such a deny (written by hand below), nats-server 2.14.10 refuses the reply of a
// responder that received the request twice. (Reading them is what is closed: no one may
// subscribe there, and a wildcard that reaches there is refused by the config layer,
// test/config/inboxes.test.ts.) A service on "both" receives on either prefix while its clients
// move.
import type { Msg, NatsConnection } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { AUTH_CONF_FILE } from "../../render/natsConf";
import { natsUsers } from "../../config/users";
import { sleep, startNats, type RunningNats } from "../harness/natsServer";

const STACK = {
  inboxes: "private",
  services: [
    { name: "asker", publish: ["ask.>"], subscribe: [] },
    // Answers ask.* and may publish anywhere.
    { name: "tap", publish: [">"], subscribe: ["ask.>"] },
    { name: "mover", publish: ["ask.>"], subscribe: [], inbox: "both" },
  ],
};

let nats: RunningNats;
const open: NatsConnection[] = [];
const as = async (user: string, inboxPrefix?: string) => {
  const errors: string[] = [];
  const nc = await connect({ servers: nats.url, ...nats.login(user), ...(inboxPrefix ? { inboxPrefix } : {}), reconnect: false });
  void (async () => {
    for await (const status of nc.status()) if (status.type === "error") errors.push(String((status as { error?: unknown }).error ?? status.type));
  })();
  open.push(nc);
  return { nc, errors };
};

beforeAll(async () => {
  nats = await startNats(STACK);
});
afterAll(async () => {
  await Promise.all(open.map((nc) => nc.close().catch(() => undefined)));
  await nats?.stop();
});

test("the tap's grants as rendered: publish as allowed, no deny", () => {
  const tap = natsUsers(nats.config).find((u) => u.user === "tap")!;
  expect(tap.permissions.publish).toEqual({ allow: [">"] });
  expect(tap.permissions.subscribe).toEqual({ allow: ["ask.>", "_INBOX_tap.>"] });
});

test("the tap answers asker's request that reached it on two subscriptions", async () => {
  const tap = await as("tap");
  const asker = await as("asker");
  tap.nc.subscribe("ask.>", { callback: () => undefined });
  tap.nc.subscribe("ask.time", { callback: (_e: Error | null, msg: Msg) => void msg.respond("noon") });
  await tap.nc.flush();
  for (let i = 0; i < 5; i++) expect((await asker.nc.request("ask.time", "?", { timeout: 3000 })).string()).toBe("noon");
  expect(tap.errors).toEqual([]);
});

test("why the deny is not on publish: with one on the requester's inbox, that double-delivered request gets no reply", async () => {
  // auth.conf as rendered, plus a publish deny of _INBOX_asker.> for the tap, loaded by a reload.
  const file = path.join(nats.dir, AUTH_CONF_FILE);
  const rendered = readFileSync(file, "utf8");
  const tapAt = rendered.indexOf('"user": "tap"');
  const allowAt = rendered.indexOf('"allow": [\n', rendered.indexOf('"publish"', tapAt));
  expect(tapAt).toBeGreaterThan(0);
  writeFileSync(file, `${rendered.slice(0, allowAt)}"deny": ["_INBOX_asker.>"],\n${rendered.slice(allowAt)}`);
  await nats.reload();
  try {
    const tap = await as("tap");
    const asker = await as("asker");
    tap.nc.subscribe("ask.>", { callback: () => undefined });
    tap.nc.subscribe("ask.time", { callback: (_e: Error | null, msg: Msg) => void msg.respond("noon") });
    await tap.nc.flush();
    await expect(asker.nc.request("ask.time", "?", { timeout: 1500 })).rejects.toThrow(/timeout/i);
    expect(tap.errors.join("\n")).toMatch(/_INBOX_asker\./);
  } finally {
    writeFileSync(file, rendered);
    await nats.reload();
  }
});

test("a subscription straight to another's inbox is refused by the server", async () => {
  const tap = await as("tap");
  tap.nc.subscribe("_INBOX_asker.>");
  await tap.nc.flush();
  await sleep(200);
  expect(tap.errors.join("\n")).toMatch(/Permissions Violation for Subscription to "_INBOX_asker\.>"/);
});

test("inbox: both: the mover's requests get replies with its private prefix and with the shared default", async () => {
  const tap = await as("tap");
  tap.nc.subscribe("ask.name", { callback: (_e: Error | null, msg: Msg) => void msg.respond("mover's answer") });
  await tap.nc.flush();
  const privately = await as("mover");
  expect(nats.login("mover").inboxPrefix).toBe("_INBOX_mover");
  expect((await privately.nc.request("ask.name", "?", { timeout: 3000 })).string()).toBe("mover's answer");
  const shared = await as("mover", "_INBOX");
  expect((await shared.nc.request("ask.name", "?", { timeout: 3000 })).string()).toBe("mover's answer");
  // And asker, private, with the default prefix: refused, which is why its credentials carry one.
  const stale = await as("asker", "_INBOX");
  await expect(stale.nc.request("ask.time", "?", { timeout: 1500 })).rejects.toThrow();
  expect(stale.errors.join("\n")).toMatch(/Permissions Violation for Subscription to "_INBOX\./);
});
