// `nats-infra dev` when a port the stack needs is taken: by another program, by another dev
// server, by a nats-server left from a dev state dir; at start (nothing is started, exit 3, one
// line per port naming the port, the node, the stack file key and the holder) and on an edit
// (refused, the servers keep serving).
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, expect, test } from "vitest";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import { waitFor } from "../harness/natsServer";
import { freePort, freePortRange } from "../harness/ports";
import { REPO_ROOT, toolPath } from "../harness/tools";

const scratch = mkdtempSync(path.join(tmpdir(), "nats-infra-dev-ports-"));
const devStack = parseYaml(readFileSync(path.join(REPO_ROOT, "Pulumi.dev.yaml"), "utf8")) as { config: Record<string, unknown> };
const children: ChildProcess[] = [];
const holders: Server[] = [];

afterAll(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  // A failed test must not leave servers behind.
  for (const pid of natsOf(scratch)) process.kill(pid, "SIGKILL");
  for (const server of holders) server.close();
  rmSync(scratch, { recursive: true, force: true });
});

interface Ports {
  client: number;
  monitor: number;
  route?: number;
}

function writeStack(name: string, ports: Ports, nodes = 1): string {
  const config = structuredClone(devStack.config);
  config["nats-infra:server"] = { ...(config["nats-infra:server"] as object), clientPort: ports.client, monitorPort: ports.monitor };
  if (nodes > 1) config["nats-infra:cluster"] = { nodes, routePort: ports.route };
  const stackFile = path.join(scratch, `${name}.yaml`);
  writeFileSync(stackFile, stringifyYaml({ config }));
  return stackFile;
}

interface Dev {
  child: ChildProcess;
  output(): string;
  stderr(): string;
  exited: Promise<number | null>;
}

