// A 3-node cluster on one Docker host with a node that dies under traffic (`docker kill`, and
// its server process killed as in a crash): what the engine cannot show, since no `pulumi` command
// is involved. The program runs under Pulumi mocks; the cluster is started from exactly the
// declared specs (config commands run as declared, containers created as the provider creates
// them). Image upgrades, rolling restarts and the replacement guard run on the real engine in
// test/engine/cluster.test.ts.
//
// Traffic meanwhile, every client given the URL list: a JetStream publisher that waits for each
// ack (retrying with the same message id) on its own subject, read back from the stream at the
// end, and core subscribers, a publisher and a request/reply loop (test/harness/steadyTraffic.ts).
import { spawnSync } from "node:child_process";
import { performance } from "node:perf_hooks";
import type * as pulumi from "@pulumi/pulumi";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { RolloutStdin } from "../../components/rolloutContract";
import { readStackFile } from "../../config/load";
import { waitHealthy as waitClusterHealthy } from "../../ops/health";
import {
  dockerOk,
  inspect,
  removeAll,
  requireDocker,
  runDeclaredCommand,
  tempDir,
  TEST_LABEL,
  testImage,
  trackContainer,
  trackNetwork,
  trackVolume,
  uniqueName,
  waitHealthy,
  type DeclaredCommand,
} from "../harness/docker";
import { freePort } from "../harness/ports";
import { sleep, waitFor } from "../harness/natsServer";
import { DEV_TRAFFIC, SteadyTraffic } from "../harness/steadyTraffic";
import { outputValue, runProgram, unwrapSecrets, type ProgramRun } from "../harness/pulumiMocks";
import { createAndStart, engineCreateRequest } from "./containerSpec";
import { DEV_STACK_FIXTURE } from "../harness/tools";

interface Credential {
  user: string;
  password: string;
  url: string;
  inboxPrefix: string;
}

const DEV = readStackFile(DEV_STACK_FIXTURE);
const SUFFIXES = ["", "-1", "-2"];
const STREAM = "EVENTS";
let raw: Record<string, unknown>;
let run: ProgramRun;
let specs: Record<string, any>[];
let monitors: { name: string; monitorUrl: string }[];
let creds: Record<string, Credential>;
let admin: { user: string; password: string; inboxPrefix: string };

const declared = (program: ProgramRun, name: string) => unwrapSecrets(program.byName(name).inputs) as DeclaredCommand & Record<string, any>;
const specsOf = (program: ProgramRun) => SUFFIXES.map((suffix) => declared(program, `nats-nats${suffix}`));

/** Runs a declared command line; fails the test with its output when it fails. */
async function runOk(program: ProgramRun, name: string, which: "create" | "update", env: Record<string, string> = {}): Promise<string> {
  const result = await runDeclaredCommand(declared(program, name), which, { env, timeoutMs: 120_000 });
  if (result.status !== 0) throw new Error(`${name} ${which} failed (${result.status}):\n${result.stderr}${result.stdout}`);
  return `${result.stdout}${result.stderr}`;
}

/** Traffic on the URL list, as the services would connect (test/harness/steadyTraffic.ts). */
function startTraffic(): Promise<SteadyTraffic> {
  return SteadyTraffic.start(
    { servers: creds["teacher-service"].url.split(","), as: (service) => ({ user: creds[service].user, pass: creds[service].password, inboxPrefix: creds[service].inboxPrefix }), admin: { user: admin.user, pass: admin.password, inboxPrefix: admin.inboxPrefix } },
    DEV_TRAFFIC,
  );
}

/** Stops the traffic and checks what the clients saw: nothing acknowledged lost, no client given up, every subscriber receiving after `since`. */
async function endTraffic(traffic: SteadyTraffic, since: number): Promise<string> {
  const report = await traffic.end(since);
  expect(report.acked).toBeGreaterThan(0);
  expect(report.lostAcked, "acknowledged messages the stream does not hold").toEqual([]);
  expect(report.closedEarly).toEqual([]);
  expect(report.coreReceivedSince.every((n) => n > 0)).toBe(true);
  return report.summary;
}

/** The stream's state on one node (/jsz), as that node's replica has it. */
async function streamOn(monitorUrl: string): Promise<{ messages: number; last_seq: number } | undefined> {
  const jsz = (await (await fetch(`${monitorUrl}/jsz?accounts=true&streams=true`)).json()) as {
    account_details?: { stream_detail?: { name: string; state: { messages: number; last_seq: number } }[] }[];
  };
  const stream = (jsz.account_details ?? []).flatMap((a) => a.stream_detail ?? []).find((s) => s.name === STREAM);
  return stream && { messages: stream.state.messages, last_seq: stream.state.last_seq };
}

/** Waits (bounded) until every node's replica holds the same messages; returns them. */
async function replicasAgree(): Promise<string> {
  let states: ({ messages: number; last_seq: number } | undefined)[] = [];
  await waitFor(
    async () => {
      states = await Promise.all(monitors.map((m) => streamOn(m.monitorUrl)));
      return states.every((s) => s !== undefined && s.last_seq === states[0]!.last_seq && s.messages === states[0]!.messages);
    },
    60_000,
    () => `the replicas of ${STREAM} do not agree: ${JSON.stringify(states)}`,
  );
  return JSON.stringify(states[0]);
}

