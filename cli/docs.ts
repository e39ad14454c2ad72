// `npm run docs`: writes the generated reference docs/server-options.md from the server options
// table (config/serverOptions.ts). A test fails while the committed file differs from it.
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { REFERENCE_FILE, renderOptionsReference } from "../config/serverOptions";

const REPO_ROOT = path.resolve(__dirname, "..");

if (require.main === module) {
  const file = path.join(REPO_ROOT, REFERENCE_FILE);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, renderOptionsReference());
  process.stdout.write(`wrote ${REFERENCE_FILE}\n`);
}
