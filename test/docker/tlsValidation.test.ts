// Before the nats container exists (first deploy, or a replacement), apply-config.sh validates in
// a throwaway container of the image. A TLS config names files under /etc/nats-tls, which only
// the VALIDATE_MOUNTS the component declares bring into that container.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { readStackFile } from "../../config/load";
import { removeAll, requireDocker, tempDir, testImage, uniqueName } from "../harness/docker";
import { freePort } from "../harness/ports";
import { runProgram, unwrapSecrets, type ProgramRun } from "../harness/pulumiMocks";
import { REPO_ROOT } from "../harness/tools";
import { DEV_STACK_FIXTURE } from "../harness/tools";

let run: ProgramRun;
let configDir: string;
let image: string;

/** The config command's `create` line, run as @pulumi/command runs it, with `env` changes. */
function create(envChanges: Record<string, string>) {
  const command = unwrapSecrets(run.byName("nats-config").inputs) as { create: string; stdin: string; environment: Record<string, string> };
  return spawnSync("/bin/sh", ["-c", command.create], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...command.environment, NATS_IMAGE: image, ...envChanges },
    input: command.stdin,
    encoding: "utf8",
    timeout: 60_000,
  });
}

beforeAll(async () => {
  requireDocker();
  image = testImage();
  const dir = tempDir("nats-infra-tls-");
  const cert = path.join(dir, "cert.pem");
  const key = path.join(dir, "key.pem");
  execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1", "-subj", "/CN=localhost", "-keyout", key, "-out", cert], { stdio: "ignore" });
  configDir = path.join(dir, "config");
  run = await runProgram({
    ...readStackFile(DEV_STACK_FIXTURE),
    server: { clientPort: await freePort(), monitorPort: await freePort() },
    tls: { cert, key },
    // No container of this name exists, so the script must validate in a throwaway one.
    docker: { namePrefix: uniqueName("nats-infra-tls"), configDir },
  });
});

afterAll(() => removeAll());

test("without the TLS mounts the throwaway validator cannot read the certificate, and nothing is installed", () => {
  const result = create({ VALIDATE_MOUNTS: "" });

  expect(result.status).toBe(1);
  expect(result.stderr).toContain("rejected the new config; the live files are unchanged");
  expect(result.stderr).toMatch(/\/etc\/nats-tls\/cert\.pem/);
  expect(existsSync(path.join(configDir, "nats.conf"))).toBe(false);
  expect(readdirSync(configDir)).toEqual([]); // the staging directory is gone too
});

test("with the VALIDATE_MOUNTS the component declares, the TLS config validates and is installed", () => {
  const declared = (unwrapSecrets(run.byName("nats-config").inputs) as { environment: Record<string, string> }).environment.VALIDATE_MOUNTS;
  expect(declared).toContain(":/etc/nats-tls/cert.pem:ro");

  const result = create({});

  expect(result.stderr).toBe("");
  expect(result.status).toBe(0);
  expect(result.stdout).toContain("is not running and reads it when it starts");
  expect(readdirSync(configDir).sort()).toEqual(["auth.conf", "nats.conf"]);
});
