// ops/health against a local stand-in for /healthz: what each kind of answer reads as, and the
// wait's error naming the node and its last answer.
import { afterEach, describe, expect, test } from "vitest";
import { checkHealth, describeHealth, NotHealthyError, waitHealthy } from "../../ops/health";
import { freePort } from "../harness/ports";
import { notCurrent, startFakeHealthz, type FakeHealthz } from "./fakeHealthz";

let fake: FakeHealthz;
afterEach(() => fake?.close());

describe("checkHealth", () => {
  test("ok, the server's error text, a non-JSON body, and no answer at all", async () => {
    fake = await startFakeHealthz({ a: "ok", b: notCurrent(), c: { status: 502, body: "<html>Bad Gateway</html>" }, d: "down" });
    expect(await checkHealth(fake.monitorUrl("a"))).toEqual({ ok: true, status: 200, detail: "ok" });
    const b = await checkHealth(fake.monitorUrl("b"));
    expect(b).toEqual({ ok: false, status: 503, detail: "JetStream stream 'APP > ORDERS' is not current: group node unhealthy" });
    expect(describeHealth(b)).toBe("503 JetStream stream 'APP > ORDERS' is not current: group node unhealthy");
    expect(await checkHealth(fake.monitorUrl("c"))).toEqual({ ok: false, status: 502, detail: "<html>Bad Gateway</html>" });
    const d = await checkHealth(fake.monitorUrl("d"));
    expect(d.ok).toBe(false);
    expect(d.status).toBeUndefined();
    expect(d.detail).toMatch(/^no answer: /);
    const closed = await checkHealth(`http://127.0.0.1:${await freePort()}`);
    expect(closed.detail).toMatch(/^no answer: connect ECONNREFUSED 127\.0\.0\.1:\d+$/);
  });

  test("js-enabled-only asks the server for that check only", async () => {
    fake = await startFakeHealthz({ a: "ok" });
    await checkHealth(fake.monitorUrl("a"), "js-enabled-only");
    await checkHealth(`${fake.monitorUrl("a")}/`);
    expect(fake.requests.map((r) => r.query)).toEqual(["?js-enabled-only=true", ""]);
  });
});

describe("waitHealthy", () => {
  test("resolves once every node is ok", async () => {
    fake = await startFakeHealthz({ a: "ok", b: notCurrent() });
    setTimeout(() => fake.set("b", "ok"), 100);
    await waitHealthy([{ name: "a", monitorUrl: fake.monitorUrl("a") }, fake.monitorUrl("b")], 3_000, { intervalMs: 10 });
    expect(fake.requests.filter((r) => r.node === "b").length).toBeGreaterThan(1);
  });

  test("times out naming the first unhealthy node and its last answer, and every other unhealthy node", async () => {
    fake = await startFakeHealthz({ a: "ok", b: notCurrent(), c: "down" });
    const nodes = ["a", "b", "c"].map((name) => ({ name: `nats-${name}`, monitorUrl: fake.monitorUrl(name) }));
    const error = (await waitHealthy(nodes, 200, { intervalMs: 10 }).catch((e: unknown) => e)) as NotHealthyError;
    expect(error).toBeInstanceOf(NotHealthyError);
    expect(error.node).toBe("nats-b");
    expect(error.unhealthy.map((u) => u.name)).toEqual(["nats-b", "nats-c"]);
    expect(error.message).toMatch(/^node nats-b is not healthy after \d+ ms; its last \/healthz: 503 JetStream stream 'APP > ORDERS' is not current: group node unhealthy \(also not healthy: nats-c: no answer: .+\)$/);
  });

  test("a bare URL names the node by its URL", async () => {
    fake = await startFakeHealthz({ a: notCurrent() });
    await expect(waitHealthy([fake.monitorUrl("a")], 50, { intervalMs: 10 })).rejects.toThrow(`node ${fake.monitorUrl("a")} is not healthy`);
  });
});
