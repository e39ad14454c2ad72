// `nats-infra dev` as a person runs it: a child process on a stack file (the dev stack on free
// ports), then edits of that file while clients stay connected, a bad edit, a setting that needs
// a restart, Ctrl-C, and a second start that keeps the passwords.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { connect } from "@nats-io/transport-node";
import type { NatsConnection } from "@nats-io/nats-core";
import { afterAll, beforeAll, expect, test } from "vitest";
import { Kvm } from "@nats-io/kv";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import type { Credential } from "../../config/credentials";
import { configLoadTime, waitFor } from "../harness/natsServer";
import { freePort } from "../harness/ports";
import { REPO_ROOT } from "../harness/tools";

const scratch = mkdtempSync(path.join(tmpdir(), "nats-infra-dev-"));
const stackFile = path.join(scratch, "Pulumi.dev.yaml");
const stateDir = path.join(scratch, "state");
const original = parseYaml(readFileSync(path.join(REPO_ROOT, "Pulumi.dev.yaml"), "utf8")) as { config: Record<string, unknown> };
let ports: { clientPort: number; monitorPort: number };

interface Dev {
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}

/** The edit of the reload test: a service with a KV bucket of its own. */
function addBilling(config: Record<string, unknown>): void {
  (config["nats-infra:services"] as object[]).push({ name: "billing", publish: ["billing.>"], jetstream: { kv: [{ bucket: "invoices", access: "write" }] } });
  config["nats-infra:kv"] = [{ bucket: "invoices" }];
}

function writeStack(change: (config: Record<string, unknown>) => void = () => undefined): void {
  const config = structuredClone(original.config);
  config["nats-infra:server"] = { ...(config["nats-infra:server"] as object), ...ports };
  change(config);
  writeFileSync(stackFile, stringifyYaml({ config }));
}

