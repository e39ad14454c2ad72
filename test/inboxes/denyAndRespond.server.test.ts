// The deny that keeps a wide user out of others' private inboxes (config/users.ts
// withPrivateInboxesDenied), on the real nats-server: it cannot subscribe there, nor see replies
// there through a wider subscription, and it still answers requests sent from there, also when
// one reaches it on two of its subscriptions. That last case is why the deny is for subscribe
// only: with a publish deny on the requester's inbox, nats-server 2.14.10 refuses the reply of a
// responder that received the request twice (shown below on a hand-written auth.conf). A service
// on "both" receives on either prefix while its clients move.
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
    // Allowed everything, on both sides: a debugging tap that also answers requests.
    { name: "tap", publish: [">"], subscribe: [">"] },
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

test("the tap's grants as rendered: the others' private inboxes and _INBOX.> denied for subscribe; publish as allowed", () => {
  const tap = natsUsers(nats.config).find((u) => u.user === "tap")!;
  expect(tap.permissions.subscribe.deny).toEqual(expect.arrayContaining(["_INBOX_asker.>", "_INBOX_mover.>", "_INBOX.>"]));
  expect(tap.permissions.publish).toEqual({ allow: [">"] });
});

test("the tap answers asker's request that reached it on two subscriptions, and its `>` sees nothing of asker's replies", async () => {
  const tap = await as("tap");
  const asker = await as("asker");
  const seenByTap: string[] = [];
  tap.nc.subscribe(">", { callback: (_e: Error | null, msg: Msg) => void (msg.subject.startsWith("_INBOX_asker.") && seenByTap.push(msg.subject)) });
  tap.nc.subscribe("ask.time", { callback: (_e: Error | null, msg: Msg) => void msg.respond("noon") });
  await tap.nc.flush();

  for (let i = 0; i < 5; i++) expect((await asker.nc.request("ask.time", "?", { timeout: 3000 })).string()).toBe("noon");
  // The replies went to _INBOX_asker.<id>.<n>; the tap's `>` was filtered there by the deny.
  await sleep(200);
  expect(seenByTap).toEqual([]);
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
    tap.nc.subscribe(">", { callback: () => undefined });
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
