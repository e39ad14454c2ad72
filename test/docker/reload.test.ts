// components/apply-config.sh against a real nats container: config changes arrive by a reload, not a
// restart, so clients of services that did not change never notice. Clients are real
// (@nats-io/transport-node) and count every disconnect and reconnect they see.
import { readFileSync } from "node:fs";
import path from "node:path";
import { connect } from "@nats-io/transport-node";
import { afterAll, beforeAll, expect, test } from "vitest";
import { removeAll, requireDocker, startNatsContainer, type NatsContainer } from "../harness/docker";
import { waitFor } from "../harness/natsServer";

const orders = { name: "orders", publish: ["orders.>"], subscribe: ["orders.>"] };
const billing = { name: "billing", publish: ["billing.>"], subscribe: ["orders.>", "billing.>"] };
const audit = { name: "audit", publish: [], subscribe: ["orders.>"] };
const base = { services: [orders, billing] };
const withAudit = { services: [orders, billing, audit] };

// The package's own NatsConnection type does not resolve under moduleResolution "node".
type NatsConnection = Awaited<ReturnType<typeof connect>>;

/** A connected client and every connection event it has seen (pings and updates left out). */
interface Watched {
  nc: NatsConnection;
  events: string[];
}

let nats: NatsContainer;
const watchers: Record<string, Watched> = {};
const opened: NatsConnection[] = [];

async function connectAs(user: string, options: { reconnect?: boolean } = {}): Promise<Watched> {
  const nc = await connect({ servers: nats.url, user, pass: nats.renderer.passwords[user], reconnect: options.reconnect ?? true, maxReconnectAttempts: 5 });
  opened.push(nc);
  const events: string[] = [];
  void (async () => {
    for await (const status of nc.status()) if (status.type !== "ping" && status.type !== "update") events.push(status.type);
  })();
  return { nc, events };
}

/** The connect error for `user`, or "connected" when the server accepted the password. */
async function tryConnect(user: string): Promise<string> {
  try {
    const nc = await connect({ servers: nats.url, user, pass: nats.renderer.passwords[user], reconnect: false });
    await nc.close();
    return "connected";
  } catch (error) {
    return String((error as Error).message);
  }
}

/** Orders publishes, billing receives: both watcher connections still carry messages. */
async function roundTrip(): Promise<string> {
  const sub = watchers.billing.nc.subscribe("orders.created", { max: 1 });
  await watchers.billing.nc.flush();
  watchers.orders.nc.publish("orders.created", "order-1");
  for await (const msg of sub) return msg.string();
  return "no message";
}

function expectWatchersUndisturbed(): void {
  for (const [user, watched] of Object.entries(watchers)) {
    expect({ user, events: watched.events, closed: watched.nc.isClosed() }).toEqual({ user, events: [], closed: false });
  }
}

/** How many reload signals the server has logged so far. */
function hangups(): number {
  return nats.logs().split("\n").filter((line) => line.includes('Trapped "hangup" signal')).length;
}

function liveFiles(): string[] {
  return ["nats.conf", "auth.conf"].map((file) => readFileSync(path.join(nats.configDir, file), "utf8"));
}

beforeAll(async () => {
  requireDocker();
  nats = await startNatsContainer(base);
  // Render once so every user, including those added later, has a password to try.
  nats.renderer.render(withAudit);
  watchers.orders = await connectAs("orders");
  watchers.billing = await connectAs("billing");
});

afterAll(async () => {
  await Promise.allSettled(opened.map((nc) => nc.close()));
  removeAll();
});

test("a service added through apply-config.sh can connect as soon as the script returns", async () => {
  expect(await tryConnect("audit")).toMatch(/authorization violation/i);
  const before = await nats.configLoadTime();

  const result = nats.apply(withAudit);

  expect(result.stderr).toBe("");
  expect(result.status).toBe(0);
  expect(result.stdout).toMatch(/reloaded its config in \d+ ms/);
  console.log(`add service: apply-config.sh took ${result.ms} ms end to end; it said: ${result.stdout.trim()}`);
  expect(await nats.configLoadTime()).not.toBe(before);
  expect(await tryConnect("audit")).toBe("connected");
  expect(await roundTrip()).toBe("order-1");
  expectWatchersUndisturbed();
});

