// `nats-infra rotate <service>` on the dev server as a person runs it (`nats-infra dev` as a
// child process on the dev stack with free ports, watching its stack file): one password changes
// and is applied by a reload; measured on the live server, the other services' clients stay
// connected, the rotated service's clients on the old password are disconnected and cannot come
// back, and the old password is refused. Also: an unknown service (exit 2, nothing changed), a
// dev server that does not apply it (the old password put back), the server down (exit 3), and
// the stack file edit for a deployed stack.
import { spawn, type ChildProcess } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { connect } from "@nats-io/transport-node";
import type { NatsConnection } from "@nats-io/nats-core";
import { afterAll, beforeAll, expect, test } from "vitest";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import { command } from "../../cli/commands/rotate";
import type { Credential } from "../../config/credentials";
import { parseStackConfig, readStackFile } from "../../config/load";
import { DevServer } from "../../ops/devServer";
import { resolveTarget } from "../../ops/target";
import { RotationNotAppliedError, rotateInStackFile, rotateOnDevServer } from "../../ops/rotate";
import type { CliRun } from "../harness/cli";
import { TEST_BCRYPT_COST, waitFor } from "../harness/natsServer";
import { freePort } from "../harness/ports";
import { DEV_STACK_FIXTURE, REPO_ROOT, toolPath } from "../harness/tools";

const scratch = mkdtempSync(path.join(tmpdir(), "nats-infra-rotate-"));
const stackFile = path.join(scratch, "Pulumi.dev.yaml");
const stateDir = path.join(scratch, "state");
const devStack = parseYaml(readFileSync(DEV_STACK_FIXTURE, "utf8")) as { config: Record<string, unknown> };

/** The command module as main() runs it (cli/commands/index.ts lists it under "rotate"). */
async function rotate(...argv: string[]): Promise<CliRun> {
  let stdout = "";
  let stderr = "";
  const code = await command.run(argv, { out: (t) => void (stdout += t), err: (t) => void (stderr += t) });
  return { code, stdout, stderr };
}

async function writeDevStack(file: string): Promise<void> {
  const config = structuredClone(devStack.config);
  config["nats-infra:server"] = { ...(config["nats-infra:server"] as object), clientPort: await freePort(), monitorPort: await freePort() };
  writeFileSync(file, stringifyYaml({ config }));
}

let dev: { child: ChildProcess; output(): string; exited: Promise<number | null> };

