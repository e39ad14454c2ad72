// `npx nats-infra` runs the CLI through tsx's CommonJS hook (cli/nats-infra.cjs): a dynamic
// `import("../x")` of a project module goes to Node's own ESM loader, which cannot load an
// extensionless .ts file, and fails only when that line runs (clean across hosts did, on the real
// engine). So the command-line code imports project modules statically.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { expect, test } from "vitest";
import { REPO_ROOT } from "../harness/tools";

function sources(dir: string): string[] {
  return readdirSync(path.join(REPO_ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const relative = path.join(dir, entry.name);
    if (entry.isDirectory()) return sources(relative);
    return entry.name.endsWith(".ts") ? [relative] : [];
  });
}

test("cli/ and ops/ import no project module dynamically", () => {
  const dynamic = ["cli", "ops"].flatMap(sources).flatMap((file) =>
    readFileSync(path.join(REPO_ROOT, file), "utf8")
      .split("\n")
      .map((line, i) => ({ file, line: i + 1, text: line.trim() }))
      .filter(({ text }) => /\bimport\(\s*["'`]\.{1,2}\//.test(text)),
  );
  expect(dynamic).toEqual([]);
});