test("removing a service disconnects that service's clients and nobody else", async () => {
  const removed = await connectAs("audit", { reconnect: false });
  const closed = removed.nc.closed();

  const result = nats.apply(base);

  expect(result.status).toBe(0);
  console.log(`remove service: apply-config.sh took ${result.ms} ms; it said: ${result.stdout.trim()}`);
  // The server closes the revoked client; bounded so a missed close fails instead of hanging.
  await waitFor(async () => removed.nc.isClosed(), 10_000, () => `audit's client is still connected; events: ${removed.events.join(", ")}`);
  const reason = await closed;
  console.log(`removed client: events ${JSON.stringify(removed.events)}, closed with: ${reason instanceof Error ? reason.message : "no error"}`);
  expect(await tryConnect("audit")).toMatch(/authorization violation/i);
  expect(await roundTrip()).toBe("order-1");
  expectWatchersUndisturbed();
});

test("changed permissions apply to a service's open connection on reload, without reconnecting it", async () => {
  const second = await connectAs("billing");
  const refunds = watchers.orders.nc.subscribe("orders.refund");
  await watchers.orders.nc.flush();
  second.nc.publish("orders.refund", "denied");
  await second.nc.flush();
  await waitFor(async () => second.events.includes("error"), 5_000, () => `no permissions error; events: ${second.events.join(", ")}`);

  const billingRefunds = { ...billing, publish: [...billing.publish, "orders.refund"] };
  const result = nats.apply({ services: [orders, billingRefunds] });

  expect(result.status).toBe(0);
  second.nc.publish("orders.refund", "allowed");
  await second.nc.flush();
  for await (const msg of refunds) {
    // The message published before the reload was dropped by the server, so this is the first.
    expect(msg.string()).toBe("allowed");
    break;
  }
  expect(second.events).toEqual(["error"]);
  expect(second.nc.isClosed()).toBe(false);
  expectWatchersUndisturbed();
});

test("a config nats-server rejects is refused, and the server keeps serving the old one", async () => {
  const filesBefore = liveFiles();
  const loadedBefore = await nats.configLoadTime();
  const rendered = nats.renderer.render(withAudit);

  const result = nats.apply(withAudit, { NATS_CONF: `${rendered.natsConf}no_such_setting: 1\n` });

  expect(result.status).toBe(1);
  expect(result.stderr).toContain("rejected the new config; the live files are unchanged");
  expect(result.stderr).toMatch(/nats\.conf:\d+:\d+: unknown field "no_such_setting"/);
  expect(liveFiles()).toEqual(filesBefore);
  expect(await nats.configLoadTime()).toBe(loadedBefore);
  // audit is in the refused config only: it must still be locked out.
  expect(await tryConnect("audit")).toMatch(/authorization violation/i);
  expect(await roundTrip()).toBe("order-1");
  expectWatchersUndisturbed();
});

test("with another restart key the files are installed but not reloaded (the container is to be replaced)", async () => {
  const loadedBefore = await nats.configLoadTime();
  const hangupsBefore = hangups();
  const rendered = nats.renderer.render(withAudit);

  // Validation then runs in a throwaway container of NATS_IMAGE, and still refuses bad config.
  const refused = nats.apply(withAudit, { RESTART_KEY: "another-key", NATS_CONF: `${rendered.natsConf}no_such_setting: 1\n` });
  expect(refused.status).toBe(1);
  expect(refused.stderr).toMatch(/unknown field "no_such_setting"/);

  const result = nats.apply(withAudit, { RESTART_KEY: "another-key" });

  expect(result.stderr).toBe("");
  expect(result.status).toBe(0);
  expect(result.stdout).toContain("runs with another restart key, so it will be replaced (no reload)");
  expect(liveFiles()).toEqual([rendered.natsConf, rendered.authConf]);
  expect(await nats.configLoadTime()).toBe(loadedBefore);
  expect(await tryConnect("audit")).toMatch(/authorization violation/i);
  expect(hangups()).toBe(hangupsBefore);
  expectWatchersUndisturbed();
});
