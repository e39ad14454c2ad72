// ops/rollingRestart with fake nodes: each restart() flips what a local stand-in for /healthz
// answers, the way a real server goes down, comes back not current, and catches up. Checks the
// order, that no node goes down while any node is unhealthy, and that the first failure ends the
// run with the node and its /healthz answer named.
import { afterEach, describe, expect, test } from "vitest";
import { rollingRestart, RollingRestartError, type RestartableNode } from "../../ops/rollingRestart";
import { notCurrent, startFakeHealthz, type FakeAnswer, type FakeHealthz } from "./fakeHealthz";

const NAMES = ["nats-0", "nats-1", "nats-2"];
const FAST = { pollIntervalMs: 10, healthTimeoutMs: 3_000, restartTimeoutMs: 3_000 };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let fake: FakeHealthz;
afterEach(() => fake?.close());

/** What happened, in order: each restart with what every node's /healthz answered at that moment. */
type Event = { restart: string; healthAtRestart: Record<string, FakeAnswer> } | { healthy: string };

/**
 * Fake nodes whose restart() goes down, comes back "not current", and turns ok a few polls later
 * (as a real server catching up its streams does). `during` runs inside the restart, before the
 * node comes back, to disturb the others; `after` decides how the node comes back.
 */
function fakeNodes(events: Event[], hooks: { during?: (name: string) => void; after?: (name: string) => FakeAnswer | Promise<never> } = {}): RestartableNode[] {
  return NAMES.map((name) => ({
    name,
    monitorUrl: fake.monitorUrl(name),
    async restart() {
      events.push({ restart: name, healthAtRestart: Object.fromEntries(NAMES.map((n) => [n, fake.answer(n)])) });
      fake.set(name, "down");
      hooks.during?.(name);
      await sleep(30);
      const after = hooks.after?.(name);
      if (after instanceof Promise) return after;
      fake.set(name, notCurrent());
      setTimeout(() => {
        fake.set(name, after ?? "ok");
        if ((after ?? "ok") === "ok") events.push({ healthy: name });
      }, 60);
    },
  }));
}

