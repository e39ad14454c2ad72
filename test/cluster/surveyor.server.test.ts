// NATS Surveyor against a real 3-node cluster, with the environment and config file the
// component declares for a 3-node stack (taken under Pulumi mocks, as test/components/surveyor.server.test.ts does for
// one server): only the in-Docker server URLs and the generated password are swapped for the
// local ones. It must survey every node, report the missing one while a node is down (SIGKILL),
// and all three again once it is back.
import { afterAll, beforeAll, expect, test } from "vitest";
import { readStackFile } from "../../config/load";
import { SURVEYOR_USER } from "../../config/users";
import { startCluster, type RunningCluster } from "../harness/natsCluster";
import { waitFor } from "../harness/natsServer";
import { runProgram, unwrapSecrets } from "../harness/pulumiMocks";
import { declaredSurveyor, localSurveyor, startSurveyor, surveyorBinary, type DeclaredSurveyor, type RunningSurveyor } from "../harness/surveyor";
import { DEV_STACK_FIXTURE } from "../harness/tools";

const NODES = 3;
const STACK = { ...readStackFile(DEV_STACK_FIXTURE), cluster: { nodes: NODES } };

let cluster: RunningCluster;
let surveyor: RunningSurveyor | undefined;
let declared: DeclaredSurveyor;

beforeAll(async () => {
  const binary = surveyorBinary();
  console.log(`nats-surveyor that runs: ${binary.path}, from: ${binary.source}`);
  const run = await runProgram(STACK);
  declared = declaredSurveyor(unwrapSecrets(run.byName("nats-surveyor").inputs) as any);
  cluster = await startCluster(STACK, NODES);
}, 120_000);

afterAll(async () => {
  await surveyor?.stop();
  await cluster?.stop();
});

/** The node Surveyor's own connection is on, from each node's /connz. */
async function surveyorHome(): Promise<number> {
  for (const node of cluster.nodes) {
    const connz = (await (await fetch(`${node.monitorUrl}/connz?auth=true`)).json()) as { connections?: { authorized_user?: string }[] };
    if ((connz.connections ?? []).some((c) => c.authorized_user === SURVEYOR_USER)) return node.index;
  }
  throw new Error("no node lists a connection of the Surveyor user");
}

/** Waits (bounded) until Surveyor reports `count` surveyed servers; returns how long that took. */
async function untilSurveyed(count: number, timeoutMs = 30_000): Promise<number> {
  const started = Date.now();
  let last: number | undefined;
  await waitFor(async () => (last = await surveyor!.surveyedCount()) === count, timeoutMs, () => `nats_survey_surveyed_count stayed ${last}, not ${count}; Surveyor's log:\n${surveyor!.log().slice(-2000)}`);
  return Date.now() - started;
}

test("the declared environment names every node and waits for all of them", () => {
  expect(declared.env.NATS_SURVEYOR_SERVERS.split(",")).toHaveLength(NODES);
  expect(declared.env.NATS_SURVEYOR_COUNT).toBe(String(NODES));
  expect(declared.env.NATS_SURVEYOR_USER).toBe(SURVEYOR_USER);
});

test("surveys all 3 nodes; 2 while one is SIGKILLed; 3 again after its restart", async () => {
  const local = localSurveyor(declared, cluster.urlList, cluster.passwords[SURVEYOR_USER]);
  expect(Object.keys(local.env).filter((k) => local.env[k] !== declared.env[k])).toEqual(["NATS_SURVEYOR_SERVERS"]);
  surveyor = await startSurveyor(local);

  await untilSurveyed(3);
  const metrics = await surveyor.metrics();
  expect(metrics).toMatch(/^nats_up 1$/m);
  const named = (text: string) => [...new Set([...text.matchAll(/^nats_core_mem_bytes\{[^}]*server_name="([^"]+)"/gm)].map((m) => m[1]))].sort();
  expect(named(metrics)).toEqual(cluster.nodes.map((n) => n.serverName));

  // First a node Surveyor is not connected to, then the one it is (its connection moves).
  const home = await surveyorHome();
  const away = cluster.nodes.find((n) => n.index !== home)!.index;
  const timings: string[] = [];
  for (const index of [away, home]) {
    const name = cluster.nodes[index].serverName;
    await cluster.kill(index);
    const downMs = await untilSurveyed(2);
    expect(named(await surveyor.metrics())).toEqual(cluster.nodes.filter((n) => n.index !== index).map((n) => n.serverName));
    await cluster.start(index);
    const backMs = await untilSurveyed(3);
    expect(named(await surveyor.metrics())).toEqual(cluster.nodes.map((n) => n.serverName));
    timings.push(`${name}${index === home ? " (Surveyor's server)" : ""}: 3 -> 2 ${downMs} ms after its SIGKILL, -> 3 ${backMs} ms after it was healthy again`);
  }
  console.log(`surveyed count: ${timings.join("; ")}`);
}, 120_000);
