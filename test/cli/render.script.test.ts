// The render command: the files it writes, the passwords it makes and keeps, and how it fails
// (exit code, the problem list on stderr, no stack trace, nothing written). Run in-process on
// the same arguments and output a person gets, and twice as a person runs it
// (`npx tsx cli/render.ts ...`, a child process), which proves the entry point itself.
import { spawn } from "node:child_process";
import { chmodSync, cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import bcrypt from "bcryptjs";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import { parseStackConfig, readStackFile } from "../../config/load";
import { natsUsers } from "../../config/users";
import { render as renderCommand } from "../../cli/render";
import { renderNatsConf } from "../../render/natsConf";
import { checkConfigFile } from "../harness/natsServer";
import { DEV_STACK_FIXTURE } from "../harness/tools";

const REPO = path.resolve(__dirname, "..", "..");
const DEV_STACK = DEV_STACK_FIXTURE;
const ACCOUNTS_STACK = path.join(__dirname, "..", "fixtures", "Pulumi.accounts.yaml");
/** Each run compiles the tool and hashes passwords: a few seconds, more on a busy machine. */
const RUN_TIMEOUT_MS = 90_000;
const scratch = mkdtempSync(path.join(tmpdir(), "nats-infra-render-cli-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The command in this process, with its output captured. */
async function render(args: string[]): Promise<Run> {
  let stdout = "";
  let stderr = "";
  const code = await renderCommand(args, { out: (text) => void (stdout += text), err: (text) => void (stderr += text) });
  return { code, stdout, stderr };
}

/**
 * Runs the render command as a process from the repository (where `npx tsx` finds the pinned
 * tsx); bounded by a timeout so a hang fails the test instead of stalling it.
 */
function spawnRender(args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn("npx", ["tsx", "cli/render.ts", ...args], { cwd: REPO, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), RUN_TIMEOUT_MS);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

let dirs = 0;
const freshDir = (name: string) => path.join(scratch, `${name}-${++dirs}`);

type Credentials = Record<string, { user: string; password: string; account: string; url: string; inboxPrefix: string }>;
const readJson = <T>(file: string): T => JSON.parse(readFileSync(file, "utf8")) as T;

/** auth.conf is a comment line and then one JSON-compatible object; hashes by user name. */
function authHashes(file: string): Record<string, string> {
  const text = readFileSync(file, "utf8");
  const auth = JSON.parse(text.slice(text.indexOf("\n") + 1)) as { accounts: Record<string, { users: { user: string; password: string }[] }> };
  return Object.fromEntries(Object.values(auth.accounts).flatMap((a) => a.users.map((u) => [u.user, u.password])));
}

function writeStack(name: string, config: Record<string, unknown>): string {
  const file = path.join(scratch, `Pulumi.${name}.yaml`);
  writeFileSync(file, stringifyYaml({ config }));
  return file;
}

const noStackTrace = (text: string) => expect(text, "stderr shows a stack trace").not.toMatch(/^\s+at /m);

/** One render of the dev stack that several tests inspect or start from (each run costs seconds). */
const devOut = path.join(scratch, "dev");
let devRun: Run;
beforeAll(async () => {
  devRun = await spawnRender(["--stack-file", DEV_STACK, "--out", devOut]);
}, RUN_TIMEOUT_MS);

/** A copy of the dev render, for a test that changes files in it. */
function copyOfDevRender(name: string): string {
  const dir = freshDir(name);
  cpSync(devOut, dir, { recursive: true });
  return dir;
}

describe.concurrent("render command", { timeout: 2 * RUN_TIMEOUT_MS }, () => {
  test("writes nats.conf, auth.conf and credentials.json with a password for every user", async () => {
    const out = devOut;
    const run = devRun;
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(`wrote nats.conf, auth.conf and credentials.json to ${out}\n`);
    expect(readdirSync(out).sort()).toEqual(["auth.conf", "credentials.json", "nats.conf"]);

    const config = parseStackConfig(readStackFile(DEV_STACK)).config;
    expect(readFileSync(path.join(out, "nats.conf"), "utf8")).toBe(renderNatsConf(config, { kind: "container" }));

    const credentials = readJson<Credentials>(path.join(out, "credentials.json"));
    const users = natsUsers(config);
    expect(Object.keys(credentials).sort()).toEqual(users.map((u) => u.user).sort());
    for (const user of users) {
      // The URL the deployment publishes (docker.bindAddress, the stack's client port), and the
      // prefix the user's replies arrive under (the dev stack is private).
      expect(credentials[user.user]).toEqual({ user: user.user, password: expect.any(String), account: user.account, url: "nats://127.0.0.1:4222", inboxPrefix: user.inboxPrefix });
      expect(credentials[user.user].password).toMatch(/^[A-Za-z0-9_-]{32}$/);
    }
    expect(credentials["teacher-service"].inboxPrefix).toBe("_INBOX_teacher-service");
    expect(credentials._jsadmin_APP.inboxPrefix).toBe("_INBOX__jsadmin_APP");
    const passwords = Object.values(credentials).map((c) => c.password);
    expect(new Set(passwords).size).toBe(passwords.length);

    // auth.conf holds a bcrypt hash of exactly that password, and never the password itself.
    const auth = readFileSync(path.join(out, "auth.conf"), "utf8");
    const hashes = authHashes(path.join(out, "auth.conf"));
    for (const { user, password } of Object.values(credentials)) {
      expect(bcrypt.compareSync(password, hashes[user]), user).toBe(true);
      expect(auth).not.toContain(password);
    }

    // Secrets are for the owner only.
    expect(statSync(path.join(out, "auth.conf")).mode & 0o777).toBe(0o600);
    expect(statSync(path.join(out, "credentials.json")).mode & 0o777).toBe(0o600);
    const check = checkConfigFile(path.join(out, "nats.conf"));
    expect(check.ok, check.output).toBe(true);
  });

  test("--local renders loopback with the stack's ports, and the store and pid file under --out (made absolute)", async () => {
    const out = freshDir("local");
    const relative = path.relative(REPO, out);
    expect(path.isAbsolute(relative)).toBe(false);
    const run = await render(["--stack-file", ACCOUNTS_STACK, "--out", relative, "--local"]);
    expect(run.code, run.stderr).toBe(0);
    const conf = readFileSync(path.join(out, "nats.conf"), "utf8");
    // The fixture's ports, not the defaults.
    expect(conf).toContain('listen: "127.0.0.1:14222"\n');
    expect(conf).toContain('http: "127.0.0.1:18222"\n');
    expect(conf).toContain(`"store_dir": "${out}"`);
    expect(conf).toContain(`pid_file: "${path.join(out, "nats-server.pid")}"\n`);
    expect(conf).not.toContain("0.0.0.0");
    // credentials.json points at the server this render is for, so a client can use it as is.
    const credentials = readJson<Credentials>(path.join(out, "credentials.json"));
    expect(new Set(Object.values(credentials).map((c) => c.url))).toEqual(new Set(["nats://127.0.0.1:14222"]));
    const check = checkConfigFile(path.join(out, "nats.conf"));
    expect(check.ok, check.output).toBe(true);
  });

  test("--credentials keeps earlier passwords; new users get new ones and removed users are dropped", async () => {
    const first = devOut;
    const before = readJson<Credentials>(path.join(first, "credentials.json"));

    // The dev stack with user-service replaced by a new billing service.
    const dev = parseYaml(readFileSync(DEV_STACK, "utf8")) as { config: Record<string, { name: string }[]> };
    const services = dev.config["nats-infra:services"].filter((s) => s.name !== "user-service");
    const changed = writeStack("changed", { ...dev.config, "nats-infra:services": [...services, { name: "billing", publish: ["billing.>"] }] });

    const second = freshDir("second");
    const run = await render(["--stack-file", changed, "--out", second, "--credentials", path.join(first, "credentials.json")]);
    expect(run.code, run.stderr).toBe(0);
    const after = readJson<Credentials>(path.join(second, "credentials.json"));
    expect(Object.keys(after)).not.toContain("user-service");
    for (const user of ["teacher-service", "notification-service", "_surveyor", "_tools", "_jsadmin_APP"]) {
      expect(after[user].password, user).toBe(before[user].password);
    }
    expect(after.billing.password).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(Object.values(before).map((c) => c.password)).not.toContain(after.billing.password);
    const hashes = authHashes(path.join(second, "auth.conf"));
    for (const { user, password } of Object.values(after)) expect(bcrypt.compareSync(password, hashes[user]), user).toBe(true);
  });

  test("bad config: exit code 2, every problem on stderr, no stack trace, nothing written", async () => {
    const bad = writeStack("bad", {
      "nats-infra:services": [{ name: "Bad Name" }, { name: "ok", publish: ["a..b"], account: "NOPE" }],
      "nats-infra:server": { maxPayload: "100MB" },
    });
    const out = freshDir("bad");
    // As a process: the entry point turns the error into stderr and the exit code itself.
    const run = await spawnRender(["--stack-file", bad, "--out", out]);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe("");
    expect(run.stderr).toMatch(/^Invalid nats-infra stack config \(4 problems\):\n/);
    expect(run.stderr).toContain('  - nats-infra:services[0].name: service names are 1-63 lowercase letters');
    expect(run.stderr).toContain("  - nats-infra:services[1].publish[0]: not a valid subject");
    expect(run.stderr).toContain("  - nats-infra:services[1].account: no such account; declared accounts: APP");
    expect(run.stderr).toContain("  - nats-infra:server.maxPayload: must be at most 64MB");
    noStackTrace(run.stderr);
    expect(existsSync(out)).toBe(false);
  });

  test("bad config leaves an earlier render in --out untouched", async () => {
    const out = copyOfDevRender("kept");
    const before = Object.fromEntries(readdirSync(out).map((f) => [f, readFileSync(path.join(out, f), "utf8")]));
    const bad = writeStack("bad-kept", { "nats-infra:services": [{ name: "svc", subscribe: ["orders.>.x"] }] });
    const run = await render(["--stack-file", bad, "--out", out]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("nats-infra:services[0].subscribe[0]");
    noStackTrace(run.stderr);
    expect(Object.fromEntries(readdirSync(out).map((f) => [f, readFileSync(path.join(out, f), "utf8")]))).toEqual(before);
  });

  test("a missing stack file is reported by name, with exit code 2", async () => {
    const out = freshDir("missing");
    const run = await render(["--stack-file", path.join(scratch, "Pulumi.nope.yaml"), "--out", out]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("Pulumi.nope.yaml: cannot read the stack file");
    noStackTrace(run.stderr);
    expect(existsSync(out)).toBe(false);
  });

  test.each([
    [[], "--stack-file is required"],
    [["--stack-file", DEV_STACK], "--out is required"],
    [["--stack-file", DEV_STACK, "--out"], "--out needs a value"],
    [["--stack-file", DEV_STACK, "--out", "x", "--colour"], "unknown flag --colour"],
    [["Pulumi.dev.yaml"], 'unexpected argument "Pulumi.dev.yaml"'],
  ])("usage errors print the problem and the usage, and exit non-zero: %j", async (args, problem) => {
    const run = await render(args);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`error: ${problem}\n`);
    expect(run.stderr).toContain("usage: npx nats-infra render --stack-file Pulumi.<stack>.yaml --out <dir>");
    noStackTrace(run.stderr);
    expect(existsSync(path.join(REPO, "x"))).toBe(false);
  });

  test("--help prints the usage and succeeds", async () => {
    const run = await render(["--help"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("--credentials  reuse the passwords of an earlier credentials.json");
  });

  test("a warning is printed on stderr with its path, and the files are still written", async () => {
    const stack = writeStack("warn", { "nats-infra:services": [{ name: "asker", subscribe: ["_INBOX.*"] }] });
    const out = freshDir("warn");
    const run = await render(["--stack-file", stack, "--out", out]);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/^warning: nats-infra:services\[0\]\.subscribe\[0\]: "_INBOX\.\*" matches only one token/);
    expect(existsSync(path.join(out, "auth.conf"))).toBe(true);
  });

  test("a cluster renders one directory per node, keeps its route password, and each node's config passes nats-server -t", async () => {
    const dev = parseYaml(readFileSync(DEV_STACK, "utf8")) as { config: Record<string, unknown> };
    const stack = writeStack("cluster", { ...dev.config, "nats-infra:cluster": { nodes: 3 } });
    const out = freshDir("cluster");
    const run = await render(["--stack-file", stack, "--out", out, "--local"]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain("one directory per node: node-0 .. node-2");
    expect(readdirSync(out).sort()).toEqual(["cluster-route.json", "credentials.json", "node-0", "node-1", "node-2"]);
    expect(statSync(path.join(out, "cluster-route.json")).mode & 0o777).toBe(0o600);
    const { routePassword } = readJson<{ routePassword: string }>(path.join(out, "cluster-route.json"));
    for (const node of ["node-0", "node-1", "node-2"]) {
      expect(readdirSync(path.join(out, node)).sort()).toEqual(["auth.conf", "cluster.conf", "nats.conf"]);
      expect(statSync(path.join(out, node, "cluster.conf")).mode & 0o777).toBe(0o600);
      expect(readFileSync(path.join(out, node, "cluster.conf"), "utf8")).toContain(`_route:${routePassword}@127.0.0.1:`);
      const check = checkConfigFile(path.join(out, node, "nats.conf"));
      expect(check.ok, check.output).toBe(true);
    }
    // Every credential lists all three servers.
    const credentials = readJson<Credentials>(path.join(out, "credentials.json"));
    expect(credentials["teacher-service"].url.split(",")).toHaveLength(3);
    // Rendered again with --credentials: the same user and route passwords.
    const again = freshDir("cluster-again");
    expect((await render(["--stack-file", stack, "--out", again, "--local", "--credentials", path.join(out, "credentials.json")])).code).toBe(0);
    expect(readJson<{ routePassword: string }>(path.join(again, "cluster-route.json")).routePassword).toBe(routePassword);
    expect(readJson<Credentials>(path.join(again, "credentials.json"))["teacher-service"].password).toBe(credentials["teacher-service"].password);
  });

  test("secret files that already existed with looser permissions end up owner-only", async () => {
    const out = copyOfDevRender("modes");
    for (const file of ["auth.conf", "credentials.json"]) chmodSync(path.join(out, file), 0o644);
    expect((await render(["--stack-file", DEV_STACK, "--out", out])).code).toBe(0);
    expect(statSync(path.join(out, "auth.conf")).mode & 0o777).toBe(0o600);
    expect(statSync(path.join(out, "credentials.json")).mode & 0o777).toBe(0o600);
  });

  test("an unreadable --credentials file is named, nothing is written", async () => {
    const broken = path.join(scratch, "broken-credentials.json");
    writeFileSync(broken, '{"teacher-service": {"user": "teacher-service", "password": 42}}');
    const out = freshDir("broken");
    const run = await render(["--stack-file", DEV_STACK, "--out", out, "--credentials", broken]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`--credentials: ${broken} is not a credentials.json`);
    expect(run.stderr).toContain('entry "teacher-service" has no password');
    noStackTrace(run.stderr);
    expect(existsSync(out)).toBe(false);
  });
});