describe("rollingRestart", () => {
  test("restarts every node once, in order, each only while every node is healthy", async () => {
    fake = await startFakeHealthz(Object.fromEntries(NAMES.map((n) => [n, "ok"])));
    // nats-1 is catching up when the run begins; each restart also makes the next node fall
    // behind for a moment, as a replica that lost its leader does.
    fake.set("nats-1", notCurrent());
    setTimeout(() => fake.set("nats-1", "ok"), 150);
    const events: Event[] = [];
    const nodes = fakeNodes(events, {
      during: (name) => {
        const next = NAMES[NAMES.indexOf(name) + 1];
        if (!next) return;
        fake.set(next, notCurrent());
        setTimeout(() => fake.set(next, "ok"), 200);
      },
    });

    const report = await rollingRestart(nodes, FAST);

    expect(events.flatMap((e) => ("restart" in e ? [e.restart] : []))).toEqual(NAMES);
    for (const event of events) if ("restart" in event) expect(event.healthAtRestart, `health when ${event.restart} was restarted`).toEqual(Object.fromEntries(NAMES.map((n) => [n, "ok"])));
    // Each node is healthy again before the next one goes down.
    expect(events.map((e) => ("restart" in e ? `restart ${e.restart}` : `healthy ${e.healthy}`))).toEqual(NAMES.flatMap((n) => [`restart ${n}`, `healthy ${n}`]));
    expect(report.nodes.map((n) => n.name)).toEqual(NAMES);
    for (const node of report.nodes) for (const ms of [node.waitedMs, node.downMs, node.untilHealthyMs]) expect(ms).toBeGreaterThanOrEqual(0);
    console.log(`fake rolling restart: ${JSON.stringify(report)}`);
  });

  test("says where a node runs when it is given (a node on another Docker host), and only then", async () => {
    fake = await startFakeHealthz(Object.fromEntries(NAMES.map((n) => [n, "ok"])));
    const nodes = fakeNodes([]).map((node, i) => (i === 0 ? node : { ...node, where: `ssh://admin@10.0.0.${i + 5}` }));
    const lines: string[] = [];
    await rollingRestart(nodes, { ...FAST, log: (line) => lines.push(line) });
    expect(lines.filter((line) => line.includes(": restarting"))).toEqual(["nats-0: restarting", "nats-1: restarting at ssh://admin@10.0.0.6", "nats-2: restarting at ssh://admin@10.0.0.7"]);
  });

  test("waits on the full /healthz, not js-enabled-only", async () => {
    fake = await startFakeHealthz(Object.fromEntries(NAMES.map((n) => [n, "ok"])));
    await rollingRestart(fakeNodes([]), FAST);
    expect(fake.requests.length).toBeGreaterThan(0);
    expect(new Set(fake.requests.map((r) => r.query))).toEqual(new Set([""]));
  });

  test("a node that stays not current after its restart stops the run: named, with its /healthz answer, nothing further restarted", async () => {
    fake = await startFakeHealthz(Object.fromEntries(NAMES.map((n) => [n, "ok"])));
    const events: Event[] = [];
    const nodes = fakeNodes(events, { after: (name) => (name === "nats-1" ? notCurrent() : "ok") });

    const error = await rollingRestart(nodes, { ...FAST, healthTimeoutMs: 500 }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(RollingRestartError);
    const failure = error as RollingRestartError;
    expect(failure.node).toBe("nats-1");
    expect(failure.phase).toBe("after restart");
    expect(failure.health?.node).toBe("nats-1");
    expect(failure.message).toContain("nats-1");
    expect(failure.message).toContain("503 JetStream stream 'APP > ORDERS' is not current: group node unhealthy");
    expect(failure.message).toContain("not restarted: nats-2");
    expect(failure.completed.map((c) => c.name)).toEqual(["nats-0"]);
    expect(events.flatMap((e) => ("restart" in e ? [e.restart] : []))).toEqual(["nats-0", "nats-1"]);
  });

  test("restarting some nodes: a node not restarted (healthyBefore) that is unhealthy keeps them all up, and is named", async () => {
    fake = await startFakeHealthz({ "nats-0": "ok", "nats-1": "ok", "nats-2": "down" });
    const events: Event[] = [];
    const cluster = NAMES.map((name) => ({ name, monitorUrl: fake.monitorUrl(name) }));

    const onlyFirst = fakeNodes(events).slice(0, 1);
    const error = (await rollingRestart(onlyFirst, { ...FAST, healthTimeoutMs: 300, healthyBefore: cluster }).catch((e: unknown) => e)) as RollingRestartError;

    expect(error).toBeInstanceOf(RollingRestartError);
    expect([error.node, error.phase, error.health?.node]).toEqual(["nats-0", "before restart", "nats-2"]);
    expect(events).toEqual([]);
  });

  test("another node that never becomes healthy: no node is taken down, the error names that node", async () => {
    fake = await startFakeHealthz({ "nats-0": "ok", "nats-1": "ok", "nats-2": "down" });
    const events: Event[] = [];

    const error = (await rollingRestart(fakeNodes(events), { ...FAST, healthTimeoutMs: 300 }).catch((e: unknown) => e)) as RollingRestartError;

    expect(error).toBeInstanceOf(RollingRestartError);
    expect(error.node).toBe("nats-0");
    expect(error.phase).toBe("before restart");
    expect(error.health?.node).toBe("nats-2");
    expect(error.message).toMatch(/before restarting nats-0: node nats-2 is not healthy after \d+ ms; its last \/healthz: no answer: /);
    expect(error.message).toContain("no node was restarted");
    expect(events).toEqual([]);
  });

  test("a restart that throws, or never finishes, stops the run", async () => {
    fake = await startFakeHealthz(Object.fromEntries(NAMES.map((n) => [n, "ok"])));
    const events: Event[] = [];
    const throwing = fakeNodes(events, { after: (name) => (name === "nats-0" ? Promise.reject(new Error("container exited with 1")) : "ok") });
    const thrown = (await rollingRestart(throwing, FAST).catch((e: unknown) => e)) as RollingRestartError;
    expect(thrown).toBeInstanceOf(RollingRestartError);
    expect([thrown.node, thrown.phase]).toEqual(["nats-0", "restart"]);
    expect(thrown.message).toContain("restarting nats-0 failed: container exited with 1");
    expect(events.flatMap((e) => ("restart" in e ? [e.restart] : []))).toEqual(["nats-0"]);

    fake.set("nats-0", "ok");
    const hanging = NAMES.map((name) => ({ name, monitorUrl: fake.monitorUrl(name), restart: () => new Promise<void>(() => undefined) }));
    const timedOut = (await rollingRestart(hanging, { ...FAST, restartTimeoutMs: 100 }).catch((e: unknown) => e)) as RollingRestartError;
    expect([timedOut.node, timedOut.phase]).toEqual(["nats-0", "restart"]);
    expect(timedOut.message).toContain("restart() did not finish within 100 ms");
  });

  test("refuses two nodes of one name; an empty list restarts nothing", async () => {
    const node = { name: "nats-0", monitorUrl: "http://127.0.0.1:1", restart: async () => undefined };
    await expect(rollingRestart([node, node])).rejects.toThrow("node name nats-0 appears twice");
    expect((await rollingRestart([])).nodes).toEqual([]);
  });
});
