// Locates the NATS programs built by `npm run tools`. A missing one fails the test with the
// command that installs it: these tests are about the real programs, never stand-ins.
import { existsSync } from "node:fs";
import path from "node:path";

export const REPO_ROOT = path.resolve(__dirname, "..", "..");
export const TOOLS_BIN = path.join(REPO_ROOT, ".tools", "bin");

export function toolPath(binary: "nats-server" | "nats" | "nats-surveyor"): string {
  const file = path.join(TOOLS_BIN, binary);
  if (!existsSync(file)) {
    throw new Error(`${binary} is not in .tools/bin. Run \`npm run tools\` (needs Go) to build the pinned versions from config/versions.json.`);
  }
  return file;
}
