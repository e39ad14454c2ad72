// Adding, editing and removing a service on the real engine, under steady core and JetStream
// clients: `pulumi preview --json` must list exactly the documented steps (a password created or
// deleted, the config command updated, nothing replaced), and `npm run up` must reload the server
// with no client disconnected, no message lost and the same server start time.
// The stack: a single server with the dev stack's services and EVENTS stream (with its durable
// consumer), a second account with a KV bucket and an object store used through intents,
// Surveyor and nats-box on.
import { connect } from "@nats-io/transport-node";
import { Kvm } from "@nats-io/kv";
import { Objm } from "@nats-io/obj";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { readStackFile } from "../../config/load";
import { docker } from "../harness/docker";
import { EngineStack, prepareEngine, type PreviewStep } from "../harness/engine";
import { freePort } from "../harness/ports";
import { accessFromOutputs, DEV_TRAFFIC, SteadyTraffic } from "../harness/steadyTraffic";
import { DEV_STACK_FIXTURE } from "../harness/tools";

let stack: EngineStack;
let monitorUrl: string;

/** The server's start time and its client connection ids. */
async function serverView(): Promise<{ start: string; cids: number[] }> {
  const varz = (await (await fetch(`${monitorUrl}/varz`)).json()) as { start: string };
  const connz = (await (await fetch(`${monitorUrl}/connz?limit=1024`)).json()) as { connections: { cid: number }[] };
  return { start: varz.start, cids: connz.connections.map((c) => c.cid).sort((a, b) => a - b) };
}

const services = () => stack.config.services as { name: string; publish?: string[]; subscribe?: string[] }[];
const describeSteps = (steps: PreviewStep[]) => steps.map((s) => `${s.op} ${s.name}`).sort();

/**
 * Previews `next` (its steps must be `expected`), then deploys it with `npm run up` while steady
 * clients run; checks that nothing was replaced, disconnected or lost.
 */
async function changeUnderTraffic(next: Record<string, unknown>, expected: string[]): Promise<void> {
  const previous = stack.config;
  stack.setConfig(next);
  const steps = await stack.previewSteps();
  expect(describeSteps(steps)).toEqual(expected.sort());
  expect(steps.filter((s) => s.op.includes("replace"))).toEqual([]);

  const traffic = await SteadyTraffic.start(accessFromOutputs(await stack.outputs()));
  const before = await serverView();
  const up = await stack.npm("up", ["--yes"]);
  const after = await serverView();
  const report = await traffic.end();
  console.log(`engine: ${expected.join(", ")}: npm run up ${up.ms} ms; ${report.summary}`);
  if (up.status !== 0) stack.setConfig(previous);
  expect(up.status, up.stdout + up.stderr).toBe(0);
  expect(after.start).toBe(before.start);
  // Every client connection of before is still there: nobody was disconnected.
  expect(before.cids.filter((cid) => !after.cids.includes(cid))).toEqual([]);
  expect(report.lostAcked).toEqual([]);
  expect(report.acked).toBeGreaterThan(10);
  expect(report.coreMissed.every((missed) => missed === 0), report.summary).toBe(true);
  expect(Object.values(report.reconnects).every((n) => n === 0), report.summary).toBe(true);
  expect(report.closedEarly).toEqual([]);
  await stack.expectNoChanges();
}

beforeAll(async () => {
  prepareEngine();
  const dev = readStackFile(DEV_STACK_FIXTURE);
  const [client, monitor, surveyor] = [await freePort(), await freePort(), await freePort()];
  monitorUrl = `http://127.0.0.1:${monitor}`;
  stack = new EngineStack({
    ...dev,
    services: [
      ...(dev.services as object[]),
      { name: "billing-service", account: "BILLING", publish: ["billing.>"], subscribe: ["billing.>"], jetstream: { kv: [{ bucket: "prices", access: "write" }], objects: [{ store: "invoices", access: "write" }] } },
    ],
    accounts: [{ name: "APP", jetstream: true }, { name: "BILLING", jetstream: true }],
    streams: (dev.streams as object[]).map((s) => ({ ...s, duplicateWindow: `${DEV_TRAFFIC.duplicateWindowMs / 1000}s` })),
    kv: [{ bucket: "prices", account: "BILLING", history: 3 }],
    objectStores: [{ store: "invoices", account: "BILLING", maxBytes: "64MB" }],
    server: { ...(dev.server as object), clientPort: client, monitorPort: monitor },
    docker: { surveyor: { port: surveyor }, natsBox: { enabled: true } },
  });
  await stack.npmOk("up", ["--yes"]);
  await stack.expectNoChanges();
});

afterAll(async () => {
  await stack?.dispose();
});

describe("a single server with two accounts, streams, KV, object store, Surveyor and nats-box", () => {
  test("what was deployed works: the KV bucket and object store through the intents, nats-box through its context", async () => {
    const billing = (await stack.outputs()).credentials["billing-service"];
    const nc = await connect({ servers: billing.url.split(","), user: billing.user, pass: billing.password, inboxPrefix: billing.inboxPrefix });
    try {
      const kv = await new Kvm(nc).open("prices");
      await kv.put("apple", "3");
      expect((await kv.get("apple"))?.string()).toBe("3");
      const store = await new Objm(nc).open("invoices");
      await store.putBlob({ name: "inv-1" }, new TextEncoder().encode("paid"));
      expect(new TextDecoder().decode((await store.getBlob("inv-1"))!)).toBe("paid");
    } finally {
      await nc.close();
    }
    const box = docker(["exec", `${stack.prefix}-nats-box`, "nats", "stream", "info", "EVENTS", "--json"]);
    expect(box.status, box.stderr).toBe(0);
    expect(JSON.parse(box.stdout).config.name).toBe("EVENTS");
  });

  test("adding a service: +1 password, the config command updated, nothing replaced; reloaded with no client lost", async () => {
    await changeUnderTraffic({ ...stack.config, services: [...services(), { name: "audit-service", publish: ["audit.>"], subscribe: ["audit.>"] }] }, [
      `create nats-password-audit-service`,
      `update nats-config`,
    ]);
    const audit = (await stack.outputs()).credentials["audit-service"];
    const nc = await connect({ servers: audit.url.split(","), user: audit.user, pass: audit.password, inboxPrefix: audit.inboxPrefix });
    await nc.close();
  });

  test("editing a service's permissions: only the config command updated", async () => {
    const edited = services().map((s) => (s.name === "audit-service" ? { ...s, publish: ["audit.>", "events.audit"] } : s));
    await changeUnderTraffic({ ...stack.config, services: edited }, [`update nats-config`]);
  });

  test("removing a service: its password deleted, the config command updated, nothing replaced", async () => {
    await changeUnderTraffic({ ...stack.config, services: services().filter((s) => s.name !== "audit-service") }, [`delete nats-password-audit-service`, `update nats-config`]);
  });
});
