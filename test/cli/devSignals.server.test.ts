// `nats-infra dev` stopped every way it is started and ended: node directly (SIGINT, SIGTERM,
// SIGHUP), npx (SIGTERM to npx, which npm passes only to its `sh -c` wrapper; Ctrl-C to the
// whole process group), `npm run dev` (SIGTERM to npm), under `timeout`, a signal during
// start-up, and the dev server itself killed. Each time: no nats-server of its state dir is left
// and every port the stack uses can be bound again.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, expect, test } from "vitest";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import { waitFor } from "../harness/natsServer";
import { freePort, freePortRange } from "../harness/ports";
import { REPO_ROOT } from "../harness/tools";

const scratch = mkdtempSync(path.join(tmpdir(), "nats-infra-dev-signals-"));
const devStack = parseYaml(readFileSync(path.join(REPO_ROOT, "Pulumi.dev.yaml"), "utf8")) as { config: Record<string, unknown> };
const started: Run[] = [];

afterAll(async () => {
  // A failed test must not leave servers behind either.
  for (const run of started) for (const pid of [...nats(run.stateDir), ...(run.devPid() ? [run.devPid()!] : [])]) kill(pid, "SIGKILL");
  rmSync(scratch, { recursive: true, force: true });
});

interface Run {
  child: ChildProcess;
  stateDir: string;
  ports: number[];
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The dev server's pid (dev.json), once it wrote it. */
  devPid(): number | undefined;
}

/** A stack file on free ports: the dev stack, or `nodes` nodes of it. */
async function stack(name: string, nodes = 1): Promise<{ stackFile: string; stateDir: string; ports: number[] }> {
  const dir = path.join(scratch, name);
  const [client, monitor, route] = [await freePortRange(nodes), await freePortRange(nodes), nodes > 1 ? await freePortRange(nodes) : await freePort()];
  const config = structuredClone(devStack.config);
  config["nats-infra:server"] = { ...(config["nats-infra:server"] as object), clientPort: client, monitorPort: monitor };
  if (nodes > 1) config["nats-infra:cluster"] = { nodes, routePort: route };
  const stackFile = path.join(scratch, `${name}.yaml`);
  writeFileSync(stackFile, stringifyYaml({ config }));
  const range = (base: number) => Array.from({ length: nodes }, (_, i) => base + i);
  return { stackFile, stateDir: dir, ports: [...range(client), ...range(monitor), ...(nodes > 1 ? range(route) : [])] };
}

