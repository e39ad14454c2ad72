// `nats-infra logs | stop | start | restart | clean` against real containers: the dev stack as a
// single server and as a 3-node cluster, each started exactly as the component declares it (the
// program under Pulumi mocks; the config commands, volumes and containers as declared, only the
// image swapped for the local build), then given to the commands as the `--stack` target.
//
// What is not exercised here: `--stack NAME` itself reads the stack's outputs through the Pulumi
// CLI (tools/pulumi.sh outputs), which this machine does not have. So each command's body runs
// with the flags parsed by cli/args.ts parseFlags (with `--stack`) and a Target built from the
// mocked program's `endpoints` output and the config the way ops/target.ts fromStack builds it
// (`stackTarget` below); a failure is mapped to its exit code by cli/args.ts reportFailure, as
// cli/operate.ts does.
import { existsSync, writeFileSync } from "node:fs";
import path from "node:path";
import { connect } from "@nats-io/transport-node";
import type * as pulumi from "@pulumi/pulumi";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { stringify as stringifyYaml } from "yaml";
import type { Output } from "../../cli/command";
import { clean, CLEAN_SPEC, type Ask } from "../../cli/commands/clean";
import { LOGS_SPEC, showLogs, type StopSignal } from "../../cli/commands/logs";
import { restart, RESTART_SPEC } from "../../cli/commands/restart";
import { start, START_SPEC } from "../../cli/commands/start";
import { stop, STOP_SPEC } from "../../cli/commands/stop";
import { operate, type OperateContext, type OperateSpec } from "../../cli/operate";
import { clusterNodes } from "../../config/cluster";
import type { Endpoints } from "../../config/endpoints";
import { parseStackConfig, readStackFile } from "../../config/load";
import { removeDirOnDockerHost } from "../../ops/clean";
import { waitHealthy as waitNodesHealthy } from "../../ops/health";
import { stackTarget as toStackTarget, type Target } from "../../ops/target";
import type { CliRun } from "../harness/cli";
import {
  docker,
  dockerOk,
  inspect,
  removeAll,
  requireDocker,
  runDeclaredCommand,
  surveyorTestImage,
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
import { DEV_STACK_FIXTURE } from "../harness/tools";

type Connection = Awaited<ReturnType<typeof connect>>;
interface Credential {
  user: string;
  password: string;
  url: string;
  inboxPrefix: string;
}
type Body = (context: OperateContext) => Promise<number>;

const DEV = readStackFile(DEV_STACK_FIXTURE);
const STACK = "lifecycle";
const opened: Connection[] = [];
let image: string;

interface Deployment {
  raw: Record<string, unknown>;
  run: ProgramRun;
  specs: Record<string, any>[];
  configDirs: string[];
  target: Target;
  credentials: Record<string, Credential>;
}

/**
 * Runs the program for `raw` under mocks and does what the engine would: every node's config
 * command (create, as declared), its volume (as declared, plus the test label), the network and
 * the containers from their declared specs; waits until every node is healthy.
 */
async function deploy(raw: Record<string, unknown>): Promise<Deployment> {
  const run = await runProgram(raw);
  const { config } = parseStackConfig(raw);
  const suffixes = clusterNodes(config).map((n) => n.suffix);
  const specs = suffixes.map((suffix) => unwrapSecrets(run.byName(`nats-nats${suffix}`).inputs) as Record<string, any>);
  const commands = suffixes.map((suffix) => unwrapSecrets(run.byName(`nats-config${suffix}`).inputs) as DeclaredCommand);
  for (const spec of specs) trackContainer(spec.name);
  const network = specs[0].networksAdvanced[0].name;
  trackNetwork(network);
  dockerOk(["network", "create", "--label", TEST_LABEL, network]);
  for (const suffix of suffixes) {
    const volume = unwrapSecrets(run.byName(`nats-data${suffix}`).inputs) as { name: string; labels: { label: string; value: string }[] };
    trackVolume(volume.name);
    dockerOk(["volume", "create", "--label", TEST_LABEL, ...volume.labels.flatMap((l) => ["--label", `${l.label}=${l.value}`]), volume.name]);
  }
  const created = await Promise.all(commands.map((command) => runDeclaredCommand(command, "create", { env: { NATS_IMAGE: image } })));
  created.forEach((result) => expect(result.status, result.stderr).toBe(0));
  await Promise.all(specs.map((spec) => createAndStart(engineCreateRequest(spec, { image, extraLabels: { "nats-infra.test": "1" } }))));
  await Promise.all(specs.map((spec) => waitHealthy(spec.name, spec.waitTimeout * 1000)));
  const surveyor = run.resources.find((r) => r.name === "nats-surveyor");
  if (surveyor) {
    const spec = unwrapSecrets(surveyor.inputs) as Record<string, any>;
    trackContainer(spec.name);
    await createAndStart(engineCreateRequest(spec, { image: surveyorTestImage().image, extraLabels: { "nats-infra.test": "1" } }));
  }
  const stackFile = path.join(tempDir("nats-infra-lifecycle-stack-"), `Pulumi.${STACK}.yaml`);
  writeFileSync(stackFile, stringifyYaml({ config: Object.fromEntries(Object.entries(raw).map(([key, value]) => [`nats-infra:${key}`, value])) }));
  const target = await stackTarget(run, raw, stackFile);
  await waitNodesHealthy(target.nodes, 60_000);
  const credentials = (await outputValue(run.exports.credentials as pulumi.Output<Record<string, Credential>>)) as Record<string, Credential>;
  return { raw, run, specs, configDirs: commands.map((c) => c.environment!.CONFIG_DIR), target, credentials };
}

/** The Target ops/target.ts fromStack builds from a stack's `endpoints` output and its config (here: the mocked program's). */
/** The target `--stack` resolves to, from the program's outputs under mocks (the real mapping; only reading them through the Pulumi CLI is left out). */
async function stackTarget(run: ProgramRun, raw: Record<string, unknown>, stackFile: string): Promise<Target> {
  const { config } = parseStackConfig(raw);
  return toStackTarget(STACK, stackFile, config, { endpoints: run.exports.endpoints as Endpoints });
}

/** The command's body through the real operate() frame (flags after `--stack`, failures mapped), against `target`. */
async function runBody(spec: OperateSpec, body: Body, target: Target, ...argv: string[]): Promise<CliRun> {
  let stdout = "";
  let stderr = "";
  const output: Output = { out: (t) => void (stdout += t), err: (t) => void (stderr += t) };
  const code = await operate(spec, body, () => target)(["--stack", STACK, ...argv], output);
  return { code, stdout, stderr };
}

const logs = (target: Target, ...argv: string[]) => runBody(LOGS_SPEC, (c) => showLogs(c), target, ...argv);
const cleanAnswering = (answer: string | undefined): Body => (c) => clean(c, (async () => answer) as Ask);
const startedAt = (name: string) => inspect(name, "{{.State.StartedAt}}");
const exists = (kind: "container" | "volume", name: string) => docker([kind, "inspect", name]).status === 0;

/** Status events of a client (ldm, disconnect, reconnect, close, ...), pings left out. */
function watch(nc: Connection): string[] {
  const events: string[] = [];
  void (async () => {
    for await (const status of nc.status()) if (status.type !== "ping" && status.type !== "update") events.push(status.type);
  })();
  return events;
}

beforeAll(() => {
  requireDocker();
  image = testImage();
});

afterAll(async () => {
  await Promise.allSettled(opened.map((nc) => nc.close()));
  removeAll();
});

describe("the dev stack, one server", () => {
  let d: Deployment;
  beforeAll(async () => {
    const prefix = uniqueName("nats-infra-lc");
    d = await deploy({
      ...DEV,
      server: { ...(DEV.server as object), clientPort: await freePort(), monitorPort: await freePort() },
      // Surveyor as the dev stack declares it, so clean meets a sidecar too.
      docker: { namePrefix: prefix, configDir: path.join(tempDir("nats-infra-lc-"), "config"), surveyor: { port: await freePort() } },
    });
  }, 180_000);

  test("logs --tail N: the last N lines of the container's log, the server's startup among them", async () => {
    const all = await logs(d.target);
    expect(all.code, all.stderr).toBe(0);
    expect(all.stdout).toContain("Starting nats-server");
    expect(all.stdout).toContain("Server is ready");
    const tail = await logs(d.target, "--tail", "3", "nats-0");
    expect(tail.code).toBe(0);
    expect(tail.stdout.split("\n").slice(0, -1)).toEqual(all.stdout.trimEnd().split("\n").slice(-3));
    // One node: no prefix.
    expect(tail.stdout).not.toContain(" | ");
  });

  test("logs --follow prints the server's new lines until stopped", async () => {
    let text = "";
    const controller = new AbortController();
    const stopSignal = (): StopSignal => ({ signal: controller.signal, dispose: () => undefined });
    const following = runBody(LOGS_SPEC, (c) => showLogs({ ...c, output: { out: (t) => void (text += t), err: (t) => void (text += t) } }, stopSignal), d.target, "--follow", "--tail", "1");
    await waitFor(async () => text.length > 0, 15_000, () => "logs --follow printed nothing");
    dockerOk(["kill", "--signal", "SIGHUP", d.specs[0].name]);
    await waitFor(async () => text.includes("Reloaded server configuration"), 15_000, () => `the reload's line did not arrive:\n${text}`);
    controller.abort();
    expect((await following).code).toBe(0);
  });

  test("an unknown node: exit 2 naming the nodes, nothing stopped", async () => {
    const unknown = await runBody(STOP_SPEC, stop, d.target, "nats-9");
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toBe(`error: no node "nats-9" in stack ${STACK}; its nodes: nats-0 (0)\n`);
    expect(inspect(d.specs[0].name, "{{.State.Running}}")).toBe("true");
  });

  test("Docker unreachable (DOCKER_HOST=unix:///nonexistent): exit 3, one line, nothing changed", async () => {
    const previous = process.env.DOCKER_HOST;
    process.env.DOCKER_HOST = "unix:///nonexistent";
    try {
      for (const [spec, body, argv] of [
        [STOP_SPEC, stop, []],
        [RESTART_SPEC, restart, []],
        [LOGS_SPEC, (c: OperateContext) => showLogs(c), []],
        [CLEAN_SPEC, clean, ["--yes"]],
      ] as [OperateSpec, Body, string[]][]) {
        const result = await runBody(spec, body, d.target, ...argv);
        expect(result.code, result.stderr).toBe(3);
        expect(result.stderr).toMatch(/^error: Docker unreachable[^\n]*\n$/);
      }
    } finally {
      if (previous === undefined) delete process.env.DOCKER_HOST;
      else process.env.DOCKER_HOST = previous;
    }
    // The node's own dockerHost is where its container is looked for.
    const elsewhere: Target = { ...d.target, nodes: d.target.nodes.map((n) => ({ ...n, container: { ...n.container!, dockerHost: "unix:///nonexistent" } })) };
    const started = await runBody(START_SPEC, start, elsewhere);
    expect(started.code).toBe(3);
    expect(started.stderr).toMatch(/^error: Docker unreachable at unix:\/\/\/nonexistent/);
    expect(inspect(d.specs[0].name, "{{.State.Running}}")).toBe("true");
    expect(exists("volume", d.specs[0].volumes[0].volumeName)).toBe(true);
  });

  test("stop: a lame duck stop; the connected client is told (ldm) and the server exits 0, not 137", async () => {
    const nc = await connect({ servers: d.credentials["teacher-service"].url, user: "teacher-service", pass: d.credentials["teacher-service"].password, inboxPrefix: d.credentials["teacher-service"].inboxPrefix, reconnect: false });
    opened.push(nc);
    const events = watch(nc);
    const began = Date.now();
    const stopped = await runBody(STOP_SPEC, stop, d.target);
    console.log(`stop of the single server with one client connected: ${Date.now() - began} ms\n${stopped.stdout}`);
    expect(stopped.code, stopped.stderr).toBe(0);
    expect(stopped.stdout).toMatch(/^nats-0: stopped in \d+ ms, exit code 0$/m);
    expect(inspect(d.specs[0].name, "{{.State.Status}} {{.State.ExitCode}} {{.State.OOMKilled}}")).toBe("exited 0 false");
    await nc.closed();
    expect(events.slice(0, 2)).toEqual(["ldm", "disconnect"]);
    expect((await runBody(STOP_SPEC, stop, d.target)).stdout).toContain("nats-0: was not running");
  }, 90_000);

  test("start: the container runs again and the command returns once the server is healthy", async () => {
    const started = await runBody(START_SPEC, start, d.target, "0");
    expect(started.code, started.stderr).toBe(0);
    expect(started.stdout).toContain("nats-0: started, healthy");
    expect((await fetch(`${d.target.nodes[0].monitorUrl}/healthz`)).ok).toBe(true);
    expect((await runBody(START_SPEC, start, d.target)).stdout).toContain("nats-0: already running, healthy");
  });

  test("restart of the one server: restarted once, healthy again", async () => {
    const before = startedAt(d.specs[0].name);
    const restarted = await runBody(RESTART_SPEC, restart, d.target);
    expect(restarted.code, restarted.stderr).toBe(0);
    expect(restarted.stdout).toMatch(/^nats-0: waited \d+ ms, down \d+ ms, healthy \d+ ms later$/m);
    expect(startedAt(d.specs[0].name)).not.toBe(before);
  }, 90_000);

  test("clean refuses without a terminal and without --yes, and for a wrong name typed: nothing deleted", async () => {
    // The test process's stdin is no terminal: clean's own prompt has nothing to ask on.
    const noTerminal = await runBody(CLEAN_SPEC, clean, d.target);
    expect(noTerminal.code).toBe(2);
    expect(noTerminal.stderr).toBe("error: no terminal to confirm on: give --yes to delete without asking; nothing was deleted\n");
    const wrong = await runBody(CLEAN_SPEC, cleanAnswering("dev"), d.target);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain("nothing was deleted");
    expect(inspect(d.specs[0].name, "{{.State.Running}}")).toBe("true");
    expect(exists("volume", d.specs[0].volumes[0].volumeName)).toBe(true);
    expect(existsSync(d.configDirs[0])).toBe(true);
  });

  test("clean --yes lists, then deletes the containers (lame duck stop first), the config dir and volume, and nothing else", async () => {
    const bystander = uniqueName("nats-infra-lc-bystander");
    trackVolume(bystander);
    dockerOk(["volume", "create", "--label", TEST_LABEL, "--label", "nats-infra.role=jetstream-data", bystander]);
    const { name } = d.specs[0];
    const volume = d.specs[0].volumes[0].volumeName;
    // Prometheus's volume, left from a time monitoring was on: the stack's, by name and role label.
    // A Grafana-named volume without the label is someone else's and stays.
    const prefix = (d.raw.docker as { namePrefix: string }).namePrefix;
    const prometheusData = `${prefix}-prometheus-data`;
    const unlabelled = `${prefix}-grafana-data`;
    for (const v of [prometheusData, unlabelled]) trackVolume(v);
    dockerOk(["volume", "create", "--label", TEST_LABEL, "--label", "nats-infra.role=prometheus-data", prometheusData]);
    dockerOk(["volume", "create", "--label", TEST_LABEL, unlabelled]);

    const cleaned = await runBody(CLEAN_SPEC, clean, d.target, "--yes");
    console.log(`clean --yes of the single server:\n${cleaned.stdout}`);

    expect(cleaned.code, cleaned.stderr).toBe(0);
    expect(cleaned.stderr).toBe("");
    expect(cleaned.stdout).toContain(`clean deletes, for stack ${STACK}:`);
    expect(cleaned.stdout).toContain(`    ${name} (nats-0, running)`);
    const surveyor = `${(d.raw.docker as { namePrefix: string }).namePrefix}-surveyor`;
    expect(cleaned.stdout).toContain(`    ${surveyor} (surveyor, running)`);
    expect(cleaned.stdout).toMatch(new RegExp(`^    ${volume} \\(\\d+(\\.\\d+)?[kMG]?B\\)$`, "m"));
    expect(cleaned.stdout).toContain(`    ${d.configDirs[0]}`);
    expect(cleaned.stdout).toContain("npm run down (pulumi destroy) keeps the JetStream volumes on purpose");
    expect(cleaned.stdout).toMatch(/^nats-0: stopping .* \(lame duck, up to 45 s\)$/m);
    expect(exists("container", name)).toBe(false);
    expect(exists("container", surveyor)).toBe(false);
    expect(exists("volume", volume)).toBe(false);
    expect(existsSync(d.configDirs[0])).toBe(false);
    expect(existsSync(path.dirname(d.configDirs[0]))).toBe(true);
    expect(exists("volume", bystander)).toBe(true);
    expect(cleaned.stdout).toMatch(new RegExp(`^    ${prometheusData} \\(`, "m"));
    expect(exists("volume", prometheusData)).toBe(false);
    expect(exists("volume", unlabelled)).toBe(true);

    const again = await runBody(CLEAN_SPEC, clean, d.target, "--yes");
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("nothing to delete");
    const gone = await runBody(START_SPEC, start, d.target);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toBe(`error: nats-0: container ${name}: no such container; is the stack deployed (npm run up)?\n`);
  }, 90_000);
});

describe("the dev stack as a 3-node cluster", () => {
  let d: Deployment;
  beforeAll(async () => {
    const prefix = uniqueName("nats-infra-lcc");
    const nodes = [];
    for (let i = 0; i < 3; i++) nodes.push({ clientPort: await freePort(), monitorPort: await freePort() });
    d = await deploy({
      ...DEV,
      cluster: { nodes },
      docker: { namePrefix: prefix, configDir: path.join(tempDir("nats-infra-lcc-"), "config"), surveyor: { enabled: false } },
    });
  }, 240_000);

  test("logs of every node: each line prefixed with its node", async () => {
    const result = await logs(d.target, "--tail", "2");
    expect(result.code, result.stderr).toBe(0);
    const prefixes = result.stdout.trimEnd().split("\n").map((line) => line.slice(0, line.indexOf(" | ")));
    expect(prefixes).toEqual(["nats-0", "nats-0", "nats-1", "nats-1", "nats-2", "nats-2"]);
  });

  test("restart under a client on the URL list: one node at a time, never two down, the client never closed", async () => {
    const creds = d.credentials;
    const connectAs = async (user: string) => {
      const nc = await connect({ servers: creds[user].url.split(","), user, pass: creds[user].password, inboxPrefix: creds[user].inboxPrefix, maxReconnectAttempts: -1, reconnectTimeWait: 250 });
      opened.push(nc);
      return nc;
    };
    const responder = await connectAs("user-service");
    const asked = responder.subscribe("user.get");
    void (async () => {
      for await (const msg of asked) msg.respond("user-42");
    })();
    await responder.flush();
    const requester = await connectAs("teacher-service");
    const events = { responder: watch(responder), requester: watch(requester) };
    let answered = 0;
    let failed = 0;
    let running = true;
    const requests = (async () => {
      while (running) {
        await requester.request("user.get", "", { timeout: 1_000 }).then(() => answered++, () => failed++);
        await sleep(50);
      }
    })();
    const downtime = watchDowntime(d.target.nodes);
    const before = d.specs.map((s) => startedAt(s.name));

    const began = Date.now();
    const restarted = await runBody(RESTART_SPEC, restart, d.target);
    const tookMs = Date.now() - began;
    await sleep(1_000);
    running = false;
    const down = await downtime.stop();
    await requests;
    console.log(
      `restart of 3 nodes under a requester and a responder: ${tookMs} ms; requests answered ${answered}, failed ${failed}; ` +
        `down (by /healthz polls): ${describeDowntime(down)}; ` +
        `events: requester ${JSON.stringify(events.requester)}, responder ${JSON.stringify(events.responder)}\n${restarted.stdout}`,
    );

    expect(restarted.code, restarted.stderr).toBe(0);
    const order = ["nats-0", "nats-1", "nats-2"].map((n) => restarted.stdout.indexOf(`${n}: restarting`));
    expect(order.every((at) => at >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    d.specs.forEach((s, i) => expect(startedAt(s.name), s.name).not.toBe(before[i]));
    expectOneAtATime(down, ["nats-0", "nats-1", "nats-2"]);
    for (const nc of [responder, requester]) expect(nc.isClosed()).toBe(false);
    expect([...events.requester, ...events.responder]).not.toContain("close");
    expect(events.requester).toContain("ldm");
    expect((await requester.request("user.get", "", { timeout: 5_000 })).string()).toBe("user-42");
  }, 600_000);

  test("restart of one node restarts that node only", async () => {
    const before = d.specs.map((s) => startedAt(s.name));
    const restarted = await runBody(RESTART_SPEC, restart, d.target, "nats-1");
    expect(restarted.code, restarted.stderr).toBe(0);
    expect(d.specs.map((s, i) => startedAt(s.name) !== before[i])).toEqual([false, true, false]);
  }, 180_000);

  test("stop of every node goes in reverse order, each exits 0; a restart then refuses; start brings all back healthy", async () => {
    const stopped = await runBody(STOP_SPEC, stop, d.target);
    expect(stopped.code, stopped.stderr).toBe(0);
    const order = ["nats-2", "nats-1", "nats-0"].map((n) => stopped.stdout.indexOf(`${n}: stopping`));
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    for (const spec of d.specs) expect(inspect(spec.name, "{{.State.Status}} {{.State.ExitCode}}")).toBe("exited 0");

    const refused = await runBody(RESTART_SPEC, restart, d.target, "nats-0");
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("nats-0 (exited), nats-1 (exited), nats-2 (exited) not running: start them first");

    const started = await runBody(START_SPEC, start, d.target);
    expect(started.code, started.stderr).toBe(0);
    await waitNodesHealthy(d.target.nodes, 5_000);
  }, 300_000);

  test("clean --yes removes the 3 containers, their config dirs and volumes, and nothing else", async () => {
    const bystander = uniqueName("nats-infra-lcc-bystander");
    trackVolume(bystander);
    dockerOk(["volume", "create", "--label", TEST_LABEL, bystander]);
    const cleaned = await runBody(CLEAN_SPEC, clean, d.target, "--yes");
    expect(cleaned.code, cleaned.stderr).toBe(0);
    for (const spec of d.specs) {
      expect(exists("container", spec.name)).toBe(false);
      expect(exists("volume", spec.volumes[0].volumeName)).toBe(false);
    }
    for (const dir of d.configDirs) expect(existsSync(dir)).toBe(false);
    expect(exists("volume", bystander)).toBe(true);
  }, 300_000);
});

test("a config dir on another Docker host is removed through Docker there (a throwaway container of the nats image)", async () => {
  const parent = tempDir("nats-infra-lc-remote-");
  const dir = path.join(parent, "config-1");
  writeFileSync(path.join(parent, "keep"), "");
  dockerOk(["run", "--rm", "--label", TEST_LABEL, "--mount", `type=bind,source=${parent},target=/p`, "--entrypoint", "mkdir", image, "/p/config-1"]);
  // The local engine stands in for the other host: the same code path as an ssh:// dockerHost.
  const host = process.env.DOCKER_HOST || "unix:///var/run/docker.sock";
  expect(await removeDirOnDockerHost(dir, host, image, [TEST_LABEL])).toBe(true);
  expect(existsSync(dir)).toBe(false);
  expect(existsSync(path.join(parent, "keep"))).toBe(true);
  expect(await removeDirOnDockerHost(path.join(parent, "missing", "config"), host, image, [TEST_LABEL])).toBe(false);
});
