// `nats-infra status` against real servers: numbers that match what the test did (connections
// per account, messages in and out, a stream's message count, a config reload), --json, a slow
// consumer made for real (exit 1, node and account named), a cluster (routes by name, each
// stream counted once, traffic across a route counted once), one node killed (exit 1, named),
// nothing listening (exit 3), Docker unreachable (said in the container column, not a failure)
// and bad flags (exit 2).
import { jetstream } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { connect as tcpConnect, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { natsInfra as nats, type CliRun as Run } from "../harness/cli";
import { formatStatus } from "../../cli/commands/status";
import { readStackFile } from "../../config/load";
import { jetstreamAdminUser } from "../../config/users";
import { NATS_SERVER } from "../../config/pinnedVersions";
import { collectStatus, type Status } from "../../ops/status";
import { reconcile } from "../../streams/reconcile";
import { clusterStack, createDeclaredStreams, STREAM, STREAM_SUBJECT } from "../cluster/support/clusterStack";
import { startCluster, type RunningCluster } from "../harness/natsCluster";
import { configLoadTime, startNats, waitFor, type RunningNats } from "../harness/natsServer";
import type { Login } from "../harness/login";
import { freePort } from "../harness/ports";
import { DEV_STACK_FIXTURE } from "../harness/tools";


const BILLING = "billing-service";
/** The dev stack plus a second account, so per-account numbers can be told apart exactly. */
function twoAccountStack(): Record<string, unknown> {
  const dev = readStackFile(DEV_STACK_FIXTURE);
  return {
    ...dev,
    accounts: [{ name: "APP" }, { name: "BILLING" }],
    services: [...(dev.services as object[]), { name: BILLING, account: "BILLING", publish: ["billing.>"], subscribe: ["billing.>"] }],
  };
}

type Connection = Awaited<ReturnType<typeof connect>>;
const opened: Connection[] = [];
/** As `user` of a harness server or cluster, with its inbox prefix (the dev stack is private). */
async function open(servers: string, user: string, running: { login(user: string): Login }): Promise<Connection> {
  const nc = await connect({ servers, ...running.login(user) });
  opened.push(nc);
  return nc;
}
async function closeAll(): Promise<void> {
  await Promise.all(opened.splice(0).map((nc) => nc.close()));
}

const json = (run: Run) => JSON.parse(run.stdout) as Status;
const lineOf = (text: string, first: string) => text.split("\n").find((l) => l.split(/\s{2,}/)[0] === first);

describe("a single server", () => {
  let server: RunningNats;
  const targetFlags = () => ["--url", server.url, "--monitor-url", server.monitorUrl];

  beforeAll(async () => {
    server = await startNats(twoAccountStack());
    const admin = jetstreamAdminUser("APP");
    await reconcile(server.config.streams, { url: server.url, env: { NATS_PASSWORD: server.passwords[admin] }, dryRun: false, reportOthers: false, log: () => undefined });
  });
  afterAll(async () => {
    await closeAll();
    await server?.stop();
  });

  test("connections, messages and the stream count are what the clients did; exit 0; --json says the same", async () => {
    for (let i = 0; i < 3; i++) await open(server.url, BILLING, server);
    const teacher = await open(server.url, "teacher-service", server);
    const billing = opened[0];
    for (let i = 0; i < 7; i++) billing.publish("billing.invoice", "0123456789");
    await billing.flush();
    const js = jetstream(teacher);
    for (let i = 0; i < 25; i++) await js.publish("events.teacher", `event ${i}`);

    const text = await nats("status", ...targetFlags());
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain("no problems found");
    const node = lineOf(text.stdout, server.url)!;
    expect(node.split(/\s{2,}/).slice(1, 4)).toEqual(["nats-0", "ok", NATS_SERVER.version.replace(/^v/, "")]);
    expect(lineOf(text.stdout, "BILLING")!.split(/\s{2,}/).slice(0, 5)).toEqual(["BILLING", "3", "0", "7", "70 B"]);
    expect(lineOf(text.stdout, "APP > EVENTS")!.split(/\s{2,}/)[1]).toBe("25");
    expect(text.stdout).not.toContain("pw-");

    const data = json(await nats("status", ...targetFlags(), "--json"));
    const billingAccount = data.accounts.find((a) => a.name === "BILLING")!;
    expect(billingAccount).toMatchObject({ connections: 3, in: { msgs: 7, bytes: 70 }, out: { msgs: 0, bytes: 0 }, slowConsumers: 0 });
    const app = data.accounts.find((a) => a.name === "APP")!;
    expect(app.connections).toBe(1);
    // 25 acknowledged publishes in, their 25 acknowledgements out (and the reconciler's API calls).
    expect(app.in.msgs).toBeGreaterThanOrEqual(25);
    expect(app.out.msgs).toBeGreaterThanOrEqual(25);
    expect(app).toMatchObject({ streams: 1, messages: 25 });
    expect(data.streams).toEqual([expect.objectContaining({ account: "APP", name: "EVENTS", messages: 25, consumers: 1, leader: "nats-0" })]);
    const reported = data.nodes[0].server!;
    expect(reported).toMatchObject({ serverName: "nats-0", connections: 4, slowConsumers: 0, routes: [] });
    expect(reported.jetstream).toMatchObject({ streams: 1, maxMemory: 1024 ** 3, maxStorage: 50 * 1024 ** 3 });
    expect(reported.jetstream!.storage).toBeGreaterThan(0);
    expect(data.problems).toEqual([]);
    await closeAll();
  });

  test("the last config load time is the server's: a reload moves it", async () => {
    const before = json(await nats("status", ...targetFlags(), "--json")).nodes[0].server!.configLoadTime;
    expect(before).toBe(await configLoadTime(server.monitorUrl));
    await server.reload();
    const after = json(await nats("status", ...targetFlags(), "--json")).nodes[0].server!.configLoadTime;
    expect(after).toBe(await configLoadTime(server.monitorUrl));
    expect(after).not.toBe(before);
  });

  test("a slow consumer: exit 1, the node and its account named under problems", async () => {
    await makeSlowConsumer(server);
    const run = await nats("status", ...targetFlags());
    expect(run.code).toBe(1);
    const problems = run.stdout.slice(run.stdout.indexOf("problems:"));
    expect(problems).toMatch(new RegExp(`${escape(server.url)}: \\d+ slow consumers? since it started \\(BILLING \\d+\\)`));
  });

  test("a container whose Docker cannot be reached: said in its column, not a failure", async () => {
    const target = { source: "test", nodes: [{ name: "nats-0", clientUrl: server.url, monitorUrl: server.monitorUrl, container: { name: "nats-infra-nats", dockerHost: "unix:///nonexistent/docker.sock" } }], url: server.url, credentials: {}, admins: {} };
    const status = await collectStatus(target);
    expect(status.nodes[0].container).toEqual({ name: "nats-infra-nats", problem: "Docker unreachable at unix:///nonexistent/docker.sock" });
    expect(status.problems.some((p) => p.includes("container"))).toBe(false);
    expect(formatStatus(status)).toContain("Docker unreachable at unix:///nonexistent/docker.sock");
  });
});

describe("a cluster of three", () => {
  let cluster: RunningCluster;
  const targetFlags = () => ["--url", cluster.urls, "--monitor-url", cluster.nodes.map((n) => n.monitorUrl).join(",")];

  beforeAll(async () => {
    const stack = clusterStack(3);
    const two = twoAccountStack();
    cluster = await startCluster({ ...stack, accounts: two.accounts, services: [...(stack.services as object[]), ...(two.services as object[]).slice(-1)] }, 3);
    await createDeclaredStreams(cluster);
  });
  afterAll(async () => {
    await closeAll();
    await cluster?.stop();
  });

  test("routes by name, connections summed over nodes, an R3 stream counted once, routed traffic counted once", async () => {
    for (const node of cluster.nodes) await open(node.url, "teacher-service", cluster);
    const subscriber = await open(cluster.nodes[1].url, BILLING, cluster);
    let received = 0;
    subscriber.subscribe("billing.>", { callback: () => received++ });
    await subscriber.flush();
    const publisher = await open(cluster.nodes[0].url, BILLING, cluster);
    // The subscription reaches node 0 over the route a moment after node 1 has it.
    await waitFor(async () => {
      publisher.publish("billing.probe", "x");
      await publisher.flush();
      return received > 0;
    }, 10_000, () => "the subscriber on node 1 never got a message published on node 0");
    const producer = await open(cluster.urls, "order-service", cluster);
    for (let i = 0; i < 40; i++) await jetstream(producer).publish(STREAM_SUBJECT, `order ${i}`);
    // Start counting once every probe in flight has arrived: the report and the subscriber agree.
    const billingNow = async () => json(await nats("status", ...targetFlags(), "--json")).accounts.find((a) => a.name === "BILLING")!;
    let before = await billingNow();
    await waitFor(async () => (before = await billingNow()).out.msgs === received, 10_000, () => `BILLING out ${before.out.msgs}, the subscriber got ${received}`);
    for (let i = 0; i < 50; i++) publisher.publish("billing.invoice", "x");
    await publisher.flush();
    await waitFor(async () => received === before.out.msgs + 50, 10_000, () => `the subscriber got ${received}`);

    const run = await nats("status", ...targetFlags());
    expect(run.code, run.stdout).toBe(0);
    const data = json(await nats("status", ...targetFlags(), "--json"));
    const names = cluster.nodes.map((n) => n.serverName);
    data.nodes.forEach((node, i) => expect(node.server!.routes).toEqual(names.filter((_, j) => j !== i)));
    for (const node of cluster.nodes) expect(lineOf(run.stdout, node.url)).toContain(names.filter((n) => n !== node.serverName).join(", "));
    const orders = data.streams.filter((s) => s.name === STREAM);
    expect(orders).toEqual([expect.objectContaining({ account: "APP", messages: 40 })]);
    expect(names).toContain(orders[0].leader);
    expect(data.accounts.find((a) => a.name === "APP")!.connections).toBe(4);
    const billing = data.accounts.find((a) => a.name === "BILLING")!;
    expect(billing.connections).toBe(2);
    // Published once on node 0 and delivered once on node 1: the route in between adds nothing.
    expect(billing.in.msgs - before.in.msgs).toBe(50);
    expect(billing.out.msgs - before.out.msgs).toBe(50);
    await closeAll();
  });

  test("one node killed: exit 1, that node named, the others still reported; nothing listening: exit 3", async () => {
    await cluster.kill(2);
    const down = await nats("status", ...targetFlags());
    expect(down.code).toBe(1);
    expect(lineOf(down.stdout, cluster.nodes[2].url)).toMatch(/no answer/);
    expect(lineOf(down.stdout, cluster.nodes[0].url)).toMatch(/\s+ok\s+/);
    const problems = down.stdout.slice(down.stdout.indexOf("problems:"));
    expect(problems).toContain(`${cluster.nodes[2].url}: no answer`);
    expect(problems).not.toContain(cluster.nodes[0].url);
    const data = json(await nats("status", ...targetFlags(), "--json"));
    expect(data.nodes[2].server).toBeUndefined();
    expect(data.nodes[0].server!.routes).toEqual([cluster.nodes[1].serverName]);

    const port = await freePort();
    const none = await nats("status", "--url", `nats://127.0.0.1:${port}`, "--monitor-url", `http://127.0.0.1:${port}`);
    expect(none.code).toBe(3);
    expect(none.stdout).toContain("no answer");
  });
});

test("bad usage: exit 2 with the usage, no stack trace", async () => {
  const bad = await nats("status", "--url", "nats://127.0.0.1:4222", "--monitor-url", "http://127.0.0.1:8222", "--interval", "2s");
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain("unknown flag --interval");
  expect(bad.stderr).toContain("usage: npx nats-infra status");
  expect(bad.stderr).not.toMatch(/^\s+at /m);
  const mismatch = await nats("status", "--url", "nats://127.0.0.1:4222,nats://127.0.0.1:4223", "--monitor-url", "http://127.0.0.1:8222");
  expect(mismatch.code).toBe(2);
  expect(mismatch.stderr).toContain("--monitor-url: give one monitoring URL per server");
});

/**
 * A real slow consumer: a subscriber that stops reading its socket while a publisher floods its
 * subject, until the server's pending buffer for it (64 MB by default) overflows and the server
 * cuts it off, counting a slow consumer.
 */
async function makeSlowConsumer(server: RunningNats): Promise<void> {
  const { hostname, port } = new URL(server.url);
  const socket: Socket = tcpConnect(Number(port), hostname);
  socket.on("error", () => undefined);
  await new Promise<void>((resolve, reject) => {
    let seen = "";
    socket.on("data", (chunk) => {
      seen += chunk.toString();
      if (seen.includes("PONG")) resolve();
      if (seen.includes("-ERR")) reject(new Error(`the raw subscriber was refused: ${seen}`));
    });
    socket.write(`CONNECT ${JSON.stringify({ verbose: false, pedantic: false, user: BILLING, pass: server.passwords[BILLING] })}\r\nSUB billing.flood 1\r\nPING\r\n`);
  });
  socket.removeAllListeners("data");
  socket.pause();
  const publisher = await open(server.url, BILLING, server);
  const payload = new Uint8Array(512 * 1024);
  const slowConsumers = async () => ((await (await fetch(`${server.monitorUrl}/varz`)).json()) as { slow_consumers: number }).slow_consumers;
  try {
    await waitFor(
      async () => {
        for (let i = 0; i < 40; i++) publisher.publish("billing.flood", payload);
        await publisher.flush();
        return (await slowConsumers()) > 0;
      },
      30_000,
      () => "the server never counted a slow consumer",
    );
  } finally {
    socket.destroy();
  }
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
