// The README's quick start and connection snippets, exactly as written there: `npx nats-infra
// dev` at the repository root (the dev stack, the default state dir), then the shell block (its
// exports, and user-service answering user.get through natscli) followed by the Node.js or the
// Python, natscli or Go block, in one shell, as a person pastes them.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, test } from "vitest";
import { waitFor } from "../harness/natsServer";
import { readmeSnippet } from "../harness/readme";
import { natsPyPath, REPO_ROOT } from "../harness/tools";

const run = promisify(execFile);

/** The Quick start's second command, word for word. */
function quickStartDevCommand(): string[] {
  const readme = readFileSync(path.join(REPO_ROOT, "README.md"), "utf8");
  const line = /^npx nats-infra dev\b[^#\n]*/m.exec(readme);
  if (!line) throw new Error("README.md's quick start has no `npx nats-infra dev` line");
  return line[0].trim().split(/\s+/);
}

let dev: ChildProcess;
let devOutput = "";
let scratch: string;
beforeAll(async () => {
  if (!existsSync(path.join(REPO_ROOT, ".tools", "bin", "nats"))) throw new Error("natscli is not in .tools/bin; run `npm run tools`");
  const [npx, ...args] = quickStartDevCommand();
  // Its own process group, so Ctrl-C can go to the whole group, as a terminal sends it.
  dev = spawn(npx, args, { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"], detached: true });
  dev.stdout!.on("data", (d) => (devOutput += d));
  dev.stderr!.on("data", (d) => (devOutput += d));
  await waitFor(async () => /^ready$/m.test(devOutput) || dev.exitCode !== null, 90_000, () => `nats-infra dev did not start:\n${devOutput}`);
  if (dev.exitCode !== null) throw new Error(`nats-infra dev exited (is a dev server already running, or port 4222 taken?):\n${devOutput}`);
  // Inside the repo so that the Node snippet resolves @nats-io/transport-node from node_modules.
  scratch = mkdtempSync(path.join(REPO_ROOT, "node_modules", ".snippets-"));
}, 120_000);

afterAll(async () => {
  if (dev && dev.exitCode === null && dev.signalCode === null) {
    const exited = new Promise((resolve) => dev.once("exit", resolve));
    ctrlC();
    await exited;
  }
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

/** What a terminal does on Ctrl-C: SIGINT to every process of the foreground group (npx and node). */
function ctrlC(): void {
  try {
    process.kill(-dev.pid!, "SIGINT");
  } catch {
    // the group is gone already
  }
}

/** The reply line of a run; natscli's responder prints the requests it answers on the same terminal. */
const replyLine = (stdout: string) => stdout.trim().split("\n").filter((l) => l.startsWith("reply:")).join("\n");

/** The shell block, then `client`, in one bash at the repository root; the responder is stopped after. */
async function pasteWith(client: string, timeout = 30_000): Promise<string> {
  const script = `${readmeSnippet("shell")}\nsleep 0.5\n${client}\nstatus=$?\nkill %1 2>/dev/null\nexit $status\n`;
  const { stdout } = await run("bash", ["-c", script], { cwd: REPO_ROOT, timeout });
  return stdout;
}

test("the shell block, then the Node.js block: teacher-service asks user-service and prints the reply", async () => {
  const file = path.join(scratch, "connect.mjs");
  writeFileSync(file, readmeSnippet("node"));
  expect(replyLine(await pasteWith(`node ${file}`))).toBe('reply: {"id":42,"name":"Ada"}');
});

test("the shell block, then the Python block (nats-py) does the same", async () => {
  const python = natsPyPath();
  const file = path.join(scratch, "connect.py");
  writeFileSync(file, readmeSnippet("python"));
  expect(replyLine(await pasteWith(`${python} ${file}`))).toBe('reply: {"id":42,"name":"Ada"}');
});

test("the shell block, then the natscli block: the request goes out with teacher-service's inbox prefix and gets the reply", async () => {
  expect(await pasteWith(readmeSnippet("natscli"))).toContain('{"id":42,"name":"Ada"}');
});

test("the shell block, then the Go block (nats.go) does the same", async () => {
  // A module of its own, as the README says; nats.go at the version test/clients/go pins (its
  // go.mod and go.sum, so no network is needed once tools/build-go-client.sh has run).
  const module = path.join(scratch, "go-connect");
  mkdirSync(module);
  for (const file of ["go.mod", "go.sum"]) copyFileSync(path.join(REPO_ROOT, "test", "clients", "go", file), path.join(module, file));
  writeFileSync(path.join(module, "main.go"), readmeSnippet("go"));
  expect(replyLine(await pasteWith(`(cd ${module} && go run .)`, 120_000))).toBe('reply: {"id":42,"name":"Ada"}');
}, 150_000);

test("without the inbox prefix the request gets no reply: the shared _INBOX.> is not teacher-service's", async () => {
  const file = path.join(scratch, "connect-shared.mjs");
  writeFileSync(file, readmeSnippet("node"));
  await expect(pasteWith(`unset NATS_INBOX_PREFIX\nnode ${file}`)).rejects.toThrow(/Permissions Violation for Subscription to "_INBOX\.|TIMEOUT|timeout/i);
});

test("with another service's password the Node.js block is refused", async () => {
  const file = path.join(scratch, "connect-wrong.mjs");
  writeFileSync(file, readmeSnippet("node"));
  const wrong = `export NATS_PASSWORD=$(jq -r '.["user-service"].password' $creds)\nnode ${file}`;
  await expect(pasteWith(wrong)).rejects.toThrow(/Authorization Violation|AUTHORIZATION_VIOLATION/i);
});

test("the dev server stops with lame duck on Ctrl-C", async () => {
  const exited = new Promise<void>((resolve) => dev.once("exit", () => resolve()));
  ctrlC();
  await exited;
  // npm exec itself ends on the signal; what matters is that nats-infra stopped the server its way.
  await waitFor(async () => devOutput.includes("stopped"), 60_000, () => `nats-infra dev did not say it stopped:\n${devOutput}`);
  expect(readFileSync(path.join(REPO_ROOT, ".nats-infra", "dev-server", "nats-server.log"), "utf8")).toContain("Entering lame duck mode");
}, 60_000);
