// `nats-infra logs` and `nats-infra clean` against a real dev server (ops/devServer.ts on the dev
// stack with free ports, in a temporary state dir), resolved through the real `--dev STATE_DIR`
// target: --tail of its log file, --follow in a child process ended by Ctrl-C (SIGINT), unknown
// node and --url targets refused, stop/start/restart refused for the dev server, then clean of
// its state dir: refused while the server runs, refused without a terminal, a wrong name typed on
// a real terminal (script(1)) deletes nothing, the stack name typed deletes it (given no target:
// the dev server that ran there is the default, as its usage says).
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import type { Command, Output } from "../../cli/command";
import { command as clean } from "../../cli/commands/clean";
import { command as logs } from "../../cli/commands/logs";
import { command as restart } from "../../cli/commands/restart";
import { command as start } from "../../cli/commands/start";
import { command as stop } from "../../cli/commands/stop";
import { DevServer } from "../../ops/devServer";
import type { CliRun } from "../harness/cli";
import { TEST_BCRYPT_COST, waitFor } from "../harness/natsServer";
import { freePort } from "../harness/ports";
import { DEV_STACK_FIXTURE, REPO_ROOT, toolPath } from "../harness/tools";

const scratch = mkdtempSync(path.join(tmpdir(), "nats-infra-logs-"));
const stackFile = path.join(scratch, "Pulumi.dev.yaml");
// Where `npx nats-infra dev` keeps it, relative to `scratch`: the default target of a command run there.
const stateDir = path.join(scratch, ".nats-infra", "dev-server");
const devStack = parseYaml(readFileSync(DEV_STACK_FIXTURE, "utf8")) as { config: Record<string, unknown> };
let dev: DevServer | undefined;

/** A command module run the way main() runs it (until cli/commands/index.ts lists it). */
async function run(command: Command, ...argv: string[]): Promise<CliRun> {
  let stdout = "";
  let stderr = "";
  const output: Output = { out: (t) => void (stdout += t), err: (t) => void (stderr += t) };
  const code = await command.run(argv, output);
  return { code, stdout, stderr };
}

/** A command module in a child process, as `npx nats-infra <command>` runs (cli/nats-infra.cjs: tsx, then the command), from any directory. */
function childArgs(module: string, argv: string[]): string[] {
  const script =
    `require(require.resolve("tsx/cjs", { paths: [${JSON.stringify(REPO_ROOT)}] })); const { processOutput } = require(${JSON.stringify(path.join(REPO_ROOT, "cli", "command.ts"))}); ` +
    `require(${JSON.stringify(path.join(REPO_ROOT, "cli", "commands", module))}).command.run(process.argv.slice(1), processOutput).then((code) => (process.exitCode = code));`;
  return ["-e", script, "--", ...argv];
}

beforeAll(async () => {
  const config = structuredClone(devStack.config);
  config["nats-infra:server"] = { ...(config["nats-infra:server"] as object), clientPort: await freePort(), monitorPort: await freePort() };
  writeFileSync(stackFile, stringifyYaml({ config }));
  dev = await DevServer.start({ stackFile, stateDir, binary: toolPath("nats-server"), log: () => undefined, bcryptCost: TEST_BCRYPT_COST });
}, 90_000);