/** Runs `command` (detached: its own process group, as a terminal's foreground job). */
function start(command: string, args: string[], where: { stateDir: string; ports: number[] }): Run {
  const child = spawn(command, args, { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"], detached: true });
  let text = "";
  child.stdout!.on("data", (d) => (text += d));
  child.stderr!.on("data", (d) => (text += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  const devPid = () => {
    try {
      return (JSON.parse(readFileSync(path.join(where.stateDir, "dev.json"), "utf8")) as { pid?: number }).pid;
    } catch {
      return undefined;
    }
  };
  const run = { child, ...where, output: () => text, exited, devPid };
  started.push(run);
  return run;
}

const devArgs = (where: { stackFile: string; stateDir: string }) => ["dev", "--stack-file", where.stackFile, "--state-dir", where.stateDir];
const nodeDirectly = (where: { stackFile: string; stateDir: string; ports: number[] }) => start(process.execPath, [path.join(REPO_ROOT, "cli", "nats-infra.cjs"), ...devArgs(where)], where);
const viaNpx = (where: { stackFile: string; stateDir: string; ports: number[] }) => start("npx", ["nats-infra", ...devArgs(where)], where);

const ready = (run: Run) => waitFor(async () => /^ready$/m.test(run.output()), 90_000, () => `nats-infra dev did not start:\n${run.output()}`);

/** Every nats-server process run from this state dir (its `-c <stateDir>/...nats.conf`), from /proc. */
function nats(stateDir: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
    } catch {
      continue;
    }
    if (path.basename(argv[0]) === "nats-server" && argv.some((a) => a.startsWith(`${stateDir}/`))) pids.push(Number(entry));
  }
  return pids;
}

/** Running: a process that exited but is not reaped yet (a zombie, state Z) counts as gone. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

function kill(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // gone already
  }
}

const canBind = (port: number) =>
  new Promise<boolean>((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });

/** Waits until the dev server process has exited; then no nats-server of its state dir may be left, and every port is free. */
async function expectAllGone(run: Run, devPid: number, timeoutMs = 60_000): Promise<number> {
  const since = Date.now();
  await waitFor(async () => !alive(devPid), timeoutMs, () => `the dev server (pid ${devPid}) is still running:\n${run.output()}`);
  const gone = Date.now() - since;
  expect(nats(run.stateDir), "nats-server processes left").toEqual([]);
  expect(await Promise.all(run.ports.map(canBind)), `ports ${run.ports.join(", ")} free`).toEqual(run.ports.map(() => true));
  return gone;
}

test.each(["SIGINT", "SIGTERM", "SIGHUP"] as const)("node directly, %s: lame duck, exit 0, no server or port left", async (signal) => {
  const run = nodeDirectly(await stack(`node-${signal}`));
  await ready(run);
  const servers = nats(run.stateDir);
  expect(servers).toHaveLength(1);
  expect(run.devPid()).toBe(run.child.pid);
  run.child.kill(signal);
  expect(await run.exited).toEqual({ code: 0, signal: null });
  await expectAllGone(run, run.child.pid!);
  expect(run.output()).toMatch(new RegExp(`^${signal}.*: lame duck`, "m"));
  expect(run.output()).toMatch(/^stopped$/m);
  expect(readFileSync(path.join(run.stateDir, "nats-server.log"), "utf8")).toContain("Entering lame duck mode");
}, 120_000);

test("npx, a 3-node cluster, SIGTERM to npx: npx ends at once (143), the dev server sees its parent gone and stops all three", async () => {
  const run = viaNpx(await stack("npx-term", 3));
  await ready(run);
  expect(nats(run.stateDir)).toHaveLength(3);
  const devPid = run.devPid()!;
  expect(devPid).not.toBe(run.child.pid);
  const sent = Date.now();
  run.child.kill("SIGTERM");
  // npm passes SIGTERM to its sh -c wrapper, which dies; npm then ends itself by the same signal.
  expect(await run.exited).toEqual({ code: null, signal: "SIGTERM" });
  await expectAllGone(run, devPid);
  console.log(`npx SIGTERM, 3 nodes: every nats-server gone and every port free ${Date.now() - sent} ms after the signal`);
  expect(run.output()).toMatch(/^the process that started nats-infra dev \(pid \d+\) is gone: lame duck/m);
  expect(run.output()).toMatch(/^stopped$/m);
  for (let i = 0; i < 3; i++) expect(readFileSync(path.join(run.stateDir, `node-${i}`, "nats-server.log"), "utf8")).toContain("Entering lame duck mode");
}, 180_000);

test("npx, Ctrl-C (SIGINT to the process group): the dev server stops with lame duck; npx ends by SIGINT (130), as npm's sh wrapper re-raises it", async () => {
  const run = viaNpx(await stack("npx-ctrl-c"));
  await ready(run);
  const devPid = run.devPid()!;
  process.kill(-run.child.pid!, "SIGINT");
  expect(await run.exited).toEqual({ code: null, signal: "SIGINT" });
  await expectAllGone(run, devPid);
  expect(run.output()).toMatch(/^SIGINT \(Ctrl-C\): lame duck/m);
  expect(run.output()).toMatch(/^stopped$/m);
}, 120_000);

test("npm run dev, SIGTERM to npm: the dev server stops, nothing left", async () => {
  const where = await stack("npm-run");
  const run = start("npm", ["run", "dev", "--", "--stack-file", where.stackFile, "--state-dir", where.stateDir], where);
  await ready(run);
  const devPid = run.devPid()!;
  run.child.kill("SIGTERM");
  expect((await run.exited).signal).toBe("SIGTERM");
  await expectAllGone(run, devPid);
  expect(run.output()).toMatch(/^stopped$/m);
}, 120_000);

test("under timeout: when it expires (SIGTERM to the group), timeout exits 124 and the dev server stops, nothing left", async () => {
  const where = await stack("timeout");
  // Long enough to start on a loaded machine; the test waits for it to expire.
  const run = start("timeout", ["12", "npx", "nats-infra", ...devArgs(where)], where);
  await ready(run);
  const devPid = run.devPid()!;
  expect((await run.exited).code).toBe(124);
  await expectAllGone(run, devPid);
  expect(run.output()).toMatch(/^SIGTERM: lame duck/m);
  expect(run.output()).toMatch(/^stopped$/m);
}, 120_000);

test("a signal during start-up: the servers that are starting are stopped once up, exit 0", async () => {
  const run = nodeDirectly(await stack("during-start"));
  await waitFor(async () => nats(run.stateDir).length > 0 || run.child.exitCode !== null, 60_000, () => `no nats-server started:\n${run.output()}`);
  run.child.kill("SIGTERM");
  expect(await run.exited).toEqual({ code: 0, signal: null });
  await expectAllGone(run, run.child.pid!);
  expect(run.output()).toMatch(/^SIGTERM: lame duck/m);
}, 120_000);

test("the dev server killed (SIGKILL, no handler runs): its nats-server gets SIGTERM from the kernel (parent-death signal) and exits", async () => {
  const run = nodeDirectly(await stack("killed"));
  await ready(run);
  const [server] = nats(run.stateDir);
  run.child.kill("SIGKILL");
  expect((await run.exited).signal).toBe("SIGKILL");
  await waitFor(async () => !alive(server), 30_000, () => `nats-server ${server} outlived its dev server`);
  await expectAllGone(run, run.child.pid!);
}, 120_000);