beforeAll(async () => {
  await writeDevStack(stackFile);
  const child = spawn(process.execPath, [path.join(REPO_ROOT, "cli", "nats-infra.cjs"), "dev", "--stack-file", stackFile, "--state-dir", stateDir], { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let text = "";
  child.stdout!.on("data", (d) => (text += d));
  child.stderr!.on("data", (d) => (text += d));
  dev = { child, output: () => text, exited: new Promise((resolve) => child.once("exit", resolve)) };
  await waitFor(async () => /^ready$/m.test(text), 90_000, () => `dev did not start:\n${text}`);
}, 120_000);

afterAll(async () => {
  if (dev?.child.exitCode === null && dev.child.signalCode === null) {
    dev.child.kill("SIGINT");
    await dev.exited;
  }
  rmSync(scratch, { recursive: true, force: true });
});

const credentials = (dir = stateDir): Record<string, Credential> => JSON.parse(readFileSync(path.join(dir, "credentials.json"), "utf8"));

interface Watched {
  nc: NatsConnection;
  events: string[];
}

/** A client that reconnects (as services do), recording what happens to it. */
async function client(user: string, password = credentials()[user].password): Promise<Watched> {
  const nc = await connect({ servers: credentials()[user].url, user, pass: password, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
  const events: string[] = [];
  void (async () => {
    for await (const status of nc.status()) events.push(status.type === "error" ? `error: ${status.error.message}` : status.type);
  })();
  void nc.closed().then((error: void | Error) => events.push(`closed${error ? `: ${error.message}` : ""}`));
  return { nc, events };
}

test("an unknown service: exit 2 naming the declared services, nothing changed; no service or a --url target: exit 2", async () => {
  const before = readFileSync(path.join(stateDir, "credentials.json"), "utf8");
  const run = await rotate("billing-service", "--dev", stateDir);
  expect(run.code).toBe(2);
  expect(run.stderr).toBe('error: no service "billing-service" in the stack config; its services: teacher-service, user-service, notification-service\n');
  expect(readFileSync(path.join(stateDir, "credentials.json"), "utf8")).toBe(before);
  const none = await rotate("--dev", stateDir);
  expect(none.code).toBe(2);
  expect(none.stderr).toContain("error: give the service whose password to rotate");
  const nowhere = await rotate("user-service", "--url", "nats://127.0.0.1:1", "--monitor-url", "http://127.0.0.1:1");
  expect(nowhere.code).toBe(2);
  expect(nowhere.stderr).toBe("error: rotate changes a password where it is kept: use --stack NAME (the stack file) or --dev (the dev server's state dir)\n");
});

test("rotate user-service: only its password changes, applied by reload; others stay connected, its old clients are cut off", async () => {
  const before = credentials();
  const others = [await client("teacher-service"), await client("notification-service")];
  const rotated = await client("user-service");

  const run = await rotate("user-service", "--dev", stateDir);
  expect(run.code, run.stdout + run.stderr).toBe(0);
  expect(run.stdout).toContain("user-service: new password applied by reload on nats-0; the old password is refused");
  await waitFor(async () => dev.output().includes("applied Pulumi.dev.yaml: reloaded"), 10_000, () => dev.output());

  const after = credentials();
  expect(after["user-service"].password).not.toBe(before["user-service"].password);
  expect({ ...after, "user-service": before["user-service"] }).toEqual(before);

  // The other services' clients: not a single disconnect.
  for (const other of others) {
    await other.nc.flush();
    expect(other.events.filter((e) => /disconnect|reconnect|closed|error/.test(e)), other.events.join(", ")).toEqual([]);
    expect(other.nc.isClosed()).toBe(false);
  }
  // The rotated service's client: cut off by the reload, and its reconnects with the old password are refused.
  await waitFor(async () => rotated.events.some((e) => e.startsWith("closed")), 20_000, () => `user-service client events: ${rotated.events.join(", ")}`);
  console.log(`rotate, user-service client on the old password: ${rotated.events.join(", ")}`);
  expect(rotated.events[0]).toBe("error: Authorization Violation");
  expect(rotated.events).toContain("disconnect");
  expect(rotated.events).not.toContain("reconnect");

  // A new client with the old password is refused; the new one works.
  await expect(connect({ servers: after["user-service"].url, user: "user-service", pass: before["user-service"].password, reconnect: false })).rejects.toThrow("Authorization Violation");
  const fresh = await connect({ servers: after["user-service"].url, user: "user-service", pass: after["user-service"].password });
  await fresh.close();
  for (const other of others) await other.nc.close();
});

test("a dev server that does not watch its stack file (one started in-process): not applied (the command's exit 1), the old password put back", async () => {
  const dir = mkdtempSync(path.join(scratch, "unwatched-"));
  const file = path.join(dir, "Pulumi.dev.yaml");
  await writeDevStack(file);
  const unwatched = await DevServer.start({ stackFile: file, stateDir: path.join(dir, "state"), binary: toolPath("nats-server"), log: () => undefined, bcryptCost: TEST_BCRYPT_COST });
  try {
    const before = readFileSync(path.join(dir, "state", "credentials.json"), "utf8");
    const target = resolveTarget({ dev: path.join(dir, "state") }, REPO_ROOT);
    const failure = await rotateOnDevServer(target, path.join(dir, "state"), "teacher-service", 1_500).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(RotationNotAppliedError);
    expect((failure as Error).message).toContain("the old password was put back");
    expect(readFileSync(path.join(dir, "state", "credentials.json"), "utf8")).toBe(before);
  } finally {
    await unwatched.kill();
  }
});

test("a deployed stack: passwordRotation of that one service goes 1, 2 in the stack file; comments and everything else stay", () => {
  const file = path.join(scratch, "Pulumi.rotate.yaml");
  copyFileSync(DEV_STACK_FIXTURE, file);
  const original = readFileSync(file, "utf8");
  expect(rotateInStackFile(file, "user-service")).toMatchObject({ key: "nats-infra:services[1].passwordRotation", from: undefined, to: 1 });
  expect(rotateInStackFile(file, "user-service")).toMatchObject({ from: 1, to: 2 });
  const text = readFileSync(file, "utf8");
  // One line added, nothing else: the comments are kept.
  expect(text.split("\n").filter((line) => !original.split("\n").includes(line))).toEqual(["      passwordRotation: 2"]);
  expect(text.split("\n").length).toBe(original.split("\n").length + 1);
  const services = parseStackConfig(readStackFile(file)).config.services;
  expect(services.map((s) => s.passwordRotation)).toEqual([undefined, 2, undefined]);
});

test("the dev server down: exit 3, nothing changed", async () => {
  dev.child.kill("SIGINT");
  await dev.exited;
  const before = readFileSync(path.join(stateDir, "credentials.json"), "utf8");
  const run = await rotate("teacher-service", "--dev", stateDir);
  expect(run.code).toBe(3);
  expect(run.stderr).toMatch(/^error: the dev server does not answer \(nats-0: no answer: .+\); start it with npx nats-infra dev\n$/);
  expect(readFileSync(path.join(stateDir, "credentials.json"), "utf8")).toBe(before);
}, 90_000);