afterAll(async () => {
  await dev?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

test("logs --tail N: the last N lines of the dev server's nats-server.log, its startup among them; one node's lines unprefixed, as --help says", async () => {
  const file = readFileSync(path.join(stateDir, "nats-server.log"), "utf8");
  const all = await run(logs, "--dev", stateDir);
  expect(all.code, all.stderr).toBe(0);
  expect(all.stdout).toBe(file.endsWith("\n") ? file : `${file}\n`);
  const help = (await run(logs, "--help")).stdout.replace(/\s+/g, " ");
  expect(help).toContain('without NODE, of every node: on a stack of several nodes each line is prefixed with its node ("nats-1 | ..."); the log of one node is printed as the server wrote it.');
  expect(all.stdout).toContain("Starting nats-server");
  expect(all.stdout).toContain("Server is ready");

  const tail = await run(logs, "--dev", stateDir, "--tail", "3", "nats-0");
  expect(tail.code).toBe(0);
  expect(tail.stdout.split("\n").slice(0, -1)).toEqual(file.trimEnd().split("\n").slice(-3));
});

test("logs --follow prints lines as the server writes them and ends with exit 0 on Ctrl-C", async () => {
  const child = spawn(process.execPath, childArgs("logs.ts", ["--dev", stateDir, "--tail", "1", "--follow"]), { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  try {
    await waitFor(async () => out.split("\n").length > 1, 30_000, () => `logs --follow printed nothing:\n${out}`);
    // A reload makes the server write a line now.
    const pid = Number(readFileSync(path.join(stateDir, "nats-server.pid"), "utf8").trim());
    process.kill(pid, "SIGHUP");
    await waitFor(async () => out.includes("Reloaded server configuration"), 15_000, () => `the reload's line did not arrive:\n${out}`);
    child.kill("SIGINT");
    expect(await exited).toBe(0);
  } finally {
    if (child.exitCode === null) child.kill("SIGKILL");
  }
});

test("an unknown node, a bad --tail and a --url target are refused with exit 2; stop/start/restart point the person to Ctrl-C; --help needs no target", async () => {
  const unknown = await run(logs, "--dev", stateDir, "nats-7");
  expect(unknown.code).toBe(2);
  expect(unknown.stderr).toContain('no node "nats-7"');
  expect(unknown.stderr).toContain("nats-0 (0)");

  const byUrl = await run(logs, "--url", dev!.endpoints.client, "--monitor-url", dev!.endpoints.monitor);
  expect(byUrl.code).toBe(2);
  expect(byUrl.stderr).toMatch(/^error: logs need --stack NAME .* or --dev/);
  expect(byUrl.stderr).not.toMatch(/^\s+at /m);

  for (const command of [stop, start, restart]) {
    const refused = await run(command, "--dev", stateDir);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("stopped with Ctrl-C");
  }
  expect((await fetch(`${dev!.endpoints.monitor}/healthz`)).ok).toBe(true);

  for (const command of [logs, stop, start, restart, clean]) {
    const help = await run(command, "--help");
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(new RegExp(`^usage: npx nats-infra ${command.name} `));
  }

  const badTail = await run(logs, "--dev", stateDir, "--tail", "many");
  expect(badTail.code).toBe(2);
  expect(badTail.stderr).toContain("--tail many: give a number of lines");
});

test("clean of the dev server's state dir: refused while it runs, without a terminal, and for a wrong name; the stack name typed deletes it", async () => {
  const running = await run(clean, "--dev", stateDir, "--yes");
  expect(running.code).toBe(1);
  expect(running.stderr).toContain("the dev server is running");
  expect(existsSync(path.join(stateDir, "credentials.json"))).toBe(true);

  await dev!.stop();
  dev = undefined;

  // The test process has no terminal on stdin: nothing to confirm on.
  const noTerminal = await run(clean, "--dev", stateDir);
  expect(noTerminal.code).toBe(2);
  expect(noTerminal.stdout).toContain(`clean deletes the dev server's state directory ${stateDir}`);
  expect(noTerminal.stdout).toContain("Stopping the dev server (Ctrl-C) keeps them on purpose; clean is the way to delete them.");
  expect(noTerminal.stderr).toContain("give --yes");
  expect(existsSync(path.join(stateDir, "credentials.json"))).toBe(true);

  // On a real terminal (script(1) gives the command a pty and types what is on its stdin).
  const onTerminal = (typed: string, argv: string[], cwd: string) => {
    const line = [process.execPath, ...childArgs("clean.ts", argv)].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(" ");
    return spawnSync("script", ["-qec", line, "/dev/null"], { cwd, input: `${typed}\n`, encoding: "utf8", timeout: 60_000 });
  };
  const wrong = onTerminal("prod", ["--dev", stateDir], REPO_ROOT);
  expect(wrong.status, wrong.stdout).toBe(1);
  expect(wrong.stdout).toContain("type the stack name (dev)");
  expect(wrong.stdout).toContain("nothing was deleted");
  expect(existsSync(path.join(stateDir, "credentials.json"))).toBe(true);

  // No target given, in the directory where that dev server ran: it is the one cleaned, as the usage says.
  const usage = (await run(clean, "--help")).stdout;
  expect(usage.split("\n")[0]).toBe("usage: npx nats-infra clean [--stack NAME | --dev [STATE_DIR]] [--yes]");
  expect(usage.replace(/\s+/g, " ")).toContain("without --stack or --dev, that of the dev server that has run here (.nats-infra/dev-server)");
  const right = onTerminal("dev", [], scratch);
  console.log(`clean (no target) on a terminal, "dev" typed:\n${right.stdout}`);
  expect(right.status, right.stdout).toBe(0);
  expect(right.stdout).toContain(`removed ${stateDir}`);
  expect(existsSync(stateDir)).toBe(false);
  expect(existsSync(stackFile)).toBe(true);
}, 90_000);
