// A 3-node cluster on one Docker host, as the NatsCluster component declares it, and a
// restart-class change rolled out one node at a time. The program runs under Pulumi mocks; then
// the test does what the engine would do with the recorded inputs: each node's config command
// runs exactly as declared (its create/update line via /bin/sh, its environment and stdin, from
// the repository root), the three containers start from exactly the declared specs (only the
// image swapped for the local build of the same nats-server), the streams command creates an R3
// stream, and after the change the config commands and the rollout command run as declared.
//
// While the rollout runs, a core subscriber and a JetStream publisher connected with the
// credentials' URL list keep working, and every node's /healthz is polled so the test sees which
// nodes are down when.
import { readFileSync } from "node:fs";
import path from "node:path";
import { jetstream } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import type * as pulumi from "@pulumi/pulumi";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { RUNNING_SETTINGS_FILE, type RolloutStdin } from "../../components/rolloutContract";
import type { Credential } from "../../config/credentials";
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
import { outputValue, runProgram, unwrapSecrets, type ProgramRun } from "../harness/pulumiMocks";
import { createAndStart, engineCreateRequest } from "./containerSpec";
import { describeDowntime, expectOneAtATime, watchDowntime } from "../harness/downtime";

type Connection = Awaited<ReturnType<typeof connect>>;

const DEV = readStackFile("Pulumi.dev.yaml");
const SUFFIXES = ["", "-1", "-2"];
const opened: Connection[] = [];
let raw: Record<string, unknown>;
let run: ProgramRun;
let specs: Record<string, any>[];
let image: string;

const declared = (program: ProgramRun, name: string) => unwrapSecrets(program.byName(name).inputs) as DeclaredCommand & Record<string, any>;
const rolloutOf = (program: ProgramRun) => JSON.parse(declared(program, "nats-rollout").stdin!) as RolloutStdin;

/** Runs a declared command line; fails the test with its output when it fails. */
async function runOk(program: ProgramRun, name: string, which: "create" | "update", timeoutMs = 120_000): Promise<string> {
  const result = await runDeclaredCommand(declared(program, name), which, { env: { NATS_IMAGE: image }, timeoutMs });
  if (result.status !== 0) throw new Error(`${name} ${which} failed (${result.status}):\n${result.stderr}${result.stdout}`);
  return result.stdout;
}

async function credentials(program: ProgramRun): Promise<Record<string, Credential>> {
  return outputValue(program.exports.credentials as pulumi.Output<Record<string, Credential>>);
}

/** Every node's URL: nats.js takes the list as an array (nats.go and natscli take the comma-separated string). */
async function connectAs(credential: Credential, name: string): Promise<Connection> {
  const nc = await connect({ servers: credential.url.split(","), user: credential.user, pass: credential.password, name, maxReconnectAttempts: -1, reconnectTimeWait: 250 });
  opened.push(nc);
  return nc;
}

const startedAt = (name: string) => inspect(name, "{{.State.StartedAt}}");
const recordOf = (dir: string) => readFileSync(path.join(dir, RUNNING_SETTINGS_FILE), "utf8").trim();

beforeAll(async () => {
  requireDocker();
  image = testImage();
  const prefix = uniqueName("nats-infra-roll");
  const nodes = [];
  for (let i = 0; i < 3; i++) nodes.push({ clientPort: await freePort(), monitorPort: await freePort() });
  raw = {
    ...DEV,
    cluster: { nodes },
    // Lame duck at the schema's minimum (nats-server refuses less than 30 s).
    server: { ...(DEV.server as object), lameDuckDuration: "30s" },
    docker: { namePrefix: prefix, configDir: path.join(tempDir("nats-infra-roll-"), "config"), surveyor: { enabled: false } },
    // Replicated on every node, so losing one node at a time keeps its quorum.
    streams: (DEV.streams as object[]).map((s) => ({ ...s, replicas: 3 })),
  };
  run = await runProgram(raw);
  specs = SUFFIXES.map((suffix) => unwrapSecrets(run.byName(`nats-nats${suffix}`).inputs) as Record<string, any>);
  for (const spec of specs) {
    trackContainer(spec.name);
    for (const volume of spec.volumes) trackVolume(volume.volumeName);
  }
  const network = specs[0].networksAdvanced[0].name;
  trackNetwork(network);
  dockerOk(["network", "create", "--label", TEST_LABEL, network]);
}, 60_000);

afterAll(async () => {
  await Promise.allSettled(opened.map((nc) => nc.close()));
  removeAll();
});