beforeAll(async () => {
  requireDocker();
  const image = testImage();
  const prefix = uniqueName("nats-infra-upg");
  const nodes = [];
  for (let i = 0; i < 3; i++) nodes.push({ clientPort: await freePort(), monitorPort: await freePort() });
  raw = {
    ...DEV,
    cluster: { nodes },
    // Lame duck at the schema's minimum (nats-server refuses less than 30 s).
    server: { ...(DEV.server as object), lameDuckDuration: "30s" },
    docker: { namePrefix: prefix, configDir: `${tempDir("nats-infra-upg-")}/config`, surveyor: { enabled: false }, nats: { image } },
    // Replicated on every node, so one node at a time away keeps its quorum.
    streams: (DEV.streams as object[]).map((s) => ({ ...s, replicas: 3, duplicateWindow: `${DEV_TRAFFIC.duplicateWindowMs / 1000}s` })),
  };
  run = await runProgram(raw);
  specs = specsOf(run);
  for (const spec of specs) {
    trackContainer(spec.name);
    for (const volume of spec.volumes) trackVolume(volume.volumeName);
  }
  const network = specs[0].networksAdvanced[0].name;
  trackNetwork(network);
  dockerOk(["network", "create", "--label", TEST_LABEL, network]);
  monitors = (JSON.parse(declared(run, "nats-rollout").stdin!) as RolloutStdin).nodes.map((n) => ({ name: n.server, monitorUrl: n.monitorUrl }));
  creds = await outputValue(run.exports.credentials as pulumi.Output<Record<string, Credential>>);
  admin = (await outputValue(run.exports.jetstreamAdmins as pulumi.Output<Record<string, { user: string; password: string; inboxPrefix: string }>>)).APP;
}, 120_000);

afterAll(() => {
  removeAll();
});

describe("three nodes as declared", () => {
  test("start from the declared specs (config commands first) and form one cluster with an R3 stream", async () => {
    await Promise.all(SUFFIXES.map((suffix) => runOk(run, `nats-config${suffix}`, "create")));
    await Promise.all(specs.map((spec) => createAndStart(engineCreateRequest(spec, { image: spec.image, extraLabels: { "nats-infra.test": "1" } }))));
    await Promise.all(specs.map((spec) => waitHealthy(spec.name, spec.waitTimeout * 1000)));
    await waitClusterHealthy(monitors, 60_000);
    for (const node of monitors) {
      const routez = (await (await fetch(`${node.monitorUrl}/routez`)).json()) as { routes: { remote_name: string }[] };
      expect([...new Set(routez.routes.map((r) => r.remote_name))].sort()).toEqual(monitors.filter((m) => m !== node).map((m) => m.name).sort());
    }
    expect(await runOk(run, "nats-streams-APP", "create")).toContain(STREAM);
  }, 180_000);
});

describe("a node that dies", () => {
  test("docker kill: clients on the URL list keep publishing (acked) and receiving while it is down; started again, it catches up", async () => {
    const victim = specs[1].name;
    const traffic = await startTraffic();
    await sleep(2_000);
    const restartsBefore = Number(inspect(victim, "{{.RestartCount}}"));
    const killedAt = performance.now();
    dockerOk(["kill", victim]);
    const subscribersSince = () => traffic.core.report(killedAt).subscribers.every((s) => s.receivedSince > 0);
    await waitFor(async () => traffic.publisher.firstAckOfMessageSentAfter(killedAt) !== undefined && subscribersSince(), 60_000, () => "no ack or no core message after the kill");
    const firstAck = Math.round(traffic.publisher.firstAckOfMessageSentAfter(killedAt)! - killedAt);
    // Still down while the clients worked. Docker counts `docker kill` as a stop by hand: the
    // restart policy (unless-stopped) leaves the container stopped, so it is started again here.
    expect(inspect(victim, "{{.State.Running}}")).toBe("false");
    const restartsAfter = Number(inspect(victim, "{{.RestartCount}}"));
    await sleep(3_000);
    const ackedWhileDown = traffic.publisher.acked.length;
    dockerOk(["start", victim]);
    const restartedAt = performance.now();
    await waitClusterHealthy(monitors, 120_000);
    const healthyAfter = Math.round(performance.now() - restartedAt);
    console.log(
      `docker kill ${victim}: first ack of a message sent after the kill ${firstAck} ms later; restart policy restarts ${restartsAfter - restartsBefore} (docker start instead); ` +
        `full /healthz of every node ${healthyAfter} ms after docker start; ${ackedWhileDown} acknowledged by then`,
    );
    console.log(await endTraffic(traffic, killedAt));
    console.log(`replicas after the kill: ${await replicasAgree()}`);
  }, 300_000);

  test("the server process killed (a crash): the restart policy starts it again and it catches up", async () => {
    const victim = specs[2].name;
    const traffic = await startTraffic();
    await sleep(2_000);
    const restartsBefore = Number(inspect(victim, "{{.RestartCount}}"));
    const killedAt = performance.now();
    // The container's main process, SIGKILLed from the host: what an OOM kill or a crash looks like to Docker.
    const killed = spawnSync("kill", ["-KILL", inspect(victim, "{{.State.Pid}}")], { encoding: "utf8" });
    expect(killed.status, killed.stderr).toBe(0);
    await waitFor(async () => Number(inspect(victim, "{{.RestartCount}}")) > restartsBefore, 30_000, () => `${victim} was not restarted by its restart policy`);
    await waitClusterHealthy(monitors, 120_000);
    console.log(`crash of ${victim}: restarted by its restart policy; every node's full /healthz ok ${Math.round(performance.now() - killedAt)} ms after the kill`);
    console.log(await endTraffic(traffic, killedAt));
    console.log(`replicas after the crash: ${await replicasAgree()}`);
  }, 300_000);
});
