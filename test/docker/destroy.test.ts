// The Docker provider's delete path, against real Docker: what `pulumi destroy` and every
// replacement of the nats container do to a live server. @pulumi/docker (terraform-provider-docker
// v4.5.0, resourceDockerContainerDelete) stops the container with `destroyGraceSeconds` as the
// timeout, 0 when unset, then force-removes it; the container's own `stopTimeout` plays no part.
// So the grace must cover lame duck mode, or the server is killed with its clients connected.
//
// The dev stack runs as declared under Pulumi mocks: the config command installs the files, the
// nats container starts from the declared spec (only the image swapped for the local build), the
// streams command creates EVENTS. Then a core subscriber and a JetStream publisher connect, and
// the container is deleted exactly as the provider deletes it (test/docker/containerSpec.ts
// deleteLikeProvider), with destroyGraceSeconds(config) from components/natsContainerSpec.ts.
import { spawnSync } from "node:child_process";
import path from "node:path";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import type * as pulumi from "@pulumi/pulumi";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { Credential } from "../../config/credentials";
import { destroyGraceSeconds } from "../../components/natsContainerSpec";
import { parseStackConfig, readStackFile } from "../../config/load";
import type { StackConfig } from "../../config/schema";
import { parseDuration } from "../../config/units";
import {
  docker,
  dockerOk,
  removeAll,
  requireDocker,
  tempDir,
  TEST_LABEL,
  testImage,
  trackContainer,
  trackNetwork,
  trackVolume,
  uniqueName,
  waitHealthy,
} from "../harness/docker";
import { freePort } from "../harness/ports";
import { waitFor } from "../harness/natsServer";
import { outputValue, runProgram, unwrapSecrets, type ProgramRun } from "../harness/pulumiMocks";
import { REPO_ROOT } from "../harness/tools";
import { createAndStart, deleteLikeProvider, engineCreateRequest } from "./containerSpec";

type Connection = Awaited<ReturnType<typeof connect>>;
interface ClientEvents {
  /** Milliseconds since the delete began, per status event type (first occurrence). */
  at: Record<string, number>;
  order: string[];
}

const DEV = readStackFile("Pulumi.dev.yaml");
const opened: Connection[] = [];
let raw: Record<string, unknown>;
let config: StackConfig;
let run: ProgramRun;
let spec: Record<string, any>;
let image: string;
let grace: number;
let published = 0;

/** Runs one line of a declared command resource the way @pulumi/command does: sh -c, env, stdin. */
function runCommand(program: ProgramRun, resource: string, which: "create" | "update" | "delete") {
  const declared = unwrapSecrets(program.byName(resource).inputs) as { environment?: Record<string, string>; stdin?: string; dir?: string } & Record<string, string>;
  const result = spawnSync("/bin/sh", ["-c", declared[which]], {
    cwd: declared.dir ?? REPO_ROOT,
    env: { ...process.env, ...declared.environment, NATS_IMAGE: image },
    input: declared.stdin ?? "",
    encoding: "utf8",
    timeout: 120_000,
  });
  if (result.status !== 0) throw new Error(`${resource} ${which} failed (${result.status}):\n${result.stderr}${result.stdout}`);
  return result.stdout;
}

async function startDeclaredContainer(): Promise<void> {
  await createAndStart(engineCreateRequest(spec, { image, extraLabels: { "nats-infra.test": "1" } }));
  await waitHealthy(spec.name, spec.waitTimeout * 1000);
}

async function credential(name: string): Promise<Credential> {
  return (await outputValue(run.exports.credentials as pulumi.Output<Record<string, Credential>>))[name];
}

async function connectAs(user: string, password: string, url: string): Promise<Connection> {
  // No reconnect: the server is going away, and a closed client is what the test looks at.
  const nc = await connect({ servers: url, user, pass: password, reconnect: false });
  opened.push(nc);
  return nc;
}