function startDev(): Dev {
  const child = spawn(process.execPath, [path.join(REPO_ROOT, "cli", "nats-infra.cjs"), "dev", "--stack-file", stackFile, "--state-dir", stateDir], {
    cwd: REPO_ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let text = "";
  child.stdout!.on("data", (d) => (text += d));
  child.stderr!.on("data", (d) => (text += d));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { child, output: () => text, exited };
}

const credentials = (): Record<string, Credential> => JSON.parse(readFileSync(path.join(stateDir, "credentials.json"), "utf8"));

async function connectAs(user: string): Promise<NatsConnection> {
  const c = credentials()[user];
  return connect({ servers: c.url.split(","), user: c.user, pass: c.password, inboxPrefix: c.inboxPrefix, reconnect: false });
}

const waitForOutput = (dev: Dev, text: string | RegExp, timeoutMs = 60_000) =>
  waitFor(async () => (typeof text === "string" ? dev.output().includes(text) : text.test(dev.output())), timeoutMs, () => `dev did not print ${text}:\n${dev.output()}`);

let dev: Dev;
beforeAll(async () => {
  ports = { clientPort: await freePort(), monitorPort: await freePort() };
  writeStack();
  dev = startDev();
  await waitForOutput(dev, /^ready$/m);
}, 90_000);

afterAll(async () => {
  if (dev.child.exitCode === null && dev.child.signalCode === null) {
    dev.child.kill("SIGINT");
    await dev.exited;
  }
  rmSync(scratch, { recursive: true, force: true });
});

test("prints where everything is; the stack's services connect with the printed credentials and request/reply works", async () => {
  expect(dev.output()).toContain(`clients:     nats://127.0.0.1:${ports.clientPort}`);
  expect(dev.output()).toContain(`credentials: ${path.relative(REPO_ROOT, path.join(stateDir, "credentials.json"))}`);
  // The stack's stream was applied.
  expect(dev.output()).toContain("create stream EVENTS");
  const responder = await connectAs("user-service");
  responder.subscribe("user.get", { callback: (_, msg) => void msg.respond(JSON.stringify({ id: 42 })) });
  await responder.flush();
  const requester = await connectAs("teacher-service");
  expect((await requester.request("user.get", "{}", { timeout: 2000 })).string()).toBe('{"id":42}');
  await requester.close();
  await responder.close();
});

test("a service denied a JetStream subject: the dev server says which intent would grant it", async () => {
  const teacher = await connectAs("teacher-service");
  // teacher-service has no consume intent for EVENTS/notification-service: the server denies the pull.
  await teacher.request("$JS.API.CONSUMER.MSG.NEXT.EVENTS.notification-service", JSON.stringify({ batch: 1, no_wait: true }), { timeout: 1000 }).catch(() => undefined);
  await teacher.close();
  const index = (original.config["nats-infra:services"] as { name: string }[]).findIndex((s) => s.name === "teacher-service");
  await waitForOutput(dev, `add { stream: EVENTS, consumer: notification-service } to nats-infra:services[${index}].jetstream.consume`, 10_000);
  expect(dev.output()).toContain('hint: teacher-service was denied publish to "$JS.API.CONSUMER.MSG.NEXT.EVENTS.notification-service"');
});

test("an edit is applied by a reload: a new service and its KV bucket can be used at once, connected clients stay connected", async () => {
  const teacher = await connectAs("teacher-service");
  let disconnects = 0;
  void (async () => {
    for await (const status of teacher.status()) if (status.type === "disconnect") disconnects++;
  })();
  writeStack(addBilling);
  await waitForOutput(dev, "applied Pulumi.dev.yaml: reloaded");
  await waitForOutput(dev, "applied: KV bucket invoices");
  await waitForOutput(dev, "applied Pulumi.dev.yaml: reloaded\n  + user billing\n  + KV bucket invoices");
  const billing = await connectAs("billing");
  billing.publish("billing.invoice", "1");
  // The service has no right to create the bucket: the dev server made it, as a deployment does.
  const invoices = await new Kvm(billing).open("invoices");
  await invoices.put("2026-001", "paid");
  expect((await invoices.get("2026-001"))?.string()).toBe("paid");
  await billing.close();
  await teacher.flush();
  expect(teacher.isClosed()).toBe(false);
  expect(disconnects).toBe(0);
  await teacher.close();
});

test("a save that changes nothing reloads nothing; the next real edit is one reload", async () => {
  const loaded = await configLoadTime(`http://127.0.0.1:${ports.monitorPort}`);
  const before = dev.output().length;
  writeFileSync(stackFile, readFileSync(stackFile, "utf8"));
  // Saves are applied one at a time, 200 ms after the last change: this one is done before the next.
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  expect(await configLoadTime(`http://127.0.0.1:${ports.monitorPort}`)).toBe(loaded);
  writeStack((config) => {
    addBilling(config);
    (config["nats-infra:services"] as object[]).push({ name: "audit", publish: ["audit.>"] });
  });
  await waitFor(async () => dev.output().slice(before).includes("applied Pulumi.dev.yaml: reloaded"), 10_000, () => dev.output().slice(before));
  expect(dev.output().slice(before).match(/applied Pulumi\.dev\.yaml/g)).toHaveLength(1);
});

test("a bad edit is refused with the config's errors, and the server keeps serving the previous config", async () => {
  const before = dev.output().length;
  writeStack((config) => (config["nats-infra:services"] as object[]).push({ name: "broken", publish: ["a..b"] }));
  await waitForOutput(dev, "the servers keep serving the previous config");
  expect(dev.output().slice(before)).toContain("nats-infra:services[3].publish[0]");
  // Still serving, and billing (from the previous edit, not in this file) is still allowed.
  const billing = await connectAs("billing");
  await billing.close();
  expect((await fetch(`http://127.0.0.1:${ports.monitorPort}/healthz`)).ok).toBe(true);
});

/** The running config of the tests above: billing and audit added. */
function withBillingAndAudit(config: Record<string, unknown>): void {
  addBilling(config);
  (config["nats-infra:services"] as object[]).push({ name: "audit", publish: ["audit.>"] });
}

/** user-service may publish audit.user too, and EVENTS keeps fewer messages (or, `memory`, moves to memory, which the server refuses). */
function editUserServiceAndEvents(config: Record<string, unknown>, storage = "file"): void {
  withBillingAndAudit(config);
  const userService = (config["nats-infra:services"] as { name: string; publish: string[] }[]).find((s) => s.name === "user-service")!;
  userService.publish = [...userService.publish, "audit.user"];
  const [events] = config["nats-infra:streams"] as Record<string, unknown>[];
  Object.assign(events, { maxMsgs: 500_000, storage });
}

test("each save says what it did: a refusal only as a refusal, what changed line by line, and a return to what runs", async () => {
  // The bad edit of the test before was refused, and said so once, without "applied".
  expect(dev.output()).not.toContain("applied Pulumi.dev.yaml: refused");
  let before = dev.output().length;
  const since = () => dev.output().slice(before);
  writeStack(withBillingAndAudit);
  await waitFor(async () => since().includes("Pulumi.dev.yaml: back to the running config, nothing to apply"), 10_000, since);
  expect(since()).not.toContain("applied");

  before = dev.output().length;
  writeStack(editUserServiceAndEvents);
  await waitFor(async () => since().includes("applied Pulumi.dev.yaml: reloaded"), 10_000, since);
  expect(since()).toContain("applied Pulumi.dev.yaml: reloaded\n  ~ permissions of user-service\n  ~ stream EVENTS (maxMsgs)\n");

  // A stream change the server cannot make: nothing applied, and no "reloaded" after the refusal.
  before = dev.output().length;
  writeStack((config) => editUserServiceAndEvents(config, "memory"));
  await waitFor(async () => since().includes("nothing applied"), 10_000, since);
  expect(since()).toContain("Pulumi.dev.yaml: nothing applied\n  ! stream EVENTS refused, left as it is (the reasons above)\n");
  expect(since()).not.toContain("reloaded");

  before = dev.output().length;
  writeStack(editUserServiceAndEvents);
  await waitFor(async () => since().includes("back to the running config"), 10_000, since);
  expect(since()).not.toContain("applied");
});

test("a setting the server cannot reload restarts it (lame duck), and clients with the URL list come back", async () => {
  const teacher = await connect({ servers: credentials()["teacher-service"].url.split(","), user: "teacher-service", pass: credentials()["teacher-service"].password, maxReconnectAttempts: -1, reconnectTimeWait: 200 });
  const events: string[] = [];
  void (async () => {
    for await (const status of teacher.status()) events.push(status.type);
  })();
  writeStack((config) => {
    config["nats-infra:jetstream"] = { ...(config["nats-infra:jetstream"] as object), syncInterval: "2s" };
  });
  await waitForOutput(dev, "applied Pulumi.dev.yaml: restarted", 120_000);
  // The services of the edits before are gone from the file; EVENTS is as the dev stack declares it again.
  expect(dev.output()).toContain("applied Pulumi.dev.yaml: restarted\n  ~ permissions of user-service\n  - user billing\n  - user audit\n  restart of nats-0 (jetstream.syncInterval)\n  ~ stream EVENTS (maxMsgs)\n");
  const varz = (await (await fetch(`http://127.0.0.1:${ports.monitorPort}/varz`)).json()) as { jetstream: { config: { sync_interval: number } } };
  expect(varz.jetstream.config.sync_interval).toBe(2_000_000_000);
  // One server: its restart is a short outage; the client was told (lame duck) and comes back.
  await waitFor(async () => events.includes("reconnect"), 30_000, () => `no reconnect; events: ${events.join(", ")}`);
  await teacher.flush();
  expect(teacher.isClosed()).toBe(false);
  console.log(`dev restart, one server: client events ${events.join(", ")}`);
  await teacher.close();
}, 150_000);

test("Ctrl-C stops with lame duck; a second start keeps every password", async () => {
  const passwords = Object.fromEntries(Object.entries(credentials()).map(([user, c]) => [user, c.password]));
  dev.child.kill("SIGINT");
  expect(await dev.exited).toBe(0);
  expect(dev.output()).toContain("stopped");
  expect(readFileSync(path.join(stateDir, "nats-server.log"), "utf8")).toContain("Entering lame duck mode");

  dev = startDev();
  await waitForOutput(dev, /^ready$/m);
  expect(Object.fromEntries(Object.entries(credentials()).map(([user, c]) => [user, c.password]))).toEqual(passwords);
}, 120_000);

test("growing into a cluster on a state dir with a single server's streams is refused, naming them and the way to keep them", async () => {
  dev.child.kill("SIGINT");
  await dev.exited;
  writeStack((config) => {
    config["nats-infra:cluster"] = { nodes: 3 };
  });
  dev = startDev();
  expect(await dev.exited).toBe(1);
  // EVENTS, and the bucket an earlier test's edit added: a bucket is a stream too.
  expect(dev.output()).toContain("holds a single server's JetStream streams (APP > EVENTS, APP > KV_invoices)");
  expect(dev.output()).toContain("npx nats-infra backup");
  // Nothing was started: the single server's data is where it was.
  expect(readFileSync(path.join(stateDir, "jetstream", "APP", "streams", "EVENTS", "meta.inf"), "utf8")).toContain('"name":"EVENTS"');
}, 60_000);
