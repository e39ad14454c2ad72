// The dev server's "missing intent" hints (config/missingIntent.ts) on the real server's log
// lines: test-auth's probes get none, requests a hint could not make succeed get none (natscli
// looking up a consumer before creating it, a subscription to a stream a service publishes to),
// and a request an intent would let through gets the hint, which then works.
import { execFile } from "node:child_process";
import { afterAll, beforeAll, expect, test } from "vitest";
import { parseStackConfig } from "../../config/load";
import { explainDenial, isTestAuthProbe, parseViolation, type Denial } from "../../config/missingIntent";
import type { StackConfigInput } from "../../config/schema";
import { natsUsers } from "../../config/users";
import { testAuth } from "../../ops/testAuth";
import { sleep } from "../harness/natsServer";
import { startProbed, type ProbedNats } from "../harness/permissionProbe";
import { toolPath } from "../harness/tools";

const STACK: StackConfigInput = {
  services: [
    { name: "orders-api", publish: ["api.>"], jetstream: { publish: ["ORDERS"] } },
    { name: "fulfilment", jetstream: { consume: [{ stream: "ORDERS", consumer: "fulfilment" }] } },
    { name: "files-reader", jetstream: { objects: [{ store: "files", access: "read" }], kv: [{ bucket: "sessions", access: "read" }] } },
    { name: "reporting", subscribe: ["reports.*"] },
  ],
  streams: [{ name: "ORDERS", subjects: ["orders.>"], consumers: [{ name: "fulfilment" }] }],
  kv: [{ bucket: "sessions" }],
  objectStores: [{ store: "files" }],
};
const raw = STACK as Record<string, unknown>;
const config = parseStackConfig(raw).config;

let stack: ProbedNats;
/** The server's permission-violation lines since the last take(). */
let lines: string[] = [];

beforeAll(async () => {
  stack = await startProbed(raw);
  const collect = (data: Buffer) => lines.push(...data.toString().split("\n").filter((line) => line.includes("Violation")));
  stack.nats.process.stdout!.on("data", collect);
  stack.nats.process.stderr!.on("data", collect);
}, 30_000);

afterAll(() => stack?.close());

/** The denials logged so far (after the log has caught up), and the hints the dev server would print for them. */
async function take(): Promise<{ denials: Denial[]; hints: string[] }> {
  let count = -1;
  while (count !== lines.length) {
    count = lines.length;
    await sleep(200);
  }
  const taken = lines.splice(0);
  // The rest are "Publish Violation - Reply" lines (test-auth's reserved reply subjects): no subject to hint on.
  expect(taken.filter((line) => !parseViolation(line) && !line.includes("Publish Violation - Reply"))).toEqual([]);
  const parsed = taken.map(parseViolation).filter((d): d is Denial => d !== undefined);
  return { denials: parsed, hints: parsed.map((d) => explainDenial(config, d)).filter((h): h is string => h !== undefined) };
}

function nats(user: string, ...args: string[]): Promise<string> {
  const env = { ...process.env, NATS_URL: stack.nats.url, NATS_USER: user, NATS_PASSWORD: stack.nats.passwords[user], NATS_CONTEXT: "" };
  return new Promise((resolve) => execFile(toolPath("nats"), ["--timeout", "1s", ...args], { env, timeout: 10_000 }, (_, stdout, stderr) => resolve(`${stdout}${stderr}`)));
}

test("test-auth's probes are refused by the hundred and hinted nothing", async () => {
  await take();
  const credentials = Object.fromEntries(
    natsUsers(config).filter((u) => u.role === "service").map((u) => [u.user, { user: u.user, password: stack.nats.passwords[u.user], account: u.account, url: stack.nats.url, inboxPrefix: u.inboxPrefix }]),
  );
  const result = await testAuth(config, [{ name: "n1", clientUrl: stack.nats.url, monitorUrl: stack.nats.monitorUrl }], credentials);
  expect(result.checks.map((c) => c.readBy)).toEqual(config.services.map(() => "probe"));
  const { denials, hints } = await take();
  expect(denials.length).toBeGreaterThan(50);
  // Every one is recognised as test-auth's, by the connection name it logs in with.
  expect(denials.filter((d) => !isTestAuthProbe(d))).toEqual([]);
  expect(hints).toEqual([]);
  // Without that name, the same denials would have been hinted: the suppression is what matters.
  const unnamed = denials.map(({ client: _, ...denial }) => explainDenial(config, denial)).filter(Boolean);
  expect(unnamed.length).toBeGreaterThan(0);
}, 30_000);

test("natscli creating a consumer: it looks the new name up first, which no intent can grant", async () => {
  await take();
  const output = await nats("fulfilment", "consumer", "add", "ORDERS", "brand-new", "--pull", "--defaults");
  expect(output).toContain('Permissions Violation for Publish to "$JS.API.CONSUMER.INFO.ORDERS.brand-new"');
  const { denials, hints } = await take();
  const lookup = denials.find((d) => d.subject === "$JS.API.CONSUMER.INFO.ORDERS.brand-new")!;
  expect(explainDenial(config, lookup)).toBeUndefined();
  // Its other requests may be hinted (natscli reads the stream too, which read: [ORDERS] grants), never the new consumer.
  expect(hints.filter((hint) => hint.includes("brand-new"))).toEqual([]);
});

test("a subscription to the stream a service publishes to: jetstream.publish, which it lists already, would not help", async () => {
  await take();
  expect(await nats("orders-api", "sub", "orders.>", "--count", "1")).toContain('Permissions Violation for Subscription to "orders.>"');
  const { denials, hints } = await take();
  expect(denials).toEqual([expect.objectContaining({ user: "orders-api", kind: "subscribe", subject: "orders.>" })]);
  expect(hints).toEqual([]);
});

test("natscli on an object store and a KV bucket the service reads: no denial at all, so no hint", async () => {
  await take();
  await nats("files-reader", "object", "ls", "files");
  await nats("files-reader", "object", "info", "files", "missing.txt");
  await nats("files-reader", "kv", "ls", "sessions");
  expect((await take()).denials).toEqual([]);
});

test("a request an intent would grant gets the hint, and the hinted intent makes it work", async () => {
  await take();
  expect(await nats("reporting", "stream", "info", "ORDERS")).toContain("Permissions Violation");
  const { hints } = await take();
  const index = config.services.findIndex((s) => s.name === "reporting");
  expect(hints).toContain(`reporting was denied publish to "$JS.API.STREAM.INFO.ORDERS" (reading stream ORDERS): add ORDERS to nats-infra:services[${index}].jetstream.read`);

  const services = (raw.services as Record<string, unknown>[]).map((s) => (s.name === "reporting" ? { ...s, jetstream: { read: ["ORDERS"] } } : s));
  stack.nats.rewrite({ ...stack.nats.config, ...raw, services: [...services, ...stack.nats.config.services.filter((s) => s.name.startsWith("zz-"))] } as never);
  await stack.nats.reload();
  expect(await nats("reporting", "stream", "info", "ORDERS")).toMatch(/Information for Stream ORDERS/);
}, 20_000);