function watch(nc: Connection, since: () => number): ClientEvents {
  const events: ClientEvents = { at: {}, order: [] };
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === "ping" || status.type === "update") continue;
      events.order.push(status.type);
      events.at[status.type] ??= since();
    }
  })();
  void nc.closed().then(() => {
    events.order.push("closed");
    events.at.closed ??= since();
  });
  return events;
}

/** Messages in EVENTS, read as the account's JetStream admin (a fresh connection). */
async function eventsMessages(): Promise<number> {
  const admins = await outputValue(run.exports.jetstreamAdmins as pulumi.Output<Record<string, { user: string; password: string }>>);
  const account = config.streams.find((s) => s.name === "EVENTS")!.account;
  const nc = await connectAs(admins[account].user, admins[account].password, (await credential("teacher-service")).url);
  try {
    return (await (await jetstreamManager(nc)).streams.info("EVENTS")).state.messages;
  } finally {
    await nc.close();
  }
}

beforeAll(async () => {
  requireDocker();
  image = testImage();
  raw = {
    ...DEV,
    // Lame duck at the schema's minimum (30 s; nats-server refuses less), grace period as deployed.
    server: { ...(DEV.server as object), lameDuckDuration: "30s", clientPort: await freePort(), monitorPort: await freePort() },
    docker: { namePrefix: uniqueName("nats-infra-destroy"), configDir: path.join(tempDir("nats-infra-destroy-"), "config") },
  };
  config = parseStackConfig(raw).config;
  run = await runProgram(raw);
  spec = unwrapSecrets(run.byName("nats-nats").inputs) as Record<string, any>;
  trackContainer(spec.name);
  for (const volume of spec.volumes) trackVolume(volume.volumeName);
  for (const network of spec.networksAdvanced) {
    trackNetwork(network.name);
    dockerOk(["network", "create", "--label", TEST_LABEL, network.name]);
  }

  runCommand(run, "nats-config", "create");
  await startDeclaredContainer();
  const streams = runCommand(run, "nats-streams-APP", "create");
  expect(streams).toContain("EVENTS");

  // What the provider will be given once components/natsCluster.ts declares it; until then the
  // container declares none, and a delete would stop it with a timeout of 0.
  grace = spec.destroyGraceSeconds ?? destroyGraceSeconds(config);
  console.log(
    `destroyGraceSeconds ${grace} (${spec.destroyGraceSeconds === undefined ? "not declared on the container yet: destroyGraceSeconds(config)" : "as declared on the container"}); ` +
      `lameDuckDuration ${config.server.lameDuckDuration}, lameDuckGracePeriod ${config.server.lameDuckGracePeriod}, stopTimeout ${spec.stopTimeout}`,
  );
}, 180_000);

afterAll(async () => {
  await Promise.allSettled(opened.map((nc) => nc.close()));
  removeAll();
});