describe("three nodes as declared", () => {
  test("each config command installs its node's files before its container exists and records the settings it starts with", async () => {
    const outputs = await Promise.all(SUFFIXES.map((suffix) => runOk(run, `nats-config${suffix}`, "create")));
    for (const [i, suffix] of SUFFIXES.entries()) {
      expect(outputs[i]).toContain("is not running and reads it when it starts");
      const command = declared(run, `nats-config${suffix}`);
      const dir = command.environment!.CONFIG_DIR;
      expect(readFileSync(path.join(dir, "nats.conf"), "utf8")).toBe(command.environment!.NATS_CONF);
      expect(readFileSync(path.join(dir, "cluster.conf"), "utf8")).toContain("_route");
      expect(recordOf(dir)).toBe(command.environment!.SETTINGS_KEY);
    }
  });

  test("the containers start from the declared specs and form one cluster: every node routes to the other two", async () => {
    // No dependency between the nodes: the engine creates them in parallel.
    await Promise.all(specs.map((spec) => createAndStart(engineCreateRequest(spec, { image, extraLabels: { "nats-infra.test": "1" } }))));
    await Promise.all(specs.map((spec) => waitHealthy(spec.name, spec.waitTimeout * 1000)));
    const monitors = rolloutOf(run).nodes.map((n) => ({ name: n.server, monitorUrl: n.monitorUrl }));
    await waitClusterHealthy(monitors, 60_000);

    for (const node of monitors) {
      const routez = (await (await fetch(`${node.monitorUrl}/routez`)).json()) as { server_name: string; routes: { remote_name: string }[] };
      expect(routez.server_name).toBe(node.name);
      const peers = [...new Set(routez.routes.map((r) => r.remote_name))].sort();
      expect(peers).toEqual(monitors.filter((m) => m !== node).map((m) => m.name).sort());
    }
    // No route port on the host: the nodes reach each other over the Docker network.
    for (const spec of specs) expect(spec.ports.map((p: { internal: number }) => p.internal)).toEqual([4222, 8222]);

    const created = await runOk(run, "nats-rollout", "create");
    expect(created).toContain("nothing to restart");
    const streams = await runOk(run, "nats-streams-APP", "create");
    expect(streams).toContain("EVENTS");
  }, 180_000);
});

describe("an auth change", () => {
  test("every node's config command reloads its server; connected clients see nothing; the new service connects to each node", async () => {
    const creds = await credentials(run);
    const watcher = await connectAs(creds["notification-service"], "watcher");
    const seen: string[] = [];
    void (async () => {
      for await (const status of watcher.status()) if (status.type !== "ping" && status.type !== "update") seen.push(status.type);
    })();
    const before = specs.map((spec) => startedAt(spec.name));
    raw = { ...raw, services: [...(raw.services as object[]), { name: "audit-service", subscribe: ["events.*"] }] };
    const next = await runProgram(raw);
    SUFFIXES.forEach((suffix, i) => expect(unwrapSecrets(next.byName(`nats-nats${suffix}`).inputs)).toEqual(specs[i]));

    const outputs = await Promise.all(SUFFIXES.map((suffix) => runOk(next, `nats-config${suffix}`, "update")));

    for (const output of outputs) expect(output).toMatch(/reloaded its config in \d+ ms/);
    console.log(`auth change, per node: ${outputs.map((o) => o.trim()).join(" | ")}`);
    const audit = (await credentials(next))["audit-service"];
    for (const url of audit.url.split(",")) {
      const nc = await connect({ servers: url, user: audit.user, pass: audit.password, reconnect: false });
      await nc.flush();
      await nc.close();
    }
    await watcher.flush();
    expect(seen).toEqual([]);
    expect(specs.map((spec) => startedAt(spec.name))).toEqual(before);
    run = next;
  }, 60_000);
});

