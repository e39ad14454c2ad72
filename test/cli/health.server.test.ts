// `nats-infra health` against real servers: a healthy single server, a cluster with one node
// down (exit 1, the node named), nothing listening (exit 3), --wait, --json, and bad flags.
import { afterAll, beforeAll, expect, test } from "vitest";
import { natsInfra as nats } from "../harness/cli";
import { readStackFile } from "../../config/load";
import { startCluster, type RunningCluster } from "../harness/natsCluster";
import { freePort } from "../harness/ports";
import { DEV_STACK_FIXTURE } from "../harness/tools";


let cluster: RunningCluster;
beforeAll(async () => {
  cluster = await startCluster(readStackFile(DEV_STACK_FIXTURE), 3);
});
afterAll(() => cluster?.stop());

const targetFlags = () => ["--url", cluster.urls, "--monitor-url", cluster.nodes.map((n) => n.monitorUrl).join(",")];

test("every node healthy: one line per node, exit 0; --json says the same for scripts", async () => {
  const text = await nats("health", ...targetFlags());
  expect(text.code).toBe(0);
  expect(text.stdout.trim().split("\n")).toHaveLength(3);
  for (const line of text.stdout.trim().split("\n")) expect(line).toMatch(/\s+ok$/);
  const json = await nats("health", ...targetFlags(), "--json");
  expect(JSON.parse(json.stdout)).toMatchObject({ healthy: true, nodes: [{ healthy: true }, { healthy: true }, { healthy: true }] });
});

test("one node down: exit 1 and that node named with why; --wait brings it back to 0 once it is up", async () => {
  await cluster.kill(2);
  const down = await nats("health", ...targetFlags());
  expect(down.code).toBe(1);
  const lines = down.stdout.trim().split("\n");
  expect(lines[2]).toContain("no answer");
  expect(lines[0]).toMatch(/ok$/);
  const restart = cluster.start(2);
  const waited = await nats("health", ...targetFlags(), "--wait", "60s");
  await restart;
  expect(waited.code, waited.stdout).toBe(0);
});

test("nothing listening: exit 3; bad flags: exit 2 with the usage, no stack trace", async () => {
  const port = await freePort();
  const none = await nats("health", "--url", `nats://127.0.0.1:${port}`, "--monitor-url", `http://127.0.0.1:${port}`);
  expect(none.code).toBe(3);
  const bad = await nats("health", ...targetFlags(), "--wait", "soon");
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain("--wait soon: not a duration");
  expect(bad.stderr).not.toMatch(/^\s+at /m);
  const noTarget = await nats("health", "--dev", "/nonexistent/state");
  expect(noTarget.code).toBe(2);
  expect(noTarget.stderr).toContain("is not a dev server's state directory");
});