function dev(stackFile: string, stateDir: string): Dev {
  const child = spawn(process.execPath, [path.join(REPO_ROOT, "cli", "nats-infra.cjs"), "dev", "--stack-file", stackFile, "--state-dir", stateDir], { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  let text = "";
  let errors = "";
  child.stdout!.on("data", (d) => (text += d));
  child.stderr!.on("data", (d) => ((text += d), (errors += d)));
  return { child, output: () => text, stderr: () => errors, exited: new Promise((resolve) => child.once("exit", (code) => resolve(code))) };
}

/** Another program on a port: a plain TCP listener of this process. */
async function hold(port: number): Promise<Server> {
  const server = createServer();
  holders.push(server);
  await new Promise<void>((resolve, reject) => server.once("error", reject).listen(port, "127.0.0.1", resolve));
  return server;
}

/** nats-server processes run from this state dir, from /proc. */
function natsOf(stateDir: string): number[] {
  return readdirSync("/proc")
    .filter((entry) => /^\d+$/.test(entry))
    .filter((entry) => {
      try {
        const argv = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
        return path.basename(argv[0]) === "nats-server" && argv.some((a) => a.startsWith(`${stateDir}/`));
      } catch {
        return false;
      }
    })
    .map(Number);
}

const ready = (d: Dev) => waitFor(async () => /^ready$/m.test(d.output()) || d.child.exitCode !== null, 90_000, () => `nats-infra dev did not start:\n${d.output()}`);

test("a port held by another program: exit 3 before anything starts, one line naming the port, node, key and the holder", async () => {
  const ports = { client: await freePort(), monitor: await freePort() };
  const holder = await hold(ports.monitor);
  const stateDir = path.join(scratch, "other-program");
  const run = dev(writeStack("other-program", ports), stateDir);
  expect(await run.exited).toBe(3);
  expect(run.stderr()).toMatch(
    new RegExp(`^error: port ${ports.monitor} \\(node nats-0's monitoring port, nats-infra:server\\.monitorPort\\) is taken by \\S+ \\(pid ${process.pid}\\): stop it, or set another nats-infra:server\\.monitorPort\\n$`),
  );
  // No banner, nothing rendered or started.
  expect(run.output()).not.toContain("Starting nats-server");
  expect(existsSync(path.join(stateDir, "credentials.json"))).toBe(false);
  expect(natsOf(stateDir)).toEqual([]);
  holder.close();
}, 60_000);

test("a cluster: every node's client, monitoring and route port is checked; a taken route port names its node and routePort + index", async () => {
  const ports = { client: await freePortRange(3), monitor: await freePortRange(3), route: await freePortRange(3) };
  const holder = await hold(ports.route + 1);
  const stateDir = path.join(scratch, "cluster");
  const run = dev(writeStack("cluster", ports, 3), stateDir);
  expect(await run.exited).toBe(3);
  expect(run.stderr()).toMatch(
    new RegExp(`^error: port ${ports.route + 1} \\(node nats-1's route port, nats-infra:cluster\\.routePort \\+ 1\\) is taken by \\S+ \\(pid ${process.pid}\\): stop it, or set another nats-infra:cluster\\.routePort\\n$`),
  );
  expect(natsOf(stateDir)).toEqual([]);
  holder.close();
}, 60_000);

test("ports held by another dev server: exit 3 naming its state dir and pid (it keeps serving); by a nats-server left from a dev state dir: its pid", async () => {
  const ports = { client: await freePort(), monitor: await freePort() };
  const stackFile = writeStack("shared", ports);
  const first = path.join(scratch, "first");
  const running = dev(stackFile, first);
  await ready(running);

  const second = dev(stackFile, path.join(scratch, "second"));
  expect(await second.exited).toBe(3);
  const pid = running.child.pid;
  expect(second.stderr()).toBe(
    [
      `error: port ${ports.client} (node nats-0's client port, nats-infra:server.clientPort) is taken by the dev server running from ${first} (pid ${pid}): stop it (Ctrl-C where it runs, or kill ${pid}), or set another nats-infra:server.clientPort`,
      `error: port ${ports.monitor} (node nats-0's monitoring port, nats-infra:server.monitorPort) is taken by the dev server running from ${first} (pid ${pid}): stop it (Ctrl-C where it runs, or kill ${pid}), or set another nats-infra:server.monitorPort`,
      "",
    ].join("\n"),
  );
  expect((await fetch(`http://127.0.0.1:${ports.monitor}/healthz`)).ok).toBe(true);

  // An edit to a port something else holds is refused before any server stops.
  const taken = await freePort();
  const holder = await hold(taken);
  writeFileSync(stackFile, readFileSync(stackFile, "utf8").replace(`clientPort: ${ports.client}`, `clientPort: ${taken}`));
  await waitFor(async () => running.output().includes("the servers keep serving the previous config"), 20_000, () => running.output());
  expect(running.output()).toContain(`refused: port ${taken} (node nats-0's client port, nats-infra:server.clientPort) is taken by`);
  expect((await fetch(`http://127.0.0.1:${ports.monitor}/healthz`)).ok).toBe(true);
  holder.close();

  running.child.kill("SIGINT");
  expect(await running.exited).toBe(0);
  // A nats-server of the first state dir without its dev server (as the bug of npx and SIGTERM left them).
  const left = spawn(toolPath("nats-server"), ["-c", path.join(first, "nats.conf")], { stdio: "ignore" });
  children.push(left);
  await waitFor(async () => (await fetch(`http://127.0.0.1:${ports.monitor}/healthz`).catch(() => undefined))?.ok === true, 30_000, () => "the left nats-server did not start");
  writeFileSync(stackFile, readFileSync(stackFile, "utf8").replace(`clientPort: ${taken}`, `clientPort: ${ports.client}`));
  const third = dev(stackFile, path.join(scratch, "third"));
  expect(await third.exited).toBe(3);
  expect(third.stderr()).toContain(
    `error: port ${ports.client} (node nats-0's client port, nats-infra:server.clientPort) is taken by nats-server (pid ${left.pid}) left running from the dev state dir ${first} without its dev server: stop it (kill ${left.pid}), or set another nats-infra:server.clientPort\n`,
  );
  left.kill("SIGKILL");
}, 120_000);

test("an edit that moves a node to a free port: all its servers start again there, and the save says why", async () => {
  const ports = { client: await freePort(), monitor: await freePort() };
  const stackFile = writeStack("move", ports);
  const running = dev(stackFile, path.join(scratch, "move"));
  await ready(running);
  const monitor = await freePort();
  writeFileSync(stackFile, readFileSync(stackFile, "utf8").replace(`monitorPort: ${ports.monitor}`, `monitorPort: ${monitor}`));
  await waitFor(async () => running.output().includes("applied move.yaml: restarted"), 60_000, () => running.output());
  expect(running.output()).toContain("applied move.yaml: restarted\n  restart of nats-0 (server.monitorPort)\n");
  expect((await fetch(`http://127.0.0.1:${monitor}/healthz`)).ok).toBe(true);
  await expect(fetch(`http://127.0.0.1:${ports.monitor}/healthz`)).rejects.toThrow();
  running.child.kill("SIGINT");
  expect(await running.exited).toBe(0);
}, 120_000);
