// Smoke test of the NatsCluster component against real Docker: run the program under Pulumi
// mocks, then do what the engine would do with the recorded inputs. The config command runs
// exactly as declared (its create/update/delete line, environment and stdin), and the nats
// container starts from exactly the declared spec (ports, mounts, volume, network alias,
// entrypoint and command, envs, limits, healthcheck, stop signal and timeout), with only the
// image swapped for the local build of the same nats-server. The Surveyor container starts next
// to it from its declared spec too (name, envs with the generated password, port on 127.0.0.1,
// network), from a local image with natsio/nats-surveyor's layout around .tools/bin/nats-surveyor
// (which `go install` or the prebuilt fallback of tools/install-tools.sh put there; the test says which).
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { connect } from "@nats-io/transport-node";
import type * as pulumi from "@pulumi/pulumi";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { Credential } from "../../config/credentials";
import { readStackFile } from "../../config/load";
import versions from "../../config/versions.json";
import {
  docker,
  dockerAsync,
  dockerOk,
  inspect,
  removeAll,
  requireDocker,
  surveyorTestImage,
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
import { createAndStart, engineCreateRequest } from "./containerSpec";

type Connection = Awaited<ReturnType<typeof connect>>;

const DEV = readStackFile("Pulumi.dev.yaml");
const opened: Connection[] = [];
let raw: Record<string, unknown>;
let run: ProgramRun;
let spec: Record<string, any>;
let image: string;
let teacher: Connection;
const teacherEvents: string[] = [];

/** Runs one of the config command's lines the way @pulumi/command does: sh -c, env, stdin. */
function runConfigCommand(program: ProgramRun, which: "create" | "update" | "delete") {
  const command = unwrapSecrets(program.byName("nats-config").inputs) as { environment: Record<string, string>; stdin?: string } & Record<string, string>;
  const result = spawnSync("/bin/sh", ["-c", command[which]], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...command.environment, NATS_IMAGE: image },
    input: command.stdin ?? "",
    encoding: "utf8",
    timeout: 60_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

async function credentialsOf(program: ProgramRun): Promise<Record<string, Credential>> {
  return outputValue(program.exports.credentials as pulumi.Output<Record<string, Credential>>);
}

async function connectAs(credential: Credential): Promise<Connection> {
  const nc = await connect({ servers: credential.url, user: credential.user, pass: credential.password, maxReconnectAttempts: 3 });
  opened.push(nc);
  return nc;
}

beforeAll(async () => {
  requireDocker();
  image = testImage();
  const prefix = uniqueName("nats-infra-smoke");
  const configDir = path.join(tempDir("nats-infra-smoke-"), "config");
  raw = {
    ...DEV,
    server: { ...(DEV.server as object), clientPort: await freePort(), monitorPort: await freePort() },
    docker: { namePrefix: prefix, configDir, surveyor: { port: await freePort() } },
  };
  run = await runProgram(raw);
  spec = unwrapSecrets(run.byName("nats-nats").inputs) as Record<string, any>;
  trackContainer(spec.name);
  for (const volume of spec.volumes) trackVolume(volume.volumeName);
});

afterAll(async () => {
  await Promise.allSettled(opened.map((nc) => nc.close()));
  removeAll();
});

describe("the nats container as the component declares it", () => {
  test("the config command installs the config before the container exists", () => {
    expect(spec.image).toBe(versions.natsServer.image); // what production pulls; swapped below

    const created = runConfigCommand(run, "create");

    expect(created.stderr).toBe("");
    expect(created.status).toBe(0);
    expect(created.stdout).toContain("is not running and reads it when it starts");
    // Byte for byte what the component rendered: auth.conf from stdin, nats.conf from the env.
    const declared = unwrapSecrets(run.byName("nats-config").inputs) as { stdin: string; environment: Record<string, string> };
    const configDir = (raw.docker as { configDir: string }).configDir;
    expect(readFileSync(path.join(configDir, "auth.conf"), "utf8")).toBe(declared.stdin);
    expect(readFileSync(path.join(configDir, "nats.conf"), "utf8")).toBe(declared.environment.NATS_CONF);
  });

  test("starts from the declared spec, becomes healthy, and serves the services with their passwords", async () => {
    for (const network of spec.networksAdvanced) {
      trackNetwork(network.name);
      dockerOk(["network", "create", "--label", TEST_LABEL, network.name]);
    }

    await createAndStart(engineCreateRequest(spec, { image, extraLabels: { "nats-infra.test": "1" } }));
    // `wait: true` makes the provider wait for a healthy container; do the same.
    expect(spec.wait).toBe(true);
    await waitHealthy(spec.name, spec.waitTimeout * 1000);

    expect(inspect(spec.name, "{{.Config.StopSignal}} {{.Config.StopTimeout}}")).toBe(`SIGUSR2 ${spec.stopTimeout}`);
    const credentials = await credentialsOf(run);
    const responder = await connectAs(credentials["user-service"]);
    const requests = responder.subscribe("user.get");
    void (async () => {
      for await (const msg of requests) msg.respond("user-42");
    })();
    await responder.flush();
    teacher = await connectAs(credentials["teacher-service"]);
    void (async () => {
      for await (const status of teacher.status()) if (status.type !== "ping" && status.type !== "update") teacherEvents.push(status.type);
    })();
    expect((await teacher.request("user.get", "", { timeout: 5_000 })).string()).toBe("user-42");
    expect(teacher.info?.server_name).toBe("nats-0");
  }, 150_000);

  test("Surveyor starts from its declared spec next to the server and surveys it over the cluster network", async () => {
    const surveyor = unwrapSecrets(run.byName("nats-surveyor").inputs) as Record<string, any>;
    expect(surveyor.image).toBe(versions.surveyor.image); // what production pulls; swapped below
    const local = surveyorTestImage();
    console.log(`Surveyor: ${local.image} stands in for ${surveyor.image}; the binary in it: ${local.binarySource}`);
    // It reaches the server by the nats container's alias on the same network, as declared.
    expect(surveyor.envs).toContain(`NATS_SURVEYOR_SERVERS=nats://${spec.networksAdvanced[0].aliases[0]}:4222`);
    expect(surveyor.networksAdvanced.map((n: { name: string }) => n.name)).toEqual(spec.networksAdvanced.map((n: { name: string }) => n.name));
    expect(surveyor.ports).toHaveLength(1);
    expect(surveyor.ports[0].ip).toBe("127.0.0.1");

    trackContainer(surveyor.name);
    await createAndStart(engineCreateRequest(surveyor, { image: local.image, extraLabels: { "nats-infra.test": "1" } }));

    const metricsUrl = `http://127.0.0.1:${surveyor.ports[0].external}/metrics`;
    let metrics = "";
    await waitFor(
      async () => {
        metrics = await (await fetch(metricsUrl)).text();
        return /^nats_survey_surveyed_count 1$/m.test(metrics);
      },
      30_000,
      () => `no "nats_survey_surveyed_count 1" on ${metricsUrl}:\n${metrics.split("\n").filter((l) => l.startsWith("nats_survey") || l.startsWith("nats_up")).join("\n")}\nSurveyor log:\n${docker(["logs", surveyor.name]).stderr}`,
    );
    expect(metrics).toMatch(/^nats_up 1$/m);
    expect(metrics).toMatch(/^nats_core_account_conn_count\{[^}]*account="SYS"[^}]*server_name="nats-0"[^}]*\} [1-9]/m);
    // Up at the first try: not an exit that the restart policy papered over.
    expect(inspect(surveyor.name, "{{.State.Running}} {{.RestartCount}}")).toBe("true 0");
    expect(inspect(surveyor.name, "{{json .Config.Entrypoint}} {{json .Config.Cmd}}")).toBe('["/entrypoint.sh"] null');
  }, 60_000);

  test("a service added to the stack config arrives through the command's update, with no restart", async () => {
    const startedAt = inspect(spec.name, "{{.State.StartedAt}}");
    const next = await runProgram({ ...raw, services: [...(raw.services as object[]), { name: "audit-service", subscribe: ["events.*"] }] });
    // Nothing about the container changes, so Pulumi would not replace it.
    expect(unwrapSecrets(next.byName("nats-nats").inputs)).toEqual(spec);

    const updated = runConfigCommand(next, "update");

    expect(updated.stderr).toBe("");
    expect(updated.status).toBe(0);
    expect(updated.stdout).toMatch(/reloaded its config in \d+ ms/);
    console.log(`component update: ${updated.stdout.trim()}`);
    const audit = await connectAs((await credentialsOf(next))["audit-service"]);
    await audit.flush();
    expect((await teacher.request("user.get", "", { timeout: 5_000 })).string()).toBe("user-42");
    expect(teacherEvents).toEqual([]);
    expect(inspect(spec.name, "{{.State.StartedAt}}")).toBe(startedAt);
  });

  test("docker stop drains in lame duck mode within the declared stop timeout; delete keeps the volume", async () => {
    const start = Date.now();
    const stop = await dockerAsync(["stop", spec.name], { timeoutMs: (spec.stopTimeout + 15) * 1000 });
    console.log(`docker stop of the component's container with clients connected took ${Date.now() - start} ms (stopTimeout ${spec.stopTimeout} s)`);
    expect(stop.status).toBe(0);
    expect(inspect(spec.name, "{{.State.ExitCode}}")).toBe("0");
    // The server announced lame duck mode to the client before closing it.
    await waitFor(async () => teacherEvents.includes("disconnect"), 5_000, () => `teacher saw: ${teacherEvents.join(", ")}`);
    expect(teacherEvents.slice(0, 2)).toEqual(["ldm", "disconnect"]);

    const deleted = runConfigCommand(run, "delete");

    expect(deleted.status).toBe(0);
    expect(existsSync((raw.docker as { configDir: string }).configDir)).toBe(false);
    for (const volume of spec.volumes) expect(docker(["volume", "inspect", volume.volumeName]).status).toBe(0);
  }, 120_000);
});
