// tools/pulumi.sh (npm run up/preview/down/outputs) with a recording stand-in for the Pulumi CLI:
// the CLI cannot be installed on our build machines, so this checks what the wrapper hands it
// (backend, passphrase, stack, arguments), not what Pulumi then does.
import { execFile } from "node:child_process";
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeEach, expect, test } from "vitest";
import { REPO_ROOT } from "../harness/tools";

const run = promisify(execFile);
let project: string;
let calls: string;

beforeEach(() => {
  project = mkdtempSync(path.join(tmpdir(), "nats-infra-wrapper-"));
  mkdirSync(path.join(project, "tools"));
  mkdirSync(path.join(project, "bin"));
  for (const script of ["pulumi.sh", "pulumi-env.sh"]) cpSync(path.join(REPO_ROOT, "tools", script), path.join(project, "tools", script));
  calls = path.join(project, "calls.log");
  // Records each call with the environment the wrapper set; `stack select` fails until `init`.
  const fake = `#!/usr/bin/env bash
echo "$* | backend=$PULUMI_BACKEND_URL passfile=\${PULUMI_CONFIG_PASSPHRASE_FILE:-} pass=\${PULUMI_CONFIG_PASSPHRASE:-}" >>"${calls}"
if [ "$1 $2" = "stack select" ]; then [ -f "${project}/initialised" ] || exit 255; fi
if [ "$1 $2" = "stack init" ]; then touch "${project}/initialised"; fi
exit 0
`;
  writeFileSync(path.join(project, "bin", "pulumi"), fake);
  chmodSync(path.join(project, "bin", "pulumi"), 0o755);
});
afterEach(() => rmSync(project, { recursive: true, force: true }));

const wrapper = (args: string[], env: Record<string, string> = {}) =>
  run("bash", [path.join(project, "tools", "pulumi.sh"), ...args], {
    env: { PATH: `${path.join(project, "bin")}:${process.env.PATH}`, HOME: project, ...env },
  });
const lines = () => readFileSync(calls, "utf8").trim().split("\n");

test("first `up` makes a local file backend and a private passphrase file, creates the stack, then runs pulumi up", async () => {
  await wrapper(["up", "--yes"]);
  const backend = `file://${path.join(project, ".pulumi-state")}`;
  const passfile = path.join(project, ".passphrase");
  expect(lines()).toEqual([
    `stack select dev | backend=${backend} passfile=${passfile} pass=`,
    `stack init dev --secrets-provider passphrase | backend=${backend} passfile=${passfile} pass=`,
    `up --yes | backend=${backend} passfile=${passfile} pass=`,
  ]);
  expect(statSync(passfile).mode & 0o777).toBe(0o600);
  expect(readFileSync(passfile, "utf8").trim().length).toBeGreaterThanOrEqual(40);
});

test("later runs keep the passphrase and the stack; down is destroy, outputs shows secrets", async () => {
  await wrapper(["up"]);
  const passphrase = readFileSync(path.join(project, ".passphrase"), "utf8");
  await wrapper(["down"]);
  await wrapper(["outputs"]);
  expect(readFileSync(path.join(project, ".passphrase"), "utf8")).toBe(passphrase);
  const commands = lines().map((line) => line.split(" | ")[0]);
  expect(commands.slice(3)).toEqual(["stack select dev", "destroy", "stack select dev", "stack output --json --show-secrets"]);
});

test("a passphrase from the environment is used as is, and another stack can be chosen", async () => {
  await wrapper(["preview"], { PULUMI_CONFIG_PASSPHRASE: "from-env", NATS_INFRA_STACK: "prod" });
  expect(lines().at(-1)).toMatch(/^preview --diff \| backend=file:\/\/.* passfile= pass=from-env$/);
  expect(lines()[0]).toMatch(/^stack select prod /);
  expect(() => statSync(path.join(project, ".passphrase"))).toThrow();
});

test("without the Pulumi CLI it says how to install it", async () => {
  rmSync(path.join(project, "bin", "pulumi"));
  const failure = await wrapper(["up"], { PATH: "/usr/bin:/bin" }).then(
    () => undefined,
    (e: { code: number; stderr: string }) => e,
  );
  expect(failure?.code).toBe(1);
  expect(failure?.stderr).toContain("the Pulumi CLI is not installed");
});