describe("deleting the nats container the way the Docker provider does", () => {
  test("destroyGraceSeconds covers the whole lame duck duration", () => {
    if (spec.destroyGraceSeconds !== undefined) expect(spec.destroyGraceSeconds).toBe(destroyGraceSeconds(config));
    expect(grace * 1000).toBeGreaterThan(parseDuration(config.server.lameDuckDuration)!);
    expect(spec.stopSignal).toBe("SIGUSR2");
  });

  test("with destroyGraceSeconds the server goes through lame duck: clients are told and drained, exit code 0", async () => {
    const url = (await credential("teacher-service")).url;
    const subscriberCredential = await credential("notification-service");
    const subscriber = await connectAs(subscriberCredential.user, subscriberCredential.password, url);
    const received: string[] = [];
    const sub = subscriber.subscribe("events.*");
    void (async () => {
      for await (const msg of sub) received.push(msg.string());
    })();
    await subscriber.flush();
    const publisherCredential = await credential("teacher-service");
    const publisher = await connectAs(publisherCredential.user, publisherCredential.password, url);
    const js = jetstream(publisher);
    for (let i = 1; i <= 20; i++) {
      const ack = await js.publish("events.teacher", `event-${i}`);
      expect(ack.stream).toBe("EVENTS");
      published++;
    }
    await waitFor(async () => received.length === published, 5_000, () => `the subscriber got ${received.length} of ${published} events`);

    let start = 0;
    const since = () => Date.now() - start;
    const subscriberEvents = watch(subscriber, since);
    const publisherEvents = watch(publisher, since);
    start = Date.now();
    const deleted = await deleteLikeProvider(spec.name, grace);

    console.log(
      `provider delete with destroyGraceSeconds ${deleted.stopTimeoutSeconds}: stop took ${deleted.stopMs} ms, exit code ${deleted.exitCode}; ` +
        `subscriber ${JSON.stringify(subscriberEvents.at)}, publisher ${JSON.stringify(publisherEvents.at)} (ms after the stop began)`,
    );
    // 137 would be Docker's SIGKILL after the timeout ran out.
    expect(deleted.exitCode).toBe(0);
    expect(deleted.oomKilled).toBe(false);
    expect(deleted.stopMs).toBeLessThan(grace * 1000);
    expect(deleted.log).toContain('Trapped "user defined signal 2" signal');
    expect(deleted.log).toContain("Entering lame duck mode");
    expect(deleted.log).toContain("Closing existing clients");
    expect(deleted.log).toContain("Server Exiting..");
    // Both clients were told (INFO with the lame duck flag) and only closed after the grace period.
    const gracePeriodMs = parseDuration(config.server.lameDuckGracePeriod)!;
    for (const [who, events] of [["subscriber", subscriberEvents], ["publisher", publisherEvents]] as const) {
      expect(events.order[0], `${who} saw ${events.order.join(", ")}`).toBe("ldm");
      expect(events.order, who).toContain("closed");
      expect(events.at.closed, `${who} was cut before the lame duck grace period ended`).toBeGreaterThanOrEqual(gracePeriodMs - 500);
    }
    // The forced remove with RemoveVolumes leaves the named volume alone.
    expect(docker(["container", "inspect", spec.name]).status).not.toBe(0);
    for (const volume of spec.volumes) expect(docker(["volume", "inspect", volume.volumeName]).status).toBe(0);
  }, 120_000);

  test("the replacement on the same volume has every acknowledged message", async () => {
    await startDeclaredContainer();
    expect(await eventsMessages()).toBe(published);
  }, 120_000);

  test("for contrast, without destroyGraceSeconds (timeout 0): measured, not asserted, beyond a clean remove", async () => {
    const credentialOf = await credential("teacher-service");
    const publisher = await connectAs(credentialOf.user, credentialOf.password, credentialOf.url);
    const js = jetstream(publisher);
    for (let i = 1; i <= 5; i++) {
      await js.publish("events.teacher", `late-${i}`);
      published++;
    }
    let start = 0;
    const events = watch(publisher, () => Date.now() - start);
    start = Date.now();
    const deleted = await deleteLikeProvider(spec.name, undefined);
    const lameDuck = deleted.log.includes("Entering lame duck mode");
    const exiting = deleted.log.includes("Server Exiting..");

    // The container is gone and the named volume stays, as on the graceful path.
    expect(docker(["container", "inspect", spec.name]).status).not.toBe(0);
    for (const volume of spec.volumes) expect(docker(["volume", "inspect", volume.volumeName]).status).toBe(0);

    await startDeclaredContainer();
    const kept = await eventsMessages();
    console.log(
      `provider delete without destroyGraceSeconds (t=0): stop took ${deleted.stopMs} ms, exit code ${deleted.exitCode}, ` +
        `log says lame duck: ${lameDuck}, "Server Exiting..": ${exiting}; client ${JSON.stringify(events.at)}; ` +
        `after restart EVENTS has ${kept} of ${published} acknowledged messages`,
    );
  }, 120_000);
});