describe("a restart-class change", () => {
  test("is rolled out one node at a time in node order while clients keep working; no acknowledged publish is lost; a rerun does nothing", async () => {
    const next = await runProgram({ ...raw, jetstream: { ...(DEV.jetstream as object), syncInterval: "2s" } });
    // Nothing about the containers changes, so Pulumi replaces none of them.
    SUFFIXES.forEach((suffix, i) => expect(unwrapSecrets(next.byName(`nats-nats${suffix}`).inputs)).toEqual(specs[i]));
    const rollout = rolloutOf(next);
    const before = specs.map((spec) => startedAt(spec.name));

    // Clients on the URL list: a core subscriber and a JetStream publisher.
    const creds = await credentials(next);
    const subscriber = await connectAs(creds["notification-service"], "subscriber");
    const publisher = await connectAs(creds["teacher-service"], "publisher");
    const events: Record<string, string[]> = { subscriber: [], publisher: [] };
    for (const [name, nc] of [["subscriber", subscriber], ["publisher", publisher]] as const) {
      void (async () => {
        for await (const status of nc.status()) if (status.type !== "ping" && status.type !== "update") events[name].push(status.type);
      })();
    }
    let received = 0;
    const sub = subscriber.subscribe("events.*");
    void (async () => {
      for await (const _ of sub) received++;
    })();
    await subscriber.flush();
    const js = jetstream(publisher, { timeout: 2_000 });
    /** Acknowledged publishes: stream sequence -> payload. */
    const acked = new Map<number, string>();
    let failed = 0;
    let publishing = true;
    const publishLoop = (async () => {
      for (let i = 0; publishing; i++) {
        try {
          const ack = await js.publish("events.teacher", `event-${i}`);
          acked.set(ack.seq, `event-${i}`);
        } catch {
          failed++;
        }
        await sleep(20);
      }
    })();

    const watch = watchDowntime(rollout.nodes.map((n) => ({ name: n.server, monitorUrl: n.monitorUrl })));
    await sleep(1_000);

    // The engine's order: every config command (in parallel), then the rollout.
    const installed = await Promise.all(SUFFIXES.map((suffix) => runOk(next, `nats-config${suffix}`, "update")));
    for (const output of installed) expect(output).toMatch(/runs other restart-class settings .*, so the rollout restarts it \(no reload\)/);
    SUFFIXES.forEach((_, i) => expect(startedAt(specs[i].name)).toBe(before[i]));

    const rolled = await runOk(next, "nats-rollout", "update", 600_000);
    console.log(`rollout output:\n${rolled}`);
    await sleep(1_000);
    publishing = false;
    const down = await watch.stop();
    await publishLoop;

    // One at a time, in node order: each restarted once, and never two down together.
    const after = specs.map((spec) => startedAt(spec.name));
    after.forEach((time, i) => expect(time, `${specs[i].name} was restarted`).not.toBe(before[i]));
    expect([...after].sort()).toEqual(after);
    expect(rolled.indexOf("nats-0: restarting")).toBeLessThan(rolled.indexOf("nats-1: restarting"));
    expect(rolled.indexOf("nats-1: restarting")).toBeLessThan(rolled.indexOf("nats-2: restarting"));
    console.log(`down as seen by /healthz polls: ${describeDowntime(down)}`);
    expectOneAtATime(down, ["nats-0", "nats-1", "nats-2"]);
    for (const node of rollout.nodes) expect(recordOf(node.configDir)).toBe(node.settingsKey);

    // The clients rode it out: nothing acknowledged is lost (read back through the stream's
    // declared consumer, as notification-service reads it), the subscriber was never closed.
    const reader = await connectAs(creds["notification-service"], "reader");
    const consumer = await jetstream(reader).consumers.get("EVENTS", "notification-service");
    const stored = new Set<string>();
    for (let batch = 0; batch < 100; batch++) {
      let got = 0;
      for await (const message of await consumer.fetch({ max_messages: 500, expires: 2_000 })) {
        stored.add(message.string());
        message.ack();
        got++;
      }
      if (got === 0) break;
    }
    const lost = [...acked.values()].filter((payload) => !stored.has(payload));
    console.log(
      `JetStream: ${acked.size} publishes acknowledged, ${failed} failed (not acknowledged, so not counted), ${lost.length} acknowledged lost (${stored.size} read back); ` +
        `core subscriber received ${received}; reconnects: subscriber ${events.subscriber.filter((e) => e === "reconnect").length}, ` +
        `publisher ${events.publisher.filter((e) => e === "reconnect").length}; subscriber events ${JSON.stringify(events.subscriber)}, publisher events ${JSON.stringify(events.publisher)}`,
    );
    expect(acked.size).toBeGreaterThan(0);
    expect(lost).toEqual([]);
    expect(subscriber.isClosed()).toBe(false);
    expect(events.subscriber).not.toContain("close");
    const receivedBefore = received;
    publisher.publish("events.teacher", "after the rollout");
    await waitFor(async () => received > receivedBefore, 5_000, () => "a core message published after the rollout did not reach the subscriber");

    // Routes are back on every node.
    for (const node of rollout.nodes) {
      const routez = (await (await fetch(`${node.monitorUrl}/routez`)).json()) as { routes: { remote_name: string }[] };
      expect(new Set(routez.routes.map((r) => r.remote_name)).size).toBe(2);
    }

    const rerun = await runOk(next, "nats-rollout", "update");
    expect(rerun).toContain("nothing to restart");
    expect(specs.map((spec) => startedAt(spec.name))).toEqual(after);
  }, 900_000);
});
