// Locates the NATS programs built by `npm run tools`, and the nats-py venv it installs. A missing
// one fails the test with the command that installs it: these tests are about the real programs,
// never stand-ins.
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";

export const REPO_ROOT = path.resolve(__dirname, "..", "..");
export const TOOLS_BIN = path.join(REPO_ROOT, ".tools", "bin");

export function toolPath(binary: "nats-server" | "nats" | "nats-surveyor"): string {
  const file = path.join(TOOLS_BIN, binary);
  if (!existsSync(file)) {
    throw new Error(`${binary} is not in .tools/bin. Run \`npm run tools\` (needs Go) to build the pinned versions from config/versions.json.`);
  }
  return file;
}

/** The python of the venv in .tools/py that holds the pinned nats-py. */
export function natsPyPath(): string {
  const python = path.join(REPO_ROOT, ".tools", "py", "bin", "python");
  if (!existsSync(python)) throw new Error("nats-py is not installed in .tools/py; run `npm run tools`");
  return python;
}

/**
 * Runs `script` with nats-py's python, from a temp file that is removed after, with the server's
 * URL and the user's password in the environment. Resolves to its stdout; fails if it exits
 * non-zero or runs longer than 20 s.
 */
export async function runNatsPy(script: string, env: { NATS_URL: string; NATS_PASSWORD: string }): Promise<string> {
  const python = natsPyPath();
  const dir = mkdtempSync(path.join(tmpdir(), "nats-infra-py-"));
  try {
    const file = path.join(dir, "script.py");
    writeFileSync(file, script);
    const { stdout } = await promisify(execFile)(python, [file], { timeout: 20_000, env: { ...process.env, ...env } });
    return stdout;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The dev stack as the tests know it (a copy of Pulumi.dev.yaml): editing the real one breaks no test. */
export const DEV_STACK_FIXTURE = path.join(REPO_ROOT, "test", "fixtures", "Pulumi.dev.yaml");
